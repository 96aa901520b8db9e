//! The HTML report in a real browser: Chromium renders it headless (`--dump-dom`) and the page
//! it built shows the summary numbers and each rejected claim's message.
//!
//! `.ci/run` installs Debian's `chromium` and sets `SCRUB837_REQUIRE_CHROMIUM=1`, so there a
//! missing browser fails the test; elsewhere the test looks for `chromium` on the PATH and says
//! so when it cannot find it.

mod common;

use std::process::Command;

use common::{fixture, NOW};
use scrub837::report::claims_jsonl::read_claims;

fn chromium() -> Option<String> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(name.to_owned());
        }
    }
    None
}

/// Text of the rendered page: tags dropped, whitespace folded.
fn text_of(dom: &str) -> String {
    let mut out = String::with_capacity(dom.len());
    let mut in_tag = false;
    for c in dom.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

#[test]
fn a_browser_renders_the_report_with_its_numbers_and_messages() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("SCRUB837_REQUIRE_CHROMIUM").is_none(),
            "SCRUB837_REQUIRE_CHROMIUM is set but chromium was not found"
        );
        eprintln!("chromium not found: the browser check did not run");
        return;
    };
    let out = tempfile::tempdir().unwrap();
    for f in ["E-29.p.x12", "E-13.i.x12"] {
        let run = assert_cmd::Command::cargo_bin("scrub837")
            .unwrap()
            .args(["scrub", "-q", "--now", NOW, "-o"])
            .arg(out.path())
            .arg(fixture(&format!("edits/{f}")))
            .output()
            .unwrap();
        assert!(run.status.code().is_some_and(|c| c <= 1), "{run:?}");
        let stem = f.trim_end_matches(".x12");
        let page = out.path().join(format!("{stem}.report.html"));
        let profile = tempfile::tempdir().unwrap();
        let shown = Command::new(&browser)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("chromium runs");
        assert!(
            shown.status.success(),
            "{}",
            String::from_utf8_lossy(&shown.stderr)
        );
        let text = text_of(&String::from_utf8_lossy(&shown.stdout));
        assert!(text.contains("Claim scrub report"), "{text}");
        // The summary rows, from the claims the run wrote.
        let claims = read_claims(
            &std::fs::read(out.path().join(format!("{stem}.claims.jsonl"))).unwrap()[..],
        )
        .unwrap();
        let cents = |c: &scrub837::report::claims_jsonl::ClaimLine| {
            c.charge
                .as_deref()
                .and_then(scrub837::ack::read277::parse_cents)
                .unwrap_or(0)
        };
        let rejected: Vec<_> = claims.iter().filter(|c| c.status == "rejected").collect();
        let accepted: Vec<_> = claims.iter().filter(|c| c.status != "rejected").collect();
        assert!(
            !rejected.is_empty() && !accepted.is_empty(),
            "{stem}: want both"
        );
        for (label, list) in [("accepted", &accepted), ("rejected", &rejected)] {
            let row = format!(
                "{label} {} {}",
                list.len(),
                money(list.iter().map(|c| cents(c)).sum())
            );
            assert!(text.contains(&row), "{stem}: no `{row}` on the page");
        }
        // Each rejected claim with the message of each of its reject findings.
        for c in &rejected {
            assert!(text.contains(&format!("Claim {}", c.claim)), "{}", c.claim);
            for f in c.findings.iter().filter(|f| f.severity == "reject") {
                let message = text_of(&f.message);
                assert!(text.contains(&message), "{stem}: {message}");
            }
        }
    }
}
