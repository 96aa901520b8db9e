//! Transaction sets too large to hold to their SE (`--set-memory`): their claims are settled
//! as they are read. On sets the SE accepts, that gives the same bytes as holding them.

mod common;

use std::path::Path;

/// `scrub837 gen` into `path`: one transaction set of `claims` claims.
fn gen(kind: &str, claims: &str, seed: &str, path: &Path) {
    let out = assert_cmd::Command::cargo_bin("scrub837")
        .unwrap()
        .args(["gen", "--kind", kind, "--claims", claims, "--seed", seed])
        .args(["--error-rate", "0.3", "--claims-per-st", claims, "-o"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// Damages segments inside claims without changing the segment count (so the SE still
/// agrees): an invalid service date, an unrecognized segment, an LX out of sequence. Each
/// rejects its claim only.
fn damage_claims(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let mut in_claim = false;
    let mut n = 0;
    let mut out: Vec<String> = Vec::new();
    for seg in text.split('~') {
        let id = seg.trim_start().split('*').next().unwrap_or("");
        match id {
            "CLM" => in_claim = true,
            "HL" | "SE" => in_claim = false,
            _ => {}
        }
        let mut seg = seg.to_owned();
        if in_claim && id != "CLM" {
            n += 1;
            match (n % 97, id) {
                (0..=2, "DTP") => seg = seg.replace("*D8*2", "*D8*9"),
                (10, _) => seg = seg.replace(id, "ZZZ"),
                (20..=25, "LX") => seg = seg.replace("LX*", "LX*7"),
                _ => {}
            }
        }
        out.push(seg);
    }
    out.join("~").into_bytes()
}

/// Runs `scrub` on `inputs` into `out` with `--set-memory MIB`; every output file's bytes by
/// name (the run's elapsed time taken out of summary.json).
fn scrub(inputs: &[&Path], set_memory: &str, out: &Path) -> Vec<(String, Vec<u8>)> {
    let run = common::scrub_set_memory(inputs, set_memory, out);
    assert!(run.status.code().is_some_and(|c| c <= 1), "{run:?}");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let mut bytes = std::fs::read(e.path()).unwrap();
            if name == "summary.json" {
                let text = String::from_utf8(bytes).unwrap();
                bytes = text
                    .lines()
                    .filter(|l| !l.contains("\"elapsed_ms\""))
                    .collect::<Vec<_>>()
                    .join("\n")
                    .into_bytes();
            }
            (name, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_set_settled_as_it_is_read_gives_the_same_bytes_as_one_held_to_its_se() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    gen("p", "1400", "3", &d.join("p.x12"));
    gen("i", "1100", "4", &d.join("i.x12"));
    let damaged = damage_claims(&std::fs::read(d.join("p.x12")).unwrap());
    std::fs::write(d.join("pd.x12"), &damaged).unwrap();
    let inputs = [d.join("p.x12"), d.join("i.x12"), d.join("pd.x12")];
    let inputs: Vec<&Path> = inputs.iter().map(|p| p.as_path()).collect();
    let held = scrub(&inputs, "64", &d.join("held"));
    let settled = scrub(&inputs, "0", &d.join("settled"));
    assert_eq!(held.len(), settled.len());
    for ((name, a), (_, b)) in held.iter().zip(&settled) {
        assert!(a == b, "{name} differs");
    }
    // The damaged file has claims rejected by their own guide errors, among accepted ones,
    // and its 277CA acknowledges both.
    let lines = scrub837::report::claims_jsonl::read_claims(
        &std::fs::read(d.join("settled/pd.claims.jsonl")).unwrap()[..],
    )
    .unwrap();
    let structural = lines
        .iter()
        .filter(|c| c.findings.iter().any(|f| f.edit == "E-43"))
        .count();
    let lx = lines
        .iter()
        .filter(|c| c.findings.iter().any(|f| f.edit == "E-04"))
        .count();
    assert!(structural > 20 && lx > 5, "{structural} {lx}");
    assert!(lines.iter().any(|c| c.status == "accepted"));
    let ack277 = std::fs::read(d.join("settled/pd.277ca.x12")).unwrap();
    common::check_277(&ack277, &lines).unwrap();
}
