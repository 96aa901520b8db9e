//! Differential check against pyx12: its `x12valid` must accept every 999 we write for the fixtures.
//!
//! `.ci/run` installs pyx12 in a virtual environment and sets `SCRUB837_X12VALID` to its
//! `x12valid` (and `SCRUB837_REQUIRE_PYX12=1`, so a missing validator fails the test there).
//! Elsewhere the test looks for `x12valid` on the PATH and says so when it cannot find it.

mod common;

use std::path::PathBuf;
use std::process::Command;

use assert_cmd::Command as Cmd;
use common::{envelope_fixtures, NOW};

fn x12valid() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SCRUB837_X12VALID") {
        return Some(PathBuf::from(p));
    }
    let found = Command::new("x12valid").arg("--help").output().ok()?;
    found.status.success().then(|| PathBuf::from("x12valid"))
}

#[test]
fn pyx12_accepts_every_999_we_write() {
    let Some(validator) = x12valid() else {
        assert!(
            std::env::var_os("SCRUB837_REQUIRE_PYX12").is_none(),
            "SCRUB837_REQUIRE_PYX12 is set but x12valid was not found"
        );
        eprintln!("x12valid not found: pyx12 differential check not run (set SCRUB837_X12VALID)");
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let mut cmd = Cmd::cargo_bin("scrub837").unwrap();
    cmd.args(["scrub", "-q", "--now", NOW, "--out-dir"])
        .arg(out.path());
    for f in envelope_fixtures() {
        cmd.arg(f);
    }
    cmd.output().unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(out.path()).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with(".999.x12") {
            continue;
        }
        let run = Command::new(&validator)
            .arg(&path)
            .output()
            .expect("x12valid runs");
        let stderr = String::from_utf8_lossy(&run.stderr);
        // x12valid's exit status does not tell success from failure; its stderr does.
        let ok_line = format!("{}: OK", path.display());
        assert!(
            stderr.lines().any(|l| l.trim_end() == ok_line) && !stderr.contains("ERROR"),
            "x12valid rejects {}:\n{stderr}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} 999 files were checked");
}
