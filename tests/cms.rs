//! CMS quarterly tables end to end: NCCI PTP (E-34) and MUE (E-25, E-26) tables in the CMS
//! layouts attached to the bundled rule pack, claims that fire them and near-identical claims
//! that must not, provenance in claims.jsonl and `explain`, the rules directory, and the
//! importers' edge cases.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::{fixture, root, scrub_with_engine, NOW};
use proptest::prelude::*;
use scrub837::claim::{Date, Kind};
use scrub837::edit::cms::{self, Provenance, Setting, Table};
use scrub837::edit::{Engine, RuleSet};
use scrub837::report::claims_jsonl::{read_claims, ClaimLine, FindingOut};

const DOS: &str = "20250610";
const DOS2: &str = "20250611";
const PACK: &str = "(pack scrub837-facet-rfa 2026.11.1)";

// ---- claims -----------------------------------------------------------------------------

/// One service line: code, modifiers, units, date of service.
struct L {
    code: &'static str,
    mods: &'static [&'static str],
    units: u32,
    dos: &'static str,
}

fn l(code: &'static str, mods: &'static [&'static str]) -> L {
    L {
        code,
        mods,
        units: 1,
        dos: DOS,
    }
}

impl L {
    fn units(mut self, n: u32) -> L {
        self.units = n;
        self
    }
    fn on(mut self, dos: &'static str) -> L {
        self.dos = dos;
        self
    }
}

/// One 837 file holding one claim `id` with these lines: the first claim of
/// `fixtures/edits/E-34.{p,i}.x12` (Medicare, M47816, 837P POS 22 / 837I TOB 131 with a UTN)
/// with its lines replaced, CLM02 (100.00 per line), the 837I statement period and the
/// trailer counts recomputed.
fn claim(kind: Kind, id: &str, lines: &[L]) -> Vec<u8> {
    claims(kind, &[(id, lines)])
}

/// Like [`claim`], with several claims of the same subscriber and billing provider, one
/// after the other in the one transaction set.
fn claims(kind: Kind, list: &[(&str, &[L])]) -> Vec<u8> {
    let name = match kind {
        Kind::Professional => "edits/E-34.p.x12",
        Kind::Institutional => "edits/E-34.i.x12",
    };
    let text = std::fs::read_to_string(fixture(name)).expect("E-34 fixture");
    let segs: Vec<&str> = text
        .split('~')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let first_lx = segs.iter().position(|s| *s == "LX*1").expect("a line");
    let clm = segs
        .iter()
        .position(|s| s.starts_with("CLM*"))
        .expect("a claim");
    let mut out: Vec<String> = segs[..clm].iter().map(|s| (*s).to_owned()).collect();
    for (id, lines) in list {
        let (mut from, mut thru) = (lines[0].dos, lines[0].dos);
        for x in lines.iter() {
            from = from.min(x.dos);
            thru = thru.max(x.dos);
        }
        for s in &segs[clm..first_lx] {
            if s.starts_with("CLM*") {
                let mut e: Vec<String> = s.split('*').map(str::to_owned).collect();
                e[1] = (*id).to_owned();
                e[2] = (100 * lines.len()).to_string();
                out.push(e.join("*"));
            } else if s.starts_with("DTP*434*") {
                out.push(format!("DTP*434*RD8*{from}-{thru}"));
            } else {
                out.push((*s).to_owned());
            }
        }
        for (n, x) in lines.iter().enumerate() {
            let mods: String = x.mods.iter().map(|m| format!(":{m}")).collect();
            out.push(format!("LX*{}", n + 1));
            out.push(match kind {
                Kind::Professional => format!("SV1*HC:{}{mods}*100*UN*{}***1", x.code, x.units),
                Kind::Institutional => format!("SV2*0360*HC:{}{mods}*100*UN*{}", x.code, x.units),
            });
            out.push(format!("DTP*472*D8*{}", x.dos));
        }
    }
    let st = out.iter().position(|s| s.starts_with("ST*")).expect("ST");
    let field = |seg: &str, n: usize| -> String {
        let s = out.iter().find(|s| s.starts_with(seg)).expect(seg);
        s.split('*').nth(n).expect("element").to_owned()
    };
    let (st02, gs06, isa13) = (field("ST*", 2), field("GS*", 6), field("ISA*", 13));
    let count = out.len() - st + 1;
    out.push(format!("SE*{count}*{st02}"));
    out.push(format!("GE*1*{gs06}"));
    out.push(format!("IEA*1*{isa13}"));
    let mut bytes = out.join("~\n").into_bytes();
    bytes.extend_from_slice(b"~\n");
    bytes
}

fn p(id: &str, lines: &[L]) -> Vec<u8> {
    claim(Kind::Professional, id, lines)
}

fn i(id: &str, lines: &[L]) -> Vec<u8> {
    claim(Kind::Institutional, id, lines)
}

// ---- rule sets and runs -----------------------------------------------------------------

fn cms_fixture(name: &str) -> PathBuf {
    fixture(&format!("cms/{name}"))
}

const PRA: &str = "ccipra-v323r0-f1.txt";
const OPH: &str = "ccioph-v323r0-f1.txt";
const MUE_PRA: &str = "MCR_MUE_PractitionerServices_Eff_04-01-2025.csv";
const MUE_OPH: &str = "MCR_MUE_OutpatientHospitalServices_Eff_04-01-2025.csv";

fn rules_with(ptp: &[&str], mue: &[&str]) -> RuleSet {
    let mut rs = RuleSet::bundled().expect("bundled rules");
    let ptp: Vec<PathBuf> = ptp.iter().map(|n| cms_fixture(n)).collect();
    let mue: Vec<PathBuf> = mue.iter().map(|n| cms_fixture(n)).collect();
    rs.attach_cms(&ptp, &mue).expect("fixture tables load");
    rs
}

fn engine(rs: RuleSet) -> Arc<Engine> {
    Arc::new(Engine::new(
        Arc::new(rs),
        Date::parse_d8(b"20261127").expect("date"),
    ))
}

/// Scrubs one file and returns its one claim line (the file must be structurally clean).
fn run(engine: &Arc<Engine>, bytes: &[u8]) -> ClaimLine {
    let mut lines = run_all(engine, bytes);
    assert_eq!(lines.len(), 1);
    lines.remove(0)
}

/// Scrubs one file and returns its claim lines (the file must be structurally clean).
fn run_all(engine: &Arc<Engine>, bytes: &[u8]) -> Vec<ClaimLine> {
    let (s, problems) = scrub_with_engine(bytes, engine.clone());
    assert!(problems.is_empty(), "structurally clean: {problems:?}");
    let lines = read_claims(&s.claims_jsonl[..]).expect("claims.jsonl re-reads");
    common::check_277(&s.ack277, &lines).expect("277CA agrees with claims.jsonl");
    lines
}

fn of<'c>(c: &'c ClaimLine, edit: &str) -> Vec<&'c FindingOut> {
    c.findings.iter().filter(|f| f.edit == edit).collect()
}

fn ptp_engine() -> Arc<Engine> {
    engine(rules_with(&[PRA], &[]))
}

// ---- E-34 -------------------------------------------------------------------------------

#[test]
fn indicator_1_pair_rejects_without_a_modifier_and_59_or_xs_bypass_it() {
    let e = ptp_engine();
    let c = run(
        &e,
        &p(
            "MI1-NONE",
            &[
                l("64635", &["RT"]),
                l("64636", &["RT"]),
                l("64493", &["KX"]),
            ],
        ),
    );
    assert_eq!(c.status, "rejected", "{:?}", c.findings);
    let f = of(&c, "E-34");
    assert_eq!(f.len(), 1, "{:?}", c.findings);
    assert_eq!(f[0].severity, "reject");
    assert_eq!(f[0].line, Some(3));
    assert_eq!(f[0].stc.as_deref(), Some("A8:735"));
    assert_eq!(
        f[0].message,
        "64493 is column 2 to 64635 (CMS NCCI PTP practitioner v32.3r0, modifier indicator 1, no NCCI-associated modifier)"
    );
    // Provenance: the table, its edition and file, then the rule's line in the pack.
    let rule = f[0].rule.as_deref().unwrap_or("");
    assert!(
        rule.starts_with("CMS NCCI PTP practitioner v32.3r0 (ccipra-v323r0-f1.txt); edits.toml:")
            && rule.ends_with(PACK),
        "{rule}"
    );
    // Only E-34 rejects it: the rest of the claim is clean.
    assert!(
        c.findings.iter().all(|f| f.edit == "E-34"),
        "{:?}",
        c.findings
    );

    let bypassed: [(&str, &'static [&'static str]); 2] =
        [("MI1-59", &["KX", "59"]), ("MI1-XS", &["KX", "XS"])];
    for (id, mods) in bypassed {
        let c = run(
            &e,
            &p(
                id,
                &[l("64635", &["RT"]), l("64636", &["RT"]), l("64493", mods)],
            ),
        );
        assert_eq!(c.status, "accepted", "{id}: {:?}", c.findings);
        assert!(c.findings.is_empty(), "{id}: {:?}", c.findings);
    }
}

#[test]
fn without_cms_tables_the_curated_excerpt_only_warns() {
    let bundled = engine(RuleSet::bundled().unwrap());
    let c = run(
        &bundled,
        &p(
            "EXCERPT",
            &[
                l("64635", &["RT"]),
                l("64636", &["RT"]),
                l("64493", &["KX"]),
            ],
        ),
    );
    assert_eq!(c.status, "accepted");
    let f = of(&c, "E-34");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, "warn");
    assert!(
        f[0].message
            .contains("(curated excerpt (unverified), modifier indicator 1"),
        "{}",
        f[0].message
    );
    // The excerpt's findings keep the plain rule origin.
    assert!(
        f[0].rule
            .as_deref()
            .is_some_and(|r| r.starts_with("edits.toml:371 ")),
        "{:?}",
        f[0].rule
    );
}

#[test]
fn indicator_0_pair_fires_even_with_59() {
    let e = ptp_engine();
    let cases: [(&str, &'static [&'static str]); 3] = [
        ("MI0", &[]),
        ("MI0-59", &["59"]),
        ("MI0-XS-RT", &["XS", "RT"]),
    ];
    for (id, mods) in cases {
        let c = run(
            &e,
            &p(
                id,
                &[l("64635", &["RT"]), l("64636", &["RT"]), l("62321", mods)],
            ),
        );
        assert_eq!(c.status, "rejected", "{id}");
        let f = of(&c, "E-34");
        assert_eq!(f.len(), 1, "{id}: {:?}", c.findings);
        assert_eq!(
            f[0].message,
            "62321 is column 2 to 64635 (CMS NCCI PTP practitioner v32.3r0, modifier indicator 0, never bypassed)",
            "{id}"
        );
    }
}

#[test]
fn deleted_later_and_indicator_9_pairs_do_not_fire() {
    let e = ptp_engine();
    let bundled = engine(RuleSet::bundled().unwrap());
    for (id, code, why) in [
        (
            "DEL-2015",
            "20552",
            "deleted 2015-01-01, before the date of service",
        ),
        (
            "DEL-ON-DOS",
            "20553",
            "deleted on the date of service (exclusive)",
        ),
        (
            "LATER",
            "64484",
            "effective the day after the date of service",
        ),
        ("MI9", "64483", "indicator 9"),
    ] {
        let lines = [l("64635", &["RT"]), l("64636", &["RT"]), l(code, &[])];
        let c = run(&e, &p(id, &lines));
        assert_eq!(c.status, "accepted", "{id} ({why}): {:?}", c.findings);
        assert!(of(&c, "E-34").is_empty(), "{id} ({why}): {:?}", c.findings);
        // The curated excerpt would have warned: the CMS table replaced it.
        let c = run(&bundled, &p(id, &lines));
        assert_eq!(of(&c, "E-34").len(), 1, "{id}: the excerpt lists {code}");
    }
    // The pair effective on 2025-06-11 fires on that date.
    let c = run(
        &e,
        &p(
            "LATER-ON",
            &[
                l("64635", &["RT"]).on(DOS2),
                l("64636", &["RT"]).on(DOS2),
                l("64484", &[]).on(DOS2),
            ],
        ),
    );
    assert_eq!(c.status, "rejected");
    assert_eq!(of(&c, "E-34").len(), 1, "{:?}", c.findings);
}

#[test]
fn both_codes_must_be_billed_on_the_same_date() {
    let e = ptp_engine();
    let c = run(
        &e,
        &p(
            "OTHER-DAY",
            &[
                l("64635", &["RT"]),
                l("64636", &["RT"]),
                l("64493", &["KX"]).on(DOS2),
            ],
        ),
    );
    assert!(of(&c, "E-34").is_empty(), "{:?}", c.findings);
    // Column 2 code without its column 1 code: nothing.
    let c = run(
        &e,
        &p("NO-COL1", &[l("64493", &["KX"]), l("64494", &["KX"])]),
    );
    assert!(of(&c, "E-34").is_empty(), "{:?}", c.findings);
}

#[test]
fn institutional_claims_use_the_hospital_outpatient_table() {
    let both = engine(rules_with(&[PRA, OPH], &[]));
    // 64490 is an indicator-0 pair in the outpatient table only.
    let c = run(
        &both,
        &i(
            "OPH-64490",
            &[l("64635", &["RT"]), l("64636", &["RT"]), l("64490", &[])],
        ),
    );
    assert_eq!(c.status, "rejected", "{:?}", c.findings);
    let f = of(&c, "E-34");
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message
            .contains("(CMS NCCI PTP hospital outpatient v32.3r0, modifier indicator 0"),
        "{}",
        f[0].message
    );
    assert!(
        f[0].rule.as_deref().is_some_and(|r| r.starts_with(
            "CMS NCCI PTP hospital outpatient v32.3r0 (ccioph-v323r0-f1.txt); edits.toml:"
        )),
        "{:?}",
        f[0].rule
    );
    let c = run(
        &both,
        &p(
            "PRA-64490",
            &[l("64635", &["RT"]), l("64636", &["RT"]), l("64490", &[])],
        ),
    );
    assert!(
        of(&c, "E-34").is_empty(),
        "837P uses the practitioner table: {:?}",
        c.findings
    );
    // 62321 is a practitioner pair only.
    let c = run(
        &both,
        &i(
            "OPH-62321",
            &[l("64635", &["RT"]), l("64636", &["RT"]), l("62321", &[])],
        ),
    );
    assert!(of(&c, "E-34").is_empty(), "{:?}", c.findings);
    // 64493 is an indicator-1 pair in both: 59 bypasses it on 837I too.
    let c = run(
        &both,
        &i(
            "OPH-64493-59",
            &[
                l("64635", &["RT"]),
                l("64636", &["RT"]),
                l("64493", &["KX", "59"]),
            ],
        ),
    );
    assert_eq!(c.status, "accepted", "{:?}", c.findings);
    // With the practitioner table only, 837I claims keep the curated excerpt (a warning).
    let pra = ptp_engine();
    let c = run(
        &pra,
        &i(
            "OPH-NONE",
            &[
                l("64635", &["RT"]),
                l("64636", &["RT"]),
                l("64493", &["KX"]),
            ],
        ),
    );
    assert_eq!(c.status, "accepted");
    let f = of(&c, "E-34");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, "warn");
}

// ---- E-25 / E-26 ------------------------------------------------------------------------

#[test]
fn mue_mai_2_sums_units_over_the_lines_of_a_date() {
    // Fixture: 64636 MUE 2, MAI 2 (the bundled rule's own limit is 4).
    let e = engine(rules_with(&[], &[MUE_PRA]));
    let bundled = engine(RuleSet::bundled().unwrap());
    let lines = || {
        [
            l("64635", &["RT"]),
            l("64636", &["RT"]),
            l("64636", &["LT"]).units(2),
        ]
    };
    let c = run(&e, &p("MAI2-OVER", &lines()));
    assert_eq!(c.status, "rejected", "{:?}", c.findings);
    let f = of(&c, "E-26");
    assert_eq!(f.len(), 1, "{:?}", c.findings);
    assert_eq!(f[0].severity, "reject");
    assert_eq!(f[0].line, Some(3));
    assert_eq!(
        f[0].message,
        "3 units of 64636 on 2025-06-10 (MUE 2 per date of service, MAI 2)"
    );
    let rule = f[0].rule.as_deref().unwrap_or("");
    assert!(
        rule.starts_with(
            "CMS MUE practitioner services effective 2025-04-01 (MCR_MUE_PractitionerServices_Eff_04-01-2025.csv); edits.toml:"
        ) && rule.ends_with(PACK),
        "{rule}"
    );
    assert!(
        c.findings.iter().all(|f| f.edit == "E-26"),
        "{:?}",
        c.findings
    );
    // Without the table, the rule's own limit (4) applies: 3 units pass.
    let c = run(&bundled, &p("MAI2-OVER", &lines()));
    assert!(c.findings.is_empty(), "{:?}", c.findings);
    // At the MUE: 2 units over two lines.
    let c = run(
        &e,
        &p(
            "MAI2-AT",
            &[
                l("64635", &["RT"]),
                l("64636", &["RT"]),
                l("64636", &["LT"]),
            ],
        ),
    );
    assert!(c.findings.is_empty(), "{:?}", c.findings);
    // Units of different dates are not summed.
    let c = run(
        &e,
        &p(
            "MAI2-TWO-DAYS",
            &[
                l("64635", &["RT"]),
                l("64636", &["RT"]).units(2),
                l("64635", &["LT"]).on(DOS2),
                l("64636", &["LT"]).units(2).on(DOS2),
            ],
        ),
    );
    // (3 levels on one side each day: E-27, not the units.)
    assert!(of(&c, "E-26").is_empty(), "{:?}", c.findings);
}

#[test]
fn mue_mai_2_sums_units_across_the_claims_of_a_date() {
    // Fixture: 64636 MUE 2, MAI 2. Two claims of one member, provider and date: 1 + 2 units.
    let e = engine(rules_with(&[], &[MUE_PRA]));
    let first: &[L] = &[l("64635", &["RT"]), l("64636", &["RT"])];
    let second: &[L] = &[l("64635", &["LT"]), l("64636", &["LT"]).units(2)];
    let c = run_all(
        &e,
        &claims(Kind::Professional, &[("A", first), ("B", second)]),
    );
    assert!(c[0].findings.is_empty(), "{:?}", c[0].findings);
    assert_eq!(c[1].status, "rejected", "{:?}", c[1].findings);
    let f = of(&c[1], "E-26");
    assert_eq!(f.len(), 1, "{:?}", c[1].findings);
    assert_eq!(f[0].line, Some(2));
    assert_eq!(
        f[0].message,
        "3 units of 64636 on 2025-06-10 with the member's other claims of that date (2 on this claim, 1 already billed; MUE 2 per date of service, MAI 2)"
    );
    assert!(
        f[0].rule
            .as_deref()
            .is_some_and(|r| r.starts_with("CMS MUE practitioner services")),
        "{:?}",
        f[0].rule
    );
    // Another date, or at the MUE together: nothing.
    let later: &[L] = &[
        l("64635", &["LT"]).on(DOS2),
        l("64636", &["LT"]).units(2).on(DOS2),
    ];
    let at: &[L] = &[l("64635", &["LT"]), l("64636", &["LT"])];
    for other in [later, at] {
        let c = run_all(
            &e,
            &claims(Kind::Professional, &[("A", first), ("B", other)]),
        );
        assert!(
            c.iter().all(|c| of(c, "E-26").is_empty()),
            "{:?}",
            c.iter().map(|c| &c.findings).collect::<Vec<_>>()
        );
    }
    // A rejected claim's units do not count (E-27 rejects the first: three levels on one side).
    let rejected: &[L] = &[
        l("64635", &["RT"]),
        l("64636", &["RT"]),
        l("64636", &["RT"]),
    ];
    let c = run_all(
        &e,
        &claims(Kind::Professional, &[("A", rejected), ("B", at)]),
    );
    assert_eq!(c[0].status, "rejected");
    assert!(of(&c[1], "E-26").is_empty(), "{:?}", c[1].findings);
    // Without the table the rule's own daily limit (4) sums across claims too: two units
    // on each of three claims (two levels a side each), over it at the third.
    let bundled = engine(RuleSet::bundled().unwrap());
    let both: &[L] = &[
        l("64635", &["50"]),
        l("64636", &["RT"]),
        l("64636", &["LT"]),
    ];
    let c = run_all(
        &bundled,
        &claims(Kind::Professional, &[("A", both), ("B", both), ("C", both)]),
    );
    assert!(
        c[0].findings.is_empty() && c[1].findings.is_empty(),
        "{c:?}"
    );
    let f = of(&c[2], "E-26");
    assert_eq!(f.len(), 1, "{:?}", c[2].findings);
    assert_eq!(
        f[0].message,
        "6 units of 64636 on 2025-06-10 with the member's other claims of that date (2 on this claim, 4 already billed; at most 4 per date of service)"
    );
}

#[test]
fn mue_mai_1_is_per_line_across_claims_too() {
    // Fixture: 64635 MUE 1, MAI 1: one unit on a line of each of two claims the same date.
    let e = engine(rules_with(&[], &[MUE_PRA]));
    let one: &[L] = &[l("64635", &["RT"])];
    let other: &[L] = &[l("64635", &["LT"])];
    let c = run_all(&e, &claims(Kind::Professional, &[("A", one), ("B", other)]));
    assert!(
        c.iter().all(|c| of(c, "E-25").is_empty()),
        "{:?}",
        c.iter().map(|c| &c.findings).collect::<Vec<_>>()
    );
}

#[test]
fn mue_mai_1_is_per_line() {
    // Fixture: 64635 MUE 1, MAI 1 (the bundled rule allows one line per date).
    let e = engine(rules_with(&[], &[MUE_PRA]));
    let bundled = engine(RuleSet::bundled().unwrap());
    let two_lines = || {
        [
            l("64635", &["RT"]),
            l("64635", &["LT"]),
            l("64636", &["RT"]),
        ]
    };
    let c = run(&e, &p("MAI1-TWO-LINES", &two_lines()));
    assert!(
        c.findings.is_empty(),
        "each line within the MUE: {:?}",
        c.findings
    );
    let c = run(&bundled, &p("MAI1-TWO-LINES", &two_lines()));
    assert_eq!(
        of(&c, "E-25").len(),
        1,
        "the rule's own lines-per-day limit: {:?}",
        c.findings
    );
    // Two units on one line exceed it.
    let c = run(&e, &p("MAI1-OVER", &[l("64635", &["RT"]).units(2)]));
    assert_eq!(c.status, "rejected");
    let f = of(&c, "E-25");
    assert_eq!(f.len(), 1, "{:?}", c.findings);
    assert_eq!(
        f[0].message,
        "64635 billed with 2 units on one line (MUE 1 per line, MAI 1)"
    );
    assert_eq!(f[0].stc_extra, vec!["A7:453".to_owned()]);
}

#[test]
fn institutional_claims_use_the_outpatient_hospital_mue_table() {
    // Outpatient fixture: 64636 MUE 3, MAI 3; practitioner: 2, MAI 2.
    let e = engine(rules_with(&[], &[MUE_PRA, MUE_OPH]));
    let lines = || {
        [
            l("64635", &["RT"]),
            l("64636", &["RT"]),
            l("64636", &["LT"]).units(2),
        ]
    };
    let c = run(&e, &i("OPH-MUE-AT", &lines()));
    assert!(of(&c, "E-26").is_empty(), "{:?}", c.findings);
    let c = run(
        &e,
        &i(
            "OPH-MUE-OVER",
            &[
                l("64635", &["RT"]),
                l("64636", &["RT"]).units(2),
                l("64636", &["LT"]).units(2),
            ],
        ),
    );
    let f = of(&c, "E-26");
    assert_eq!(f.len(), 1, "{:?}", c.findings);
    assert_eq!(
        f[0].message,
        "4 units of 64636 on 2025-06-10 (MUE 3 per date of service, MAI 3)"
    );
    assert!(f[0]
        .rule
        .as_deref()
        .is_some_and(|r| r.contains("(MCR_MUE_OutpatientHospitalServices_Eff_04-01-2025.csv)")));
}

#[test]
fn mue_editions_apply_from_their_date() {
    // The fixture edition starts 2025-04-01: a claim of 2025-03-31 uses the rule's own limit.
    let e = engine(rules_with(&[], &[MUE_PRA]));
    let c = run(
        &e,
        &p(
            "BEFORE-EDITION",
            &[
                l("64635", &["RT"]).on("20250331"),
                l("64636", &["RT"]).units(3).on("20250331"),
            ],
        ),
    );
    assert!(of(&c, "E-26").is_empty(), "{:?}", c.findings);
}

// ---- rule sets, rules directory, explain ----------------------------------------------

#[test]
fn the_bundled_excerpt_is_the_former_inline_list() {
    let rs = RuleSet::bundled().unwrap();
    let want: Vec<(&str, u8)> = vec![
        ("20552", 1),
        ("20553", 1),
        ("62321", 1),
        ("62323", 1),
        ("64483", 1),
        ("64484", 1),
        ("64490", 1),
        ("64491", 1),
        ("64492", 1),
        ("64493", 1),
        ("64494", 1),
        ("64495", 1),
        ("64633", 1),
        ("64634", 1),
        ("77003", 0),
        ("77012", 0),
    ];
    for setting in [Setting::Practitioner, Setting::OutpatientHospital] {
        let set = rs
            .tables()
            .ptp(Provenance::Excerpt, setting)
            .expect("excerpt loaded");
        let got: Vec<(String, u8)> = set
            .column1(b"64635")
            .iter()
            .map(|r| (r.column2.to_string(), r.indicator))
            .collect();
        let want: Vec<(String, u8)> = want.iter().map(|(c, i)| ((*c).to_owned(), *i)).collect();
        assert_eq!(got, want, "{setting:?}");
        assert_eq!(set.len(), 16);
        assert!(set
            .tables()
            .all(|t| t.embedded && t.provenance == Provenance::Excerpt));
        assert!(rs.tables().ptp(Provenance::Cms, setting).is_none());
    }
    // The embedded bytes are the files in rules/.
    for (name, bytes) in scrub837::edit::rules::BUNDLED_TABLES {
        assert_eq!(
            std::fs::read(root().join("rules").join(name)).unwrap(),
            *bytes,
            "{name}"
        );
    }
}

fn bundled_texts() -> Vec<(String, String)> {
    scrub837::edit::rules::BUNDLED
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect()
}

#[test]
fn rule_data_says_which_table_a_rule_reads() {
    // A second CMS-table E-34 rule overlapping the first is refused; the excerpt rule and the
    // CMS rule coexist (the bundled pack has both).
    let mut files = bundled_texts();
    let edits = &mut files.iter_mut().find(|f| f.0 == "edits.toml").unwrap().1;
    let at = edits.rfind("[[rule]]\nedit = \"E-34\"").unwrap();
    let end = edits[at..].find("\n\n").map_or(edits.len(), |e| at + e);
    let copy = edits[at..end].to_owned();
    edits.push('\n');
    edits.push_str(&copy);
    let e = RuleSet::from_texts("test", &files).unwrap_err().to_string();
    assert!(e.contains("overlaps the rule at edits.toml:"), "{e}");
    // Unknown table names and pairs next to a table are refused.
    for (from, to, want) in [
        ("params = { table = \"cms\", bypass", "params = { table = \"nccii\", bypass", "`nccii`"),
        (
            "params = { table = \"cms\", bypass = [\"@ncci_modifiers\"] }",
            "params = { table = \"cms\", bypass = [\"@ncci_modifiers\"], pairs = [[\"64635\", \"77003\", \"0\"]] }",
            "not with table = \"cms\"",
        ),
        ("table = \"cms\", max_units = 4", "table = \"cns\", max_units = 4", "`cns`"),
    ] {
        let mut files = bundled_texts();
        let f = files.iter_mut().find(|f| f.0 == "edits.toml").unwrap();
        assert!(f.1.contains(from), "{from}");
        f.1 = f.1.replacen(from, to, 1);
        let e = RuleSet::from_texts("test", &files).unwrap_err().to_string();
        assert!(e.starts_with("edits.toml:") && e.contains(want), "{e}");
    }
    // Pairs listed inline still work, named by `table`.
    let mut files = bundled_texts();
    let f = files.iter_mut().find(|f| f.0 == "edits.toml").unwrap();
    f.1 = f.1.replacen(
        "params = { table = \"excerpt\", bypass = [\"@ncci_modifiers\"] }",
        "params = { table = \"my list\", bypass = [\"@ncci_modifiers\"], pairs = [[\"64635\", \"64493\", \"1\"]] }",
        1,
    );
    let c = run(
        &engine(RuleSet::from_texts("test", &files).unwrap()),
        &p(
            "LISTED",
            &[
                l("64635", &["RT"]),
                l("64636", &["RT"]),
                l("64493", &["KX"]),
            ],
        ),
    );
    let f = of(&c, "E-34");
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.contains("(my list, modifier indicator 1"),
        "{}",
        f[0].message
    );
}

/// A rules directory: the bundled pack's files plus `extra` fixture tables.
fn rules_dir(extra: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in bundled_texts() {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    for (name, bytes) in scrub837::edit::rules::BUNDLED_TABLES {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    for name in extra {
        std::fs::copy(cms_fixture(name), dir.path().join(name)).unwrap();
    }
    dir
}

#[test]
fn the_rules_directory_picks_up_cms_files_by_name() {
    let dir = rules_dir(&[PRA, MUE_PRA]);
    let rs = RuleSet::from_dir(dir.path()).expect("loads");
    let files: Vec<&str> = rs
        .tables()
        .infos()
        .iter()
        .map(|i| i.file.as_str())
        .collect();
    for want in [
        PRA,
        MUE_PRA,
        "excerpt-ccipra-64633-64636.txt",
        "excerpt-ccioph-64633-64636.txt",
    ] {
        assert!(files.contains(&want), "{want} in {files:?}");
    }
    let text = scrub837::edit::explain::explain(&rs, "E-34").unwrap();
    for want in [
        "Tables:",
        "CMS NCCI PTP practitioner v32.3r0 (ccipra-v323r0-f1.txt): 8 rows, from ",
        "CMS NCCI PTP, hospital outpatient (837I): none loaded",
        "curated excerpt (unverified) (excerpt-ccipra-64633-64636.txt): 16 rows, from ",
        "NCCI procedure-to-procedure pair (CMS PTP table)",
    ] {
        assert!(text.contains(want), "{want} in\n{text}");
    }
    let text = scrub837::edit::explain::explain(&rs, "E-26").unwrap();
    assert!(
        text.contains("CMS MUE practitioner services effective 2025-04-01 (MCR_MUE_PractitionerServices_Eff_04-01-2025.csv): 4 rows"),
        "{text}"
    );
    let c = run(
        &engine(rs),
        &p(
            "DIR",
            &[
                l("64635", &["RT"]),
                l("64636", &["RT"]),
                l("64493", &["KX"]),
            ],
        ),
    );
    assert_eq!(c.status, "rejected");
    // A rules directory without excerpt files keeps the bundled excerpt.
    let bare = tempfile::tempdir().unwrap();
    for (name, text) in bundled_texts() {
        std::fs::write(bare.path().join(name), text).unwrap();
    }
    let rs = RuleSet::from_dir(bare.path()).unwrap();
    assert!(rs
        .tables()
        .ptp(Provenance::Excerpt, Setting::Practitioner)
        .is_some_and(|s| s.tables().all(|t| t.embedded)));
}

#[test]
fn cli_explain_and_scrub_with_cms_tables_in_the_rules_directory() {
    let dir = rules_dir(&[PRA, OPH]);
    let out = assert_cmd::Command::cargo_bin("scrub837")
        .unwrap()
        .args(["explain", "E-34", "--rules"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("CMS NCCI PTP hospital outpatient v32.3r0 (ccioph-v323r0-f1.txt): 2 rows"),
        "{text}"
    );
    let out = assert_cmd::Command::cargo_bin("scrub837")
        .unwrap()
        .args(["rules", "--rules"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("ccipra-v323r0-f1.txt"));
    // End to end: the E-34 fixture's claims are rejected with the table named in claims.jsonl.
    let out_dir = dir.path().join("out");
    let run = assert_cmd::Command::cargo_bin("scrub837")
        .unwrap()
        .args(["scrub", "-q", "--now", NOW, "--rules"])
        .arg(dir.path())
        .arg("-o")
        .arg(&out_dir)
        .arg(fixture("edits/E-34.p.x12"))
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let claims =
        read_claims(&std::fs::read(out_dir.join("E-34.p.claims.jsonl")).unwrap()[..]).unwrap();
    let fire = claims.iter().find(|c| c.claim == "E34P-FIRE").unwrap();
    assert_eq!(fire.status, "rejected");
    assert!(of(fire, "E-34")[0]
        .rule
        .as_deref()
        .is_some_and(|r| r
            .starts_with("CMS NCCI PTP practitioner v32.3r0 (ccipra-v323r0-f1.txt); edits.toml:")));
    let pass = claims.iter().find(|c| c.claim == "E34P-PASS").unwrap();
    assert_eq!(pass.status, "accepted");
}

// ---- importers ---------------------------------------------------------------------------

#[test]
fn attach_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut rs = RuleSet::bundled().unwrap();
    // A malformed row.
    let bad = dir.path().join(PRA);
    let mut text = std::fs::read(cms_fixture(PRA)).unwrap();
    text.extend_from_slice(b"64635\t64495\t\t2012-01-01\t*\t1\tdate with dashes\r\n");
    std::fs::write(&bad, &text).unwrap();
    let e = rs
        .attach_cms(std::slice::from_ref(&bad), &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!(
            "{}:16: effective date `2012-01-01`",
            bad.display()
        )),
        "{e}"
    );
    // An unrecognized layout.
    let csv = dir.path().join(OPH);
    std::fs::write(&csv, "Col A,Col B\n64635,64493\n").unwrap();
    let e = rs
        .attach_cms(std::slice::from_ref(&csv), &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!("{}:0: unrecognized layout", csv.display())),
        "{e}"
    );
    // A table of the wrong kind, a name that says nothing, a file that is not there.
    let e = rs
        .attach_cms(&[cms_fixture(MUE_PRA)], &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("an MUE table, not an NCCI PTP table"), "{e}");
    let e = rs
        .attach_cms(&[], &[cms_fixture(PRA)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("an NCCI PTP table, not an MUE table"), "{e}");
    let odd = dir.path().join("ptp.txt");
    std::fs::copy(cms_fixture(PRA), &odd).unwrap();
    let e = rs.attach_cms(&[odd], &[]).unwrap_err().to_string();
    assert!(e.contains("not a CMS table file name"), "{e}");
    let e = rs
        .attach_cms(&[dir.path().join("ccipra-v323r0-f9.txt")], &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot read"), "{e}");
    // Nothing was attached by the failed calls.
    assert!(rs
        .tables()
        .ptp(Provenance::Cms, Setting::Practitioner)
        .is_none());
}

#[test]
fn ptp_header_after_a_preamble_of_any_length_and_latin1_text() {
    let table = std::fs::read(cms_fixture(PRA)).unwrap();
    let header = table.windows(8).position(|w| w == b"Column 1").unwrap();
    for preamble in [
        "",
        "one line\r\n",
        "a\r\nb\r\n\r\nc\td\te\r\nColumn 3\tColumn 4\r\n",
    ] {
        let mut bytes = preamble.as_bytes().to_vec();
        bytes.extend_from_slice(&table[header..]);
        let Table::Ptp(t) = Table::parse(PRA, &bytes).unwrap() else {
            panic!("a PTP table")
        };
        assert_eq!(t.rows().len(), 8, "{preamble:?}");
        let r = t
            .rows()
            .iter()
            .find(|r| r.column2.to_string() == "62323")
            .unwrap();
        assert_eq!(t.rationale(r), "Injection épidurale (Latin-1 text)");
        let old = t
            .rows()
            .iter()
            .find(|r| r.column1.to_string() == "27096")
            .unwrap();
        assert!(old.pre1996);
    }
}

#[test]
fn mue_header_cell_with_a_quoted_line_break() {
    let Table::Mue(t) = Table::load(&cms_fixture(MUE_PRA)).unwrap() else {
        panic!("an MUE table")
    };
    assert_eq!(t.rows().len(), 4);
    let r = t.get(b"64636").unwrap();
    assert_eq!((r.value, r.mai), (2, 2));
    assert_eq!(t.rationale(r), "Clinical: Data, test value");
    assert_eq!(t.info.edition, Date::parse_d8(b"20250401"));
    assert_eq!(t.info.setting, Setting::Practitioner);
    // A malformed row after the two-line header cell: its line counts the break.
    let mut bytes = std::fs::read(cms_fixture(MUE_PRA)).unwrap();
    bytes.extend_from_slice(b"64490,x,1 Line Edit,bad value\r\n");
    let e = Table::parse(MUE_PRA, &bytes).unwrap_err();
    assert_eq!(e.line, 9, "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("{MUE_PRA}:9: MUE value `x`")),
        "{e}"
    );
}

#[test]
fn active_for_a_date_of_service_is_one_rule() {
    let d = |s: &[u8]| Date::parse_d8(s).unwrap();
    assert!(cms::active_on(d(b"20250101"), None, Some(d(b"20250101"))));
    assert!(!cms::active_on(
        d(b"20250101"),
        Some(d(b"20250610")),
        Some(d(b"20250610"))
    ));
    assert!(cms::active_on(
        d(b"20250101"),
        Some(d(b"20250610")),
        Some(d(b"20250609"))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// No input panics either importer: arbitrary bytes, and fixture tables with bytes
    /// overwritten, are read or refused with an error.
    #[test]
    fn importers_never_panic(
        noise in proptest::collection::vec(any::<u8>(), 0..600),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..12),
        cut in any::<usize>(),
    ) {
        for name in [PRA, MUE_PRA] {
            let _ = Table::parse(name, &noise);
            let mut bytes = std::fs::read(cms_fixture(name)).unwrap();
            for (at, b) in &edits {
                let n = bytes.len();
                bytes[at % n] = *b;
            }
            let _ = Table::parse(name, &bytes);
            let _ = Table::parse(name, &bytes[..cut % (bytes.len() + 1)]);
        }
    }
}

/// `scrub --ncci-ptp FILE --mue FILE`: findings name the table and edition they came from; a
/// file that is not a CMS table is a configuration error (exit 2) naming it.
#[test]
fn cli_loads_cms_tables_and_names_them_in_findings() {
    let out = tempfile::tempdir().unwrap();
    let run = assert_cmd::Command::cargo_bin("scrub837")
        .unwrap()
        .args(["scrub", "-q", "--now", common::NOW, "-o"])
        .arg(out.path())
        .arg("--ncci-ptp")
        .arg(common::fixture("cms/ccipra-v323r0-f1.txt"))
        .arg("--mue")
        .arg(common::fixture(
            "cms/MCR_MUE_PractitionerServices_Eff_04-01-2025.csv",
        ))
        .arg(common::fixture("edits/E-34.p.x12"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let lines = scrub837::report::claims_jsonl::read_claims(
        &std::fs::read(out.path().join("E-34.p.claims.jsonl")).unwrap()[..],
    )
    .unwrap();
    let from_cms: Vec<_> = lines
        .iter()
        .flat_map(|c| c.findings.iter())
        .filter(|f| {
            f.rule.as_deref().is_some_and(|r| {
                r.starts_with("CMS NCCI PTP practitioner v32.3r0 (ccipra-v323r0-f1.txt)")
            })
        })
        .collect();
    assert!(!from_cms.is_empty());
    assert!(from_cms
        .iter()
        .all(|f| f.edit == "E-34" && f.severity == "reject"));
    let bad = out.path().join("notes.txt");
    std::fs::write(&bad, "junk\n").unwrap();
    let run = assert_cmd::Command::cargo_bin("scrub837")
        .unwrap()
        .args(["scrub", "-q", "-o"])
        .arg(out.path().join("x"))
        .arg("--ncci-ptp")
        .arg(&bad)
        .arg(common::fixture("edits/E-34.p.x12"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("notes.txt"));
}
