//! `scrub837 bench`: the pipeline's stages timed one by one and end to end, on a generated
//! workload or given files, for each thread count: MB/s, claims/s and peak memory, as a table
//! or JSON. What a user runs to size a deployment.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::claim::{ClaimBatch, ClaimView, Date};
use crate::clock::Timestamp;
use crate::edit::Engine;
use crate::error::Error;
use crate::grammar::validate::Grammars;
use crate::input::{Input, Source};
use crate::pipeline::{scrub_input, scrub_reader_with_claims, scrub_stream, Settings, Sink};
use crate::x12::{
    check_stream, ControlNumbers, Delimiters, EnvelopeChecker, EnvelopeConfig, Framer, Limits,
};

/// Arguments of `scrub837 bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// 837 files to measure; without any, a workload is generated (see --kind, --claims).
    pub inputs: Vec<PathBuf>,
    /// Kind of the generated workload: p (837P) or i (837I).
    #[arg(long, default_value = "p")]
    pub kind: String,
    /// Claims in the generated workload.
    #[arg(long, default_value_t = 200_000)]
    pub claims: u64,
    /// Seed of the generated workload.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Share of the generated claims with a seeded defect (0 to 1).
    #[arg(long, default_value_t = 0.2)]
    pub error_rate: f64,
    /// Thread counts to measure, comma-separated (default: 1 and every core).
    #[arg(long, value_delimiter = ',', value_name = "N,…")]
    pub threads: Vec<usize>,
    /// Runs of each measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Rule pack directory (default: the bundled packs).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Where the generated workload and the outputs go (default: a temporary directory,
    /// removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
}

/// One measurement.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Measure {
    /// `split`, `framing`, `loops_and_claims`, `edits`, `end_to_end_bare`, `end_to_end`,
    /// `acks_and_reports`.
    pub stage: &'static str,
    /// Threads in all.
    pub threads: usize,
    /// Median seconds.
    pub seconds: f64,
    /// Input megabytes (10^6 bytes) per second.
    pub mb_per_s: f64,
    /// Claims per second.
    pub claims_per_s: f64,
    /// Median CPU seconds of the process (user and system, every thread) over the stage's
    /// runs, where the system tells: what the work cost, which a busy machine's neighbours
    /// disturb far less than the wall clock.
    pub cpu_seconds: Option<f64>,
    /// Peak resident memory during the stage, in bytes (where the system tells).
    pub peak_bytes: Option<u64>,
    /// Computed from two other measurements rather than timed on its own.
    pub derived: bool,
}

/// A bench run's results.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The inputs measured.
    pub inputs: Vec<String>,
    /// The generated workload, when there was one.
    pub workload: Option<String>,
    /// Input bytes.
    pub bytes: u64,
    /// Claims read.
    pub claims: u64,
    /// Runs per measurement (medians reported).
    pub repeat: usize,
    /// The measurements, in stage order.
    pub results: Vec<Measure>,
    /// End to end at the most threads, as a share of the memchr split's throughput.
    pub end_to_end_vs_split: Option<f64>,
    /// Claims/s at the most threads over claims/s at one thread, for the edit stage.
    pub edits_scaling: Option<f64>,
    /// The same for end to end.
    pub end_to_end_scaling: Option<f64>,
    /// What writing every output (999, 277CA, claims.jsonl, HTML report, summary) adds to the
    /// run without them, as a fraction of that run, per thread count.
    pub outputs_added: Vec<(usize, f64)>,
    /// The same in CPU time.
    pub outputs_added_cpu: Vec<(usize, f64)>,
}

/// One stage timed: median wall seconds, median CPU seconds, highest peak.
#[derive(Clone, Copy, Debug)]
struct Timed {
    secs: f64,
    cpu: Option<f64>,
    peak: Option<u64>,
}

/// The median of `v` (sorted here); `None` when empty.
fn median(v: &mut [f64]) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// CPU seconds this process has used so far, every thread, user and system (Unix).
#[cfg(unix)]
fn cpu_seconds() -> Option<f64> {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it is given.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr()) } == 0;
    if !ok {
        return None;
    }
    // SAFETY: filled in by the successful call above (and zeroed before).
    let u = unsafe { u.assume_init() };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(secs(u.ru_utime) + secs(u.ru_stime))
}

#[cfg(not(unix))]
fn cpu_seconds() -> Option<f64> {
    None
}

/// What the stages share.
struct Bench<'a> {
    files: &'a [PathBuf],
    bytes: u64,
    claims: u64,
    engine: Arc<Engine>,
    grammars: Arc<Grammars>,
    now: Timestamp,
    out_dir: PathBuf,
    repeat: usize,
}

/// Runs `scrub837 bench`; returns the exit status.
pub fn run(args: &BenchArgs) -> i32 {
    match bench(args) {
        Ok(report) => {
            let mut out = io::stdout().lock();
            let written = if args.json {
                serde_json::to_writer_pretty(&mut out, &report)
                    .map_err(io::Error::other)
                    .and_then(|()| writeln!(out))
            } else {
                print_table(&report, &mut out)
            };
            match written {
                Ok(()) => crate::cli::EXIT_CLEAN,
                Err(e) => {
                    eprintln!("scrub837: bench: {e}");
                    crate::cli::EXIT_ERROR
                }
            }
        }
        Err(e) => {
            eprintln!("scrub837: bench: {e}");
            crate::cli::EXIT_ERROR
        }
    }
}

fn bench(args: &BenchArgs) -> Result<Report, Error> {
    let mut threads = args.threads.clone();
    if threads.is_empty() {
        let all = std::thread::available_parallelism().map_or(1, |n| n.get());
        threads = vec![1, all];
    }
    if threads.contains(&0) {
        return Err(Error::Config(
            "--threads: each count must be at least 1".into(),
        ));
    }
    threads.sort_unstable();
    threads.dedup();
    if args.repeat == 0 {
        return Err(Error::Config("--repeat: must be at least 1".into()));
    }
    // The temporary directory (when no --work-dir) lives until the report is made.
    let (work, _temp) = match &args.work_dir {
        Some(d) => (d.clone(), None),
        None => {
            let t =
                tempfile::tempdir().map_err(|e| Error::io(Path::new("temporary directory"), e))?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    std::fs::create_dir_all(&work).map_err(|e| Error::io(&work, e))?;
    let (files, workload) = if args.inputs.is_empty() {
        let kind = match args.kind.to_ascii_lowercase().as_str() {
            "p" => crate::claim::Kind::Professional,
            "i" => crate::claim::Kind::Institutional,
            k => return Err(Error::Config(format!("--kind: {k}: want p or i"))),
        };
        let mut opts = crate::gen::Options::new(kind, args.claims, args.seed);
        opts.error_rate = args.error_rate;
        let path = work.join(format!(
            "bench-{}-{}-{}.x12",
            kind.as_str(),
            args.claims,
            args.seed
        ));
        crate::gen::write_files(&opts, Some(&path), None)?;
        let label = format!(
            "generated {} claims of {}, seed {}, error rate {}",
            args.claims,
            kind.as_str(),
            args.seed,
            args.error_rate
        );
        (vec![path], Some(label))
    } else {
        (args.inputs.clone(), None)
    };
    let mut bytes = 0;
    for f in &files {
        bytes += std::fs::metadata(f).map_err(|e| Error::io(f, e))?.len();
    }
    let rules = crate::cli::load_rules(args.rules.as_deref())?;
    let now = Timestamp::parse_rfc3339("2026-01-01T12:00:00Z")
        .map_err(|e| Error::Config(format!("clock: {e}")))?;
    let today = Date::parse_d8(now.ccyymmdd().as_bytes())
        .ok_or_else(|| Error::Config("clock: not a calendar date".into()))?;
    let out_dir = work.join("out");
    std::fs::create_dir_all(&out_dir).map_err(|e| Error::io(&out_dir, e))?;
    let mut b = Bench {
        files: &files,
        bytes,
        claims: 0,
        engine: Arc::new(Engine::new(Arc::new(rules), today)),
        grammars: Arc::new(Grammars::embedded().map_err(|e| Error::Config(e.to_string()))?),
        now,
        out_dir,
        repeat: args.repeat,
    };
    b.claims = b.count_claims()?;
    let mut results = vec![b.split()?, b.framing()?, b.loops_and_claims()?];
    // End to end before the edit stage alone, whose batches held in memory would stay in the
    // process's resident set (freed, not returned) and blur the peaks measured after them.
    let mut whole = Vec::new();
    let mut outputs_added = Vec::new();
    let mut outputs_added_cpu = Vec::new();
    for &n in &threads {
        let (bare, full) = b.end_to_end(n)?;
        let cpu = match (full.cpu_seconds, bare.cpu_seconds) {
            (Some(f), Some(b)) => Some(f - b),
            _ => None,
        };
        let outputs = b.derived("acks_and_reports", n, full.seconds - bare.seconds, cpu);
        if bare.seconds > 0.0 {
            outputs_added.push((n, outputs.seconds / bare.seconds));
        }
        if let (Some(c), Some(b)) = (outputs.cpu_seconds, bare.cpu_seconds.filter(|&b| b > 0.0)) {
            outputs_added_cpu.push((n, c / b));
        }
        whole.extend([bare, full, outputs]);
    }
    let batches = b.batches()?;
    for &n in &threads {
        results.push(b.edits(&batches, n, false)?);
        results.push(b.edits(&batches, n, true)?);
    }
    drop(batches);
    results.extend(whole);
    let find = |stage: &str, n: usize| {
        results
            .iter()
            .find(|m| m.stage == stage && m.threads == n)
            .map(|m| m.claims_per_s)
    };
    let (one, most) = (threads[0], threads[threads.len() - 1]);
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let split = results
        .iter()
        .find(|m| m.stage == "split")
        .map(|m| m.mb_per_s);
    let e2e = results
        .iter()
        .find(|m| m.stage == "end_to_end" && m.threads == most)
        .map(|m| m.mb_per_s);
    Ok(Report {
        inputs: files.iter().map(|f| f.display().to_string()).collect(),
        workload,
        bytes,
        claims: b.claims,
        repeat: args.repeat,
        end_to_end_vs_split: ratio(e2e, split),
        edits_scaling: (one != most)
            .then(|| ratio(find("edits", most), find("edits", one)))
            .flatten(),
        end_to_end_scaling: (one != most)
            .then(|| ratio(find("end_to_end", most), find("end_to_end", one)))
            .flatten(),
        outputs_added,
        outputs_added_cpu,
        results,
    })
}

impl Bench<'_> {
    /// Settings for a run on `threads` threads in all (the reading thread and `threads - 1`
    /// edit workers), writing the HTML report when `html`.
    fn settings(&self, threads: usize, html: bool) -> Result<Settings, Error> {
        let pool = crate::cli::edit_pool(threads)?;
        Ok(Settings {
            stage_thread: crate::cli::stage_thread(threads),
            out_dir: self.out_dir.clone(),
            now: self.now,
            limits: Limits::default(),
            envelope: EnvelopeConfig::default(),
            ack_delimiters: Delimiters::STANDARD,
            ack_eol: b"\n",
            grammars: self.grammars.clone(),
            engine: Some(self.engine.clone()),
            pool,
            log_phi: false,
            progress: None,
            html,
            redact: false,
            history: None,
            hold_bytes: crate::edit::stage::HOLD_BYTES,
            batch_claims: crate::pipeline::BATCH_CLAIMS,
        })
    }

    fn open(&self, f: &Path) -> Result<std::fs::File, Error> {
        std::fs::File::open(f).map_err(|e| Error::io(f, e))
    }

    /// Times `run` `repeat` times (after resetting the peak-memory mark each time); returns
    /// the median seconds (wall and CPU) and the highest peak.
    fn time(&self, mut run: impl FnMut() -> Result<(), Error>) -> Result<Timed, Error> {
        let [t] = self.time_runs([&mut run as &mut dyn FnMut() -> Result<(), Error>])?;
        Ok(t)
    }

    /// Times `a` and `b` alternately, `repeat` times each, so that a drift of the machine's
    /// speed falls on both alike; returns the median seconds and highest peak of each.
    fn time_pair(
        &self,
        mut a: impl FnMut() -> Result<(), Error>,
        mut b: impl FnMut() -> Result<(), Error>,
    ) -> Result<[Timed; 2], Error> {
        self.time_runs([&mut a as &mut dyn FnMut() -> Result<(), Error>, &mut b])
    }

    /// Times each of `runs` in turn, `repeat` rounds; the median seconds (wall and CPU) and
    /// highest peak of each.
    fn time_runs<const N: usize>(
        &self,
        mut runs: [&mut dyn FnMut() -> Result<(), Error>; N],
    ) -> Result<[Timed; N], Error> {
        let mut secs: [Vec<f64>; N] = std::array::from_fn(|_| Vec::new());
        let mut cpus: [Vec<f64>; N] = std::array::from_fn(|_| Vec::new());
        let mut peaks: [Option<u64>; N] = [None; N];
        for _ in 0..self.repeat {
            for (i, run) in runs.iter_mut().enumerate() {
                reset_peak();
                let cpu = cpu_seconds();
                let t = Instant::now();
                run()?;
                secs[i].push(t.elapsed().as_secs_f64());
                if let (Some(before), Some(after)) = (cpu, cpu_seconds()) {
                    cpus[i].push(after - before);
                }
                peaks[i] = match (peaks[i], peak_rss()) {
                    (Some(x), Some(y)) => Some(x.max(y)),
                    (x, y) => x.or(y),
                };
            }
        }
        Ok(std::array::from_fn(|i| Timed {
            secs: median(&mut secs[i]).unwrap_or(0.0),
            cpu: (cpus[i].len() == secs[i].len())
                .then(|| median(&mut cpus[i]))
                .flatten(),
            peak: peaks[i],
        }))
    }

    fn measure(&self, stage: &'static str, threads: usize, t: Timed) -> Measure {
        let seconds = t.secs;
        let per = |n: f64| if seconds > 0.0 { n / seconds } else { 0.0 };
        Measure {
            stage,
            threads,
            seconds,
            mb_per_s: per(self.bytes as f64 / 1e6),
            claims_per_s: per(self.claims as f64),
            cpu_seconds: t.cpu,
            peak_bytes: t.peak,
            derived: false,
        }
    }

    fn derived(
        &self,
        stage: &'static str,
        threads: usize,
        seconds: f64,
        cpu: Option<f64>,
    ) -> Measure {
        let t = Timed {
            secs: seconds.max(0.0),
            cpu: cpu.map(|c| c.max(0.0)),
            peak: None,
        };
        Measure {
            derived: true,
            ..self.measure(stage, threads, t)
        }
    }

    /// Claims in the inputs (one untimed structural pass).
    fn count_claims(&self) -> Result<u64, Error> {
        let s = self.settings(1, false)?;
        let mut n = 0;
        for f in self.files {
            let mut numbers = ControlNumbers::starting_at(1);
            let mut none = |b: ClaimBatch| Some(b);
            let scrubbed = scrub_reader_with_claims(
                self.open(f)?,
                &s,
                &mut numbers,
                &mut |_| {},
                Some(&mut none),
            )
            .map_err(|e| Error::io(f, e))?;
            n += scrubbed.claims.read;
        }
        Ok(n)
    }

    /// The baseline: a bare memchr segment split (one call per segment), reading the file in
    /// 1 MiB blocks.
    fn split(&self) -> Result<Measure, Error> {
        let t = self.time(|| {
            for f in self.files {
                let mut file = self.open(f)?;
                let mut buf = vec![0u8; 1 << 20];
                let mut terminator = None;
                let mut count = 0u64;
                loop {
                    let n = file.read(&mut buf).map_err(|e| Error::io(f, e))?;
                    if n == 0 {
                        break;
                    }
                    // The ISA's 106th byte names the terminator.
                    let t = *terminator.get_or_insert(buf.get(105).copied().unwrap_or(b'~'));
                    // One memchr call per segment, as a framer finds them.
                    let mut pos = 0;
                    while let Some(i) = memchr::memchr(t, &buf[pos..n]) {
                        count += 1;
                        pos += i + 1;
                    }
                }
                std::hint::black_box(count);
            }
            Ok(())
        })?;
        Ok(self.measure("split", 1, t))
    }

    /// Framing and envelope checks.
    fn framing(&self) -> Result<Measure, Error> {
        let t = self.time(|| {
            for f in self.files {
                let mut framer = Framer::with_limits(self.open(f)?, Limits::default());
                let mut checker = EnvelopeChecker::new(EnvelopeConfig::default());
                check_stream(&mut framer, &mut checker, &mut ()).map_err(|e| Error::io(f, e))?;
            }
            Ok(())
        })?;
        Ok(self.measure("framing", 1, t))
    }

    /// Framing, the loop walker with implementation-guide validation, claim batches and every
    /// claim read through its view (one thread: the reading thread's work).
    fn loops_and_claims(&self) -> Result<Measure, Error> {
        let s = self.settings(1, false)?;
        let t = self.time(|| {
            for f in self.files {
                let mut numbers = ControlNumbers::starting_at(1);
                let mut sum = 0i64;
                let mut read = |b: ClaimBatch| {
                    for c in ClaimView::all(&b) {
                        sum += c.charge().map_or(0, |m| m.cents);
                        for l in c.lines() {
                            sum += l.charge().map_or(0, |m| m.cents);
                        }
                    }
                    Some(b)
                };
                scrub_reader_with_claims(
                    self.open(f)?,
                    &s,
                    &mut numbers,
                    &mut |_| {},
                    Some(&mut read),
                )
                .map_err(|e| Error::io(f, e))?;
                std::hint::black_box(sum);
            }
            Ok(())
        })?;
        Ok(self.measure("loops_and_claims", 1, t))
    }

    /// Every claim batch, held in memory for the edit stage (untimed).
    fn batches(&self) -> Result<Vec<ClaimBatch>, Error> {
        let s = self.settings(1, false)?;
        let mut all = Vec::new();
        for f in self.files {
            let mut numbers = ControlNumbers::starting_at(1);
            let mut keep = |b: ClaimBatch| {
                all.push(b);
                None
            };
            scrub_reader_with_claims(
                self.open(f)?,
                &s,
                &mut numbers,
                &mut |_| {},
                Some(&mut keep),
            )
            .map_err(|e| Error::io(f, e))?;
        }
        Ok(all)
    }

    /// The edits alone on `threads` threads (batches already in memory, so no memory figure:
    /// it would be theirs): the rules only, or (`outputs`) with each claim's `claims.jsonl`
    /// line and 277CA fragment, as the stage's workers make them.
    fn edits(
        &self,
        batches: &[ClaimBatch],
        threads: usize,
        outputs: bool,
    ) -> Result<Measure, Error> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::Config(format!("--threads: {e}")))?;
        let render = crate::ack::claim277::Render277 {
            delimiters: Delimiters::STANDARD,
            eol: b"\n",
            date: self.now.ccyymmdd(),
        };
        let engine = &self.engine;
        let t = self.time(|| {
            let bytes: usize = pool.install(|| {
                batches
                    .par_iter()
                    .map(|b| {
                        let mut lines = Vec::new();
                        let mut acks = crate::ack::claim277::ClaimAcks::new(&render);
                        let mut out = Vec::new();
                        engine.edit_batch_lines(
                            b,
                            "bench",
                            outputs.then_some(&mut lines),
                            outputs.then_some(&mut acks),
                            None,
                            &mut out,
                        );
                        lines.len() + out.len()
                    })
                    .sum()
            });
            std::hint::black_box(bytes);
            Ok(())
        })?;
        let stage = if outputs { "edits" } else { "rules" };
        // Batches held in memory: no peak of the stage's own.
        Ok(self.measure(stage, threads, Timed { peak: None, ..t }))
    }

    /// One input through the pipeline: with every output (999, claims.jsonl, 277CA, HTML
    /// report, summary, files renamed into place) when `outputs`, else edited, judged and
    /// tallied with nothing formatted ([`Sink::Verdicts`]).
    fn run_pipeline(&self, s: &Settings, f: &Path, outputs: bool) -> Result<(), Error> {
        let mut numbers = ControlNumbers::starting_at(1);
        if outputs {
            let input = Input {
                source: Source::File(f.to_path_buf()),
                display: f.display().to_string(),
                stem: PathBuf::from(f.file_stem().unwrap_or_default()),
            };
            scrub_input(&input, s, &mut numbers, &mut |_| {})?;
        } else {
            scrub_stream(self.open(f)?, s, &mut numbers, &mut |_| {}, Sink::Verdicts)
                .map_err(|e| Error::io(f, e))?;
        }
        Ok(())
    }

    /// The whole pipeline on `threads` threads without outputs (`end_to_end_bare`) and with
    /// every output (`end_to_end`), run alternately.
    fn end_to_end(&self, threads: usize) -> Result<(Measure, Measure), Error> {
        let bare = self.settings(threads, false)?;
        let full = self.settings(threads, true)?;
        let each = |s: &Settings, outputs: bool| {
            self.files
                .iter()
                .try_for_each(|f| self.run_pipeline(s, f, outputs))
        };
        let [b, f] = self.time_pair(|| each(&bare, false), || each(&full, true))?;
        Ok((
            self.measure("end_to_end_bare", threads, b),
            self.measure("end_to_end", threads, f),
        ))
    }
}

/// Resets the kernel's peak-resident mark of this process (Linux; elsewhere nothing), after
/// handing the allocator's free memory back, so that what earlier runs freed but the allocator
/// kept resident is not counted as the next run's.
fn reset_peak() {
    crate::memory::release_free_memory();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory since the last reset, in bytes (Linux `VmHWM`).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn print_table(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "scrub837 bench: {} input(s), {:.1} MB, {} claims{}; median of {} run(s)",
        r.inputs.len(),
        r.bytes as f64 / 1e6,
        r.claims,
        r.workload
            .as_ref()
            .map_or_else(String::new, |w| format!(" ({w})")),
        r.repeat
    )?;
    writeln!(
        out,
        "{:<18} {:>7} {:>9} {:>9} {:>9} {:>11} {:>9}",
        "stage", "threads", "seconds", "cpu s", "MB/s", "claims/s", "peak MiB"
    )?;
    for m in &r.results {
        let peak = m.peak_bytes.map_or_else(
            || "-".to_owned(),
            |b| format!("{:.1}", b as f64 / 1048576.0),
        );
        let cpu = m
            .cpu_seconds
            .map_or_else(|| "-".to_owned(), |c| format!("{c:.3}"));
        writeln!(
            out,
            "{:<18} {:>7} {:>9.3} {:>9} {:>9.1} {:>11.0} {:>9}{}",
            m.stage,
            m.threads,
            m.seconds,
            cpu,
            m.mb_per_s,
            m.claims_per_s,
            peak,
            if m.derived { "  (derived)" } else { "" }
        )?;
    }
    let pct = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| format!("{:.0} %", x * 100.0));
    let times = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| format!("×{x:.2}"));
    writeln!(
        out,
        "end to end vs memchr split: {}; scaling, most threads vs one: edits {}, end to end {}",
        pct(r.end_to_end_vs_split),
        times(r.edits_scaling),
        times(r.end_to_end_scaling)
    )?;
    if !r.outputs_added.is_empty() {
        let added: Vec<String> = r
            .outputs_added
            .iter()
            .map(|&(n, x)| format!("+{:.1} % on {n} thread(s)", x * 100.0))
            .collect();
        let added_cpu: Vec<String> = r
            .outputs_added_cpu
            .iter()
            .map(|&(n, x)| format!("+{:.1} % on {n} thread(s)", x * 100.0))
            .collect();
        writeln!(
            out,
            "every output (999, 277CA, claims.jsonl, HTML report, summary) adds {} to the run \
             without them (in CPU time: {})",
            added.join(", "),
            if added_cpu.is_empty() {
                "-".to_owned()
            } else {
                added_cpu.join(", ")
            }
        )?;
    }
    writeln!(
        out,
        "stages: split = memchr over the file; framing = segments + envelope; loops_and_claims = \
         walker, guide checks, batches, claim views (one thread); rules = the edits on batches in \
         memory; edits = rules + each claim's claims.jsonl line and 277CA fragment; \
         end_to_end_bare = the pipeline (edits, history, 999 and tallies) with no output \
         formatted; end_to_end = with every output written; acks_and_reports = their \
         difference; seconds = median wall clock, cpu s = median CPU time of every thread"
    )
}
