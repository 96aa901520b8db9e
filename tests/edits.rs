//! The edit engine end to end: per-edit fixtures (fires / must not fire), the reference
//! generator's truth files, thread-count independence, golden claims.jsonl, and rule-pack
//! errors.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{
    claim_edits as edits, fixture, fixtures_in, gen837, golden, root, scrub_bytes,
    settings_threads, NOW,
};
use scrub837::report::claims_jsonl::{read_claims, ClaimLine};

fn set(cell: &str) -> BTreeSet<String> {
    if cell == "-" {
        BTreeSet::new()
    } else {
        cell.split(',').map(str::to_owned).collect()
    }
}

/// Scrubs bytes in memory and reads its claims.jsonl back (it must re-read cleanly and account
/// for every claim the structural layer read).
fn claims_of(bytes: &[u8]) -> Vec<ClaimLine> {
    let (s, _) = scrub_bytes(bytes, 64 << 10);
    let lines = read_claims(&s.claims_jsonl[..]).expect("claims.jsonl re-reads");
    assert_eq!(
        lines.len() as u64,
        s.claims.read,
        "every claim read is answered once"
    );
    lines
}

#[test]
fn every_edit_fixture_fires_exactly_what_it_expects() {
    let expect = std::fs::read_to_string(fixture("edits/expect.tsv")).expect("expect.tsv");
    let mut by_file: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    for line in expect.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "expect.tsv: {line}");
        by_file.entry(cols[0].to_owned()).or_default().push((
            cols[1].into(),
            cols[2].into(),
            cols[3].into(),
        ));
    }
    let files = fixtures_in("edits", 60);
    assert_eq!(files.len(), by_file.len(), "every fixture has expectations");
    let mut fired = BTreeSet::new();
    let mut failures = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let (s, problems) = scrub_bytes(&bytes, 64 << 10);
        assert!(
            problems.is_empty(),
            "{name} must be structurally clean: {problems:?}"
        );
        golden(
            &root()
                .join("tests/golden/edits")
                .join(format!("{name}.claims.jsonl")),
            &s.claims_jsonl,
        );
        golden(
            &root()
                .join("tests/golden/edits")
                .join(format!("{name}.277ca.x12")),
            &s.ack277,
        );
        let got = read_claims(&s.claims_jsonl[..]).expect("re-reads");
        if let Err(e) = common::check_277(&s.ack277, &got) {
            failures.push(format!("{name}: {e}"));
        }
        let want = &by_file[&name];
        assert_eq!(got.len(), want.len(), "{name}: claim count");
        for (c, (id, rejects, warns)) in got.iter().zip(want) {
            assert_eq!(&c.claim, id, "{name}: claim order");
            let (r, w) = (edits(c, "reject"), edits(c, "warn"));
            if r != set(rejects) || w != set(warns) {
                failures.push(format!(
                    "{name} {id}: rejects {r:?} warns {w:?}, expected {rejects} / {warns}"
                ));
            }
            if id.contains("FIRE") {
                fired.extend(r.into_iter().chain(w));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every claim-visible edit without history has a fixture that fires it.
    for n in (6..=36).chain(40..=42) {
        let id = format!("E-{n:02}");
        assert!(fired.contains(&id), "no fixture fires {id}");
    }
}

fn truth_check(kind: &str, seed: u32, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth.tsv");
    let mut args = vec!["--error-rate", "0.3", "--truth", truth.to_str().unwrap()];
    args.extend_from_slice(extra);
    let bytes = gen837(kind, 1500, seed, &args);
    let claims = claims_of(&bytes);
    let truth = std::fs::read_to_string(&truth).unwrap();
    let truth: Vec<Vec<&str>> = truth.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(claims.len(), truth.len());
    let mut defects = BTreeSet::new();
    for (c, t) in claims.iter().zip(&truth) {
        assert_eq!(c.claim, t[0]);
        let want: BTreeSet<String> = if t[3] == "-" {
            BTreeSet::new()
        } else {
            [t[3].to_owned()].into()
        };
        assert_eq!(
            edits(c, "reject"),
            want,
            "{kind} seed {seed} claim {} ({})",
            t[0],
            t[2]
        );
        // Warnings: only E-34 on top of E-33 (bundled imaging is also an NCCI pair).
        for w in edits(c, "warn") {
            assert!(
                w == "E-34" && t[2] == "bundled_77003",
                "unexpected warning {w} on {} ({})",
                t[0],
                t[2]
            );
        }
        defects.insert(t[2].to_owned());
    }
    assert!(
        defects.len() >= 10,
        "the sample covers the defect kinds: {defects:?}"
    );
}

#[test]
fn generator_truth_837p() {
    for seed in [1, 2, 3] {
        truth_check("P", seed, &[]);
    }
    truth_check("P", 4, &["--newlines", "--claims-per-st", "300"]);
}

#[test]
fn generator_truth_837i() {
    for seed in [1, 2] {
        truth_check("I", seed, &[]);
    }
    truth_check("I", 3, &["--cl1-minimal", "--newlines"]);
}

#[test]
fn clean_generated_claims_carry_no_finding() {
    for kind in ["P", "I"] {
        let claims = claims_of(&gen837(kind, 2000, 9, &[]));
        let noisy: Vec<_> = claims.iter().filter(|c| !c.findings.is_empty()).collect();
        assert!(noisy.is_empty(), "{kind}: {:?}", noisy.first());
    }
}

#[test]
fn output_is_the_same_for_one_and_two_threads() {
    let bytes = gen837("P", 50_000, 21, &["--error-rate", "0.2"]);
    let run = |threads: usize, chunk: usize| {
        let s = settings_threads(chunk, threads);
        let mut numbers = scrub837::x12::ControlNumbers::starting_at(1);
        let r = scrub837::pipeline::scrub_reader(
            common::Chunked {
                inner: &bytes[..],
                chunk,
            },
            &s,
            &mut numbers,
            &mut |_| {},
        )
        .unwrap();
        (r.claims_jsonl, r.ack999, r.ack277)
    };
    let one = run(1, 64 << 10);
    assert!(!one.0.is_empty());
    assert_eq!(one.0.iter().filter(|&&b| b == b'\n').count(), 50_000);
    assert!(
        one == run(2, 64 << 10),
        "--threads 2 differs from --threads 1"
    );
    assert!(one == run(3, 4093), "3 threads with odd reads differ");
}

#[test]
fn output_is_the_same_for_1_2_and_8_threads_and_1_7_and_64k_byte_reads() {
    // A generated file with defects, several transaction sets, on lines of its own.
    let bytes = gen837(
        "I",
        3_000,
        29,
        &[
            "--error-rate",
            "0.3",
            "--newlines",
            "--claims-per-st",
            "700",
        ],
    );
    let run = |threads: usize, chunk: usize| {
        let s = settings_threads(chunk, threads);
        let r = scrub837::pipeline::scrub_reader(
            common::Chunked {
                inner: &bytes[..],
                chunk,
            },
            &s,
            &mut scrub837::x12::ControlNumbers::starting_at(1),
            &mut |_| {},
        )
        .unwrap();
        (r.claims_jsonl, r.ack999, r.ack277)
    };
    let reference = run(1, 64 << 10);
    assert_eq!(
        reference.0.iter().filter(|&&b| b == b'\n').count(),
        3_000,
        "every claim answered"
    );
    assert!(!reference.2.is_empty(), "a 277CA");
    for (threads, chunk) in [(2, 7), (8, 1), (8, 64 << 10), (1, 7)] {
        assert!(
            reference == run(threads, chunk),
            "{threads} threads with {chunk}-byte reads differ from 1 thread with 64 KiB reads"
        );
    }
}

/// The engine edits a batch a chunk of claims at a time, step by step; how claims fall into
/// batches (one claim each, within one chunk, across chunk boundaries, whole sets) must not
/// change a byte. Both kinds, defects, several billing providers and transaction sets.
#[test]
fn output_is_the_same_whatever_the_claims_per_batch() {
    for (kind, seed) in [("P", 31), ("I", 32)] {
        let bytes = gen837(
            kind,
            700,
            seed,
            &["--error-rate", "0.3", "--claims-per-st", "300"],
        );
        let run = |batch_claims: usize| {
            let mut s = settings_threads(64 << 10, 1);
            s.batch_claims = batch_claims;
            let r = scrub837::pipeline::scrub_reader(
                &bytes[..],
                &s,
                &mut scrub837::x12::ControlNumbers::starting_at(1),
                &mut |_| {},
            )
            .unwrap();
            (r.claims_jsonl, r.ack277)
        };
        let whole = run(scrub837::pipeline::BATCH_CLAIMS);
        assert_eq!(whole.0.iter().filter(|&&b| b == b'\n').count(), 700);
        assert!(!whole.1.is_empty(), "a 277CA");
        for n in [1, 7, 33, 95] {
            assert!(whole == run(n), "{kind}: {n} claims per batch differ");
        }
    }
}

#[test]
fn the_reading_thread_edits_batches_no_worker_is_free_for() {
    // The pool's one worker is kept busy for the whole run: every batch must be edited on the
    // reading thread, which takes jobs no worker has started instead of waiting for one. The
    // output is the same as with one thread.
    let bytes = gen837("P", 12_000, 23, &["--error-rate", "0.2"]);
    let run = |s: &scrub837::pipeline::Settings| {
        let r = scrub837::pipeline::scrub_reader(
            &bytes[..],
            s,
            &mut scrub837::x12::ControlNumbers::starting_at(1),
            &mut |_| {},
        )
        .unwrap();
        (r.claims_jsonl, r.ack999, r.ack277)
    };
    let one = run(&settings_threads(64 << 10, 1));
    let pool = std::sync::Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("pool"),
    );
    let mut busy = settings_threads(64 << 10, 1);
    busy.pool = Some(pool.clone());
    let (release, held) = std::sync::mpsc::channel::<()>();
    let (started, worker_busy) = std::sync::mpsc::channel::<()>();
    let (outcome, released) = std::sync::mpsc::channel::<bool>();
    pool.spawn(move || {
        let _ = started.send(());
        // Released by the test when the run is over, or giving up after a minute.
        let got = held
            .recv_timeout(std::time::Duration::from_secs(60))
            .is_ok();
        let _ = outcome.send(got);
    });
    worker_busy.recv().unwrap();
    let two = run(&busy);
    let _ = release.send(());
    assert!(
        released.recv().unwrap(),
        "the run finished only after the worker gave up waiting"
    );
    assert!(
        one == two,
        "edited on the reading thread, the output differs"
    );
}

/// A `claims.jsonl` writer that takes its time, so the stage thread is the busier one.
struct SlowLines(Vec<u8>);

impl std::io::Write for SlowLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::thread::sleep(std::time::Duration::from_millis(3));
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_reading_thread_edits_batches_while_the_stage_thread_is_busy() {
    // The stage thread writes each run of lines slowly: the reading thread, finding the stage's
    // queue full, edits the batches the stage has not started instead of waiting. The lines
    // and the 277CA are the same as with one thread.
    let bytes = gen837(
        "P",
        2_000,
        27,
        &["--error-rate", "0.3", "--claims-per-st", "500"],
    );
    let run = |s: &scrub837::pipeline::Settings, slow: bool| {
        let mut ack277 = Vec::new();
        let mut fast = Vec::new();
        let mut slow_lines = SlowLines(Vec::new());
        let lines: &mut (dyn std::io::Write + Send) =
            if slow { &mut slow_lines } else { &mut fast };
        let (scrubbed, late) = scrub837::pipeline::scrub_stream(
            &bytes[..],
            s,
            &mut scrub837::x12::ControlNumbers::starting_at(1),
            &mut |_| {},
            scrub837::pipeline::Sink::Claims {
                lines,
                ack277: Some(&mut ack277),
            },
        )
        .unwrap();
        assert!(late.is_empty());
        let lines = if slow { slow_lines.0 } else { fast };
        (
            lines,
            ack277,
            scrubbed.ack999,
            scrubbed.batches_edited_by_reader,
        )
    };
    let mut one = settings_threads(64 << 10, 1);
    one.batch_claims = 8;
    let mut two = settings_threads(64 << 10, 2);
    two.batch_claims = 8;
    let (lines, ack277, ack999, by_reader) = run(&one, false);
    assert_eq!(by_reader, 0, "one thread has no stage thread to help");
    assert_eq!(lines.iter().filter(|&&b| b == b'\n').count(), 2_000);
    let helped = run(&two, true);
    assert!(helped.3 > 0, "the reading thread edited no batch");
    assert!(
        (lines, ack277, ack999) == (helped.0, helped.1, helped.2),
        "batches edited on the reading thread give other bytes"
    );
}

#[test]
fn a_rejected_group_rejects_claims_already_written() {
    // A valid file whose GE01 is wrong: the group is rejected at its trailer, after its claims.
    let good = std::fs::read(fixture("edits/E-29.p.x12")).unwrap();
    let text = String::from_utf8(good).unwrap();
    let ge = text.find("\nGE*").expect("GE") + 1;
    let end = text[ge..].find('~').unwrap() + ge;
    let bad = format!(
        "{}GE*7*{}",
        &text[..ge],
        &text[end - text[ge..end].rsplit('*').next().unwrap().len()..]
    );
    let (s, _) = scrub_bytes(bad.as_bytes(), 64 << 10);
    let claims = read_claims(&s.claims_jsonl[..]).expect("claims.jsonl re-reads");
    assert!(!claims.is_empty());
    // The group's 277 sets were spooled, then dropped: no 277CA at all.
    assert!(
        s.ack277.is_empty(),
        "{}",
        String::from_utf8_lossy(&s.ack277)
    );
    common::check_277(&s.ack277, &claims).unwrap();
    for c in &claims {
        assert_eq!(c.status, "rejected", "{}", c.claim);
        assert!(
            c.findings.iter().any(|f| f.edit == "E-02"
                && f.ack.as_deref().is_some_and(|a| a.starts_with("999 AK9 R"))),
            "{:?}",
            c.findings
        );
    }
}

#[test]
fn a_claim_with_an_implementation_guide_error_is_rejected_alone() {
    let text = String::from_utf8(std::fs::read(fixture("edits/E-29.p.x12")).unwrap()).unwrap();
    // Break one claim's CLM05 (place of service too long): a 999 IK4 inside that claim only.
    let at = text.find("CLM*E29P-PASS*").expect("pass claim");
    let mut bad = text.clone();
    let pos = bad[at..].find(":B:").unwrap() + at;
    bad.insert_str(pos, "999");
    let (s, _) = scrub_bytes(bad.as_bytes(), 64 << 10);
    let claims = read_claims(&s.claims_jsonl[..]).expect("claims.jsonl re-reads");
    // The claim is in the 277CA, rejected with A3:684 first and the edit id in STC12.
    common::check_277(&s.ack277, &claims).unwrap();
    let ack = scrub837::ack::read277::read_277ca(&s.ack277);
    let c = ack
        .claims()
        .find(|c| c.id == "E29P-PASS")
        .expect("in the 277CA");
    assert!(c.rejected());
    assert_eq!(c.stcs[0].code, "A3:684");
    assert!(c.stcs[0].text.starts_with("E-43 "), "{:?}", c.stcs[0]);
    let broken: Vec<_> = claims
        .iter()
        .filter(|c| c.findings.iter().any(|f| f.edit == "E-43"))
        .collect();
    assert_eq!(broken.len(), 1);
    assert_eq!(broken[0].claim, "E29P-PASS");
    assert_eq!(broken[0].status, "rejected");
    let f = &broken[0].findings[0];
    assert_eq!(f.stc.as_deref(), Some("A3:684"));
    assert!(f.ack.as_deref().is_some_and(|a| a.starts_with("999 IK3")));
    assert!(claims
        .iter()
        .filter(|c| c.claim != "E29P-PASS")
        .all(|c| !c.findings.iter().any(|f| f.edit == "E-43")));
}

// ---- rule packs -------------------------------------------------------------------------

fn bundled_files() -> Vec<(String, String)> {
    scrub837::edit::rules::BUNDLED
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect()
}

#[test]
fn the_bundled_pack_is_every_file_in_rules() {
    let mut on_disk: Vec<String> = std::fs::read_dir(root().join("rules"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let mut bundled: Vec<String> = bundled_files().into_iter().map(|f| f.0).collect();
    bundled.sort();
    assert_eq!(on_disk, bundled);
    for (name, text) in bundled_files() {
        assert_eq!(
            std::fs::read_to_string(root().join("rules").join(&name)).unwrap(),
            text
        );
    }
    let rs = scrub837::edit::RuleSet::from_dir(&root().join("rules")).expect("rules/ loads");
    assert_eq!(
        rs.rules.len(),
        scrub837::edit::RuleSet::bundled().unwrap().rules.len()
    );
}

fn broken(file: &str, from: &str, to: &str) -> String {
    let mut files = bundled_files();
    let f = files.iter_mut().find(|f| f.0 == file).unwrap();
    assert!(f.1.contains(from), "{from}");
    f.1 = f.1.replacen(from, to, 1);
    scrub837::edit::RuleSet::from_texts("test", &files)
        .map(|_| String::new())
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_rule_packs_name_file_line_and_problem() {
    let line_of = |file: &str, needle: &str| {
        let text = bundled_files().into_iter().find(|f| f.0 == file).unwrap().1;
        text[..text.find(needle).unwrap()].lines().count() + 1
    };
    let e = broken(
        "edits.toml",
        "check = \"modifier_not_allowed\"",
        "check = \"modifer_not_allowed\"",
    );
    assert!(
        e.starts_with("edits.toml:") && e.contains("unknown check `modifer_not_allowed`"),
        "{e}"
    );
    let e = broken(
        "edits.toml",
        "severity = \"warn\"",
        "severity = \"warning\"",
    );
    assert!(e.contains("severity `warning`"), "{e}");
    let e = broken("edits.toml", "stc = \"A7:400\"", "stc = \"A7-400\"");
    assert!(e.contains("STC `A7-400`"), "{e}");
    let e = broken("edits.toml", "max_units = 4 }", "max_unit = 4 }");
    assert!(e.contains("no parameter `max_unit`"), "{e}");
    let e = broken("edits.toml", "\"@group1_a58403\"", "\"@group_one\"");
    assert!(e.contains("no code set named `group_one`"), "{e}");
    let e = broken("edits.toml", "payers = [\"uhc\"]", "payers = [\"united\"]");
    assert!(e.contains("no profile `united`"), "{e}");
    // TOML syntax: the line of the error.
    let e = broken("payers.toml", "id = \"aetna\"", "id = \"aetna");
    let want = format!("payers.toml:{}:", line_of("payers.toml", "id = \"aetna\""));
    assert!(e.starts_with(&want), "{e} (want {want})");
    // Two rules for the same edit, payers, kind and dates.
    let e = broken("edits.toml", "edit = \"E-29\"", "edit = \"E-28\"");
    assert!(e.contains("overlaps the rule at edits.toml:"), "{e}");
    // A semantic error names the line of its [[rule]].
    let e = broken(
        "edits.toml",
        "severity = \"reject\"\nstc = \"A7:400\"",
        "severity = \"nope\"\nstc = \"A7:400\"",
    );
    let want = format!(
        "edits.toml:{}:",
        line_of("edits.toml", "[[rule]]\nedit = \"E-07\"")
    );
    assert!(e.starts_with(&want), "{e} (want {want})");
}

#[test]
fn cli_rejects_a_bad_rules_directory_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in bundled_files() {
        let text = if name == "edits.toml" {
            text.replacen("severity = \"reject\"", "severity = \"rejekt\"", 1)
        } else {
            text
        };
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let out = assert_cmd::Command::cargo_bin("scrub837")
        .unwrap()
        .args(["scrub", "--now", NOW, "--rules"])
        .arg(dir.path())
        .arg("-o")
        .arg(dir.path().join("out"))
        .arg(fixture("edits/E-29.p.x12"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("edits.toml:") && err.contains("severity `rejekt`"),
        "{err}"
    );
    assert!(
        !dir.path().join("out").exists(),
        "nothing written on a configuration error"
    );
}

#[test]
fn cli_rules_dir_replaces_the_bundled_pack() {
    // The same pack with E-29 turned into a warning: the E-29 fixture's claims are accepted.
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in bundled_files() {
        let text = if name == "edits.toml" {
            let at = text.find("edit = \"E-29\"").unwrap();
            let sev = text[at..].find("severity = \"reject\"").unwrap() + at;
            format!(
                "{}severity = \"warn\"{}",
                &text[..sev],
                &text[sev + "severity = \"reject\"".len()..]
            )
        } else {
            text
        };
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let out_dir = dir.path().join("out");
    let run = assert_cmd::Command::cargo_bin("scrub837")
        .unwrap()
        .args(["scrub", "-q", "--now", NOW, "--rules"])
        .arg(dir.path())
        .arg("-o")
        .arg(&out_dir)
        .arg(fixture("edits/E-29.p.x12"))
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let claims =
        read_claims(&std::fs::read(out_dir.join("E-29.p.claims.jsonl")).unwrap()[..]).unwrap();
    assert!(claims.iter().all(|c| c.status == "accepted"));
    assert!(claims.iter().any(|c| edits(c, "warn").contains("E-29")));
}

#[test]
fn cli_explain_and_rules() {
    let run = |args: &[&str]| {
        assert_cmd::Command::cargo_bin("scrub837")
            .unwrap()
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["explain", "e-29"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for want in ["E-29:", "A7:453", "How to fix:", "source:", "edits.toml:"] {
        assert!(text.contains(want), "{want} in {text}");
    }
    let out = run(&["explain", "E-99"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no rule for edit `E-99`"));
    let out = run(&["rules", "--checks"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let rs = scrub837::edit::RuleSet::bundled().unwrap();
    assert!(text.contains(&rs.pack.version));
    for r in &rs.rules {
        assert!(text.contains(&*r.title), "{}", r.title);
    }
    assert!(text.contains("levels_per_session"));
}

#[test]
fn another_payers_rendering_provider_is_not_the_claims() {
    // A 2320/2330 other-payer block with its own NM1*82 (no NPI allowed there) must not be read
    // as the claim's rendering provider: E-42 still warns, and no E-14 reject appears.
    let text = String::from_utf8(std::fs::read(fixture("edits/E-42.p.x12")).unwrap()).unwrap();
    let at = text.find("CLM*E42P-FIRE*").expect("fire claim");
    let lx = text[at..].find("LX*1~").unwrap() + at;
    let cob = "SBR*S*18*******CI~\nOI***Y*P**Y~\nNM1*IL*1*DOE*JOHN****MI*X123456~\nN3*1 MAIN ST~\n\
               N4*COLUMBUS*OH*43215~\nNM1*PR*2*OTHER PAYER*****PI*99999~\nNM1*82*1~\nREF*G2*12345~\n";
    let mut bad = text.clone();
    bad.insert_str(lx, cob);
    // Keep SE01 right: 8 more segments in the set.
    let se = bad.rfind("SE*").unwrap();
    let end = bad[se..].find('*').unwrap() + se + 1;
    let stop = bad[end..].find('*').unwrap() + end;
    let n: u32 = bad[end..stop].parse().unwrap();
    bad.replace_range(end..stop, &(n + 8).to_string());
    let (s, problems) = scrub_bytes(bad.as_bytes(), 4096);
    assert!(problems.is_empty(), "{problems:?}");
    let claims = read_claims(&s.claims_jsonl[..]).unwrap();
    let c = claims.iter().find(|c| c.claim == "E42P-FIRE").unwrap();
    assert_eq!(edits(c, "reject"), BTreeSet::new(), "{:?}", c.findings);
    assert_eq!(edits(c, "warn"), ["E-42".to_owned()].into());
}

#[test]
fn rule_pack_gaps_are_refused() {
    let e = broken(
        "edits.toml",
        "allowed = [\"1\", \"7\", \"8\"]",
        "allowed = [\"1\", \"7\", \"8\", \"\"]",
    );
    assert!(e.contains("empty code"), "{e}");
    let e = broken(
        "edits.toml",
        "birth_date = \"A7:158:QC\"",
        "birth_dat = \"A7:158:QC\"",
    );
    assert!(e.contains("no variant `birth_dat`"), "{e}");
    let e = broken(
        "edits.toml",
        "severity = \"warn\"\nstc = \"A8:735\"\nverified = false",
        "severity = \"reject\"\nstc = \"A8:735\"\nverified = false",
    );
    assert!(e.contains("verified = false with severity reject"), "{e}");
    let e = broken(
        "edits.toml",
        "check = \"charges_balance\"",
        "check = \"structural\"",
    );
    assert!(
        e.contains("check `structural` is for the structural edits"),
        "{e}"
    );
}

/// Sums the claims.jsonl files of a run the way summary.json should: claims, statuses, dollars,
/// by payer and by edit (claims per edit and severity).
fn recount(lines: &[ClaimLine]) -> serde_json::Value {
    let mut t = scrub837::report::summary::Tally::default();
    for c in lines {
        t.add_line(c, 1);
    }
    serde_json::to_value(&t).unwrap()
}

#[test]
fn summary_json_reconciles_with_claims_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // Edit fixtures plus an envelope fixture whose group is rejected at its trailer.
    let mut inputs: Vec<std::path::PathBuf> = fixtures_in("edits", 60);
    inputs.push(fixture("envelope/wrong_ge01.x12"));
    let run = assert_cmd::Command::cargo_bin("scrub837")
        .unwrap()
        .args(["scrub", "--now", NOW, "-o"])
        .arg(&out)
        .args(&inputs)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let mut all = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let stem = input.file_stem().unwrap().to_string_lossy().into_owned();
        let lines =
            read_claims(&std::fs::read(out.join(format!("{stem}.claims.jsonl"))).unwrap()[..])
                .unwrap();
        assert_eq!(summary["inputs"][i]["claims"], recount(&lines), "{stem}");
        // The 277CA counts: every claim of an accepted transaction set, by its status.
        let acked = lines.iter().filter(|c| !common::rejected_with_envelope(c));
        let rejected = acked.clone().filter(|c| c.status == "rejected").count();
        let ack = &summary["inputs"][i]["ack277"];
        assert_eq!(ack["rejected"].as_u64(), Some(rejected as u64), "{stem}");
        assert_eq!(
            ack["accepted"].as_u64(),
            Some((acked.count() - rejected) as u64),
            "{stem}"
        );
        all.extend(lines);
    }
    assert_eq!(summary["claims"], recount(&all));
    assert_eq!(
        summary["claims"]["claims"].as_u64().unwrap() as usize,
        all.len()
    );
    // The last line of stderr tells the same counts.
    let err = String::from_utf8_lossy(&run.stderr);
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with(&format!(
            "scrub837: {} inputs, {} claims:",
            inputs.len(),
            all.len()
        )),
        "{last}"
    );
    // Golden, with the one field that differs between runs zeroed.
    let mut stable = summary.clone();
    stable["elapsed_ms"] = 0.into();
    let base = format!("{}/", root().join("fixtures").display());
    for i in stable["inputs"].as_array_mut().unwrap() {
        let name = i["input"].as_str().unwrap().replace(&base, "fixtures/");
        i["input"] = name.into();
    }
    let mut text = serde_json::to_vec_pretty(&stable).unwrap();
    text.push(b'\n');
    golden(
        &root().join("tests/golden/summary/edits-and-rejected-group.json"),
        &text,
    );
}

/// The 277CA roll-up property over generated files: for each kind, seed, defect rate and
/// transaction-set size, the 277CA re-reads clean, its 2000B/2000C QTY and AMT equal the
/// counts and sums over its claims, and every claim of an accepted transaction set appears in
/// it exactly once, in order, with its status, charge and reject edits.
#[test]
fn generated_277ca_roll_ups_reconcile() {
    for (kind, seed, rate, per_st) in [
        ("P", 11, "0.2", "50"),
        ("P", 12, "0.6", "7"),
        ("I", 13, "0.2", "50"),
        ("I", 14, "0.6", "3"),
    ] {
        let bytes = gen837(
            kind,
            400,
            seed,
            &["--error-rate", rate, "--claims-per-st", per_st],
        );
        let (s, _) = scrub_bytes(&bytes, 4093);
        let lines = read_claims(&s.claims_jsonl[..]).expect("claims.jsonl re-reads");
        assert_eq!(lines.len(), 400, "{kind} {seed}");
        common::check_277(&s.ack277, &lines).unwrap_or_else(|e| panic!("{kind} {seed}: {e}"));
        let ack = scrub837::ack::read277::read_277ca(&s.ack277);
        let acked = ack.claims().count() as u64;
        assert_eq!(acked, s.counts277.accepted + s.counts277.rejected);
        assert!(acked > 0, "{kind} {seed}: nothing acknowledged");
        assert!(
            ack.claims().any(|c| c.rejected()) && ack.claims().any(|c| !c.rejected()),
            "{kind} {seed}: want both accepted and rejected claims"
        );
    }
}
