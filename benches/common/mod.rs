//! Shared helpers for the benches: locating the reference 837 generator and caching its output.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `target/bench-data/` under the crate root, created if missing.
pub fn data_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("bench-data");
    fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create bench data dir {}: {e}", dir.display()));
    dir
}

/// The generator: `$SCRUB837_GEN`, else `../shared/tools/gen837.py` relative to the crate root.
pub fn generator() -> PathBuf {
    let path = match std::env::var_os("SCRUB837_GEN") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/gen837.py"),
    };
    if !path.is_file() {
        panic!(
            "837 generator not found at {} (set SCRUB837_GEN to the path of gen837.py)",
            path.display()
        );
    }
    path
}

/// True when criterion runs us as a benchmark (`cargo bench`), false in `cargo test --benches`.
pub fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Appends `gen837.py --kind P --claims <claims> --seed <seed>` output to `out`.
#[allow(dead_code)]
pub fn run_generator(out: &File, claims: u64, seed: u64) {
    run_generator_kind(out, "P", claims, seed)
}

/// Appends `gen837.py --kind <kind> --claims <claims> --seed <seed>` output to `out`.
pub fn run_generator_kind(out: &File, kind: &str, claims: u64, seed: u64) {
    run_generator_args(out, kind, claims, seed, &[])
}

/// Like [`run_generator_kind`], with extra generator arguments.
pub fn run_generator_args(out: &File, kind: &str, claims: u64, seed: u64, extra: &[&str]) {
    let gen = generator();
    let stdout = out
        .try_clone()
        .unwrap_or_else(|e| panic!("cannot dup output file handle: {e}"));
    let status = Command::new("python3")
        .arg(&gen)
        .args(["--kind", kind, "--claims", &claims.to_string()])
        .args(["--seed", &seed.to_string()])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `python3 {}` (is python3 installed and on PATH?): {e}",
                gen.display()
            )
        });
    if !status.success() {
        panic!(
            "`python3 {} --kind {kind} --claims {claims} --seed {seed}` failed: {status}",
            gen.display()
        );
    }
}

/// Returns `target/bench-data/<name>`, building it with `build` (into a temporary file that is
/// renamed on success) if it does not exist yet.
pub fn cached(name: &str, build: impl FnOnce(&File)) -> PathBuf {
    let path = data_dir().join(name);
    if path.is_file() {
        return path;
    }
    let tmp = path.with_extension("partial");
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&tmp)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", tmp.display()));
    eprintln!("generating {} ...", path.display());
    build(&file);
    file.sync_all().ok();
    drop(file);
    fs::rename(&tmp, &path)
        .unwrap_or_else(|e| panic!("cannot rename {} to {}: {e}", tmp.display(), path.display()));
    path
}

/// A cached single-seed 837P file of `claims` claims.
#[allow(dead_code)]
pub fn gen_837p(claims: u64, seed: u64) -> PathBuf {
    let name = format!("837p-c{claims}-s{seed}.x12");
    cached(&name, |f| run_generator_kind(f, "P", claims, seed))
}

/// A cached single-seed 837I file of `claims` claims.
#[allow(dead_code)]
pub fn gen_837i(claims: u64, seed: u64) -> PathBuf {
    let name = format!("837i-c{claims}-s{seed}.x12");
    cached(&name, |f| run_generator_kind(f, "I", claims, seed))
}

/// A cached 837P file of `claims` claims with 20 % seeded defects.
#[allow(dead_code)]
pub fn gen_837p_defects(claims: u64, seed: u64) -> PathBuf {
    let name = format!("837p-c{claims}-s{seed}-e20.x12");
    cached(&name, |f| {
        run_generator_args(f, "P", claims, seed, &["--error-rate", "0.2"])
    })
}
