//! The `scrub837` command as a user runs it: help, version, exit statuses, inputs from files,
//! directories and stdin, output naming, byte-stable output, and no claim contents on stderr.

mod common;

use assert_cmd::Command;
use common::{fixture, NOW};

fn scrub837() -> Command {
    Command::cargo_bin("scrub837").unwrap()
}

#[test]
fn help_and_version() {
    let out = scrub837().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("scrub"), "{text}");
    let out = scrub837().args(["scrub", "--help"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in ["--out-dir", "--now", "--threads"] {
        assert!(text.contains(flag), "scrub --help lacks {flag}");
    }
    let out = scrub837().arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("scrub837 {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn usage_io_and_configuration_errors_exit_2() {
    scrub837().assert().code(2);
    scrub837().args(["scrub"]).assert().code(2);
    scrub837().args(["scrub", "--bogus", "x"]).assert().code(2);
    let out = scrub837()
        .args(["scrub", "/no/such/file.837"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/file.837"));
    let clean = fixture("envelope/clean.x12");
    let out = scrub837()
        .args(["scrub", "--now", "yesterday"])
        .arg(&clean)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--now"));
    scrub837()
        .args(["scrub", "--threads", "0"])
        .arg(&clean)
        .assert()
        .code(2);
}

#[test]
fn exit_status_follows_the_worst_input() {
    let dir = tempfile::tempdir().unwrap();
    let run = |names: &[&str]| {
        let mut cmd = scrub837();
        cmd.args(["scrub", "-q", "--now", NOW, "--out-dir"])
            .arg(dir.path());
        for n in names {
            cmd.arg(fixture(&format!("envelope/{n}.x12")));
        }
        cmd.output().unwrap().status.code().unwrap()
    };
    assert_eq!(run(&["clean"]), 0);
    assert_eq!(run(&["clean", "wrong_se01"]), 1);
    assert_eq!(run(&["wrong_se01", "truncated", "clean"]), 3);
}

#[test]
fn stdin_and_directories_name_their_outputs() {
    let out = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("envelope/clean.x12")).unwrap();
    scrub837()
        .args(["scrub", "--now", NOW, "--out-dir"])
        .arg(out.path())
        .arg("-")
        .write_stdin(bytes)
        .assert()
        .code(0);
    assert!(out.path().join("stdin.999.x12").is_file());

    let input = tempfile::tempdir().unwrap();
    std::fs::create_dir(input.path().join("batch")).unwrap();
    std::fs::copy(fixture("envelope/clean.x12"), input.path().join("a.837")).unwrap();
    std::fs::copy(
        fixture("envelope/truncated.x12"),
        input.path().join("batch/b.txt"),
    )
    .unwrap();
    let run = scrub837()
        .args(["scrub", "--now", NOW, "--out-dir"])
        .arg(out.path())
        .arg(input.path())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(3));
    assert!(out.path().join("a.999.x12").is_file());
    assert!(out.path().join("batch/b.ta1.x12").is_file());
    assert!(!out.path().join("batch/b.999.x12").exists());
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert!(
        stderr.contains("batch/b.txt: segment 46 (byte 1283): IEA missing"),
        "{stderr}"
    );
}

#[test]
fn same_input_gives_the_same_bytes_and_stale_outputs_go() {
    let out = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let path = input.path().join("claims.837");
    std::fs::copy(fixture("envelope/ack_requested.x12"), &path).unwrap();
    let run = || {
        scrub837()
            .args(["scrub", "--now", NOW, "--threads", "2", "--out-dir"])
            .arg(out.path())
            .arg(&path)
            .assert()
            .code(0);
        (
            std::fs::read(out.path().join("claims.999.x12")).unwrap(),
            std::fs::read(out.path().join("claims.ta1.x12")).unwrap(),
        )
    };
    let first = run();
    assert_eq!(run(), first);
    // The same name, now without ISA14 = 1: the old TA1 must not linger.
    std::fs::copy(fixture("envelope/clean.x12"), &path).unwrap();
    scrub837()
        .args(["scrub", "--now", NOW, "--out-dir"])
        .arg(out.path())
        .arg(&path)
        .assert()
        .code(0);
    assert!(!out.path().join("claims.ta1.x12").exists());
}

#[test]
fn control_numbers_run_on_across_inputs_and_can_be_chosen() {
    let out = tempfile::tempdir().unwrap();
    scrub837()
        .args([
            "scrub",
            "--now",
            NOW,
            "--first-control-number",
            "500",
            "--out-dir",
        ])
        .arg(out.path())
        .arg(fixture("envelope/clean.x12"))
        .arg(fixture("envelope/crlf.x12"))
        .assert()
        .code(0);
    // One sequence for the run, in input order: each input's 999, then its 277CA.
    let read = |name: &str| std::fs::read_to_string(out.path().join(name)).unwrap();
    for (name, n) in [
        ("clean.999.x12", 500),
        ("clean.277ca.x12", 501),
        ("crlf.999.x12", 502),
        ("crlf.277ca.x12", 503),
    ] {
        let text = read(name);
        assert!(
            text.contains(&format!("*{n:09}*0*T*:~")) && text.contains(&format!("IEA*1*{n:09}~")),
            "{name}: {text}"
        );
        assert!(text.contains(&format!("*{n}*X*")), "{name}: {text}");
    }
}

#[test]
fn stderr_carries_no_claim_contents() {
    let out = tempfile::tempdir().unwrap();
    let mut all = String::new();
    for name in ["truncated", "wrong_se01", "stray_segment", "missing_se"] {
        let run = scrub837()
            .args(["scrub", "--now", NOW, "--out-dir"])
            .arg(out.path())
            .arg(fixture(&format!("envelope/{name}.x12")))
            .env("SCRUB837_LOG", "debug")
            .output()
            .unwrap();
        all.push_str(&String::from_utf8_lossy(&run.stderr));
    }
    assert!(all.contains("scrubbed"), "the debug log ran: {all}");
    for phi in ["DOE", "JANE", "W123456789", "19600101", "OAK AVE"] {
        assert!(!all.contains(phi), "stderr shows {phi}: {all}");
    }
}

#[test]
fn single_line_acknowledgments_on_request() {
    let out = tempfile::tempdir().unwrap();
    scrub837()
        .args(["scrub", "--ack-single-line", "--now", NOW, "--out-dir"])
        .arg(out.path())
        .arg(fixture("envelope/clean.x12"))
        .assert()
        .code(0);
    let ack = std::fs::read(out.path().join("clean.999.x12")).unwrap();
    assert!(!ack.contains(&b'\n'));
    let back = scrub837::ack::read::read_acks(&ack);
    assert!(back.problems.is_empty());
    assert_eq!(back.acks.len(), 1);
}

/// Debug logs of the edit stage name a claim only with --log-phi; names, member ids and birth
/// dates never appear.
#[test]
fn verbose_logs_carry_claim_ids_only_with_log_phi() {
    let out = tempfile::tempdir().unwrap();
    let input = fixture("edits/E-29.p.x12");
    // Values from the fixture that must never show: names, member ids, birth dates.
    let phi = common::phi_of(&input);
    assert!(!phi.is_empty());
    let run = |extra: &[&str]| {
        let r = scrub837()
            .args(["scrub", "-vv", "--log-format", "json", "--now", NOW])
            .args(extra)
            .arg("--out-dir")
            .arg(out.path())
            .arg(&input)
            .output()
            .unwrap();
        String::from_utf8_lossy(&r.stderr).into_owned()
    };
    let plain = run(&[]);
    assert!(plain.contains("\"claim rejected\""), "{plain}");
    assert!(
        !plain.contains("E29P-FIRE"),
        "a claim id without --log-phi: {plain}"
    );
    let with = run(&["--log-phi"]);
    assert!(with.contains("E29P-FIRE"), "{with}");
    for p in phi.iter().filter(|p| p.len() > 2) {
        assert!(!plain.contains(p) && !with.contains(p), "logs show {p}");
    }
    // Every log line is a JSON object (the summary line aside).
    for l in plain.lines().filter(|l| !l.starts_with("scrub837: ")) {
        assert!(serde_json::from_str::<serde_json::Value>(l).is_ok(), "{l}");
    }
}
