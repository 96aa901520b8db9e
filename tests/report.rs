//! The HTML report: golden pages (plain and redacted), self-contained, every flagged claim shown
//! with its findings, and no names, member ids or birth dates under --redact.

mod common;

use common::{fixture, golden, root, NOW};

fn run(inputs: &[&str], extra: &[&str]) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let status = assert_cmd::Command::cargo_bin("scrub837")
        .unwrap()
        .current_dir(fixture("edits"))
        .args(["scrub", "-q", "--now", NOW])
        .args(extra)
        .arg("-o")
        .arg(out.path())
        .args(inputs)
        .output()
        .unwrap();
    assert!(status.status.code().is_some_and(|c| c <= 1), "{status:?}");
    out
}

#[test]
fn report_pages_match_their_goldens_and_stand_alone() {
    // 837I; line-level rejects; several billing providers; all accepted; a rejected set.
    let files = [
        "E-13.i.x12",
        "E-29.p.x12",
        "E-41.p.x12",
        "E-11.i.x12",
        "../envelope/clean.x12",
        "../ig/p_ik3_i7_header_missing_1000b.x12",
    ];
    for (extra, tag) in [(&[][..], "plain"), (&["--redact"][..], "redacted")] {
        let out = run(&files, extra);
        for f in files {
            let stem = std::path::Path::new(f)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let html =
                std::fs::read_to_string(out.path().join(format!("{stem}.report.html"))).unwrap();
            golden(
                &root().join(format!("tests/golden/report/{stem}.{tag}.html")),
                html.as_bytes(),
            );
            for bad in ["<script", "http://", "https://", "src=", "@import", "url("] {
                assert!(!html.contains(bad), "{stem}: {bad}");
            }
            // Every claim with findings is shown, with each of its edit ids.
            let claims = scrub837::report::claims_jsonl::read_claims(
                &std::fs::read(out.path().join(format!("{stem}.claims.jsonl"))).unwrap()[..],
            )
            .unwrap();
            for c in claims.iter().filter(|c| !c.findings.is_empty()) {
                assert!(
                    html.contains(&format!("<b>Claim {}</b>", c.claim)),
                    "{}",
                    c.claim
                );
            }
            let phi = common::phi_of(&fixture(&format!("edits/{f}")));
            assert!(!phi.is_empty());
            if tag == "redacted" {
                for p in &phi {
                    assert!(
                        !html.contains(p.as_str()),
                        "{stem}: {p} shows under --redact"
                    );
                }
            }
        }
    }
}

#[test]
fn no_report_option_and_clean_files() {
    let out = run(&["E-29.p.x12"], &["--no-report"]);
    assert!(!out.path().join("E-29.p.report.html").exists());
    assert!(out.path().join("E-29.p.claims.jsonl").exists());
}
