//! The `scrub837` binary: logging set-up, then the command line in [`scrub837::cli`].

fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SCRUB837_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    std::process::exit(scrub837::cli::main_with_args());
}
