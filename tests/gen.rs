//! `scrub837 gen` end to end: the scrubber rejects every generated defective claim with exactly
//! the edit its truth line names and nothing else, clean claims get no reject; the output is
//! deterministic; the truth file, envelope, code values and defect kinds agree with the
//! reference generator `../shared/tools/gen837.py`; bad arguments exit 2.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{claim_edits as edits, gen837, scrub_bytes};
use scrub837::claim::Kind;
use scrub837::gen::{generate, Defect, Options, Written};
use scrub837::report::claims_jsonl::read_claims;

/// Generates in memory; returns the X12, the truth file and the counts.
fn gen(opts: &Options) -> (Vec<u8>, String, Written) {
    let (mut x12, mut truth) = (Vec::new(), Vec::new());
    let written = generate(opts, &mut x12, Some(&mut truth)).expect("generates");
    assert_eq!(written.bytes, x12.len() as u64);
    (x12, String::from_utf8(truth).expect("ASCII truth"), written)
}

fn opts(kind: Kind, claims: u64, seed: u64, error_rate: f64) -> Options {
    Options {
        error_rate,
        ..Options::new(kind, claims, seed)
    }
}

/// The truth file's rows, each checked to have four tab-separated cells.
fn rows(truth: &str) -> Vec<Vec<&str>> {
    assert!(truth.ends_with('\n'), "the last line ends with a newline");
    truth
        .lines()
        .map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            assert_eq!(cells.len(), 4, "truth line {l:?}");
            cells
        })
        .collect()
}

/// Scrubs a generated file and checks every claim against its truth line; returns the defect
/// names seen.
fn check_against_truth(label: &str, x12: &[u8], truth: &str, per_st: u64) -> BTreeSet<String> {
    let (s, problems) = scrub_bytes(x12, 64 << 10);
    assert!(
        problems.is_empty(),
        "{label}: structural problems {problems:?}"
    );
    let t = &s.totals;
    assert_eq!((t.interchanges, t.groups), (1, 1), "{label}");
    assert_eq!(
        t.transactions_rejected + t.transactions_with_errors,
        0,
        "{label}"
    );
    assert_eq!(t.groups_rejected + t.interchanges_rejected, 0, "{label}");
    let truth = rows(truth);
    let n = truth.len() as u64;
    assert_eq!(u64::from(t.transactions), n.div_ceil(per_st), "{label}");
    assert_eq!(s.claims.read, n, "{label}: claims read");
    assert_eq!(s.claims.rejected, 0, "{label}: no claim fails the guide");
    let claims = read_claims(&s.claims_jsonl[..]).expect("claims.jsonl re-reads");
    common::check_277(&s.ack277, &claims).unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(claims.len(), truth.len(), "{label}: one line per claim");
    let mut failures = Vec::new();
    let mut defects = BTreeSet::new();
    for (c, t) in claims.iter().zip(&truth) {
        assert_eq!(c.claim, t[0], "{label}: claim order");
        assert_eq!(c.kind, t[1], "{label}");
        assert!(
            c.payer.profile.is_some(),
            "{label}: {} payer unmatched",
            t[0]
        );
        assert!(
            c.findings.iter().all(|f| f.ack.is_none()),
            "{label}: {} has a structural finding",
            t[0]
        );
        let want: BTreeSet<String> = match t[3] {
            "-" => BTreeSet::new(),
            edit => [edit.to_owned()].into(),
        };
        let got = edits(c, "reject");
        let status = if want.is_empty() {
            "accepted"
        } else {
            "rejected"
        };
        if got != want || c.status != status {
            failures.push(format!(
                "{} ({}): {} with rejects {got:?}, expected {}",
                t[0], t[2], c.status, t[3]
            ));
        }
        // Warnings: only E-34 on top of E-33 (bundled imaging is also an NCCI pair).
        for w in edits(c, "warn") {
            if !(w == "E-34" && t[2] == "bundled_77003") {
                failures.push(format!("{} ({}): unexpected warning {w}", t[0], t[2]));
            }
        }
        defects.insert(t[2].to_owned());
    }
    assert!(
        failures.is_empty(),
        "{label}: {} claims differ from the truth:\n{}",
        failures.len(),
        failures.join("\n")
    );
    defects
}

#[test]
fn every_generated_claim_gets_exactly_its_truth_edit() {
    for (kind, seed, newlines, per_st) in [
        (Kind::Professional, 1, false, 5000),
        (Kind::Professional, 2, true, 150),
        (Kind::Professional, 3, false, 400),
        (Kind::Institutional, 1, false, 5000),
        (Kind::Institutional, 2, true, 150),
        (Kind::Institutional, 3, true, 400),
    ] {
        let o = Options {
            newlines,
            claims_per_st: per_st,
            ..opts(kind, 1200, seed, 0.3)
        };
        let (x12, truth, written) = gen(&o);
        assert_eq!(written.transactions, 1200u64.div_ceil(per_st));
        let label = format!("{} seed {seed} newlines {newlines}", kind.as_str());
        let defects = check_against_truth(&label, &x12, &truth, per_st);
        assert!(defects.contains("clean"), "{label}");
        assert!(
            defects.len() > Defect::of_kind(kind).len(),
            "{label}: every defect kind and clean claims: {defects:?}"
        );
    }
}

#[test]
fn error_free_files_are_clean_and_all_defective_files_all_rejected() {
    for kind in [Kind::Professional, Kind::Institutional] {
        let (x12, truth, written) = gen(&Options {
            claims_per_st: 700,
            ..opts(kind, 1500, 9, 0.0)
        });
        assert_eq!(written.defective, 0);
        let seen = check_against_truth("clean", &x12, &truth, 700);
        assert_eq!(seen, ["clean".to_owned()].into());
        let (x12, truth, written) = gen(&opts(kind, 600, 10, 1.0));
        assert_eq!(written.defective, 600);
        let seen = check_against_truth("all defective", &x12, &truth, 5000);
        assert!(!seen.contains("clean"));
    }
}

#[test]
fn the_same_arguments_give_the_same_bytes() {
    for kind in [Kind::Professional, Kind::Institutional] {
        let o = Options {
            claims_per_st: 100,
            ..opts(kind, 800, 42, 0.3)
        };
        let (a, ta, _) = gen(&o);
        let (b, tb, _) = gen(&o);
        assert!(a == b && ta == tb, "{kind:?}: two runs differ");
        let (c, tc, _) = gen(&Options {
            seed: 43,
            ..o.clone()
        });
        assert_ne!(a, c, "another seed, another file");
        assert_ne!(ta, tc, "another seed, another truth");
        let (_, td, _) = gen(&Options {
            error_rate: 0.31,
            ..o.clone()
        });
        assert_ne!(ta, td, "another error rate, other defects");
        // --newlines only adds a newline after each terminator.
        let (nl, tnl, _) = gen(&Options {
            newlines: true,
            ..o.clone()
        });
        assert_eq!(tnl, ta);
        assert_eq!(nl.len(), a.len() + a.iter().filter(|&&b| b == b'~').count());
        let stripped: Vec<u8> = nl.iter().copied().filter(|&b| b != b'\n').collect();
        assert_eq!(stripped, a);
        assert!(nl.ends_with(b"~\n") && !a.contains(&b'\n'));
    }
    let (p, _, _) = gen(&opts(Kind::Professional, 50, 1, 0.0));
    let (i, _, _) = gen(&opts(Kind::Institutional, 50, 1, 0.0));
    assert_ne!(p, i);
}

/// Segments of an X12 file (terminator `~`, newlines dropped).
fn segments(x12: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(x12)
        .split('~')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// gen837.py's arguments for the same file.
fn py_args<'a>(rate: &'a str, per_st: &'a str, truth: &'a str) -> Vec<&'a str> {
    vec![
        "--error-rate",
        rate,
        "--claims-per-st",
        per_st,
        "--truth",
        truth,
    ]
}

#[test]
fn envelope_and_clean_truth_equal_gen837s() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, letter, seed) in [
        (Kind::Professional, "P", 123_456_u64),
        (Kind::Institutional, "I", 7),
    ] {
        let path = dir.path().join(format!("truth-{letter}.tsv"));
        let py = gen837(
            letter,
            450,
            seed as u32,
            &py_args("0", "100", path.to_str().unwrap()),
        );
        let py_truth = std::fs::read_to_string(&path).unwrap();
        let (ours, truth, _) = gen(&Options {
            claims_per_st: 100,
            ..opts(kind, 450, seed, 0.0)
        });
        // Without defects the truth files are the same bytes: CLM01s, kinds, `clean`, `-`.
        assert_eq!(truth, py_truth, "{letter}");
        let (py, ours) = (segments(&py), segments(&ours));
        // ISA, GS, GE and IEA, and each ST and BHT, are the same.
        assert_eq!(ours[..2], py[..2], "{letter}: ISA/GS");
        assert_eq!(
            ours[ours.len() - 2..],
            py[py.len() - 2..],
            "{letter}: GE/IEA"
        );
        let headers = |segs: &[String]| -> Vec<String> {
            segs.iter()
                .filter(|s| s.starts_with("ST*") || s.starts_with("BHT*"))
                .cloned()
                .collect()
        };
        assert_eq!(headers(&ours), headers(&py), "{letter}: ST/BHT");
        assert_eq!(headers(&ours).len(), 10);
    }
}

/// The values of one element across a file, as a set: element `pos` of the segments starting
/// with `head` (an id, or an id and a qualifier such as `NM1*IL`), component `component` when
/// given.
fn values(segs: &[String], head: &str, pos: usize, component: Option<usize>) -> BTreeSet<String> {
    let head = format!("{head}*");
    segs.iter()
        .filter(|s| s.starts_with(&head))
        .filter_map(|s| s.split('*').nth(pos))
        .filter_map(|v| match component {
            Some(c) => v.split(':').nth(c).map(str::to_owned),
            None => Some(v.to_owned()),
        })
        .collect()
}

#[test]
fn code_values_payers_and_segments_are_gen837s() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, letter) in [(Kind::Professional, "P"), (Kind::Institutional, "I")] {
        let path = dir.path().join("t.tsv");
        let py = segments(&gen837(
            letter,
            3000,
            5,
            &py_args("0.3", "5000", path.to_str().unwrap()),
        ));
        let (ours, _, _) = gen(&opts(kind, 3000, 5, 0.3));
        let ours = segments(&ours);
        // The same kinds of segment (ids, with the qualifier of those that have one: `NM1*82`,
        // `REF*G1`, `DTP*431`, `HI*ABF`).
        let kinds = |segs: &[String]| -> BTreeSet<String> {
            segs.iter()
                .map(|s| {
                    let mut el = s.split('*');
                    let id = el.next().unwrap_or_default();
                    match id {
                        "NM1" | "REF" | "DTP" | "PRV" | "SBR" | "HI" | "PER" => {
                            let q = el.next().unwrap_or_default();
                            format!("{id}*{}", q.split(':').next().unwrap_or_default())
                        }
                        _ => id.to_owned(),
                    }
                })
                .collect()
        };
        assert_eq!(kinds(&ours), kinds(&py), "{letter}: segment kinds");
        let payers = |segs: &[String]| -> BTreeSet<(String, String)> {
            let mut out = BTreeSet::new();
            let mut sbr09 = String::new();
            for s in segs {
                let el: Vec<&str> = s.split('*').collect();
                match el.as_slice() {
                    ["SBR", .., last] => sbr09 = (*last).to_owned(),
                    ["NM1", "PR", .., id] => {
                        out.insert((id.to_string(), sbr09.clone()));
                    }
                    _ => {}
                }
            }
            out
        };
        assert_eq!(payers(&ours), payers(&py), "{letter}: payer ids and SBR09");
        let line = if letter == "P" { "SV1" } else { "SV2" };
        let procedure = if letter == "P" { 1 } else { 2 };
        for (id, pos, comp, what) in [
            ("CLM", 5, Some(0), "place of service / facility type"),
            ("CLM", 5, Some(1), "CLM05-2"),
            (line, procedure, Some(1), "procedure codes"),
            (line, procedure, Some(2), "first modifiers"),
            ("SV2", 1, None, "revenue codes"),
            ("HI", 1, Some(1), "principal diagnoses"),
            ("PRV", 3, None, "taxonomies"),
            ("NM1*IL", 3, None, "subscriber last names"),
            ("NM1*PR", 3, None, "payer names"),
            ("N4", 1, None, "cities"),
            ("PAT", 1, None, "relationships"),
            ("CL1", 1, None, "admission types"),
        ] {
            assert_eq!(
                values(&ours, id, pos, comp),
                values(&py, id, pos, comp),
                "{letter}: {what}"
            );
        }
    }
}

#[test]
fn defect_kinds_edits_and_rate_match_gen837() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, letter) in [(Kind::Professional, "P"), (Kind::Institutional, "I")] {
        let path = dir.path().join("t.tsv");
        gen837(
            letter,
            800,
            3,
            &py_args("1", "5000", path.to_str().unwrap()),
        );
        let py_truth = std::fs::read_to_string(&path).unwrap();
        let pairs = |truth: &str| -> BTreeMap<String, String> {
            rows(truth)
                .iter()
                .filter(|r| r[2] != "clean")
                .map(|r| (r[2].to_owned(), r[3].to_owned()))
                .collect()
        };
        let reference = pairs(&py_truth);
        assert!(reference.len() >= 11, "gen837.py covers its defects");
        let (_, truth, written) = gen(&opts(kind, 2000, 3, 0.3));
        let rows_ = rows(&truth);
        // Every defect kind of gen837.py, with the same edit, and nothing else.
        assert_eq!(pairs(&truth), reference, "{letter}");
        for r in &rows_ {
            assert_eq!(r[1], format!("837{letter}"));
            assert_eq!(r[2] == "clean", r[3] == "-", "{r:?}");
        }
        let defective = rows_.iter().filter(|r| r[2] != "clean").count();
        assert_eq!(defective as u64, written.defective);
        assert!(
            (500..700).contains(&defective),
            "{letter}: {defective} of 2000 claims defective at rate 0.3"
        );
        // Uniform over the kinds: none far below its share (2000 × 0.3 / 12 ≈ 50).
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for r in rows_.iter().filter(|r| r[2] != "clean") {
            *counts.entry(r[2]).or_default() += 1;
        }
        assert!(counts.values().all(|&n| n >= 25), "{letter}: {counts:?}");
    }
}

fn cli() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("scrub837").expect("binary")
}

#[test]
fn command_line_writes_stdout_or_files_and_refuses_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gen.x12");
    let truth = dir.path().join("truth.tsv");
    let args = [
        "gen",
        "--claims",
        "120",
        "--seed",
        "77",
        "--error-rate",
        "0.3",
    ];
    let to_stdout = cli()
        .args(args)
        .args(["--kind", "p", "--claims-per-st", "50"])
        .output()
        .unwrap();
    assert!(to_stdout.status.success(), "{to_stdout:?}");
    assert!(to_stdout.stderr.is_empty());
    let to_file = cli()
        .args(args)
        .args(["--kind", "P", "--claims-per-st", "50", "-o"])
        .arg(&out)
        .arg("--truth")
        .arg(&truth)
        .output()
        .unwrap();
    assert!(to_file.status.success(), "{to_file:?}");
    assert!(to_file.stdout.is_empty());
    let file = std::fs::read(&out).unwrap();
    assert_eq!(file, to_stdout.stdout, "stdout and -o give the same bytes");
    let (lib, lib_truth, _) = gen(&Options {
        claims_per_st: 50,
        ..opts(Kind::Professional, 120, 77, 0.3)
    });
    assert_eq!(file, lib, "the command and the library agree");
    assert_eq!(std::fs::read_to_string(&truth).unwrap(), lib_truth);
    let institutional = cli()
        .args(args)
        .args(["--kind", "i", "--newlines"])
        .output()
        .unwrap();
    assert!(institutional.status.success());
    assert!(segments(&institutional.stdout)[1].ends_with("005010X223A2"));

    for bad in [
        &["--kind", "P", "--error-rate", "1.5"][..],
        &["--kind", "P", "--error-rate", "-0.1"],
        &["--kind", "P", "--error-rate", "NaN"],
        &["--kind", "P", "--claims-per-st", "0"],
        &["--kind", "X"],
        &["--kind", "837P"],
    ] {
        let run = cli()
            .args(["gen", "--claims", "5", "--seed", "1"])
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "{bad:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{bad:?} writes nothing");
        assert!(!run.stderr.is_empty(), "{bad:?} says why");
    }
    let zero = cli()
        .args(["gen", "--kind", "I", "--claims", "0", "--seed", "1"])
        .output()
        .unwrap();
    assert_eq!(zero.status.code(), Some(2));
    let missing_dir = dir.path().join("no/such/dir/out.x12");
    let run = cli()
        .args(["gen", "--kind", "I", "--claims", "5", "--seed", "1", "-o"])
        .arg(&missing_dir)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("out.x12"));
}
