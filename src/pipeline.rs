//! One input end to end: bytes → framer → envelope checker → acknowledgments on disk.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use std::sync::Arc;

use crate::ack::ack277::{Ack277Writer, Counts277, Header837, Party};
use crate::ack::claim277::Render277;
use crate::ack::rewrite::Rewrite;
use crate::ack::{AckBuilder, AckCounts, AckSettings};
use crate::claim::{BatchBuilder, ClaimBatch};
use crate::clock::Timestamp;
use crate::edit::settler::{self, StageLink};
use crate::edit::stage::EditStage;
use crate::edit::Engine;
use crate::error::Error;
use crate::report::claims_jsonl::{apply_late, LateRejection};
use crate::report::html::FlaggedTap;
use crate::writeback::WritebackFile;

/// Claims per batch handed to the parallel stage.
pub const BATCH_CLAIMS: usize = 512;
/// Bytes per batch (about) handed to the parallel stage.
pub const BATCH_BYTES: usize = 1 << 20;
use crate::grammar::validate::{ClaimCounts, Grammars, Validator};
use crate::input::{Input, Source};
use crate::x12::{
    check_stream, ControlNumbers, Delimiters, EnvelopeChecker, EnvelopeConfig, EnvelopeSink,
    Framer, GroupHeader, GroupOutcome, InterchangeOutcome, IsaHeader, Limits, Position, Problem,
    Segment, SegmentError, StreamTotals, TransactionHeader, TransactionOutcome,
};

/// Everything a run needs that does not change from file to file.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where outputs go.
    pub out_dir: PathBuf,
    /// The time every acknowledgment carries.
    pub now: Timestamp,
    /// Framer limits.
    pub limits: Limits,
    /// What the envelope checker accepts.
    pub envelope: EnvelopeConfig,
    /// Delimiters of the acknowledgments we write.
    pub ack_delimiters: Delimiters,
    /// Bytes after each acknowledgment segment terminator.
    pub ack_eol: &'static [u8],
    /// The implementation-guide grammars transaction sets are validated against.
    pub grammars: std::sync::Arc<Grammars>,
    /// The edit engine; `None` runs the structural checks only (no `claims.jsonl`).
    pub engine: Option<Arc<Engine>>,
    /// The pool the edit stage hands batches to; `None` edits on the stage's own thread.
    pub pool: Option<Arc<rayon::ThreadPool>>,
    /// Whether the edit stage runs on a thread of its own (always when there is a pool), or
    /// inline on the reading thread.
    pub stage_thread: bool,
    /// Whether debug logs may name claims (`--log-phi`).
    pub log_phi: bool,
    /// The progress bar on a terminal (bytes read, claims per second), if any.
    pub progress: Option<indicatif::ProgressBar>,
    /// Write `NAME.report.html` (with the edit stage).
    pub html: bool,
    /// Replace names, member ids and birth dates in the reports (`--redact`).
    pub redact: bool,
    /// The member history shared by every input of the run (loaded from `--history`); `None`
    /// gives each input a history of its own.
    pub history: Option<Arc<std::sync::Mutex<crate::history::HistoryIndex>>>,
    /// Input bytes of a transaction set's claims held until its SE (`--set-memory`); a larger
    /// set's claims are settled as they are read.
    pub hold_bytes: usize,
    /// Claims per batch handed to the edit stage (at most; [`BATCH_CLAIMS`] by default).
    pub batch_claims: usize,
}

/// The verdict on one input; its number is the exit status it asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Nothing rejected.
    Clean = 0,
    /// One or more transaction sets or groups rejected.
    Rejected = 1,
    /// Not an interchange, rejected at the interchange level, or content outside any interchange.
    Unusable = 3,
}

/// What happened to one input.
#[derive(Clone, Debug)]
pub struct FileReport {
    /// What reading it produced (the acknowledgment bytes are also on disk, in `written`).
    pub scrubbed: Scrubbed,
    /// The verdict.
    pub verdict: Verdict,
    /// Paths written.
    pub written: Vec<PathBuf>,
}

/// Where claim batches go: a caller's consumer, or the edit stage (on this thread, or on its
/// own when there are workers).
enum Target<'c> {
    Consumer(&'c mut dyn FnMut(ClaimBatch) -> Option<ClaimBatch>),
    Stage(Box<EditStage<'c>>),
    Thread(StageLink),
}

impl Target<'_> {
    /// Whether the edit stage holds more of the open transaction set than it may (see
    /// [`EditStage::streaming`]); a consumer never does.
    fn streaming(&self) -> bool {
        match self {
            Target::Stage(s) => s.streaming(),
            Target::Thread(s) => s.streaming(),
            Target::Consumer(_) => false,
        }
    }

    /// See [`EditStage::settle`].
    fn settle(&mut self, upto: u32, errors: Vec<SegmentError>) {
        match self {
            Target::Stage(s) => s.settle(upto, &errors),
            Target::Thread(s) => s.settle(upto, errors),
            Target::Consumer(_) => {}
        }
    }

    /// See [`EditStage::transaction_end`].
    fn transaction_end(&mut self, outcome: &TransactionOutcome, header: Header837) {
        match self {
            Target::Stage(s) => s.transaction_end(outcome, header),
            Target::Thread(s) => s.transaction_end(outcome, header),
            Target::Consumer(_) => {}
        }
    }

    /// See [`EditStage::group_end`].
    fn group_end(&mut self, outcome: &GroupOutcome) {
        match self {
            Target::Stage(s) => s.group_end(outcome),
            Target::Thread(s) => s.group_end(outcome),
            Target::Consumer(_) => {}
        }
    }

    /// See [`EditStage::interchange_end`].
    fn interchange_end(&mut self, outcome: &InterchangeOutcome, numbers: crate::ack::Reserved277) {
        match self {
            Target::Stage(s) => s.interchange_end(outcome, numbers),
            Target::Thread(s) => s.interchange_end(outcome, numbers),
            Target::Consumer(_) => {}
        }
    }
}

impl Batches<'_> {
    /// Hands a full batch on; a batch the consumer gives back is reused.
    fn send(&mut self, batch: ClaimBatch) {
        match &mut self.target {
            Target::Consumer(c) => {
                if let Some(used) = c(batch) {
                    self.builder.spares().give(used);
                }
            }
            Target::Stage(s) => s.batch(batch),
            Target::Thread(s) => s.batch(batch),
        }
    }
}

/// Where claim batches go, with the builder that makes them.
struct Batches<'c> {
    builder: BatchBuilder,
    target: Target<'c>,
    transactions: u32,
}

struct FileSink<'a, 'r, 'g, 'c> {
    acks: AckBuilder<'a>,
    /// What the 277CA echoes from the transaction set being read (BHT03, 1000A, 1000B).
    header: Header837,
    /// GS02 and GS03 of the group being read.
    group: (String, String),
    in_header: bool,
    /// Groups of the interchange being read that were not rejected.
    groups_ok: usize,
    validator: Validator<'g>,
    batches: Option<Batches<'c>>,
    report: &'r mut dyn FnMut(&Problem),
    problems: u64,
    progress: Option<Progress>,
}

/// Feeds the progress bar every few thousand segments.
struct Progress {
    bar: indicatif::ProgressBar,
    shown: u64,
    segments: u32,
}

impl Progress {
    const EVERY: u32 = 4096;

    #[inline]
    fn segment(&mut self, byte: u64) {
        self.segments += 1;
        if self.segments >= Progress::EVERY {
            self.segments = 0;
            self.bar.inc(byte.saturating_sub(self.shown));
            self.shown = self.shown.max(byte);
        }
    }
}

impl EnvelopeSink for FileSink<'_, '_, '_, '_> {
    fn interchange_start(&mut self, isa: &IsaHeader, position: &Position) {
        self.groups_ok = 0;
        self.acks.interchange_start(isa, position);
    }
    fn group_start(&mut self, header: &GroupHeader, position: &Position) {
        self.validator.group_start(&header.version);
        self.acks.group_start(header, position);
        self.group.0.clone_from(&header.sender);
        self.group.1.clone_from(&header.receiver);
    }
    fn transaction_start(&mut self, header: &TransactionHeader, position: &Position) {
        self.header = Header837 {
            group: self.group.clone(),
            ..Header837::default()
        };
        self.in_header = true;
        self.validator.transaction_start(header);
        if let Some(b) = self.batches.as_mut() {
            let grammar = self.validator.active_grammar();
            b.builder
                .transaction_start(b.transactions, &header.control, grammar);
            b.transactions += 1;
        }
        self.acks.transaction_start(header, position);
    }
    #[inline]
    fn transaction_segment(&mut self, segment: &Segment<'_>, position: &Position) {
        if let Some(p) = self.progress.as_mut() {
            p.segment(position.byte);
        }
        if self.in_header {
            self.header_segment(segment);
        }
        let placement = self.validator.segment(segment, position);
        if let (Some(b), Some(p), Some(g)) = (
            self.batches.as_mut(),
            placement,
            self.validator.active_grammar(),
        ) {
            let d = segment.delimiters();
            if let Some(full) = b.builder.segment(segment.raw(), d, position, &p, g) {
                b.send(full);
                // A transaction set too large to hold to its SE: its closed claims are
                // settled as they come.
                if b.target.streaming() {
                    let (upto, errors) = self.validator.settled();
                    b.target.settle(upto, errors);
                }
            }
        }
    }
    fn transaction_bad_segment(&mut self, error: &mut crate::x12::SegmentError) {
        self.validator.bad_segment(error);
    }
    fn transaction_check(&mut self, outcome: &mut TransactionOutcome) {
        let (problems, report) = (&mut self.problems, &mut self.report);
        self.validator.check(outcome, |e| {
            *problems += 1;
            report(&segment_problem(e));
        });
    }
    fn transaction_end(&mut self, outcome: &TransactionOutcome) {
        if let Some(b) = self.batches.as_mut() {
            if let Some(last) = b.builder.flush() {
                b.send(last);
            }
            b.target
                .transaction_end(outcome, std::mem::take(&mut self.header));
        }
        self.validator.transaction_end(outcome);
        self.acks.transaction_end(outcome);
    }
    fn group_end(&mut self, outcome: &GroupOutcome) {
        if outcome.status != crate::x12::AckStatus::Rejected {
            self.groups_ok += 1;
        }
        if let Some(b) = self.batches.as_mut() {
            b.target.group_end(outcome);
        }
        self.validator.group_end(outcome);
        self.acks.group_end(outcome);
    }
    fn interchange_end(&mut self, outcome: &InterchangeOutcome) {
        self.validator.interchange_end(outcome);
        self.acks.interchange_end(outcome);
        let Some(target) = self.batches.as_mut().map(|b| &mut b.target) else {
            return;
        };
        if matches!(target, Target::Consumer(_)) {
            return;
        }
        // The 277CA's numbers come after the 999's and TA1's, on this thread, in order.
        let numbers = if outcome.status != crate::x12::AckStatus::Rejected && self.groups_ok > 0 {
            self.acks.reserve_277(self.groups_ok)
        } else {
            crate::ack::Reserved277::default()
        };
        target.interchange_end(outcome, numbers);
    }
    fn problem(&mut self, problem: &Problem) {
        self.problems += 1;
        (self.report)(problem);
    }
}

impl FileSink<'_, '_, '_, '_> {
    /// A segment of the transaction set header (before the first HL): keeps what the 277CA
    /// echoes.
    fn header_segment(&mut self, segment: &Segment<'_>) {
        let text = |i: usize| String::from_utf8_lossy(segment.value(i)).into_owned();
        match segment.id() {
            b"HL" => self.in_header = false,
            b"BHT" => self.header.bht03 = text(3),
            b"NM1" => {
                let party = Party {
                    person: segment.value(2) == b"1",
                    name: text(3),
                    first: text(4),
                    middle: text(5),
                    id: text(9),
                };
                match segment.value(1) {
                    b"41" => self.header.submitter = party,
                    b"40" => self.header.receiver = party,
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

/// A segment error as a problem line: its code, loop, element and claim, never the values.
pub(crate) fn segment_problem(e: &crate::x12::SegmentError) -> Problem {
    let what = match e.code {
        "1" => "unrecognized segment",
        "2" => "unexpected segment",
        "3" => "required segment missing",
        "4" => "loop occurs over its maximum",
        "5" => "segment exceeds its maximum use",
        "7" => "segment not in proper sequence",
        "8" => "segment has data element errors",
        "I4" => "segment not used in this implementation is present",
        "I7" => "required loop missing",
        _ => "segment error",
    };
    let mut message = format!("{} {what}", e.segment_id);
    if let Some(l) = &e.loop_id {
        message.push_str(&format!(" in loop {l}"));
    }
    for el in &e.elements {
        let why = match el.code {
            "1" => "required element missing",
            "3" => "too many data elements",
            "4" => "data element too short",
            "5" => "data element too long",
            "6" => "invalid character or number",
            "7" => "invalid code value",
            "8" => "invalid date",
            "9" => "invalid time",
            "12" => "too many repetitions",
            "13" => "too many components",
            "I10" => "element not used in this implementation is present",
            _ => "element error",
        };
        message.push_str(&format!("; {}: {why} [IK4 {}]", el.element, el.code));
    }
    if let Some(c) = e.claim {
        message.push_str(&format!(" (claim {} of the transaction set)", c + 1));
    }
    Problem {
        level: crate::x12::Level::Segment,
        code: e.code,
        reject: e.claim.is_none(),
        position: e.position,
        message,
    }
}

/// Output path `DIR/STEM.SUFFIX` for an input.
pub fn output_path(out_dir: &Path, input: &Input, suffix: &str) -> PathBuf {
    let mut p = out_dir.join(&input.stem);
    let name = format!(
        "{}.{suffix}",
        p.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    p.set_file_name(name);
    p
}

/// Writes `bytes` to `path` through a temporary file and a rename, or removes a stale
/// `path` when `bytes` is empty. Returns whether a file was written.
pub fn put(path: &Path, bytes: &[u8]) -> Result<bool, Error> {
    let Some(s) = stage(path, bytes)? else {
        return Ok(false);
    };
    s.file.sync_all().map_err(|e| Error::io(&s.tmp, e))?;
    fs::rename(&s.tmp, &s.path).map_err(|e| Error::io(&s.path, e))?;
    Ok(true)
}

/// An output written in full to its temporary file, to be synced and renamed into place.
struct Staged {
    path: PathBuf,
    tmp: PathBuf,
    file: fs::File,
}

impl Staged {
    /// Applies late rejections through a second temporary file (synced), which takes the
    /// first one's place.
    fn apply_late(
        &mut self,
        late: &[LateRejection],
        tally: &mut crate::report::summary::Tally,
    ) -> Result<(), Error> {
        let mut patched = self.tmp.as_os_str().to_owned();
        patched.push("2");
        let patched = PathBuf::from(patched);
        let src = fs::File::open(&self.tmp).map_err(|e| Error::io(&self.tmp, e))?;
        let out = fs::File::create(&patched).map_err(|e| Error::io(&patched, e))?;
        let mut w = io::BufWriter::new(out);
        apply_late(io::BufReader::new(src), &mut w, late, tally)
            .map_err(|e| Error::io(&patched, e))?;
        let out = w
            .into_inner()
            .map_err(|e| Error::io(&patched, e.into_error()))?;
        out.sync_all().map_err(|e| Error::io(&patched, e))?;
        fs::remove_file(&self.tmp).map_err(|e| Error::io(&self.tmp, e))?;
        self.tmp = patched;
        self.file = out;
        Ok(())
    }
}

/// Where an output is written before it is renamed into place: its name with `.tmp` added
/// (`NAME.report.html.tmp`), so no two outputs of an input share one.
fn temp_path(path: &Path) -> PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    PathBuf::from(tmp)
}

/// Writes `bytes` to the temporary file of `path` (not synced), or removes a stale `path` when
/// `bytes` is empty (None then).
fn stage(path: &Path, bytes: &[u8]) -> Result<Option<Staged>, Error> {
    if bytes.is_empty() {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(path, e)),
        }
        return Ok(None);
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let tmp = temp_path(path);
    let mut file = fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    file.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
    Ok(Some(Staged {
        path: path.to_owned(),
        tmp,
        file,
    }))
}

/// What the HTML report of `input` is made from.
fn report_input<'a>(
    input: &'a Input,
    settings: &'a Settings,
    now: &'a str,
    engine: &'a Engine,
    tally: &'a crate::report::summary::Tally,
) -> crate::report::html::ReportInput<'a> {
    crate::report::html::ReportInput {
        name: &input.display,
        file: match &input.source {
            Source::File(p) => Some(p.as_path()),
            Source::Stdin => None,
        },
        now,
        tally,
        rules: &engine.rules,
        redact: settings.redact,
    }
}

/// Syncs the files side by side (a thread each) while `meanwhile` runs on this thread;
/// returns what it returned.
fn sync_all<T>(
    staged: &[Staged],
    meanwhile: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    std::thread::scope(|scope| {
        let syncs: Vec<_> = staged
            .iter()
            .map(|s| {
                (
                    s,
                    scope.spawn(move || s.file.sync_all().map_err(|e| Error::io(&s.tmp, e))),
                )
            })
            .collect();
        let res = meanwhile();
        let mut synced = Ok(());
        for (s, h) in syncs {
            let r = h.join().unwrap_or_else(|_| {
                Err(Error::io(
                    &s.tmp,
                    io::Error::other("the fsync thread failed"),
                ))
            });
            synced = synced.and(r);
        }
        synced.and(res)
    })
}

/// An output streamed to a temporary file and renamed into place when complete.
struct TempOut {
    path: PathBuf,
    tmp: PathBuf,
    writer: io::BufWriter<WritebackFile>,
}

impl TempOut {
    fn create(path: &Path) -> Result<Self, Error> {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let tmp = temp_path(path);
        // Readable too: the 277CA reads back what it wrote when it rewrites an interchange.
        let f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| Error::io(&tmp, e))?;
        Ok(TempOut {
            path: path.to_owned(),
            tmp,
            writer: io::BufWriter::with_capacity(1 << 16, WritebackFile::new(f)),
        })
    }

    /// Flushes it: what is left is to sync and rename it.
    fn close(self) -> Result<Staged, Error> {
        let TempOut { path, tmp, writer } = self;
        let file = writer
            .into_inner()
            .map_err(|e| Error::io(&tmp, e.into_error()))?
            .into_inner();
        Ok(Staged { path, tmp, file })
    }

    fn discard(self) -> Result<(), Error> {
        drop(self.writer);
        fs::remove_file(&self.tmp).map_err(|e| Error::io(&self.tmp, e))
    }
}

/// What reading one input produced, before anything is written to disk.
#[derive(Clone, Debug)]
pub struct Scrubbed {
    /// Envelope totals.
    pub totals: StreamTotals,
    /// The 999 bytes (empty when none is due).
    pub ack999: Vec<u8>,
    /// The TA1 bytes (empty when none is due).
    pub ta1: Vec<u8>,
    /// Acknowledgments built.
    pub acks: AckCounts,
    /// Bytes read.
    pub bytes: u64,
    /// Problems reported.
    pub problems: u64,
    /// Claims read and rejected by the structural checks.
    pub claims: ClaimCounts,
    /// The `claims.jsonl` bytes ([`scrub_reader`] only; [`scrub_input`] streams them to disk).
    pub claims_jsonl: Vec<u8>,
    /// The 277CA bytes ([`scrub_reader`] only; [`scrub_input`] streams them to disk).
    pub ack277: Vec<u8>,
    /// What the 277CA holds.
    pub counts277: Counts277,
    /// Claims by status, payer and edit, when the edit stage ran.
    pub tally: Option<crate::report::summary::Tally>,
    /// Batches the reading thread edited itself because the stage thread was the busier one
    /// (0 when the stage runs on the reading thread).
    pub batches_edited_by_reader: u64,
}

impl Scrubbed {
    /// The verdict the totals call for.
    pub fn verdict(&self) -> Verdict {
        let t = &self.totals;
        if t.interchanges == 0 || t.interchanges_rejected > 0 || t.file_problems > 0 {
            Verdict::Unusable
        } else if t.transactions_rejected > 0
            || t.groups_rejected > 0
            || self.claims.rejected > 0
            || self.tally.as_ref().is_some_and(|t| t.all.rejected > 0)
        {
            Verdict::Rejected
        } else {
            Verdict::Clean
        }
    }
}

/// Reads one input from any `Read`, reporting each problem through `report`, and builds its
/// acknowledgments and (with an edit engine) its `claims.jsonl` in memory.
pub fn scrub_reader<R: Read>(
    src: R,
    settings: &Settings,
    numbers: &mut ControlNumbers,
    report: &mut dyn FnMut(&Problem),
) -> io::Result<Scrubbed> {
    let mut lines = Vec::new();
    let mut ack277 = Vec::new();
    let (mut scrubbed, late) = scrub_stream(
        src,
        settings,
        numbers,
        report,
        Sink::Claims {
            lines: &mut lines,
            ack277: Some(&mut ack277),
        },
    )?;
    scrubbed.ack277 = ack277;
    if late.is_empty() {
        scrubbed.claims_jsonl = lines;
    } else {
        let mut tally = scrubbed.tally.take().unwrap_or_default();
        apply_late(&lines[..], &mut scrubbed.claims_jsonl, &late, &mut tally)?;
        scrubbed.tally = Some(tally);
    }
    Ok(scrubbed)
}

/// Like [`scrub_reader`] without the edit stage: every claim, in batches of whole claims with
/// their context, goes to `claims` (input order; a batch never spans two transaction sets).
/// A batch `claims` returns is reused for a later one (its contents cleared).
pub fn scrub_reader_with_claims<R: Read>(
    src: R,
    settings: &Settings,
    numbers: &mut ControlNumbers,
    report: &mut dyn FnMut(&Problem),
    claims: Option<&mut dyn FnMut(ClaimBatch) -> Option<ClaimBatch>>,
) -> io::Result<Scrubbed> {
    let sink = match claims {
        Some(c) => Sink::Batches(c),
        None => Sink::Nothing,
    };
    scrub_stream(src, settings, numbers, report, sink).map(|r| r.0)
}

/// Where the claims of an input go.
pub enum Sink<'c> {
    /// Nowhere (structural checks only).
    Nothing,
    /// Batches to a consumer, which may give each back for reuse.
    Batches(&'c mut dyn FnMut(ClaimBatch) -> Option<ClaimBatch>),
    /// Edited, as `claims.jsonl` lines and (when given) a 277CA, when the settings carry an
    /// engine.
    Claims {
        /// Where the `claims.jsonl` lines go.
        lines: &'c mut (dyn Write + Send),
        /// Where the 277CA goes.
        ack277: Option<&'c mut dyn Rewrite>,
    },
    /// Edited and judged against history, with the run's tallies, but nothing written: no
    /// `claims.jsonl` line or 277CA fragment is even formatted (what the outputs cost is
    /// measured against this).
    Verdicts,
}

/// Reads one input: structural checks, acknowledgments, and the claims to `sink`. Returns what
/// was read and the late rejections still to apply to the claim lines written.
pub fn scrub_stream<R: Read>(
    src: R,
    settings: &Settings,
    numbers: &mut ControlNumbers,
    report: &mut dyn FnMut(&Problem),
    sink: Sink<'_>,
) -> io::Result<(Scrubbed, Vec<LateRejection>)> {
    let mut framer = Framer::with_limits(src, settings.limits);
    let mut checker = EnvelopeChecker::new(settings.envelope.clone());
    // Where the numbers stand before this input (the 277CA sizes its envelope from them).
    let numbers_before = numbers.clone();
    let acks = AckBuilder::new(AckSettings {
        delimiters: settings.ack_delimiters,
        eol: settings.ack_eol,
        now: settings.now,
        numbers,
    });
    let verdicts_only = matches!(sink, Sink::Verdicts);
    let sink = match sink {
        Sink::Verdicts => Sink::Claims {
            // `io::Sink` is zero-sized: leaking a box of it allocates nothing.
            lines: Box::leak(Box::new(io::sink())),
            ack277: None,
        },
        other => other,
    };
    let target = match (sink, &settings.engine) {
        (Sink::Batches(c), _) => Some(Target::Consumer(c)),
        (Sink::Claims { lines, ack277 }, Some(engine)) => {
            let mut stage = EditStage::new(engine.clone(), settings.pool.clone(), lines);
            if verdicts_only {
                stage.without_lines();
            }
            stage.hold(settings.hold_bytes);
            if !engine.history.regions.is_empty() {
                let index = settings.history.clone().unwrap_or_else(|| {
                    Arc::new(std::sync::Mutex::new(crate::history::HistoryIndex::new(
                        engine.history.region_names(),
                    )))
                });
                stage.history(index, engine.history.clone());
            }
            if let Some(out) = ack277 {
                let render = Render277 {
                    delimiters: settings.ack_delimiters,
                    eol: settings.ack_eol,
                    date: settings.now.ccyymmdd(),
                };
                let writer = Ack277Writer::new(out, render.clone(), settings.now, &numbers_before);
                stage.ack277(writer, render);
            }
            stage.log_phi(settings.log_phi);
            stage.progress(settings.progress.clone());
            Some(Target::Stage(Box::new(stage)))
        }
        _ => None,
    };
    // With workers, the stage runs on a thread of its own; it is joined before the scope ends,
    // and a stage that failed is an error of this input.
    std::thread::scope(|scope| {
        let mut handle = None;
        let read = (|| {
            let batches = match target {
                None => None,
                Some(target) => {
                    let builder = BatchBuilder::new(settings.batch_claims.max(1), BATCH_BYTES);
                    let target = match target {
                        Target::Stage(mut stage) => {
                            stage.recycle_into(builder.spares());
                            if settings.pool.is_some() || settings.stage_thread {
                                let (link, h) =
                                    StageLink::start(scope, *stage, settings.hold_bytes)?;
                                handle = Some(h);
                                Target::Thread(link)
                            } else {
                                Target::Stage(stage)
                            }
                        }
                        other => other,
                    };
                    Some(Batches {
                        builder,
                        target,
                        transactions: 0,
                    })
                }
            };
            let sink = FileSink {
                acks,
                header: Header837::default(),
                group: Default::default(),
                in_header: false,
                groups_ok: 0,
                validator: Validator::new(&settings.grammars),
                batches,
                report,
                problems: 0,
                progress: settings.progress.clone().map(|bar| Progress {
                    bar,
                    shown: 0,
                    segments: 0,
                }),
            };
            read_all(&mut framer, &mut checker, sink)
        })();
        // The link is dropped with the sink: the stage thread has its last call.
        let threaded = handle.map(|h| settler::joined(h.join()));
        let (mut scrubbed, inline) = read?;
        match inline.or(threaded) {
            Some(finished) => {
                let (tally, late, counts277) = finished?;
                scrubbed.tally = Some(tally);
                scrubbed.counts277 = counts277;
                Ok((scrubbed, late))
            }
            None => Ok((scrubbed, Vec::new())),
        }
    })
}

/// Reads the whole stream into `sink`; returns what was read and, when the edit stage ran on
/// this thread, what it finished with.
fn read_all<R: Read>(
    framer: &mut Framer<R>,
    checker: &mut EnvelopeChecker,
    mut sink: FileSink<'_, '_, '_, '_>,
) -> io::Result<(Scrubbed, Option<settler::Finished>)> {
    let totals = check_stream(framer, checker, &mut sink)?;
    let bytes = framer.offset();
    if let Some(p) = &sink.progress {
        p.bar.inc(bytes.saturating_sub(p.shown));
    }
    if totals.interchanges == 0 {
        sink.problems += 1;
        let message = if bytes == 0 {
            "not an interchange: the input is empty".to_owned()
        } else {
            "not an interchange: no ISA segment found".to_owned()
        };
        (sink.report)(&Problem {
            level: crate::x12::Level::File,
            code: "",
            reject: true,
            position: Position::at(0, 0, None),
            message,
        });
    }
    // Every transaction set ends with an event that flushes its batch; flush anyway, so no
    // claim can be left behind in the builder.
    if let Some(b) = sink.batches.as_mut() {
        if let Some(last) = b.builder.flush() {
            b.send(last);
        }
    }
    let (inline, batches_edited_by_reader) = match sink.batches.take().map(|b| b.target) {
        Some(Target::Stage(stage)) => (Some(stage.finish()), 0),
        Some(Target::Thread(link)) => (None, link.finish()),
        _ => (None, 0),
    };
    let problems = sink.problems;
    let claims = sink.validator.counts();
    let (ack999, ta1, acks) = sink.acks.finish()?;
    Ok((
        Scrubbed {
            totals,
            ack999,
            ta1,
            acks,
            bytes,
            problems,
            claims,
            tally: None,
            claims_jsonl: Vec::new(),
            ack277: Vec::new(),
            counts277: Counts277::default(),
            batches_edited_by_reader,
        },
        inline,
    ))
}

/// Scrubs one input: reads it, reports each problem through `report`, writes its acknowledgments.
pub fn scrub_input(
    input: &Input,
    settings: &Settings,
    numbers: &mut ControlNumbers,
    report: &mut dyn FnMut(&Problem),
) -> Result<FileReport, Error> {
    let started = Instant::now();
    let path = match &input.source {
        Source::Stdin => PathBuf::from("-"),
        Source::File(p) => p.clone(),
    };
    let src: Box<dyn Read> = match &input.source {
        Source::Stdin => Box::new(io::stdin().lock()),
        Source::File(p) => Box::new(fs::File::open(p).map_err(|e| Error::io(p, e))?),
    };
    let claims_path = output_path(&settings.out_dir, input, "claims.jsonl");
    let mut claims_file = match &settings.engine {
        Some(_) => Some(TempOut::create(&claims_path)?),
        None => None,
    };
    let ack277_path = output_path(&settings.out_dir, input, "277ca.x12");
    let mut ack277_file = match &settings.engine {
        Some(_) => Some(TempOut::create(&ack277_path)?),
        None => None,
    };
    // The report's claims are gathered as the lines are written, not read back from the file.
    let mut tap = claims_file
        .as_mut()
        .map(|t| FlaggedTap::new(&mut t.writer, settings.html));
    let sink = match (tap.as_mut(), ack277_file.as_mut()) {
        (Some(t), a) => Sink::Claims {
            lines: t,
            ack277: a.map(|a| &mut a.writer as &mut dyn Rewrite),
        },
        _ => Sink::Nothing,
    };
    let res = scrub_stream(src, settings, numbers, report, sink);
    let flagged = tap.map(|t| t.into_parts().1);
    let (mut scrubbed, late) = match res {
        Ok(r) => r,
        Err(e) => {
            for t in [claims_file, ack277_file].into_iter().flatten() {
                let _ = t.discard();
            }
            return Err(Error::io(&path, e));
        }
    };
    let verdict = scrubbed.verdict();
    // Every output goes to a temporary name first; their fsyncs run side by side (and beside
    // the report's rendering), and the renames follow in a fixed order once all are synced.
    let mut staged: Vec<Staged> = Vec::new();
    let mut written = Vec::new();
    for (suffix, bytes) in [("999.x12", &scrubbed.ack999), ("ta1.x12", &scrubbed.ta1)] {
        let out = output_path(&settings.out_dir, input, suffix);
        if let Some(s) = stage(&out, bytes)? {
            staged.push(s);
            written.push(out);
        }
    }
    // The 277CA: renamed into place only when complete and not empty.
    match ack277_file {
        Some(t) if scrubbed.counts277.interchanges > 0 => {
            staged.push(t.close()?);
            written.push(ack277_path);
        }
        other => {
            if let Some(t) = other {
                t.discard()?;
            }
            put(&ack277_path, b"")?;
        }
    }
    let html_path = output_path(&settings.out_dir, input, "report.html");
    // The claim lines, and the report when one is due: (where the lines are staged, rules).
    let mut claims_out = None;
    match claims_file {
        Some(t) => {
            let claims = scrubbed.tally.as_ref().map_or(0, |t| t.all.claims);
            if claims > 0 {
                let at = staged.len();
                staged.push(t.close()?);
                match (&settings.engine, settings.html) {
                    (Some(engine), true) => claims_out = Some((at, Some(engine))),
                    _ => {
                        claims_out = Some((at, None));
                        put(&html_path, b"")?;
                    }
                }
            } else {
                t.discard()?;
                put(&claims_path, b"")?;
            }
        }
        None => {
            put(&claims_path, b"")?;
        }
    }
    let mut tally = match claims_out {
        Some(_) => scrubbed.tally.take().unwrap_or_default(),
        None => Default::default(),
    };
    let now = settings.now.to_string();

    // The report is rendered while the other files sync, unless late rejections changed lines
    // after they were gathered: then it reads the patched file afterwards.
    let early = match (claims_out, &flagged) {
        (Some((_, Some(engine))), Some(flagged)) if late.is_empty() => Some((engine, flagged)),
        _ => None,
    };
    let html_early = sync_all(&staged, || match early {
        Some((engine, flagged)) => {
            let mut html = Vec::new();
            crate::report::html::write_report_flagged(
                &report_input(input, settings, &now, engine, &tally),
                flagged,
                &mut html,
            )
            .map_err(|e| Error::io(&html_path, e))?;
            let s = stage(&html_path, &html)?;
            if let Some(s) = &s {
                s.file.sync_all().map_err(|e| Error::io(&s.tmp, e))?;
            }
            Ok(s)
        }
        None => Ok(None),
    })?;
    let html_done = early.is_some();
    staged.extend(html_early);
    if let Some((at, engine)) = claims_out {
        if !late.is_empty() {
            if let Some(s) = staged.get_mut(at) {
                s.apply_late(&late, &mut tally)?;
            }
        }
        if let (Some(engine), false) = (engine, html_done) {
            let claims = match staged.get(at) {
                Some(s) => fs::File::open(&s.tmp).map_err(|e| Error::io(&s.tmp, e))?,
                None => fs::File::open(&claims_path).map_err(|e| Error::io(&claims_path, e))?,
            };
            let mut html = Vec::new();
            crate::report::html::write_report(
                &report_input(input, settings, &now, engine, &tally),
                io::BufReader::with_capacity(1 << 20, claims),
                &mut html,
            )
            .map_err(|e| Error::io(&html_path, e))?;
            if let Some(s) = stage(&html_path, &html)? {
                s.file.sync_all().map_err(|e| Error::io(&s.tmp, e))?;
                staged.push(s);
            }
        }
        if engine.is_some() {
            written.push(html_path);
        }
        written.insert(written.len().saturating_sub(1), claims_path);
    }
    if claims_out.is_some() {
        scrubbed.tally = Some(tally);
    }
    for s in staged {
        fs::rename(&s.tmp, &s.path).map_err(|e| Error::io(&s.path, e))?;
    }
    let secs = started.elapsed().as_secs_f64();
    let (t, c) = (&scrubbed.totals, &scrubbed.claims);
    tracing::info!(
        input = %input.display,
        bytes = scrubbed.bytes,
        segments = t.segments,
        interchanges = t.interchanges,
        groups = t.groups,
        transactions = t.transactions,
        transactions_rejected = t.transactions_rejected,
        claims = c.read,
        claims_rejected_structurally = c.rejected,
        claims_rejected = scrubbed.tally.as_ref().map_or(c.rejected, |t| t.all.rejected),
        claims_warned = scrubbed.tally.as_ref().map_or(0, |t| t.all.warned),
        problems = scrubbed.problems,
        batches_edited_by_reader = scrubbed.batches_edited_by_reader,
        mb_per_s = format!("{:.1}", scrubbed.bytes as f64 / 1e6 / secs.max(1e-9)),
        "scrubbed"
    );
    Ok(FileReport {
        scrubbed,
        verdict,
        written,
    })
}
