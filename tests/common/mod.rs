//! Helpers shared by the integration tests: fixture paths, the reference generator,
//! chunked readers, golden-file comparison and an in-memory scrub.

#![allow(dead_code)]

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use scrub837::clock::Timestamp;
use scrub837::pipeline::{scrub_reader, Scrubbed, Settings};
use scrub837::x12::{ControlNumbers, Delimiters, EnvelopeConfig, Limits};

/// The fixed clock every test run uses.
pub const NOW: &str = "2026-11-27T12:00:00Z";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// The `.x12` files of `fixtures/DIR`, sorted; at least `min` of them (else the folder is broken).
pub fn fixtures_in(dir: &str, min: usize) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixture(dir))
        .unwrap_or_else(|e| panic!("fixtures/{dir}: {e}"))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "x12"))
        .collect();
    v.sort();
    assert!(
        v.len() >= min,
        "fixtures/{dir} looks incomplete (run its make.py)"
    );
    v
}

pub fn envelope_fixtures() -> Vec<PathBuf> {
    fixtures_in("envelope", 10)
}

/// Compares a run's exit status, stderr and `NAME.999.x12` / `NAME.ta1.x12` (in `out`) with the
/// golden files in `golden_dir`, and re-reads every acknowledgment written: clean, with AK9
/// reconciled, and a TA1 file holding a TA1. Returns the 999 bytes (empty when none).
pub fn check_outputs(
    golden_dir: &Path,
    name: &str,
    out: &Path,
    run: &std::process::Output,
) -> Result<Vec<u8>, String> {
    if !run.stdout.is_empty() {
        return Err("stdout must stay empty".into());
    }
    let code = run.status.code().expect("exit code");
    golden(&golden_dir.join("exit"), format!("{code}\n").as_bytes());
    golden(&golden_dir.join("stderr.txt"), &run.stderr);
    let mut ack999 = Vec::new();
    for suffix in ["999.x12", "ta1.x12"] {
        let written = std::fs::read(out.join(format!("{name}.{suffix}"))).unwrap_or_default();
        golden(&golden_dir.join(suffix), &written);
        if written.is_empty() {
            continue;
        }
        let back = scrub837::ack::read::read_acks(&written);
        if !back.problems.is_empty() {
            return Err(format!(
                "{suffix} does not re-read cleanly: {:?}",
                back.problems
            ));
        }
        for ack in &back.acks {
            ack.reconcile().map_err(|e| format!("{suffix}: {e}"))?;
        }
        if suffix == "ta1.x12" && back.ta1s.is_empty() {
            return Err("TA1 file without TA1".into());
        }
        if suffix == "999.x12" {
            ack999 = written;
        }
    }
    let claims = std::fs::read(out.join(format!("{name}.claims.jsonl"))).unwrap_or_default();
    golden(&golden_dir.join("claims.jsonl"), &claims);
    let lines = scrub837::report::claims_jsonl::read_claims(&claims[..])
        .map_err(|e| format!("claims.jsonl does not re-read: {e}"))?;
    let ack277 = std::fs::read(out.join(format!("{name}.277ca.x12"))).unwrap_or_default();
    golden(&golden_dir.join("277ca.x12"), &ack277);
    check_277(&ack277, &lines)?;
    // Every claim the 999 accepted with errors or rejected shows up rejected.
    if !ack999.is_empty()
        && lines
            .iter()
            .any(|c| c.findings.iter().any(|f| f.ack.is_some()) && c.status != "rejected")
    {
        return Err("a claim with a structural finding is not rejected".into());
    }
    Ok(ack999)
}

/// Whether a claim line was rejected with its transaction set, group or interchange (and so
/// has no place in a 277CA).
pub fn rejected_with_envelope(c: &scrub837::report::claims_jsonl::ClaimLine) -> bool {
    c.findings.iter().any(|f| {
        f.ack.as_deref().is_some_and(|a| {
            a.starts_with("999 IK5 R") || a.starts_with("999 AK9 R") || a.starts_with("TA1 R")
        })
    })
}

/// A claim id as a 277CA can echo it, for comparing ids across the two outputs: delimiters
/// blanked, anything not printable ASCII as one `?` per run (claims.jsonl holds the id as
/// lossy UTF-8, the 277CA byte by byte), at most 50 characters, never empty.
fn x12_id(id: &str) -> String {
    let mut out = String::new();
    for c in id.chars() {
        let c = match c {
            '*' | ':' | '~' | '^' => ' ',
            ' '..='~' => c,
            _ => '?',
        };
        if !(c == '?' && out.ends_with('?')) {
            out.push(c);
        }
    }
    out.truncate(40);
    if out.trim().is_empty() {
        "UNKNOWN".to_owned()
    } else {
        out
    }
}

/// Checks a 277CA against the `claims.jsonl` of the same run: it re-reads against the 277CA
/// guide with no findings, its roll-ups reconcile, and it acknowledges exactly the claims whose
/// transaction set, group and interchange were accepted, once each and in order, with the
/// status, charge and reject edits (in STC12, in order) that `claims.jsonl` gives them.
pub fn check_277(
    ack277: &[u8],
    lines: &[scrub837::report::claims_jsonl::ClaimLine],
) -> Result<(), String> {
    use scrub837::ack::read277::{parse_cents, read_277ca};
    let file = read_277ca(ack277);
    if !file.problems.is_empty() {
        return Err(format!(
            "277CA does not re-read cleanly: {:?}",
            file.problems
        ));
    }
    file.reconcile().map_err(|e| format!("277CA: {e}"))?;
    type Row = (String, bool, i64, Vec<String>);
    let want: Vec<Row> = lines
        .iter()
        .filter(|c| !rejected_with_envelope(c))
        .map(|c| {
            let rejected = c.status == "rejected";
            (
                x12_id(&c.claim),
                rejected,
                c.charge.as_deref().and_then(parse_cents).unwrap_or(0),
                c.findings
                    .iter()
                    .filter(|f| rejected && f.severity == "reject")
                    .map(|f| f.edit.clone())
                    .collect(),
            )
        })
        .collect();
    let got: Vec<Row> = file
        .claims()
        .map(|c| {
            let rejected = c.rejected();
            (
                x12_id(&c.id),
                rejected,
                c.cents(),
                c.stcs
                    .iter()
                    .filter(|s| rejected && s.action == "U")
                    .map(|s| s.text.split(' ').next().unwrap_or("").to_owned())
                    .collect(),
            )
        })
        .collect();
    if want != got {
        let first = want
            .iter()
            .zip(&got)
            .position(|(a, b)| a != b)
            .unwrap_or(want.len().min(got.len()));
        return Err(format!(
            "277CA claims differ from claims.jsonl ({} vs {} claims); first difference at {first}: {:?} vs {:?}",
            want.len(),
            got.len(),
            want.get(first),
            got.get(first)
        ));
    }
    Ok(())
}

/// The shared corpus next to the checkout (`../shared/corpus`).
pub fn corpus_files() -> Vec<PathBuf> {
    let dir = root().join("../shared/corpus");
    let mut out = Vec::new();
    for sub in std::fs::read_dir(&dir).expect("../shared/corpus must sit beside the checkout") {
        let sub = sub.expect("entry").path();
        if sub.is_dir() {
            for f in std::fs::read_dir(&sub).expect("corpus folder") {
                out.push(f.expect("entry").path());
            }
        }
    }
    out.sort();
    assert!(out.len() > 50, "corpus looks empty");
    out
}

/// Runs `../shared/tools/gen837.py` and returns the file it writes.
pub fn gen837(kind: &str, claims: u32, seed: u32, extra: &[&str]) -> Vec<u8> {
    let script = root().join("../shared/tools/gen837.py");
    let out = Command::new("python3")
        .arg(&script)
        .args([
            "--kind",
            kind,
            "--claims",
            &claims.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .args(extra)
        .output()
        .expect("python3 is needed to run the reference generator");
    assert!(
        out.status.success(),
        "gen837 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A reader that hands out at most `chunk` bytes per read.
pub struct Chunked<R> {
    pub inner: R,
    pub chunk: usize,
}

impl<R: Read> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.chunk);
        self.inner.read(&mut buf[..n])
    }
}

/// The embedded grammars, loaded once per test binary (loading is slow in debug builds).
pub fn grammars() -> std::sync::Arc<scrub837::grammar::validate::Grammars> {
    static G: std::sync::OnceLock<std::sync::Arc<scrub837::grammar::validate::Grammars>> =
        std::sync::OnceLock::new();
    G.get_or_init(|| {
        std::sync::Arc::new(scrub837::grammar::validate::Grammars::embedded().expect("grammars"))
    })
    .clone()
}

pub fn settings(read_size: usize) -> Settings {
    Settings {
        out_dir: PathBuf::from("unused"),
        now: Timestamp::parse_rfc3339(NOW).expect("clock"),
        limits: Limits {
            read_size,
            ..Limits::default()
        },
        envelope: EnvelopeConfig::default(),
        ack_delimiters: Delimiters::STANDARD,
        ack_eol: b"\n",
        grammars: grammars(),
        engine: Some(engine()),
        pool: None,
        stage_thread: false,
        log_phi: false,
        progress: None,
        html: false,
        redact: false,
        history: None,
        hold_bytes: scrub837::edit::stage::HOLD_BYTES,
        batch_claims: scrub837::pipeline::BATCH_CLAIMS,
    }
}

/// The edit engine over the bundled rules, with the test clock.
pub fn engine() -> std::sync::Arc<scrub837::edit::Engine> {
    static E: std::sync::OnceLock<std::sync::Arc<scrub837::edit::Engine>> =
        std::sync::OnceLock::new();
    E.get_or_init(|| {
        let rules = scrub837::edit::RuleSet::bundled().expect("bundled rules load");
        let today = scrub837::claim::Date::parse_d8(b"20261127").expect("date");
        std::sync::Arc::new(scrub837::edit::Engine::new(
            std::sync::Arc::new(rules),
            today,
        ))
    })
    .clone()
}

/// Settings for `threads` threads in all, as `scrub --threads` counts them: inline for 1, the
/// stage on a thread of its own for 2, and `threads - 2` more workers beyond.
pub fn settings_threads(read_size: usize, threads: usize) -> Settings {
    let mut s = settings(read_size);
    s.pool = scrub837::cli::edit_pool(threads).expect("pool");
    s.stage_thread = scrub837::cli::stage_thread(threads);
    s
}

/// Scrubs bytes in memory, reading `chunk` bytes at a time; returns the result and the problem lines.
pub fn scrub_bytes(bytes: &[u8], chunk: usize) -> (Scrubbed, Vec<String>) {
    scrub_bytes_with(bytes, settings(chunk.clamp(1, 64 << 10)))
}

/// Scrubs bytes in memory with `s`, reading `s.limits.read_size` bytes at a time.
pub fn scrub_bytes_with(bytes: &[u8], s: Settings) -> (Scrubbed, Vec<String>) {
    let mut lines = Vec::new();
    let mut numbers = ControlNumbers::starting_at(1);
    let src = Chunked {
        inner: bytes,
        chunk: s.limits.read_size,
    };
    let scrubbed = scrub_reader(src, &s, &mut numbers, &mut |p| {
        lines.push(scrub837::cli::problem_line("input", p))
    })
    .expect("reading memory cannot fail");
    (scrubbed, lines)
}

/// Runs `scrub837 scrub -q -j 2 --now NOW --set-memory MIB -o OUT INPUT...`.
pub fn scrub_set_memory(inputs: &[&Path], set_memory: &str, out: &Path) -> std::process::Output {
    assert_cmd::Command::cargo_bin("scrub837")
        .expect("binary")
        .args(["scrub", "-q", "-j", "2", "--now", NOW])
        .args(["--set-memory", set_memory, "-o"])
        .arg(out)
        .args(inputs)
        .output()
        .expect("scrub runs")
}

/// Runs `scrub837 scrub --now NOW --out-dir OUT NAME` in the fixture's folder (so stderr names
/// the file as `NAME`) and returns what it printed and its status.
pub fn scrub_fixture(input: &Path, out: &Path) -> std::process::Output {
    assert_cmd::Command::cargo_bin("scrub837")
        .expect("binary")
        .current_dir(input.parent().expect("fixture folder"))
        .args(["scrub", "--now", NOW, "--out-dir"])
        .arg(out)
        .arg(input.file_name().expect("fixture name"))
        .output()
        .expect("scrub837 runs")
}

/// Compares `actual` with the golden file at `path`; with `SCRUB837_BLESS=1` rewrites it instead.
pub fn golden(path: &Path, actual: &[u8]) {
    if std::env::var_os("SCRUB837_BLESS").is_some() {
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).expect("golden dir");
        }
        if actual.is_empty() {
            let _ = std::fs::remove_file(path);
        } else {
            std::fs::write(path, actual).expect("write golden");
        }
        return;
    }
    let expected = std::fs::read(path).unwrap_or_default();
    assert!(
        expected == actual,
        "{} differs from the output (rerun with SCRUB837_BLESS=1 to accept):\n--- expected\n{}\n--- actual\n{}",
        path.display(),
        String::from_utf8_lossy(&expected),
        String::from_utf8_lossy(actual)
    );
}

/// Names, member ids and birth dates of a fixture (NM1*IL / NM1*QC and DMG values).
pub fn phi_of(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for seg in text.split('~') {
        let f: Vec<&str> = seg.trim().split('*').collect();
        match f.as_slice() {
            ["NM1", "IL" | "QC", _, rest @ ..] => {
                out.extend(rest.iter().take(3).map(|s| s.to_string()));
                if let Some(id) = rest.get(6) {
                    out.push(id.to_string());
                }
            }
            ["DMG", "D8", dob, ..] => out.push(dob.to_string()),
            _ => {}
        }
    }
    // A value that is also a date of service or a code is not a leak when it shows.
    let public: String = text
        .split('~')
        .map(str::trim)
        .filter(|s| !s.starts_with("NM1*IL") && !s.starts_with("NM1*QC") && !s.starts_with("DMG"))
        .collect::<Vec<_>>()
        .join("~");
    out.retain(|s| s.len() > 2 && !public.contains(s.as_str()));
    out
}

/// Scrubs bytes in memory (64 KiB reads) with the given edit engine, e.g. one over a rule set
/// with CMS tables attached; returns the result and the problem lines.
pub fn scrub_with_engine(
    bytes: &[u8],
    engine: std::sync::Arc<scrub837::edit::Engine>,
) -> (Scrubbed, Vec<String>) {
    let mut lines = Vec::new();
    let mut numbers = ControlNumbers::starting_at(1);
    let mut s = settings(64 << 10);
    s.engine = Some(engine);
    let scrubbed = scrub_reader(bytes, &s, &mut numbers, &mut |p| {
        lines.push(scrub837::cli::problem_line("input", p))
    })
    .expect("reading memory cannot fail");
    (scrubbed, lines)
}

/// The edit ids of a claim line's findings of one severity (`reject` or `warn`).
pub fn claim_edits(
    c: &scrub837::report::claims_jsonl::ClaimLine,
    severity: &str,
) -> std::collections::BTreeSet<String> {
    c.findings
        .iter()
        .filter(|f| f.severity == severity)
        .map(|f| f.edit.clone())
        .collect()
}
