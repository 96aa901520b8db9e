//! Peak resident memory (VmHWM) of streaming framing + envelope checking (`Framer` over a
//! `File` + `check_stream`) on a ~1 MB and a ~500 MB 837P input, each in a fresh child process.

mod common;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use scrub837::x12::{check_stream, EnvelopeChecker, EnvelopeConfig, Framer};

/// Set (to the input path) in the child that does the measured run.
const CHILD_ENV: &str = "SCRUB837_PEAK_MEMORY_CHILD";

/// Claims for the ~1 MB input (about 472 bytes a claim).
const SMALL_CLAIMS: u64 = 2_200;
/// Claims per seed for the large input; seeds differ, so do the ISA13 control numbers.
const LARGE_CLAIMS_PER_SEED: u64 = 200_000;
const LARGE_MIN_BYTES: u64 = 500_000_000;

/// `VmHWM` (peak resident set) of this process in KiB, from `/proc/self/status`.
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM missing from /proc/self/status")
}

/// The measured run: stream `path` from disk and print one `key=value` line.
fn child(path: &Path) {
    let before = vm_hwm_kib();
    let file = File::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let started = Instant::now();
    let mut framer = Framer::new(file);
    let mut checker = EnvelopeChecker::new(EnvelopeConfig::default());
    let totals = check_stream(&mut framer, &mut checker, &mut ()).expect("read failed");
    let elapsed = started.elapsed().as_secs_f64();
    let after = vm_hwm_kib();
    println!(
        "bytes={} segments={} interchanges={} interchanges_rejected={} transactions={} elapsed_s={elapsed:.6} \
         hwm_start_kib={before} hwm_kib={after} buffer_capacity={}",
        framer.offset(),
        totals.segments,
        totals.interchanges,
        totals.interchanges_rejected,
        totals.transactions,
        framer.buffer_capacity(),
    );
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("child output lacks {key}: {line}"))
}

fn num(line: &str, key: &str) -> f64 {
    field(line, key)
        .parse()
        .unwrap_or_else(|e| panic!("bad {key} in child output {line}: {e}"))
}

/// Runs the measurement for `path` in a fresh process and returns its output line.
fn measure(path: &Path) -> String {
    let exe = std::env::current_exe().expect("current_exe");
    let out = Command::new(exe)
        .env(CHILD_ENV, path)
        .output()
        .expect("cannot spawn child");
    if !out.status.success() {
        panic!(
            "child for {} failed ({}): {}",
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout)
        .expect("child output is not UTF-8")
        .lines()
        .find(|l| l.starts_with("bytes="))
        .expect("child printed no result line")
        .to_owned()
}

/// Several seeds' outputs concatenated until the file holds at least `LARGE_MIN_BYTES`.
fn large_input() -> PathBuf {
    let name = format!("837p-concat-{}mb.x12", LARGE_MIN_BYTES / 1_000_000);
    common::cached(&name, |file| {
        let mut seed = 1;
        while file.metadata().expect("stat").len() < LARGE_MIN_BYTES {
            eprintln!("  seed {seed}: {LARGE_CLAIMS_PER_SEED} claims");
            common::run_generator(file, LARGE_CLAIMS_PER_SEED, seed);
            seed += 1;
        }
    })
}

fn main() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&path));
        return;
    }
    // Unknown arguments (criterion/cargo pass `--bench` and filters) are ignored. Without
    // `--bench` (`cargo test --benches`) only the small input is run, as a smoke test.
    let mut inputs = vec![("~1 MB", common::gen_837p(SMALL_CLAIMS, 7))];
    if common::bench_mode() {
        inputs.push(("~500 MB", large_input()));
    }

    let mut table = String::new();
    table.push_str(
        "input      file bytes   segments  interchanges  peak RSS MiB  (start MiB)  buffer KiB     MB/s\n",
    );
    for (label, path) in &inputs {
        let line = measure(path);
        let bytes = num(&line, "bytes");
        let size = std::fs::metadata(path).expect("stat input").len();
        assert_eq!(bytes as u64, size, "child did not read the whole file");
        let row = format!(
            "{label:<8} {size:>12} {:>10} {:>13} {:>13.1} {:>12.1} {:>11.0} {:>8.0}\n",
            num(&line, "segments"),
            num(&line, "interchanges"),
            num(&line, "hwm_kib") / 1024.0,
            num(&line, "hwm_start_kib") / 1024.0,
            num(&line, "buffer_capacity") / 1024.0,
            bytes / 1e6 / num(&line, "elapsed_s"),
        );
        eprintln!("{}: {line}", path.display());
        table.push_str(&row);
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(table.as_bytes()).expect("write table");
}
