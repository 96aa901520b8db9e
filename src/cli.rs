//! The command line: clap arguments → a validated [`Settings`] → run → exit status.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::clock::Timestamp;
use crate::error::Error;
use crate::grammar::validate::Grammars;
use crate::input::discover;
use crate::pipeline::{scrub_input, Settings, Verdict};
use crate::x12::{ControlNumbers, Delimiters, EnvelopeConfig, Level, Limits, Problem};

/// Exit status: nothing rejected.
pub const EXIT_CLEAN: i32 = 0;
/// Exit status: one or more claims or transaction sets rejected.
pub const EXIT_REJECTED: i32 = 1;
/// Exit status: usage, I/O or configuration error.
pub const EXIT_ERROR: i32 = 2;
/// Exit status: input unusable (not an interchange, or rejected at the interchange level).
pub const EXIT_UNUSABLE: i32 = 3;

/// Scrubs ASC X12 837P/837I claim files and writes TA1/999 acknowledgments.
#[derive(Parser, Debug)]
#[command(name = "scrub837", version, about, long_about = None)]
#[command(
    after_help = "Exit status: 0 nothing rejected, 1 claims or transaction sets rejected, \
2 usage, I/O or configuration error, 3 input unusable (not an interchange, or rejected at the \
interchange level).\nLogs go to stderr; set SCRUB837_LOG (e.g. info, debug) for more."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check 837 files and write their acknowledgments (NAME.999.x12, NAME.ta1.x12).
    Scrub(ScrubArgs),
}

/// Arguments of `scrub837 scrub`.
#[derive(clap::Args, Debug)]
pub struct ScrubArgs {
    /// Files, directories (every file under them) or `-` for stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,

    /// Directory for the outputs.
    #[arg(short = 'o', long, default_value = "scrub837-out", value_name = "DIR")]
    pub out_dir: PathBuf,

    /// Timestamp written into every acknowledgment (RFC 3339), for byte-stable output.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,

    /// Worker threads (default: all cores).
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,

    /// First control number (ISA13 and GS06) of the acknowledgments this run writes.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub first_control_number: u64,

    /// Longest segment accepted, in bytes; longer ones are skipped and reported.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_segment_bytes: usize,

    /// Write acknowledgments on one line (no newline after each segment terminator).
    #[arg(long)]
    pub ack_single_line: bool,

    /// Do not print one line per problem on stderr (the exit status and acknowledgments still tell).
    #[arg(short, long)]
    pub quiet: bool,
}

fn label(p: &Problem) -> String {
    match p.level {
        Level::File => String::new(),
        Level::Interchange => format!(" [TA1 {}]", p.code),
        Level::Group => format!(" [999 AK9 {}]", p.code),
        Level::Transaction => format!(" [999 IK5 {}]", p.code),
        Level::Segment => format!(" [999 IK3 {}]", p.code),
    }
}

/// One line per problem: `claims.837: segment 1234 (byte 56789, SE01): count is 41, 40 segments found [999 IK5 4]`.
pub fn problem_line(display: &str, p: &Problem) -> String {
    if p.position.segment == 0 {
        format!("{display}: {}{}", p.message, label(p))
    } else {
        format!("{display}: {}: {}{}", p.position, p.message, label(p))
    }
}

fn settings(args: &ScrubArgs) -> Result<Settings, Error> {
    let now = match &args.now {
        Some(s) => Timestamp::parse_rfc3339(s).map_err(|e| Error::Config(format!("--now: {e}")))?,
        None => Timestamp::now_utc(),
    };
    if args.max_segment_bytes < 1024 {
        return Err(Error::Config(
            "--max-segment-bytes: must be at least 1024".into(),
        ));
    }
    if args.first_control_number == 0 || args.first_control_number > 999_999_999 {
        return Err(Error::Config(
            "--first-control-number: must be 1 to 999999999".into(),
        ));
    }
    Ok(Settings {
        out_dir: args.out_dir.clone(),
        now,
        limits: Limits {
            max_segment: args.max_segment_bytes,
            ..Limits::default()
        },
        envelope: EnvelopeConfig::default(),
        ack_delimiters: Delimiters::STANDARD,
        ack_eol: if args.ack_single_line { b"" } else { b"\n" },
        grammars: std::sync::Arc::new(
            Grammars::embedded().map_err(|e| Error::Config(e.to_string()))?,
        ),
    })
}

/// Runs `scrub`, returning the exit status.
pub fn scrub(args: &ScrubArgs) -> i32 {
    let settings = match settings(args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("scrub837: {e}");
            return EXIT_ERROR;
        }
    };
    if let Some(n) = args.threads {
        if n == 0 {
            eprintln!("scrub837: --threads: must be at least 1");
            return EXIT_ERROR;
        }
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
        {
            tracing::debug!("thread pool already set: {e}");
        }
    }
    let inputs = match discover(&args.inputs) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("scrub837: {e}");
            return EXIT_ERROR;
        }
    };
    let mut numbers = ControlNumbers::starting_at(args.first_control_number);
    let mut worst = Verdict::Clean;
    let mut io_failed = false;
    let stderr = std::io::stderr();
    for input in &inputs {
        let quiet = args.quiet;
        let mut report = |p: &Problem| {
            if !quiet {
                let _ = writeln!(stderr.lock(), "{}", problem_line(&input.display, p));
            }
        };
        match scrub_input(input, &settings, &mut numbers, &mut report) {
            Ok(r) => worst = worst.max(r.verdict),
            Err(e) => {
                eprintln!("scrub837: {e}");
                io_failed = true;
            }
        }
    }
    if io_failed {
        EXIT_ERROR
    } else {
        worst as i32
    }
}

/// Parses the command line and runs it.
pub fn main_with_args() -> i32 {
    let cli = Cli::parse();
    match &cli.command {
        Command::Scrub(args) => scrub(args),
    }
}
