//! Differential check against pyx12: its `x12valid` must accept every 999 and 277CA we write
//! for the fixtures, and the 837s `scrub837 gen` writes.
//!
//! `.ci/run` installs pyx12 in a virtual environment and sets `SCRUB837_X12VALID` to its
//! `x12valid` (and `SCRUB837_REQUIRE_PYX12=1`, so a missing validator fails the test there).
//! Elsewhere the test looks for `x12valid` on the PATH and says so when it cannot find it.

mod common;

use std::path::PathBuf;
use std::process::Command;

use assert_cmd::Command as Cmd;
use common::{envelope_fixtures, fixtures_in, gen837, NOW};

fn x12valid() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SCRUB837_X12VALID") {
        return Some(PathBuf::from(p));
    }
    let found = Command::new("x12valid").arg("--help").output().ok()?;
    found.status.success().then(|| PathBuf::from("x12valid"))
}

/// Claim status codes (code source 508) that pyx12 4.0.0's `codes.xml` lacks because its list
/// stops at 771, but which the current X12 list has (domain reference §5.1): 772 greatest level
/// of diagnosis code specificity required, 796 procedure code not valid for date of service.
const NEWER_STATUS_CODES: [&str; 2] = ["772", "796"];

/// Whether an x12valid error line is only pyx12 not knowing a newer claim status code.
fn tolerated(error: &str) -> bool {
    NEWER_STATUS_CODES.iter().any(|c| {
        error.contains(&format!(
            "- ({c}) is not a valid code for Health Care Claim Status Code"
        ))
    })
}

/// Runs x12valid once over `files` and asserts it calls each of them OK (or finds nothing but
/// [`tolerated`] errors in it).
fn validate(validator: &PathBuf, files: &[PathBuf]) {
    let run = Command::new(validator)
        .args(files)
        .output()
        .expect("x12valid runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    // x12valid's exit status does not tell success from failure; its stderr does: error lines,
    // then `PATH: OK` or `PATH: Failure` for each file.
    let mut errors: Vec<&str> = Vec::new();
    let mut verdicts = std::collections::BTreeMap::new();
    for line in stderr.lines() {
        if line.contains(" ERROR ") {
            errors.push(line);
        } else if let Some((path, verdict)) = line.trim_end().rsplit_once(": ") {
            if matches!(verdict, "OK" | "Failure") {
                let bad: Vec<&str> = errors.drain(..).filter(|e| !tolerated(e)).collect();
                verdicts.insert(path.to_owned(), (verdict == "OK", bad));
            }
        }
    }
    for path in files {
        let key = path.display().to_string();
        match verdicts.get(&key) {
            Some((true, _)) => {}
            Some((false, bad)) if bad.is_empty() => {}
            Some((false, bad)) => panic!("x12valid rejects {key}:\n{}", bad.join("\n")),
            None => panic!("x12valid says nothing about {key}:\n{stderr}"),
        }
    }
}

/// Scrubs `inputs` into a temporary directory; returns it and the outputs ending in `suffix`.
fn outputs(inputs: &[PathBuf], suffixes: &[&str]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let out = tempfile::tempdir().unwrap();
    Cmd::cargo_bin("scrub837")
        .unwrap()
        .args(["scrub", "-q", "--now", NOW, "--out-dir"])
        .arg(out.path())
        .args(inputs)
        .output()
        .unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| suffixes.iter().any(|s| p.to_string_lossy().ends_with(s)))
        .collect();
    files.sort();
    (out, files)
}

fn validator_or_skip() -> Option<PathBuf> {
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

#[test]
fn pyx12_accepts_every_999_we_write() {
    let Some(validator) = validator_or_skip() else {
        return;
    };
    let (_dir, files) = outputs(&envelope_fixtures(), &[".999.x12"]);
    assert!(files.len() >= 10, "only {} 999 files", files.len());
    validate(&validator, &files);
}

/// Every 277CA and 999 written for the edit fixtures (837P and 837I, accepted, rejected and
/// line-level rejects), the implementation-guide fixtures (claims rejected with 684 beside
/// accepted ones) and a generated file with seeded defects and several billing providers.
#[test]
fn pyx12_accepts_every_277ca_we_write() {
    let Some(validator) = validator_or_skip() else {
        return;
    };
    let gen = tempfile::tempdir().unwrap();
    let mut inputs = fixtures_in("edits", 60);
    inputs.extend(fixtures_in("ig", 10));
    for (kind, seed) in [("P", 3), ("I", 4)] {
        let path = gen.path().join(format!("gen-{kind}.x12"));
        std::fs::write(&path, gen837(kind, 400, seed, &["--error-rate", "0.3"])).unwrap();
        inputs.push(path);
    }
    let (_dir, files) = outputs(&inputs, &[".277ca.x12", ".999.x12"]);
    let n277 = files
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".277ca.x12"))
        .count();
    assert!(n277 >= 70, "only {n277} 277CA files");
    validate(&validator, &files);
}

/// The 837s `scrub837 gen` writes: both kinds, with seeded defects, several transaction sets,
/// with and without newlines.
#[test]
fn pyx12_accepts_the_837s_scrub837_gen_writes() {
    use scrub837::claim::Kind;
    use scrub837::gen::{generate, Options};
    let Some(validator) = validator_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (kind, seed, newlines) in [
        (Kind::Professional, 3, false),
        (Kind::Institutional, 4, true),
    ] {
        let path = dir.path().join(format!("gen-{}.x12", kind.as_str()));
        let opts = Options {
            error_rate: 0.3,
            newlines,
            claims_per_st: 120,
            ..Options::new(kind, 300, seed)
        };
        let mut file = std::fs::File::create(&path).unwrap();
        generate(&opts, &mut file, None).unwrap();
        files.push(path);
    }
    validate(&validator, &files);
}
