//! Differential check of the implementation-guide fixtures (`fixtures/ig`) against pyx12's
//! `x12valid`: it must accept the clean base files, flag the same segments as we do in the
//! broken ones (its `Line:N` is the segment ordinal, as the fixtures put one segment per line,
//! and our stderr says `segment N`), and accept every 999 we write for them.
//!
//! `.ci/run` installs pyx12 in a virtual environment and sets `SCRUB837_X12VALID` to its
//! `x12valid` (and `SCRUB837_REQUIRE_PYX12=1`, so a missing validator fails the test there).
//! Elsewhere the test looks for `x12valid` on the PATH and says so when it cannot find it.
//! x12valid writes a `.997` beside what it checks, so it only ever runs on copies in a
//! temporary folder.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::Command as Cmd;
use common::{fixture, NOW};

fn x12valid() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SCRUB837_X12VALID") {
        return Some(PathBuf::from(p));
    }
    let found = Command::new("x12valid").arg("--help").output().ok()?;
    found.status.success().then(|| PathBuf::from("x12valid"))
}

/// The validator, or `None` (after saying why) when it is missing and not required.
fn validator() -> Option<PathBuf> {
    let found = x12valid();
    if found.is_none() {
        assert!(
            std::env::var_os("SCRUB837_REQUIRE_PYX12").is_none(),
            "SCRUB837_REQUIRE_PYX12 is set but x12valid was not found"
        );
        eprintln!("x12valid not found: pyx12 differential check not run (set SCRUB837_X12VALID)");
    }
    found
}

/// How a broken fixture compares with pyx12.
#[derive(Clone, Copy, Debug)]
enum Compare {
    /// Both flag the same segments, and every code pyx12 gives (`SEG:c` as IK304 c, `ELE:c`
    /// as IK403 c) is among ours for that segment.
    Same,
    /// Both flag the same segments, with codes that differ (why).
    LinesOnly(&'static str),
    /// pyx12 accepts the file: it does not check this rule (why). Checked, so that a pyx12
    /// that starts to check it is noticed.
    Missed(&'static str),
    /// Not compared (why).
    Excluded(&'static str),
}

use Compare::*;

/// Every broken fixture, and how it compares. A fixture missing here fails the test.
const CASES: &[(&str, Compare)] = &[
    ("i_ik3_2_unexpected_n3_in_2400", LinesOnly(NOT_FOUND)),
    ("i_ik3_3_missing_cl1", Same),
    ("i_ik3_i7_header_missing_2010aa", LinesOnly(LOOP_MISSING)),
    ("i_ik3_i7_missing_2400", LinesOnly(LOOP_MISSING)),
    ("i_ik4_1_sv203_missing", Same),
    ("i_ik4_6_sv205_not_numeric", Same),
    ("p_ik4_6_clm01_component_separator", Same),
    ("p_ik4_8_header_dmg02_date", Same),
    (
        "p_ik4_7_header_nm1_pr_bad_qualifier",
        Excluded(
            "pyx12 cannot place NM1*PX (SEG:1) and reports 2010BB missing at the next segment; \
             we place it as the 2010BB trigger and flag NM101 (IK403 7)",
        ),
    ),
    ("i_ik4_7_bad_nm101", LinesOnly(BAD_QUALIFIER)),
    (
        "i_ik4_7_lx_numbering",
        Missed("pyx12 checks LX01 numbering with the 837P map only, not the 837I one"),
    ),
    ("i_ik4_8_rd8_reversed", Missed(RD8_ORDER)),
    ("i_ik4_i10_clm06_not_used", Same),
    ("p_ik3_1_unknown_segment_id", Same),
    ("p_ik3_2_unexpected_n3_in_2400", LinesOnly(NOT_FOUND)),
    ("p_ik3_3_missing_dtp_472_end_of_claim", Same),
    ("p_ik3_3_missing_dtp_472_last_claim", Same),
    ("p_ik3_3_missing_hi", Same),
    ("p_ik3_4_2310b_twice", Same),
    ("p_ik3_5_dtp_431_twice", Same),
    (
        "p_ik3_7_dtp_431_after_ref",
        LinesOnly(
            "pyx12 cannot place a segment that comes after a later sibling (SEG:1, not found); \
             we say IK304 7 (not in proper sequence)",
        ),
    ),
    ("p_ik3_i7_header_missing_1000b", LinesOnly(LOOP_MISSING)),
    ("p_ik3_i7_missing_2400", LinesOnly(LOOP_MISSING)),
    (
        "p_ik4_12_clm06_repeated",
        LinesOnly(
            "neither gives IK403 12: pyx12 reads `Y^N` as a 3-character CLM06 (ELE:5 and ELE:7), \
             we give IK403 5 only",
        ),
    ),
    (
        "p_ik4_13_clm05_extra_component",
        Excluded(
            "pyx12 4.0.0 crashes (IndexError in map_if/_segment.py is_valid_errors) on a \
             composite with more components than its map lists",
        ),
    ),
    ("p_ik4_1_clm01_missing", Same),
    ("p_ik4_1_clm02_missing", Same),
    // pyx12 says SEG:8 (segment has element errors) for an extra element; we give IK304 8
    // with IK403 3 on the element.
    ("p_ik4_3_dtp_472_extra_element", Same),
    ("p_ik4_4_sv101_modifier_too_short", Same),
    ("p_ik4_5_ref02_too_long", Same),
    ("p_ik4_6_clm02_not_numeric", Same),
    ("p_ik4_7_bad_nm101", LinesOnly(BAD_QUALIFIER)),
    ("p_ik4_7_clm07_bad_code", Same),
    (
        "p_ik4_7_header_hl01_sequence",
        LinesOnly("pyx12 has its own code for HL01 out of sequence (SEG:HL1); we say IK403 7"),
    ),
    (
        "p_ik4_7_header_hl02_bad_parent",
        Excluded(
            "pyx12 also flags the next HL (line 59, `HL*4*1*22*0`: \"HL parent (1) is not a \
             valid parent\") although its parent is right: its HL stack goes astray after the \
             bad one. We flag line 36 only, as pyx12 does first",
        ),
    ),
    (
        "p_ik4_7_header_hl04_no_children",
        Missed("pyx12 does not check HL04 against the HLs that follow"),
    ),
    (
        "p_ik4_7_lx_numbering",
        LinesOnly("pyx12 has its own code for LX01 out of sequence (SEG:LX); we say IK403 7"),
    ),
    ("p_ik4_8_bad_d8_date", Same),
    ("p_ik4_8_header_bht04_date", Same),
    ("p_ik4_8_rd8_reversed", Missed(RD8_ORDER)),
    ("p_ik4_9_header_bht05_time", Same),
    ("p_ik4_i10_clm03_not_used", Same),
    ("p_two_claims_rejected", Same),
];

const NOT_FOUND: &str = "pyx12 reports any segment it cannot place as SEG:1 (not found); we keep \
                         IK304 1 for ids no 837 knows and say 2 (unexpected) for a known one";
const LOOP_MISSING: &str = "pyx12 reports a missing required loop as SEG:3; the 999 code is I7";
const BAD_QUALIFIER: &str = "pyx12 cannot place an NM1 whose NM101 no loop takes (SEG:1, not \
                             found); we place it by position and say NM101 IK403 7";
const RD8_ORDER: &str = "pyx12 checks each date of an RD8 range, not that from <= thru";

/// 999s pyx12 is known to refuse today, with the one error it gives (segment of the 999, code):
/// asserted, so a fix is noticed (then remove the entry).
const KNOWN_BAD_999: &[(&str, u64, &str, &str)] = &[
    // Empty: x12valid accepts every 999 we write for these fixtures (IK303 is cut to the four
    // characters element 447 allows; a claim with an empty CLM01 gets no CTX).
];

/// Segments flagged (by segment ordinal in the file), with the codes given for each:
/// `SEG:c` (IK304) and `ELE:c` (IK403).
type Findings = BTreeMap<u64, BTreeSet<String>>;

fn fixture_names() -> Vec<String> {
    common::fixtures_in("ig", 30)
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Runs `f` over `items` on a few threads (x12valid takes about half a second per file).
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let mut out: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// What x12valid says about `file` (checked on a copy): whether it printed `NAME: OK` without
/// errors, and the segments it flags. `Err` when it did not finish (no OK / Failure line).
fn pyx12(validator: &Path, file: &Path) -> Result<(bool, Findings), String> {
    let scratch = tempfile::tempdir().unwrap();
    let name = file.file_name().unwrap();
    std::fs::copy(file, scratch.path().join(name)).unwrap();
    let run = Command::new(validator)
        .arg(name)
        .current_dir(scratch.path())
        .output()
        .expect("x12valid runs");
    // x12valid's exit status does not tell success from failure; its stderr does.
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    let name = name.to_string_lossy();
    let ok_line = format!("{name}: OK");
    let failure_line = format!("{name}: Failure");
    let ok = stderr.lines().any(|l| l.trim_end() == ok_line);
    if !ok && !stderr.lines().any(|l| l.trim_end() == failure_line) {
        return Err(format!("x12valid did not finish on {name}:\n{stderr}"));
    }
    let mut found = Findings::new();
    for line in stderr.lines().filter(|l| l.contains(" ERROR ")) {
        // `2026-11-27 15:04:12,251 ERROR Line:36 SEG:HL1 - My HL count 3 does not match ...`
        let parsed = line.split_once(" ERROR Line:").and_then(|(_, rest)| {
            let (n, rest) = rest.split_once(' ')?;
            let (code, _) = rest.split_once(" - ")?;
            Some((n.parse::<u64>().ok()?, code))
        });
        let Some((n, code)) = parsed else {
            return Err(format!("unparsed x12valid line: {line}"));
        };
        // pyx12 still says 10 for a not-used element; the 5010 999 code is I10.
        let code = if code == "ELE:10" { "ELE:I10" } else { code };
        found.entry(n).or_default().insert(code.to_owned());
    }
    Ok((ok && found.is_empty(), found))
}

/// What we say about `file`: the segments our stderr lines flag, with their codes.
/// `input.x12: segment 45 (byte 1278): ... [IK4 7] ... [999 IK3 8]`
fn ours(file: &Path) -> Findings {
    let out = tempfile::tempdir().unwrap();
    let run = common::scrub_fixture(file, out.path());
    let mut found = Findings::new();
    // Every stderr line but the run summary (`scrub837: …`) is a problem line.
    for line in String::from_utf8_lossy(&run.stderr)
        .lines()
        .filter(|l| !l.starts_with("scrub837: "))
    {
        let n = line
            .split_once(": segment ")
            .and_then(|(_, rest)| rest.split_once(' '))
            .and_then(|(n, _)| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("unparsed problem line: {line}"));
        let codes = found.entry(n).or_default();
        for (tag, kind) in [("[999 IK3 ", "SEG"), ("[IK4 ", "ELE")] {
            for piece in line.split(tag).skip(1) {
                let code = piece.split(']').next().unwrap_or_default();
                codes.insert(format!("{kind}:{code}"));
            }
        }
    }
    found
}

#[test]
fn pyx12_accepts_the_base_files() {
    let Some(validator) = validator() else {
        return;
    };
    for name in ["p_base", "i_base"] {
        let (ok, found) = pyx12(&validator, &fixture(&format!("ig/{name}.x12"))).unwrap();
        assert!(ok, "x12valid rejects {name}.x12: {found:?}");
        assert!(ours(&fixture(&format!("ig/{name}.x12"))).is_empty());
    }
}

#[test]
fn every_broken_fixture_has_a_comparison() {
    let names = fixture_names();
    for name in names.iter().filter(|n| !n.ends_with("_base")) {
        assert!(
            CASES.iter().any(|(n, _)| n == name),
            "{name}: add it to CASES in tests/pyx12_ig.rs (compare it with x12valid)"
        );
    }
    let listed = CASES
        .iter()
        .map(|(n, _)| n)
        .chain(KNOWN_BAD_999.iter().map(|(n, ..)| n));
    for name in listed {
        assert!(names.iter().any(|n| n == name), "{name} is not a fixture");
    }
}

#[test]
fn pyx12_flags_the_segments_we_flag() {
    let Some(validator) = validator() else {
        return;
    };
    let mut run = Vec::new();
    for case in CASES {
        match case {
            (name, Excluded(why)) => eprintln!("{name}: not compared with pyx12: {why}"),
            _ => run.push(case),
        }
    }
    let results = par_map(&run, |(name, compare)| {
        let file = fixture(&format!("ig/{name}.x12"));
        let theirs = pyx12(&validator, &file);
        (*name, *compare, theirs, ours(&file))
    });
    let mut failures = Vec::new();
    let mut compared = 0;
    for (name, compare, theirs, ours) in results {
        let (ok, theirs) = match theirs {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        if ours.is_empty() {
            failures.push(format!("{name}: we flag nothing"));
            continue;
        }
        if let Missed(why) = compare {
            if !ok {
                failures.push(format!(
                    "{name}: pyx12 now flags {theirs:?} (was excluded: {why}); compare it"
                ));
            }
            continue;
        }
        let lines = |f: &Findings| f.keys().copied().collect::<Vec<u64>>();
        if lines(&theirs) != lines(&ours) {
            failures.push(format!(
                "{name}: pyx12 flags segments {:?}, we flag {:?}\n  pyx12: {theirs:?}\n  ours:  {ours:?}",
                lines(&theirs),
                lines(&ours)
            ));
            continue;
        }
        let codes_agree = theirs.iter().all(|(n, codes)| codes.is_subset(&ours[n]));
        match (compare, codes_agree) {
            (Same, false) => failures.push(format!(
                "{name}: same segments, other codes\n  pyx12: {theirs:?}\n  ours:  {ours:?}"
            )),
            (LinesOnly(why), true) => failures.push(format!(
                "{name}: the codes now agree ({theirs:?}); make it Same (was: {why})"
            )),
            _ => compared += 1,
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(compared >= 25, "only {compared} fixtures compared");
}

#[test]
fn pyx12_accepts_every_999_we_write_for_the_ig_fixtures() {
    let Some(validator) = validator() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let mut cmd = Cmd::cargo_bin("scrub837").unwrap();
    cmd.args(["scrub", "-q", "--now", NOW, "--out-dir"])
        .arg(out.path());
    let names = fixture_names();
    for name in &names {
        cmd.arg(fixture(&format!("ig/{name}.x12")));
    }
    cmd.output().unwrap();
    let results = par_map(&names, |name| {
        let ack = out.path().join(format!("{name}.999.x12"));
        assert!(ack.exists(), "{name}: no 999 written");
        (name.clone(), pyx12(&validator, &ack))
    });
    let mut failures = Vec::new();
    for (name, result) in results {
        let known = KNOWN_BAD_999.iter().find(|(n, ..)| *n == name);
        match (result, known) {
            (Ok((true, _)), None) => {}
            (Ok((false, found)), Some((_, line, code, why))) => {
                let expected = Findings::from([(*line, BTreeSet::from([code.to_string()]))]);
                if found != expected {
                    failures.push(format!(
                        "{name}.999.x12: x12valid gives {found:?}, KNOWN_BAD_999 expects \
                         {expected:?} ({why})"
                    ));
                }
            }
            (Ok((true, _)), Some((.., why))) => failures.push(format!(
                "{name}.999.x12: x12valid now accepts it; remove it from KNOWN_BAD_999 ({why})"
            )),
            (Ok((false, found)), None) => {
                failures.push(format!("{name}.999.x12: x12valid rejects it: {found:?}"))
            }
            (Err(e), _) => failures.push(format!("{name}.999.x12: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
