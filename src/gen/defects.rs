//! The seeded defects: their names and catalogue edits (the truth file's third and fourth
//! columns), the payer each one forces, and how each is written into a planned claim. The same
//! kinds, payers and edits as gen837.py's `DEFECTS_P`, `EDIT` and `plan_claim`.

use super::claims::{Line, Plan};
use super::data::{Payer, LUMBAR_COVERED, MEDICARE, NONSUPPORT_DX, UHC};
use super::rng::Rng;
use crate::claim::Kind;

/// One seeded defect: the claim is built like a clean facet claim, then changed so that exactly
/// one reject edit of the catalogue fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Defect {
    /// Modifier 26 on the 64635 line (E-29).
    Mod26,
    /// 64636 (1 unit) with no 64635 on the claim (E-24).
    AddonNoPrimary,
    /// 64635-RT or -LT with 2 units on one line (E-25).
    UnitsMue,
    /// Medicare, three levels in one session (E-27).
    Levels,
    /// 77003 on the same date of service as 64635 (E-33).
    Bundled77003,
    /// Medicare, no Group 1 diagnosis pointed by (837P) or on (837I) the facet lines (E-20).
    NonsupportDx,
    /// 837P place of service 21 (E-10); 837I type of bill 111 (E-11).
    Inpatient,
    /// 837P UnitedHealthcare without REF*G1 (E-41); 837I Medicare 131 without a UTN (E-40).
    MissingPa,
    /// Modifiers 50 and RT (or LT) on the 64635 line (E-28).
    BilateralConflict,
    /// CLM02 differs from the sum of the line charges (E-07).
    OutOfBalance,
    /// The rendering NPI fails the Luhn check (E-14).
    BadNpi,
    /// 837P only: the 64635 line points past the last diagnosis (E-18).
    PointerOob,
}

/// The defects of an 837P, in gen837.py's order.
const ALL_P: [Defect; 12] = [
    Defect::Mod26,
    Defect::AddonNoPrimary,
    Defect::UnitsMue,
    Defect::Levels,
    Defect::Bundled77003,
    Defect::NonsupportDx,
    Defect::Inpatient,
    Defect::MissingPa,
    Defect::BilateralConflict,
    Defect::OutOfBalance,
    Defect::BadNpi,
    Defect::PointerOob,
];

impl Defect {
    /// The defects a claim of `kind` may carry (837I has no diagnosis pointers, so no
    /// `pointer_oob`).
    pub fn of_kind(kind: Kind) -> &'static [Defect] {
        match kind {
            Kind::Professional => &ALL_P,
            Kind::Institutional => &ALL_P[..ALL_P.len() - 1],
        }
    }

    /// Its name in the truth file.
    pub fn name(self) -> &'static str {
        match self {
            Defect::Mod26 => "mod26",
            Defect::AddonNoPrimary => "addon_no_primary",
            Defect::UnitsMue => "units_mue",
            Defect::Levels => "levels",
            Defect::Bundled77003 => "bundled_77003",
            Defect::NonsupportDx => "nonsupport_dx",
            Defect::Inpatient => "inpatient",
            Defect::MissingPa => "missing_pa",
            Defect::BilateralConflict => "bilateral_conflict",
            Defect::OutOfBalance => "out_of_balance",
            Defect::BadNpi => "bad_npi",
            Defect::PointerOob => "pointer_oob",
        }
    }

    /// The one reject edit (catalogue id) it is designed to trigger on a claim of `kind`.
    pub fn edit(self, kind: Kind) -> &'static str {
        let p = kind == Kind::Professional;
        match self {
            Defect::Mod26 => "E-29",
            Defect::AddonNoPrimary => "E-24",
            Defect::UnitsMue => "E-25",
            Defect::Levels => "E-27",
            Defect::Bundled77003 => "E-33",
            Defect::NonsupportDx => "E-20",
            Defect::Inpatient if p => "E-10",
            Defect::Inpatient => "E-11",
            Defect::MissingPa if p => "E-41",
            Defect::MissingPa => "E-40",
            Defect::BilateralConflict => "E-28",
            Defect::OutOfBalance => "E-07",
            Defect::BadNpi => "E-14",
            Defect::PointerOob => "E-18",
        }
    }

    /// The payer the defect needs for its edit to apply (and reject), if any.
    pub fn forced_payer(self, kind: Kind) -> Option<&'static Payer> {
        match (self, kind) {
            (Defect::Levels | Defect::NonsupportDx, _) => Some(&MEDICARE),
            (Defect::MissingPa, Kind::Professional) => Some(&UHC),
            (Defect::MissingPa, Kind::Institutional) => Some(&MEDICARE),
            _ => None,
        }
    }

    /// Writes the defect into `plan`, a clean facet claim whose lines point to `ptr`.
    pub fn seed(self, plan: &mut Plan, ptr: &[u8], r: &mut Rng, kind: Kind) {
        let p = kind == Kind::Professional;
        let side = |r: &mut Rng| r.pick(&["RT", "LT"]);
        let charge = |r: &mut Rng, lo: u64, hi: u64, unit: i64| r.range(lo, hi) as i64 * unit;
        match self {
            Defect::Mod26 => {
                let first = &mut plan.lines[0];
                if r.percent(50) {
                    let mut mods = super::claims::Few::from_slice(&["26"]);
                    mods.extend(first.mods.as_slice());
                    first.mods = mods;
                } else {
                    first.mods.push("26");
                }
            }
            Defect::AddonNoPrimary => {
                let mods = plan.lines[0].mods;
                let cents = charge(r, 400, 750, 100);
                plan.lines.clear();
                plan.lines
                    .push(Line::new("64636", mods.as_slice(), 1, cents, ptr));
            }
            Defect::UnitsMue => {
                let s = side(r);
                let cents = charge(r, 1100, 1900, 200);
                plan.lines.clear();
                plan.lines.push(Line::new("64635", &[s], 2, cents, ptr));
            }
            Defect::Levels => {
                let c0 = charge(r, 1100, 1900, 100);
                let c1 = charge(r, 400, 750, 100);
                let c2 = charge(r, 400, 750, 100);
                plan.lines.clear();
                if r.percent(50) {
                    // Unilateral: three joints on one side.
                    let s = side(r);
                    plan.lines.push(Line::new("64635", &[s], 1, c0, ptr));
                    plan.lines.push(Line::new("64636", &[s], 2, c1 + c2, ptr));
                } else if p {
                    // Bilateral, Medicare professional: 50 always with 1 unit (with 2 units it
                    // would also be E-28).
                    plan.lines.push(Line::new("64635", &["50"], 1, c0, ptr));
                    plan.lines.push(Line::new("64636", &["50"], 1, c1, ptr));
                    plan.lines.push(Line::new("64636", &["50"], 1, c2, ptr));
                } else {
                    plan.lines.push(Line::new("64635", &["50"], 1, c0, ptr));
                    plan.lines
                        .push(Line::new("64636", &["50"], 2, c1 + c2, ptr));
                }
            }
            Defect::Bundled77003 => {
                let mods: &[&str] = if p && plan.pos != "11" { &["26"] } else { &[] };
                let cents = charge(r, 90, 160, 100);
                let first = &ptr[..ptr.len().min(1)];
                plan.lines.push(Line::new("77003", mods, 1, cents, first));
            }
            Defect::NonsupportDx => {
                let mut dx = super::claims::Few::new();
                let mut new_ptr = super::claims::Few::<u8, 4>::new();
                if p && r.percent(40) {
                    // A covered code on the claim that the lines do not point to.
                    dx.push(r.pick(&NONSUPPORT_DX));
                    dx.push(r.pick(&LUMBAR_COVERED));
                    new_ptr.push(1);
                } else {
                    let k = r.pick(&[1, 2]);
                    let (codes, n) = r.sample(&NONSUPPORT_DX, k);
                    dx.extend(&codes[..n]);
                    for i in 1..=n {
                        new_ptr.push(i as u8);
                    }
                }
                plan.dx = dx;
                for line in plan.lines.iter_mut() {
                    line.ptr = new_ptr;
                }
            }
            Defect::Inpatient => {
                if p {
                    plan.pos = "21";
                } else {
                    plan.tob = Some("11");
                }
            }
            Defect::MissingPa => {
                if p {
                    plan.pos = r.pick(&["22", "24"]);
                } else {
                    plan.tob = Some("13");
                }
            }
            Defect::BilateralConflict => {
                let s = side(r);
                let mods: [&str; 2] = if r.percent(50) { ["50", s] } else { [s, "50"] };
                plan.lines[0].mods = super::claims::Few::from_slice(&mods);
                if plan.lines.len() > 1 {
                    plan.lines[1].mods = super::claims::Few::from_slice(&["50"]);
                }
            }
            Defect::OutOfBalance => {
                let sign = r.pick(&[-1i64, 1]);
                let cents = charge(r, 1, 99, 1);
                let dollars = charge(r, 1, 500, 100);
                plan.delta = sign * r.pick(&[cents, dollars]);
            }
            Defect::BadNpi => {} // written with the rendering provider
            Defect::PointerOob => {
                let past = (plan.dx.len() as u64 + r.range(1, 3)).min(12) as u8;
                let mut oob = super::claims::Few::from_slice(ptr);
                oob.push(past);
                plan.lines[0].ptr = oob;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_edits_are_distinct_per_kind() {
        for kind in [Kind::Professional, Kind::Institutional] {
            let all = Defect::of_kind(kind);
            let names: std::collections::BTreeSet<_> = all.iter().map(|d| d.name()).collect();
            let edits: std::collections::BTreeSet<_> = all.iter().map(|d| d.edit(kind)).collect();
            assert_eq!(names.len(), all.len());
            assert_eq!(edits.len(), all.len(), "one edit per defect");
        }
        assert!(!Defect::of_kind(Kind::Institutional).contains(&Defect::PointerOob));
        assert_eq!(Defect::Inpatient.edit(Kind::Institutional), "E-11");
        assert_eq!(Defect::MissingPa.edit(Kind::Professional), "E-41");
    }
}
