//! The `scrub837` binary: the command line in [`scrub837::cli`] (which also sets up logging).

fn main() {
    limit_malloc_arenas();
    std::process::exit(scrub837::cli::main_with_args());
}

/// glibc gives each thread that allocates an arena of its own, and what is freed stays in that
/// arena: with 16 edit threads the 2.1 GB 837P peaked at 78 MB; with two arenas (the reading
/// thread's and one the workers share) at 60 MB, with four at 64 MB. A `MALLOC_ARENA_MAX` in
/// the environment is left to rule.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: called first in `main`, before any other thread exists; mallopt only sets a
        // tuning parameter of the allocator.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
