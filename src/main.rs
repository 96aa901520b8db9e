//! The `scrub837` binary: the command line in [`scrub837::cli`] (which also sets up logging).

fn main() {
    std::process::exit(scrub837::cli::main_with_args());
}
