//! One generated claim: its plan (payer, setting, lines, diagnoses, the seeded defect), then its
//! segments: the 2000B subscriber (and 2000C patient) loops, the 2300 claim and its 2400 lines,
//! as gen837.py's `plan_claim`, `emit_subscriber` and `emit_claim` write them.

use super::data::{
    Payer, BACK_PAIN, LUMBAR_COVERED, OFFICE_DX, PAIN_MEDICINE, PAYERS, PA_CODES, SIDES,
    UNPOINTED_I, UNPOINTED_P,
};
use super::defects::Defect;
use super::parties::{break_npi, person, Address, Npi, Provider};
use super::rng::Rng;
use super::seg::SegWriter;
use super::Generator;
use crate::claim::Kind;

/// A few `Copy` values inline (at most `N`; pushing more is a bug and panics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Few<T: Copy + Default, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Copy + Default, const N: usize> Few<T, N> {
    /// None yet.
    pub fn new() -> Self {
        Few {
            items: [T::default(); N],
            len: 0,
        }
    }

    /// These values.
    pub fn from_slice(values: &[T]) -> Self {
        let mut f = Few::new();
        f.extend(values);
        f
    }

    /// Adds one value.
    pub fn push(&mut self, v: T) {
        self.items[self.len] = v;
        self.len += 1;
    }

    /// Adds these values.
    pub fn extend(&mut self, values: &[T]) {
        for v in values {
            self.push(*v);
        }
    }

    /// Removes every value.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The values.
    pub fn as_slice(&self) -> &[T] {
        &self.items[..self.len]
    }
}

impl<T: Copy + Default, const N: usize> Default for Few<T, N> {
    fn default() -> Self {
        Few::new()
    }
}

impl<T: Copy + Default, const N: usize> std::ops::Deref for Few<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items[..self.len]
    }
}

impl<T: Copy + Default, const N: usize> std::ops::DerefMut for Few<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.items[..self.len]
    }
}

/// A service line: procedure, modifiers, units, charge and (837P) diagnosis pointers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Line {
    /// The CPT code.
    pub code: &'static str,
    /// Its modifiers, in order.
    pub mods: Few<&'static str, 3>,
    /// Units.
    pub units: u64,
    /// The charge in cents.
    pub cents: i64,
    /// Diagnosis pointers (1-based; SV107 on 837P).
    pub ptr: Few<u8, 4>,
}

impl Line {
    /// A line.
    pub fn new(
        code: &'static str,
        mods: &[&'static str],
        units: u64,
        cents: i64,
        ptr: &[u8],
    ) -> Line {
        Line {
            code,
            mods: Few::from_slice(mods),
            units,
            cents,
            ptr: Few::from_slice(ptr),
        }
    }
}

/// What one claim will hold, decided before any of it is written.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// The seeded defect (`None`: clean).
    pub defect: Option<Defect>,
    /// The payer.
    pub payer: &'static Payer,
    /// The service lines.
    pub lines: Few<Line, 4>,
    /// The diagnoses, principal first.
    pub dx: Few<&'static str, 4>,
    /// 837P place of service (CLM05-1).
    pub pos: &'static str,
    /// 837I facility type forced by the defect (else the billing provider's).
    pub tob: Option<&'static str>,
    /// Added to the sum of the line charges in CLM02 (`out_of_balance`).
    pub delta: i64,
    /// A facet claim (64635/64636), as every defective claim is.
    pub facet: bool,
}

impl Plan {
    /// The claim needs a hospital billing provider (its type of bill is forced).
    pub fn hospital(&self) -> bool {
        self.tob.is_some()
    }

    /// A line codes a procedure that needs prior authorization.
    fn pa_codes(&self) -> bool {
        self.lines.iter().any(|l| PA_CODES.contains(&l.code))
    }
}

/// A charge of `lo..=hi` times `unit` cents.
fn charge(r: &mut Rng, lo: u64, hi: u64, unit: i64) -> i64 {
    r.range(lo, hi) as i64 * unit
}

/// Diagnoses of a clean facet claim and the pointers of its facet lines.
fn facet_dx(r: &mut Rng, kind: Kind, commercial: bool) -> (Few<&'static str, 4>, Few<u8, 4>) {
    let c1 = r.pick(&LUMBAR_COVERED);
    let u = r.below(100);
    let (mut dx, ptr): (Few<&'static str, 4>, &[u8]) = if commercial && u < 8 {
        // No Group 1 code: clean, as E-20 is Medicare-only.
        (
            Few::from_slice(&["M5450", r.pick(&["M5459", "G8929"])]),
            &[1, 2],
        )
    } else if u < 55 {
        (Few::from_slice(&[c1]), &[1])
    } else if u < 75 {
        let others: Few<&'static str, 6> = LUMBAR_COVERED
            .iter()
            .copied()
            .filter(|c| *c != c1)
            .fold(Few::new(), |mut f, c| {
                f.push(c);
                f
            });
        (Few::from_slice(&[c1, r.pick(&others)]), &[1, 2])
    } else if u < 90 {
        (Few::from_slice(&[c1, r.pick(&BACK_PAIN)]), &[1, 2])
    } else {
        // The covered code second.
        let first = r.pick(&BACK_PAIN);
        let orders: [&'static [u8]; 3] = [&[1, 2], &[2, 1], &[2]];
        let ptr = r.pick(&orders);
        (Few::from_slice(&[first, c1]), ptr)
    };
    if r.percent(25) {
        let k = r.pick(&[1, 2]);
        let (codes, n) = match kind {
            Kind::Professional => r.sample(&UNPOINTED_P, k),
            Kind::Institutional => r.sample(&UNPOINTED_I, k),
        };
        dx.extend(&codes[..n]);
    }
    (dx, Few::from_slice(ptr))
}

/// Decides payer, setting, lines, diagnoses and the seeded defect of the next claim.
pub fn plan(r: &mut Rng, kind: Kind, error_rate: f64) -> Plan {
    let p = kind == Kind::Professional;
    let defect = if error_rate > 0.0 && r.unit() < error_rate {
        Some(r.pick(Defect::of_kind(kind)))
    } else {
        None
    };
    let payer = match defect.and_then(|d| d.forced_payer(kind)) {
        Some(payer) => payer,
        None => r.weighted(&PAYERS),
    };
    let mcr = !payer.commercial;
    let facet = defect.is_some() || r.percent(85);
    let mut plan = Plan {
        defect,
        payer,
        lines: Few::new(),
        dx: Few::new(),
        pos: "",
        tob: None,
        delta: 0,
        facet,
    };
    let ptr = if facet {
        let side = r.weighted(&[("50", 60), ("RT", 20), ("LT", 20)]);
        let c = charge(r, 1100, 1900, 100);
        plan.lines.push(Line::new("64635", &[side], 1, c, &[]));
        if r.percent(60) {
            let c = charge(r, 400, 750, 100);
            plan.lines.push(Line::new("64636", &[side], 1, c, &[]));
        }
        let (dx, ptr) = facet_dx(r, kind, payer.commercial);
        plan.dx = dx;
        if p {
            plan.pos = r.weighted(&[("11", 30), ("19", 5), ("22", 35), ("24", 30)]);
        }
        ptr
    } else {
        match r.below(3) {
            0 => {
                let c = charge(r, 110, 190, 100) + r.pick(&[0, 50]);
                plan.lines.push(Line::new("99213", &[], 1, c, &[]));
                let k = r.pick(&[1, 1, 2]);
                let (codes, n) = r.sample(&OFFICE_DX, k);
                plan.dx.extend(&codes[..n]);
                if p {
                    plan.pos = r.weighted(&[("11", 80), ("22", 20)]);
                }
            }
            pattern => {
                plan.dx.push(r.pick(&LUMBAR_COVERED));
                if r.percent(30) {
                    plan.dx.push(r.pick(&BACK_PAIN));
                }
                if pattern == 1 {
                    // 64493 (+64494); Medicare lines carry KX (E-32).
                    let side = r.pick(&SIDES);
                    let mods: &[&str] = if mcr { &[side, "KX"] } else { &[side] };
                    let c = charge(r, 600, 950, 100);
                    plan.lines.push(Line::new("64493", mods, 1, c, &[]));
                    if r.percent(40) {
                        let c = charge(r, 300, 450, 100);
                        plan.lines.push(Line::new("64494", mods, 1, c, &[]));
                    }
                } else {
                    // 99213-25 with 64493-50.
                    let c = charge(r, 110, 190, 100);
                    plan.lines.push(Line::new("99213", &["25"], 1, c, &[]));
                    let mods: &[&str] = if mcr { &["50", "KX"] } else { &["50"] };
                    let c = charge(r, 600, 950, 100);
                    plan.lines.push(Line::new("64493", mods, 1, c, &[]));
                }
                if p {
                    plan.pos = r.pick(&["11", "22", "24"]);
                }
            }
        }
        let mut ptr = Few::new();
        for i in 1..=plan.dx.len().min(4) {
            ptr.push(i as u8);
        }
        ptr
    };
    for line in plan.lines.iter_mut() {
        line.ptr = ptr;
    }
    if let Some(d) = defect {
        d.seed(&mut plan, &ptr, r, kind);
    }
    plan
}

/// N3 and N4 of an address, the ZIP code followed by `plus4` (`b""` for none).
fn address(w: &mut SegWriter, a: &Address, plus4: &[u8]) {
    w.start(b"N3");
    w.num(a.number);
    w.raw(b" ");
    w.raw(a.street.as_bytes());
    w.end();
    w.start(b"N4");
    w.el(a.city.name.as_bytes());
    w.el(a.city.state.as_bytes());
    w.el(a.city.zip.as_bytes());
    w.raw(plus4);
    w.end();
}

/// An NM1 of a person with an NPI: `NM1*CODE*1*LAST*FIRST****XX*NPI`.
fn nm1_npi(w: &mut SegWriter, code: &[u8], last: &str, first: &str, npi: &Npi) {
    w.start(b"NM1");
    w.el(code);
    w.el(b"1");
    w.el(last.as_bytes());
    w.el(first.as_bytes());
    w.empty(3);
    w.el(b"XX");
    w.el(npi);
    w.end();
}

impl Generator {
    /// Writes the 2000B subscriber loop (and a 2000C patient for about 12 % of commercial
    /// claims) with the claim; returns the last HL number used.
    pub(super) fn subscriber(
        &mut self,
        hl: u64,
        prov_hl: u64,
        prov: &Provider,
        plan: &Plan,
    ) -> u64 {
        self.seq += 1;
        let r = &mut self.rng;
        let w = &mut self.w;
        let payer = plan.payer;
        let dependent = payer.commercial && r.percent(12);
        let sub = if payer.commercial {
            person(r, 30, 64)
        } else {
            person(r, 65, 90)
        };
        let sub_hl = hl + 1;
        w.start(b"HL");
        w.num(sub_hl);
        w.num(prov_hl);
        w.el(b"22");
        w.el(if dependent { b"1" } else { b"0" });
        w.end();
        w.start(b"SBR");
        w.el(b"P");
        w.el(if dependent { b"" } else { b"18" });
        if payer.commercial {
            w.el(b"GRP");
            w.raw_num_w(r.range(10_000, 99_999), 5);
        } else {
            w.empty(1);
        }
        w.empty(5);
        w.el(match self.kind {
            Kind::Professional => payer.sbr09_p.as_bytes(),
            Kind::Institutional => payer.sbr09_i.as_bytes(),
        });
        w.end();
        let (id, n) = self.ids.id(payer, self.seq);
        w.start(b"NM1");
        w.el(b"IL");
        w.el(b"1");
        w.el(sub.last.as_bytes());
        w.el(sub.first.as_bytes());
        w.el(sub.mi.as_bytes());
        w.empty(2);
        w.el(b"MI");
        w.el(&id[..n]);
        w.end();
        address(w, &sub.addr, b"");
        if !dependent {
            w.start(b"DMG");
            w.el(b"D8");
            w.num(sub.dob);
            w.el(sub.sex.as_bytes());
            w.end();
        }
        w.start(b"NM1");
        w.el(b"PR");
        w.el(b"2");
        w.el(payer.name.as_bytes());
        w.empty(4);
        w.el(b"PI");
        w.el(payer.id.as_bytes());
        w.end();
        let mut hl = sub_hl;
        if dependent {
            let pat = person(r, 30, 64);
            hl += 1;
            w.start(b"HL");
            w.num(hl);
            w.num(sub_hl);
            w.el(b"23");
            w.el(b"0");
            w.end();
            w.start(b"PAT");
            w.el(r.pick(&[b"01", b"01", b"19"]));
            w.end();
            w.start(b"NM1");
            w.el(b"QC");
            w.el(b"1");
            w.el(sub.last.as_bytes());
            w.el(pat.first.as_bytes());
            w.el(pat.mi.as_bytes());
            w.end();
            address(w, &sub.addr, b"");
            w.start(b"DMG");
            w.el(b"D8");
            w.num(pat.dob);
            w.el(pat.sex.as_bytes());
            w.end();
        }
        self.claim(prov, plan);
        hl
    }

    /// Writes the claim's CLM01 into `self.pcn`: `S`, the seed's last three digits, the kind's
    /// letter and the claim number in eight digits.
    fn set_pcn(&mut self) {
        self.pcn.clear();
        self.pcn.push(b'S');
        super::seg::put_padded(&mut self.pcn, self.seed % 1000, 3);
        self.pcn.push(match self.kind {
            Kind::Professional => b'P',
            Kind::Institutional => b'I',
        });
        super::seg::put_padded(&mut self.pcn, self.seq, 8);
    }

    /// Appends the claim's truth line, if a truth file is written.
    fn truth_line(&mut self, plan: &Plan) {
        let Some(t) = &mut self.truth else {
            return;
        };
        t.extend_from_slice(&self.pcn);
        t.push(b'\t');
        t.extend_from_slice(self.kind.as_str().as_bytes());
        t.push(b'\t');
        let (name, edit) = match plan.defect {
            Some(d) => (d.name(), d.edit(self.kind)),
            None => ("clean", "-"),
        };
        t.extend_from_slice(name.as_bytes());
        t.push(b'\t');
        t.extend_from_slice(edit.as_bytes());
        t.push(b'\n');
    }

    /// Writes the 2300 claim loop and its 2400 lines.
    fn claim(&mut self, prov: &Provider, plan: &Plan) {
        self.set_pcn();
        self.truth_line(plan);
        if plan.defect.is_some() {
            self.defective += 1;
        }
        let r = &mut self.rng;
        let w = &mut self.w;
        let dos = self.base_date.plus(r.below(super::DOS_DAYS as u64) as i64);
        let total: i64 = plan.lines.iter().map(|l| l.cents).sum::<i64>() + plan.delta;
        let needs_pa = plan.pa_codes() && plan.defect != Some(Defect::MissingPa);
        let bad_npi = plan.defect == Some(Defect::BadNpi);
        let pa_number = |r: &mut Rng, w: &mut SegWriter| {
            w.el(b"PA");
            w.raw_num_w(r.range(10_000_000, 99_999_999), 8);
        };
        if self.kind == Kind::Professional {
            let pos = plan.pos;
            // Prior authorization: on the claim, or for some 64635 claims on the first line.
            let (mut claim_g1, mut line_g1) = (false, false);
            if needs_pa && plan.payer.commercial {
                if plan.lines[0].code == "64635" && r.percent(15) {
                    line_g1 = true;
                } else {
                    claim_g1 = true;
                }
            }
            w.start(b"CLM");
            w.el(&self.pcn);
            w.money(total);
            w.empty(2);
            w.el(pos.as_bytes());
            w.comp(b"B");
            w.comp(b"1");
            for v in [b"Y", b"A", b"Y", b"Y"] {
                w.el(v);
            }
            w.end();
            if r.percent(50) {
                w.start(b"DTP");
                w.el(b"431");
                w.el(b"D8");
                w.date(dos.plus(-(r.range(60, 900) as i64)));
                w.end();
            }
            if claim_g1 {
                w.start(b"REF");
                w.el(b"G1");
                pa_number(r, w);
                w.end();
            }
            if r.percent(30) {
                w.start(b"REF");
                w.el(b"EA");
                w.el(b"MRN");
                w.raw_num_w(r.range(100_000, 999_999), 6);
                w.end();
            }
            w.start(b"HI");
            for (i, code) in plan.dx.iter().enumerate() {
                w.el(if i == 0 { b"ABK" } else { b"ABF" });
                w.comp(code.as_bytes());
            }
            w.end();
            let doc = r.pick(&prov.docs);
            let npi = if bad_npi {
                break_npi(r, &doc.npi)
            } else {
                doc.npi
            };
            nm1_npi(w, b"82", doc.last, doc.first, &npi);
            w.start(b"PRV");
            w.el(b"PE");
            w.el(b"PXC");
            w.el(PAIN_MEDICINE.as_bytes());
            w.end();
            if pos != "11" {
                let fac = if pos == "24" { &prov.asc } else { &prov.hosp };
                w.start(b"NM1");
                w.el(b"77");
                w.el(b"2");
                w.el(fac.name.as_bytes());
                w.empty(4);
                w.el(b"XX");
                w.el(&fac.npi);
                w.end();
                address(w, &fac.addr, b"1234");
            }
            for (i, line) in plan.lines.iter().enumerate() {
                w.start(b"LX");
                w.num(i as u64 + 1);
                w.end();
                w.start(b"SV1");
                w.el(b"HC");
                w.comp(line.code.as_bytes());
                for m in line.mods.iter() {
                    w.comp(m.as_bytes());
                }
                w.money(line.cents);
                w.el(b"UN");
                w.num(line.units);
                w.empty(2);
                for (j, p) in line.ptr.iter().enumerate() {
                    if j == 0 {
                        w.num(u64::from(*p));
                    } else {
                        w.comp_num(u64::from(*p));
                    }
                }
                w.end();
                w.start(b"DTP");
                w.el(b"472");
                w.el(b"D8");
                w.date(dos);
                w.end();
                if line_g1 && i == 0 {
                    w.start(b"REF");
                    w.el(b"G1");
                    pa_number(r, w);
                    w.end();
                }
            }
        } else {
            let tob = plan.tob.or(prov.fac_code).unwrap_or("13");
            w.start(b"CLM");
            w.el(&self.pcn);
            w.money(total);
            w.empty(2);
            w.el(tob.as_bytes());
            w.comp(b"A");
            w.comp(b"1");
            w.empty(1);
            for v in [b"A", b"Y", b"Y"] {
                w.el(v);
            }
            w.end();
            let inpatient = tob == "11";
            w.start(b"DTP");
            w.el(b"434");
            w.el(b"RD8");
            w.date(dos);
            w.raw(b"-");
            // Inpatient: a one-night stay, with its admission date.
            w.raw_date(if inpatient { dos.plus(1) } else { dos });
            w.end();
            if inpatient {
                w.start(b"DTP");
                w.el(b"435");
                w.el(b"D8");
                w.date(dos);
                w.end();
            }
            // Elective, physician referral, discharged home.
            w.start(b"CL1");
            w.el(b"3");
            w.el(b"1");
            w.el(b"01");
            w.end();
            if needs_pa {
                if plan.payer.commercial {
                    w.start(b"REF");
                    w.el(b"G1");
                    pa_number(r, w);
                    w.end();
                } else if tob == "13" {
                    // A Medicare OPD prior-authorization UTN: ^[A-Z0-9]{2}[AH][0-9]{11}$.
                    w.start(b"REF");
                    w.el(b"G1");
                    w.el(b"JL");
                    w.raw(r.pick(&[b"A", b"H"]));
                    w.raw_num_w(r.below(100_000_000_000), 11);
                    w.end();
                }
            }
            if r.percent(50) {
                w.start(b"REF");
                w.el(b"EA");
                w.el(b"MRN");
                w.raw_num_w(r.range(100_000, 999_999), 6);
                w.end();
            }
            w.start(b"HI");
            w.el(b"ABK");
            w.comp(plan.dx[0].as_bytes());
            w.end();
            if plan.dx.len() > 1 {
                w.start(b"HI");
                for code in &plan.dx[1..] {
                    w.el(b"ABF");
                    w.comp(code.as_bytes());
                }
                w.end();
            }
            let (pair, _) = r.sample(&[0, 1, 2, 3, 4][..prov.docs.len().min(5)], 2);
            let (att, rend) = (&prov.docs[pair[0]], &prov.docs[pair[1]]);
            nm1_npi(w, b"71", att.last, att.first, &att.npi);
            if plan.facet && r.percent(70) {
                nm1_npi(w, b"72", rend.last, rend.first, &rend.npi);
            }
            let npi = if bad_npi {
                break_npi(r, &rend.npi)
            } else {
                rend.npi
            };
            nm1_npi(w, b"82", rend.last, rend.first, &npi);
            for (i, line) in plan.lines.iter().enumerate() {
                let rev: &[u8] = match line.code {
                    "77003" => b"0320",
                    "99213" => b"0510",
                    _ => b"0360",
                };
                w.start(b"LX");
                w.num(i as u64 + 1);
                w.end();
                w.start(b"SV2");
                w.el(rev);
                w.el(b"HC");
                w.comp(line.code.as_bytes());
                for m in line.mods.iter() {
                    w.comp(m.as_bytes());
                }
                w.money(line.cents);
                w.el(b"UN");
                w.num(line.units);
                w.end();
                w.start(b"DTP");
                w.el(b"472");
                w.el(b"D8");
                w.date(dos);
                w.end();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_plans_follow_the_reference_rules() {
        for kind in [Kind::Professional, Kind::Institutional] {
            let mut r = Rng::new(4, 0);
            for _ in 0..5000 {
                let plan = plan(&mut r, kind, 0.0);
                assert!(plan.defect.is_none() && plan.delta == 0 && plan.tob.is_none());
                assert!(!plan.lines.is_empty() && !plan.dx.is_empty());
                for line in plan.lines.iter() {
                    // Pointers stay within the diagnoses; facet lines are 1 unit.
                    assert!(line.ptr.iter().all(|p| usize::from(*p) <= plan.dx.len()));
                    assert_eq!(line.units, 1);
                    if plan.payer == &super::super::data::MEDICARE && line.code.starts_with("6463")
                    {
                        assert!(
                            line.ptr
                                .iter()
                                .any(|p| LUMBAR_COVERED.contains(&plan.dx[usize::from(*p) - 1])),
                            "Medicare facet lines point to a Group 1 code: {plan:?}"
                        );
                    }
                }
                if kind == Kind::Professional {
                    assert!(["11", "19", "22", "24"].contains(&plan.pos), "{}", plan.pos);
                } else {
                    assert!(!plan.dx.contains(&"M47812"));
                }
            }
        }
    }

    #[test]
    fn error_rate_one_gives_every_claim_a_defect_on_a_facet_claim() {
        let mut r = Rng::new(6, 0);
        for _ in 0..2000 {
            let plan = plan(&mut r, Kind::Institutional, 1.0);
            let d = plan.defect.expect("defective");
            assert!(plan.facet);
            if let Some(payer) = d.forced_payer(Kind::Institutional) {
                assert_eq!(plan.payer, payer);
            }
            assert_ne!(d, Defect::PointerOob);
        }
    }
}
