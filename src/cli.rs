//! The command line: clap arguments → a validated [`Settings`] → run → exit status.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::clock::Timestamp;
use crate::error::Error;
use crate::grammar::validate::Grammars;
use crate::input::discover;
use crate::pipeline::{put, scrub_input, Settings, Verdict};
use crate::report::summary::{InputSummary, RunSummary, Tally};
use crate::x12::{ControlNumbers, Delimiters, EnvelopeConfig, Level, Limits, Problem};
use std::sync::Arc;

use crate::claim::Date;
use crate::edit::{Engine, RuleSet};

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
interchange level).\nLogs go to stderr (-v info, -vv debug, or SCRUB837_LOG=FILTER); they never \
carry names, member ids, birth dates or claim ids unless --log-phi is given."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// More logs on stderr: -v for a line per input, -vv for debug detail.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Let debug logs name claims (CLM01). Claims carry protected health information: off by
    /// default.
    #[arg(long, global = true)]
    pub log_phi: bool,
}

/// How logs are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One line of text per event.
    Text,
    /// One JSON object per event.
    Json,
}

/// Sets up tracing on stderr: `SCRUB837_LOG` wins; else `-v`/`-vv`; else warnings only.
pub fn init_logging(verbose: u8, format: LogFormat) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SCRUB837_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("scrub837={level},warn")));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check 837 files and write their acknowledgments (NAME.999.x12, NAME.ta1.x12) and
    /// claim results (NAME.claims.jsonl).
    Scrub(ScrubArgs),
    /// Explain an edit: what it checks, for which payers and settings, its source and the fix.
    Explain(ExplainArgs),
    /// List the loaded rules with their versions, payers and effective dates.
    Rules(RulesArgs),
    /// Look at or prune the member history database (`--history FILE`).
    History(HistoryArgs),
    /// Write a synthetic 837P/837I with seeded defects and its truth file (the Rust counterpart
    /// of shared/tools/gen837.py: same defects, edits and truth format).
    Gen(GenArgs),
    /// Time the pipeline's stages and end to end on a generated workload or given files:
    /// MB/s, claims/s and peak memory per stage, for each thread count.
    Bench(crate::benchmark::BenchArgs),
}

/// Arguments of `scrub837 gen`.
#[derive(clap::Args, Debug)]
pub struct GenArgs {
    /// `p` (837P, professional) or `i` (837I, institutional), either case.
    #[arg(long, value_parser = parse_kind, value_name = "P|I")]
    pub kind: crate::claim::Kind,
    /// Number of claims.
    #[arg(long, value_name = "N")]
    pub claims: u64,
    /// Seed; it also sets ISA13/GS06 and the CLM01 prefix. The same arguments give the same bytes.
    #[arg(long, value_name = "S")]
    pub seed: u64,
    /// Probability (0 to 1) that a claim carries one seeded defect.
    #[arg(long, default_value_t = 0.0, value_name = "R")]
    pub error_rate: f64,
    /// Write the truth file: CLM01, 837P|837I, defect and edit, tab-separated, one line per claim.
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
    /// A newline after each segment terminator.
    #[arg(long)]
    pub newlines: bool,
    /// Claims per ST/SE transaction set.
    #[arg(long, default_value_t = 5000, value_name = "K")]
    pub claims_per_st: u64,
    /// Output file (default: stdout).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

fn parse_kind(s: &str) -> Result<crate::claim::Kind, String> {
    match s {
        "p" | "P" => Ok(crate::claim::Kind::Professional),
        "i" | "I" => Ok(crate::claim::Kind::Institutional),
        _ => Err("expected P or I".into()),
    }
}

/// `--history-memory`'s default: the index's own.
const fn default_history_mib() -> usize {
    crate::history::index::DEFAULT_BUDGET >> 20
}

/// Arguments of `scrub837 history`.
#[derive(clap::Args, Debug)]
pub struct HistoryArgs {
    /// The history database.
    #[arg(long, value_name = "FILE", global = true)]
    pub history: Option<PathBuf>,
    /// What to do with it.
    #[command(subcommand)]
    pub action: HistoryAction,
}

/// `scrub837 history` actions.
#[derive(Subcommand, Debug)]
pub enum HistoryAction {
    /// Print the services on record for a member id (tab-separated: payer, patient key, claim,
    /// code, region, side, units, date of service, counted or rejected, when recorded).
    Show {
        /// The member id (2010BA NM109).
        #[arg(long, value_name = "ID")]
        member: String,
    },
    /// Remove services dated before DATE (CCYYMMDD or CCYY-MM-DD).
    Forget {
        /// The first date to keep.
        #[arg(long, value_name = "DATE")]
        before: String,
    },
}

/// Arguments of `scrub837 explain`.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// Catalogue id, e.g. E-29.
    #[arg(value_name = "EDIT")]
    pub edit: String,
    /// Rule pack directory (default: the bundled packs).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
}

/// Arguments of `scrub837 rules`.
#[derive(clap::Args, Debug)]
pub struct RulesArgs {
    /// Rule pack directory (default: the bundled packs).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Also list the kinds of check rule files may use, with their parameters.
    #[arg(long)]
    pub checks: bool,
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

    /// Threads doing the work (default: all cores): the reading thread, a stage thread that writes
    /// results in order, and N-2 more edit workers; any of them edits batches when it would
    /// otherwise wait. With 1 the reading thread does it all. Output does not depend on it.
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

    /// Rule pack directory: every *.toml in it replaces the bundled packs.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,

    /// Structural checks only: no edits, no NAME.claims.jsonl or NAME.report.html.
    #[arg(long)]
    pub no_edits: bool,

    /// Do not write NAME.report.html.
    #[arg(long)]
    pub no_report: bool,

    /// Replace patient and subscriber names, member ids, addresses and birth dates in the reports.
    #[arg(long)]
    pub redact: bool,

    /// Member history database (SQLite, created on first use): read before the run, updated after
    /// it, so frequency edits see earlier runs. Without it history covers this run only.
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,

    /// Member history to keep in memory, in MiB: past it, the members used least recently move
    /// to a temporary file until a claim of theirs comes again, so memory stays bounded on any
    /// input.
    #[arg(long, value_name = "MIB", default_value_t = default_history_mib())]
    pub history_memory: usize,

    /// A transaction set's claims to hold until its SE, in MiB of input: a larger set's claims
    /// are settled (written, counted in member history) as they are read, and a rejection at
    /// its SE then rejects them late, so memory stays bounded on any set size.
    #[arg(long, value_name = "MIB", default_value_t = crate::edit::stage::HOLD_BYTES >> 20)]
    pub set_memory: usize,

    /// A CMS NCCI procedure-to-procedure table (ccipra…/ccioph… .txt, unzipped) for E-34; may
    /// be given more than once (one per part file).
    #[arg(long = "ncci-ptp", value_name = "FILE")]
    pub ncci_ptp: Vec<PathBuf>,

    /// A CMS MUE table (MCR_MUE_…Services_Eff_….csv) for E-25/E-26; may be given more than once.
    #[arg(long, value_name = "FILE")]
    pub mue: Vec<PathBuf>,
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

/// A progress bar on stderr when it is a terminal (and not `--quiet`): bytes read of the total
/// input size, and claims per second.
fn progress_bar(quiet: bool, inputs: &[crate::input::Input]) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let total: u64 = inputs
        .iter()
        .filter_map(|i| match &i.source {
            crate::input::Source::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            crate::input::Source::Stdin => None,
        })
        .sum();
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr_with_hz(4),
    );
    let style = indicatif::ProgressStyle::with_template(
        "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {elapsed} {msg}",
    )
    .ok()?;
    bar.set_style(style);
    Some(bar)
}

/// Loads the rule pack: `dir`, or the bundled packs.
/// The edit workers for `threads` threads in all: the reading thread, the stage thread and
/// `threads - 2` workers (none with two threads: the stage thread edits; none with one: the
/// reading thread does everything). A thread more than the cores would take the reading thread,
/// the critical path, off its core a third of the time (see [`stage_thread`]).
pub fn edit_pool(threads: usize) -> Result<Option<Arc<rayon::ThreadPool>>, Error> {
    if threads <= 2 {
        return Ok(None);
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads - 2)
        .thread_name(|i| format!("scrub837-edit-{i}"))
        .build()
        .map(|p| Some(Arc::new(p)))
        .map_err(|e| Error::Config(format!("--threads: {e}")))
}

/// Whether the edit stage runs on a thread of its own for `threads` threads in all: from two
/// threads on (the reading thread then edits batches only when the stage is behind).
pub fn stage_thread(threads: usize) -> bool {
    threads >= 2
}

pub fn load_rules(dir: Option<&std::path::Path>) -> Result<RuleSet, Error> {
    match dir {
        Some(d) => RuleSet::from_dir(d),
        None => RuleSet::bundled(),
    }
    .map_err(|e| Error::Config(format!("rules: {e}")))
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
    let threads = match args.threads {
        Some(0) => return Err(Error::Config("--threads: must be at least 1".into())),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let engine = if args.no_edits {
        None
    } else {
        let mut rules = load_rules(args.rules.as_deref())?;
        if !args.ncci_ptp.is_empty() || !args.mue.is_empty() {
            rules
                .attach_cms(&args.ncci_ptp, &args.mue)
                .map_err(|e| Error::Config(format!("CMS tables: {e}")))?;
        }
        let today = Date::parse_d8(now.ccyymmdd().as_bytes())
            .ok_or_else(|| Error::Config("--now: not a calendar date".into()))?;
        Some(Arc::new(Engine::new(Arc::new(rules), today)))
    };
    let pool = edit_pool(threads)?;
    Ok(Settings {
        stage_thread: stage_thread(threads),
        log_phi: false,
        progress: None,
        html: !args.no_report,
        redact: args.redact,
        engine,
        pool,
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
        history: None,
        hold_bytes: args.set_memory.saturating_mul(1 << 20),
        batch_claims: crate::pipeline::BATCH_CLAIMS,
    })
}

/// The run's member history: one index for every input (`None` with `--no-edits`), loaded
/// from `--history` when given, with that database's write lock held until the run is saved.
type RunHistory = (
    Option<crate::history::HistoryStore>,
    Option<Arc<std::sync::Mutex<crate::history::HistoryIndex>>>,
);

fn open_history(args: &ScrubArgs, settings: &Settings) -> Result<RunHistory, Error> {
    use crate::history::{HistoryIndex, HistoryStore};
    let Some(engine) = &settings.engine else {
        return Ok((None, None));
    };
    let mut index = HistoryIndex::new(engine.history.region_names());
    index.set_budget(args.history_memory << 20);
    let store = match &args.history {
        Some(path) => {
            let started = std::time::Instant::now();
            let store = HistoryStore::open(path).map_err(|e| Error::Config(e.to_string()))?;
            // Members are read as their claims come (the database is only scanned for its
            // keys now), unless this run created or upgraded it.
            let n = store
                .attach(&mut index)
                .map_err(|e| Error::Config(e.to_string()))?;
            index.persistent = true;
            let ms = started.elapsed().as_millis() as u64;
            tracing::info!(services_read = n, ms, "history opened");
            Some(store)
        }
        None => None,
    };
    Ok((store, Some(Arc::new(std::sync::Mutex::new(index)))))
}

/// Runs `scrub`, returning the exit status.
pub fn scrub(args: &ScrubArgs, log_phi: bool) -> i32 {
    let settings = match settings(args) {
        Ok(mut s) => {
            s.log_phi = log_phi;
            s
        }
        Err(e) => {
            eprintln!("scrub837: {e}");
            return EXIT_ERROR;
        }
    };
    let inputs = match discover(&args.inputs) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("scrub837: {e}");
            return EXIT_ERROR;
        }
    };
    let started = std::time::Instant::now();
    let mut settings = settings;
    let (store, index) = match open_history(args, &settings) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("scrub837: {e}");
            return EXIT_ERROR;
        }
    };
    settings.history = index.clone();
    settings.progress = progress_bar(args.quiet, &inputs);
    let mut numbers = ControlNumbers::starting_at(args.first_control_number);
    let mut worst = Verdict::Clean;
    let mut io_failed = false;
    let stderr = std::io::stderr();
    let mut summaries = Vec::new();
    let mut run_tally = Tally::default();
    let mut bytes = 0u64;
    for input in &inputs {
        let quiet = args.quiet;
        let mut report = |p: &Problem| {
            if !quiet {
                let _ = writeln!(stderr.lock(), "{}", problem_line(&input.display, p));
            }
        };
        match scrub_input(input, &settings, &mut numbers, &mut report) {
            Ok(r) => {
                worst = worst.max(r.verdict);
                let s = &r.scrubbed;
                let tally = s.tally.clone().unwrap_or_default();
                run_tally.merge(&tally);
                bytes += s.bytes;
                summaries.push(InputSummary {
                    input: input.display.clone(),
                    bytes: s.bytes,
                    interchanges: u64::from(s.totals.interchanges),
                    groups: u64::from(s.totals.groups),
                    transactions: u64::from(s.totals.transactions),
                    transactions_rejected: u64::from(s.totals.transactions_rejected),
                    problems: s.problems,
                    exit: r.verdict as i32,
                    claims: tally,
                    ack277: s.counts277,
                    outputs: r
                        .written
                        .iter()
                        .map(|p| {
                            p.file_name()
                                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
                        })
                        .collect(),
                    error: None,
                });
            }
            Err(e) => {
                eprintln!("scrub837: {e}");
                io_failed = true;
                summaries.push(InputSummary {
                    input: input.display.clone(),
                    bytes: 0,
                    interchanges: 0,
                    groups: 0,
                    transactions: 0,
                    transactions_rejected: 0,
                    problems: 0,
                    exit: EXIT_ERROR,
                    claims: Tally::default(),
                    ack277: Default::default(),
                    outputs: Vec::new(),
                    error: Some(e.to_string()),
                });
            }
        }
    }
    if let Some(bar) = &settings.progress {
        bar.finish_and_clear();
    }
    if let Some(Ok(ix)) = index.as_ref().map(|i| i.lock()) {
        tracing::info!(
            in_memory = ix.len(),
            spilled_members = ix.spilled(),
            "member history"
        );
    }
    // The run's history is saved only when every input was read: a failed run changes nothing.
    if let (Some(store), Some(index)) = (store, &index) {
        if io_failed {
            eprintln!("scrub837: history not updated: an input could not be read");
        } else {
            let started = std::time::Instant::now();
            // The inputs' buffers are freed by now; their pages go back before the save
            // gathers its rows, so the two do not add up in the run's peak.
            crate::memory::release_free_memory();
            let saved = index
                .lock()
                .map_err(|_| "member history is unusable".to_owned())
                .and_then(|mut ix| {
                    // With one thread the save keeps to one thread too.
                    store
                        .save_on(&mut ix, &settings.now.to_string(), settings.stage_thread)
                        .map_err(|e| e.to_string())
                });
            match saved {
                Ok(n) => {
                    let ms = started.elapsed().as_millis() as u64;
                    tracing::info!(services = n, ms, "history saved")
                }
                Err(e) => {
                    eprintln!("scrub837: {e}");
                    io_failed = true;
                }
            }
        }
    }
    let exit = if io_failed { EXIT_ERROR } else { worst as i32 };
    let summary = RunSummary {
        tool: format!("scrub837 {}", env!("CARGO_PKG_VERSION")),
        rules: settings.engine.as_ref().map_or_else(
            || "none (--no-edits)".to_owned(),
            |e| format!("{} {}", e.rules.pack.name, e.rules.pack.version),
        ),
        now: settings.now.to_string(),
        exit,
        bytes,
        elapsed_ms: started.elapsed().as_millis() as u64,
        claims: run_tally,
        inputs: summaries,
    };
    let json = match serde_json::to_vec_pretty(&summary) {
        Ok(mut j) => {
            j.push(b'\n');
            j
        }
        Err(e) => {
            eprintln!("scrub837: summary: {e}");
            return EXIT_ERROR;
        }
    };
    if let Err(e) = put(&settings.out_dir.join("summary.json"), &json) {
        eprintln!("scrub837: {e}");
        return EXIT_ERROR;
    }
    if !args.quiet {
        let _ = writeln!(
            stderr.lock(),
            "scrub837: {} input{}, {}",
            summary.inputs.len(),
            if summary.inputs.len() == 1 { "" } else { "s" },
            summary.claims.human()
        );
    }
    // The member history can hold millions of small allocations; the process is about to
    // exit, so hand them back to the OS with it instead of freeing them one by one.
    std::mem::forget(settings.history.take());
    std::mem::forget(index);
    exit
}

/// Parses the command line and runs it.
pub fn main_with_args() -> i32 {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.log_format);
    match &cli.command {
        Command::Scrub(args) => scrub(args, cli.log_phi),
        Command::Explain(args) => print_with(load_rules(args.rules.as_deref()), |r| {
            crate::edit::explain::explain(r, &args.edit)
        }),
        Command::Rules(args) => print_with(load_rules(args.rules.as_deref()), |r| {
            Ok(crate::edit::explain::list(r, args.checks))
        }),
        Command::History(args) => history(args),
        Command::Gen(args) => gen(args),
        Command::Bench(args) => crate::benchmark::run(args),
    }
}

/// Runs `gen`: exit 0, or 2 with the reason on stderr.
fn gen(args: &GenArgs) -> i32 {
    let opts = crate::gen::Options {
        kind: args.kind,
        claims: args.claims,
        seed: args.seed,
        error_rate: args.error_rate,
        newlines: args.newlines,
        claims_per_st: args.claims_per_st,
    };
    match crate::gen::write_files(&opts, args.out.as_deref(), args.truth.as_deref()) {
        Ok(_) => EXIT_CLEAN,
        Err(e) => {
            eprintln!("scrub837: gen: {e}");
            EXIT_ERROR
        }
    }
}

/// Runs `history show` / `history forget`.
fn history(args: &HistoryArgs) -> i32 {
    use crate::history::HistoryStore;
    let Some(path) = &args.history else {
        eprintln!("scrub837: history: --history FILE is required");
        return EXIT_ERROR;
    };
    if !path.exists() {
        eprintln!(
            "scrub837: history database {}: no such file",
            path.display()
        );
        return EXIT_ERROR;
    }
    let store = match HistoryStore::open(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("scrub837: {e}");
            return EXIT_ERROR;
        }
    };
    match &args.action {
        HistoryAction::Show { member } => match store.show(member) {
            Ok(rows) => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(
                    out,
                    "payer\tpatient\tclaim\tcode\tregion\tside\tunits\tdate\tstatus\trecorded"
                );
                for r in &rows {
                    let _ = writeln!(out, "{}", r.join("\t"));
                }
                EXIT_CLEAN
            }
            Err(e) => {
                eprintln!("scrub837: {e}");
                EXIT_ERROR
            }
        },
        HistoryAction::Forget { before } => {
            let digits: String = before.chars().filter(|c| *c != '-').collect();
            let Some(date) = Date::parse_d8(digits.as_bytes()) else {
                eprintln!("scrub837: history forget: --before {before}: not a date (CCYYMMDD)");
                return EXIT_ERROR;
            };
            match store.forget_before(date) {
                Ok(n) => {
                    eprintln!("scrub837: forgot {n} service(s) dated before {date}");
                    EXIT_CLEAN
                }
                Err(e) => {
                    eprintln!("scrub837: {e}");
                    EXIT_ERROR
                }
            }
        }
    }
}

/// Prints what `f` makes of the rule set, or the error (exit 2).
fn print_with(
    rules: Result<RuleSet, Error>,
    f: impl FnOnce(&RuleSet) -> Result<String, String>,
) -> i32 {
    let text = match rules {
        Ok(r) => f(&r),
        Err(e) => Err(e.to_string()),
    };
    match text {
        Ok(t) => {
            let mut out = std::io::stdout().lock();
            if out.write_all(t.as_bytes()).is_err() {
                return EXIT_ERROR;
            }
            EXIT_CLEAN
        }
        Err(e) => {
            eprintln!("scrub837: {e}");
            EXIT_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_count_the_reading_thread_the_stage_thread_and_the_workers() {
        for n in 1..=8 {
            let workers = edit_pool(n)
                .expect("a pool")
                .map_or(0, |p| p.current_num_threads());
            let busy = 1 + usize::from(stage_thread(n)) + workers;
            assert_eq!(busy, n, "--threads {n}");
        }
    }
}
