//! `scrub837 bench`: every stage is measured for every thread count asked for, on a generated
//! workload or on given files, with figures that agree with the input; bad arguments exit 2.

mod common;

use assert_cmd::Command;
use serde_json::Value;

fn bench(args: &[&str]) -> (i32, Value, String) {
    let out = Command::cargo_bin("scrub837")
        .unwrap()
        .arg("bench")
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

#[test]
fn a_generated_workload_gets_every_stage_at_every_thread_count() {
    let (code, r, err) = bench(&[
        "--claims",
        "300",
        "--repeat",
        "1",
        "--threads",
        "2,1",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["claims"], 300);
    let bytes = r["bytes"].as_u64().unwrap();
    assert!(bytes > 300 * 200, "{bytes}");
    assert!(r["workload"]
        .as_str()
        .unwrap()
        .contains("300 claims of 837P"));
    let results = r["results"].as_array().unwrap();
    let got: Vec<(String, u64)> = results
        .iter()
        .map(|m| {
            (
                m["stage"].as_str().unwrap().to_owned(),
                m["threads"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = [
        ("split", 1),
        ("framing", 1),
        ("loops_and_claims", 1),
        ("rules", 1),
        ("edits", 1),
        ("rules", 2),
        ("edits", 2),
        ("end_to_end_bare", 1),
        ("end_to_end", 1),
        ("acks_and_reports", 1),
        ("end_to_end_bare", 2),
        ("end_to_end", 2),
        ("acks_and_reports", 2),
    ]
    .iter()
    .map(|(s, n)| ((*s).to_owned(), *n))
    .collect();
    assert_eq!(got, want);
    for m in results {
        let secs = m["seconds"].as_f64().unwrap();
        let derived = m["derived"].as_bool().unwrap();
        assert_eq!(derived, m["stage"] == "acks_and_reports");
        if !derived {
            assert!(secs > 0.0, "{m}");
            // The rates are the input over the time.
            let mbs = m["mb_per_s"].as_f64().unwrap();
            let cps = m["claims_per_s"].as_f64().unwrap();
            assert!(
                (mbs * secs * 1e6 - bytes as f64).abs() < bytes as f64 * 1e-6,
                "{m}"
            );
            assert!((cps * secs - 300.0).abs() < 1e-6 * 300.0, "{m}");
        }
        let in_memory = m["stage"] == "edits" || m["stage"] == "rules";
        if !derived && !in_memory && cfg!(target_os = "linux") {
            assert!(m["peak_bytes"].as_u64().unwrap() > 1 << 20, "{m}");
        }
        // CPU time of every thread: measured for each stage timed, never negative.
        if cfg!(unix) {
            let cpu = m["cpu_seconds"].as_f64().unwrap_or(-1.0);
            assert!(cpu >= 0.0, "{m}");
        }
    }
    assert!(r["end_to_end_vs_split"].as_f64().unwrap() > 0.0);
    assert!(r["edits_scaling"].as_f64().unwrap() > 0.0);
    // What the outputs add, per thread count: their time over the run without them.
    let added = r["outputs_added"].as_array().unwrap();
    assert_eq!(added.len(), 2, "{added:?}");
    for (a, n) in added.iter().zip([1, 2]) {
        assert_eq!(a[0], n);
        let at = |stage: &str| {
            results
                .iter()
                .find(|m| m["stage"] == stage && m["threads"] == n)
                .unwrap()["seconds"]
                .as_f64()
                .unwrap()
        };
        let want = (at("end_to_end") - at("end_to_end_bare")).max(0.0) / at("end_to_end_bare");
        assert!((a[1].as_f64().unwrap() - want).abs() < 1e-9, "{a}");
    }
    // And in CPU time: the derived stage's CPU seconds over the bare run's.
    let added_cpu = r["outputs_added_cpu"].as_array().unwrap();
    if cfg!(unix) {
        assert_eq!(added_cpu.len(), 2, "{added_cpu:?}");
        for (a, n) in added_cpu.iter().zip([1, 2]) {
            assert_eq!(a[0], n);
            let cpu = |stage: &str| {
                results
                    .iter()
                    .find(|m| m["stage"] == stage && m["threads"] == n)
                    .unwrap()["cpu_seconds"]
                    .as_f64()
                    .unwrap()
            };
            assert!(cpu("end_to_end_bare") > 0.0);
            let want = cpu("acks_and_reports") / cpu("end_to_end_bare");
            assert!((a[1].as_f64().unwrap() - want).abs() < 1e-9, "{a}");
        }
    }
}

#[test]
fn given_files_are_measured_as_they_are_and_the_table_names_each_stage() {
    let file = common::fixture("edits/E-28.p.x12");
    let scrubbed = common::scrub_bytes(&std::fs::read(&file).unwrap(), 4096).0;
    let claims = scrubbed.claims.read;
    let (code, r, err) = bench(&[
        file.to_str().unwrap(),
        "--repeat",
        "1",
        "--threads",
        "1",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["claims"], claims);
    assert_eq!(r["workload"], Value::Null);
    assert_eq!(r["bytes"], std::fs::metadata(&file).unwrap().len());
    // One thread count: no scaling to report.
    assert_eq!(r["edits_scaling"], Value::Null);

    let out = Command::cargo_bin("scrub837")
        .unwrap()
        .args([
            "bench",
            file.to_str().unwrap(),
            "--repeat",
            "1",
            "--threads",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for stage in [
        "split",
        "framing",
        "loops_and_claims",
        "edits",
        "end_to_end",
        "acks_and_reports",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(stage)),
            "{stage}: {text}"
        );
    }
}

#[test]
fn bad_arguments_exit_2() {
    for args in [
        &["--threads", "0", "--claims", "10"][..],
        &["--kind", "x", "--claims", "10"],
        &["--repeat", "0", "--claims", "10"],
        &["--claims", "0"],
        &["/no/such/file.x12"],
    ] {
        let (code, _, err) = bench(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.starts_with("scrub837: bench: "), "{args:?}: {err}");
    }
}
