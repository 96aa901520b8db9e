//! The parallel stage: claim batches are edited on a rayon pool (or inline with one thread);
//! results come back in input order, meet the structural verdicts of their transaction set,
//! group and interchange, and are written as `claims.jsonl` lines. Output bytes do not depend
//! on the thread count.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{mpsc, Arc};

use super::engine::{Edited, Engine};
use super::finding::{Finding, Severity};
use crate::ack::ack277::{Ack277Writer, ClaimAck, Counts277, Header837};
use crate::ack::claim277::{ClaimAcks, Render277};
use crate::ack::Reserved277;
use crate::claim::{ClaimBatch, Spares};
use crate::history::index::HistClaim;
use crate::history::store::{Prefetcher, StoredRaw};
use crate::history::{HistoryIndex, HistoryPlan};
use crate::report::claims_jsonl::{add_findings_around, LateRejection};
use crate::report::summary::{ClaimTally, Tally};
use crate::x12::{
    AckStatus, GroupHeader, GroupOutcome, InterchangeOutcome, IsaHeader, SegmentError,
    TransactionOutcome,
};

/// A batch edited by a worker: one summary per claim, their lines back to back, and their
/// 277CA fragments back to back.
struct BatchOut {
    claims: Vec<Edited>,
    lines: Vec<u8>,
    acks: Vec<u8>,
    /// What history needs of its claims that have services history tracks (by position).
    hist: Vec<(u32, HistClaim)>,
    /// The stored rows of `hist`'s members, read ahead (same order; empty without a history
    /// database).
    ahead: Vec<Option<StoredRaw>>,
}

impl BatchOut {
    fn new(
        engine: &Engine,
        batch: ClaimBatch,
        label: &str,
        spares: &Spares,
        render: Option<&Render277>,
        with_lines: bool,
        prefetch: Option<&Prefetcher>,
    ) -> Self {
        let mut lines = Vec::with_capacity(if with_lines {
            batch.claims.len() * 512
        } else {
            0
        });
        let mut claims = Vec::with_capacity(batch.claims.len());
        let mut acks = render.map(ClaimAcks::new);
        // Room for every claim up front: growing it would copy what history keeps of each.
        let mut hist = Vec::with_capacity(if engine.history.regions.is_empty() {
            0
        } else {
            batch.claims.len()
        });
        engine.edit_batch_lines(
            &batch,
            label,
            with_lines.then_some(&mut lines),
            acks.as_mut(),
            Some(&mut hist),
            &mut claims,
        );
        spares.give(batch);
        // The members' stored rows are read here, on whichever thread edits the batch, rather
        // than one by one on the stage thread that judges them in order.
        let ahead = match prefetch {
            Some(p) => hist.iter().map(|(_, h)| p.fetch(&h.key)).collect(),
            None => Vec::new(),
        };
        BatchOut {
            claims,
            lines,
            acks: acks.map(ClaimAcks::into_bytes).unwrap_or_default(),
            hist,
            ahead,
        }
    }
}

/// Batches edited or waiting at once, whatever the thread count (2 threads allow 6): each
/// holds up to a MiB of input and its outputs, so more break the memory bound (16 threads and
/// 10 batches peaked at 78 MB on the 2.1 GB 837P), while one reading thread cannot keep more
/// workers busy anyway.
pub const MAX_IN_FLIGHT: usize = 6;

/// Input bytes of one transaction set's claims the stage holds to its SE (about 8k claims
/// of a generated 837P); a larger set is settled as it is read.
pub const HOLD_BYTES: usize = 4 << 20;

/// A transaction set being settled as it is read: lines written since `start`, history
/// recorded since `mark`. A rejection at its SE then comes late, as a group's does.
#[derive(Clone, Copy, Debug)]
struct OpenSet {
    start: u64,
    mark: u32,
}

/// One claim waiting for its transaction set's verdict; its line is `bufs[buf][range]`.
struct Pending {
    claim: Edited,
    buf: usize,
    range: std::ops::Range<usize>,
    hist: Option<Box<HistClaim>>,
    /// Its member's stored rows, read ahead.
    ahead: Option<StoredRaw>,
}

enum Item {
    Batch(mpsc::Receiver<BatchOut>),
    Ready(BatchOut),
    /// Claims of the open transaction set before `upto` are final (their implementation-guide
    /// errors all found): settle them now rather than hold them to the SE.
    Settle {
        upto: u32,
        claim_errors: Vec<(u32, Finding)>,
    },
    TransactionEnd {
        rejected: Option<Finding>,
        claim_errors: Vec<(u32, Finding)>,
        header: Box<Header837>,
    },
    GroupEnd {
        rejected: Option<Finding>,
        header: Box<GroupHeader>,
        accepted: bool,
    },
    InterchangeEnd {
        rejected: Option<Finding>,
        header: Box<IsaHeader>,
        accepted: bool,
        numbers: Reserved277,
    },
}

/// A batch's edits, waiting for whichever thread is free first: a worker, the stage thread,
/// or the reading thread when it would otherwise wait for the stage.
type Job = Box<dyn FnOnce() + Send>;

/// Jobs not yet started, oldest first. A job sends its batch's result to the stage, so it
/// gives the same bytes whichever thread runs it.
#[derive(Clone, Default)]
struct Jobs(Arc<std::sync::Mutex<VecDeque<Job>>>);

impl Jobs {
    fn push(&self, job: Job) {
        if let Ok(mut q) = self.0.lock() {
            q.push_back(job);
        }
    }

    fn take(&self) -> Option<Job> {
        self.0.lock().ok()?.pop_front()
    }

    /// Runs the oldest job not yet started on the calling thread; false when there is none.
    fn run_one(&self) -> bool {
        match self.take() {
            Some(job) => {
                job();
                true
            }
            None => false,
        }
    }
}

/// A batch's edits on their way: the result of a queued job.
pub struct Edits(mpsc::Receiver<BatchOut>);

/// What a batch's job needs of its stage, so that a thread other than the stage's can queue
/// it ([`EditStage::share_jobs`]).
#[derive(Clone)]
pub struct JobMaker {
    engine: Arc<Engine>,
    label: String,
    spares: Spares,
    render: Option<Arc<Render277>>,
    lines: bool,
    prefetch: Option<Arc<Prefetcher>>,
    jobs: Jobs,
}

impl JobMaker {
    /// Queues `batch`'s edits as a job; its result comes through the returned [`Edits`].
    pub fn queue(&self, batch: ClaimBatch) -> Edits {
        let (tx, rx) = mpsc::sync_channel(1);
        let JobMaker {
            engine,
            label,
            spares,
            render,
            lines,
            prefetch,
            ..
        } = self.clone();
        self.jobs.push(Box::new(move || {
            // A panic in an edit must not abort the thread that runs it: the stage sees the
            // closed channel and fails the input with an error instead.
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                BatchOut::new(
                    &engine,
                    batch,
                    &label,
                    &spares,
                    render.as_deref(),
                    lines,
                    prefetch.as_deref(),
                )
            }));
            if let Ok(out) = out {
                let _ = tx.send(out);
            }
        }));
        Edits(rx)
    }

    /// Runs the oldest job not yet started on the calling thread; false when there is none.
    pub fn run_one(&self) -> bool {
        self.jobs.run_one()
    }
}

/// The ordered edit stage of one input.
pub struct EditStage<'w> {
    engine: Arc<Engine>,
    pool: Option<Arc<rayon::ThreadPool>>,
    jobs: Jobs,
    queue: VecDeque<Item>,
    in_flight: usize,
    max_in_flight: usize,
    current: Vec<Pending>,
    bufs: Vec<Vec<u8>>,
    ack_bufs: Vec<Vec<u8>>,
    out: &'w mut (dyn Write + Send),
    render: Option<Arc<Render277>>,
    ack277: Option<Ack277Writer<'w>>,
    /// The member history of the run and the history rules (E-37…E-39).
    history: Option<(Arc<std::sync::Mutex<HistoryIndex>>, Arc<HistoryPlan>)>,
    /// Reads members of the history database ahead, with each batch's edits.
    prefetch: Option<Arc<Prefetcher>>,
    /// History marks at the start of the open group and interchange.
    hist_marks: (u32, u32),
    /// Input bytes of claims held for the open transaction set past which its claims are
    /// settled as they come (see [`EditStage::streaming`]).
    hold_bytes: usize,
    /// Input bytes of the open transaction set's claims handed to the stage so far.
    set_bytes: usize,
    /// The open transaction set, once its claims are being settled as they come.
    open_set: Option<OpenSet>,
    /// Claim errors of the open set delivered ahead of its claims' results.
    early_errors: Vec<(u32, Finding)>,
    rules_label: String,
    group_start: u64,
    interchange_start: u64,
    late: Vec<LateRejection>,
    /// Lines written so far.
    written: u64,
    tally: Tally,
    error: Option<io::Error>,
    spares: Spares,
    log_phi: bool,
    progress: Option<(indicatif::ProgressBar, std::time::Instant)>,
    /// Whether claims get `claims.jsonl` lines (see [`EditStage::without_lines`]).
    lines: bool,
}

impl<'w> EditStage<'w> {
    /// A stage writing claim lines to `out`; `pool` None edits on the calling thread.
    pub fn new(
        engine: Arc<Engine>,
        pool: Option<Arc<rayon::ThreadPool>>,
        out: &'w mut (dyn Write + Send),
    ) -> Self {
        let threads = pool.as_ref().map_or(1, |p| p.current_num_threads());
        let rules_label = format!("{} {}", engine.rules.pack.name, engine.rules.pack.version);
        EditStage {
            engine,
            pool,
            jobs: Jobs::default(),
            queue: VecDeque::new(),
            in_flight: 0,
            max_in_flight: (2 * threads + 2).min(MAX_IN_FLIGHT),
            current: Vec::new(),
            bufs: Vec::new(),
            ack_bufs: Vec::new(),
            out,
            render: None,
            ack277: None,
            history: None,
            prefetch: None,
            hist_marks: (0, 0),
            hold_bytes: HOLD_BYTES,
            set_bytes: 0,
            open_set: None,
            early_errors: Vec::new(),
            rules_label,
            group_start: 0,
            interchange_start: 0,
            late: Vec::new(),
            written: 0,
            tally: Tally::default(),
            log_phi: false,
            progress: None,
            lines: true,
            error: None,
            spares: Spares::default(),
        }
    }

    /// Lets debug logs name the claims they are about (`--log-phi`).
    pub fn log_phi(&mut self, yes: bool) {
        self.log_phi = yes;
    }

    /// Formats no `claims.jsonl` lines: claims are still edited, judged, recorded in history
    /// and tallied (for measuring what writing the outputs costs).
    pub fn without_lines(&mut self) {
        self.lines = false;
    }

    /// Shows claims and claims per second on a progress bar.
    pub fn progress(&mut self, bar: Option<indicatif::ProgressBar>) {
        self.progress = bar.map(|b| (b, std::time::Instant::now()));
    }

    /// Writes the 277CA with `writer`: workers render each claim's fragment with `render`.
    pub fn ack277(&mut self, writer: Ack277Writer<'w>, render: Render277) {
        self.ack277 = Some(writer);
        self.render = Some(Arc::new(render));
    }

    /// Judges claims against `index` with the history rules of `plan`, in input order, and
    /// records them.
    pub fn history(&mut self, index: Arc<std::sync::Mutex<HistoryIndex>>, rules: Arc<HistoryPlan>) {
        let (mark, prefetch) = index
            .lock()
            .map(|i| (i.mark(), i.prefetcher()))
            .unwrap_or((0, None));
        self.hist_marks = (mark, mark);
        self.prefetch = prefetch;
        self.history = Some((index, rules));
    }

    /// Holds up to `bytes` of a transaction set's claims (input bytes) to its SE; past that
    /// they are settled as they come ([`EditStage::streaming`]).
    pub fn hold(&mut self, bytes: usize) {
        self.hold_bytes = bytes;
    }

    /// Whether the open transaction set is past what the stage holds: the reader should then
    /// tell it, after each batch, which claims are final ([`EditStage::settle`]).
    pub fn streaming(&self) -> bool {
        self.set_bytes > self.hold_bytes
    }

    /// Claims of the open transaction set before `upto` are final; `errors` are the
    /// implementation-guide errors found in them since the last call. They are settled (their
    /// lines written, their history recorded, their 277CA loops spooled) as soon as their
    /// edits are back; should the set be rejected at its SE, they are rejected late.
    pub fn settle(&mut self, upto: u32, errors: &[SegmentError]) {
        let claim_errors = errors
            .iter()
            .filter_map(|e| Some((e.claim?, claim_error(e))))
            .collect();
        self.queue.push_back(Item::Settle { upto, claim_errors });
        self.drain(false);
    }

    /// What another thread queues its batches' edits with, as jobs that any thread may run
    /// (the workers, this stage's thread when it has no call to answer, or that other thread
    /// when it would otherwise wait); it hands the stage each one with
    /// [`EditStage::queued`]. Called once the stage is set up: the jobs take its rules label,
    /// spares, 277CA rendering and whether it writes lines as they are now.
    pub fn share_jobs(&self) -> JobMaker {
        JobMaker {
            engine: self.engine.clone(),
            label: self.rules_label.clone(),
            spares: self.spares.clone(),
            render: self.render.clone(),
            lines: self.lines,
            prefetch: self.prefetch.clone(),
            jobs: self.jobs.clone(),
        }
    }

    /// Edits the oldest batch no thread has started yet and writes whatever is then ready;
    /// false when there was none.
    pub fn help(&mut self) -> bool {
        let ran = self.jobs.run_one();
        if ran {
            self.drain(false);
        }
        ran
    }

    /// Where used batches go back to (the builder's spares).
    pub fn recycle_into(&mut self, spares: Spares) {
        self.spares = spares;
    }

    /// A batch of claims, in input order.
    pub fn batch(&mut self, batch: ClaimBatch) {
        self.set_bytes = self.set_bytes.saturating_add(batch.data.len());
        if self.pool.is_none() {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                // On this one thread, the stage's own reads are as good as reading ahead (and
                // share one page cache).
                BatchOut::new(
                    &self.engine,
                    batch,
                    &self.rules_label,
                    &self.spares,
                    self.render.as_deref(),
                    self.lines,
                    None,
                )
            }));
            match out {
                Ok(r) => self.queue.push_back(Item::Ready(r)),
                Err(_) => {
                    self.error
                        .get_or_insert_with(|| io::Error::other("an edit failed"));
                }
            }
            self.drain(false);
            return;
        }
        let edits = self.share_jobs().queue(batch);
        self.queued_edits(edits);
    }

    /// A batch queued as a job by the thread that calls the stage ([`EditStage::share_jobs`]),
    /// in input order; `bytes` of input.
    pub fn queued(&mut self, edits: Edits, bytes: usize) {
        self.set_bytes = self.set_bytes.saturating_add(bytes);
        self.queued_edits(edits);
    }

    fn queued_edits(&mut self, Edits(rx): Edits) {
        // Each task runs the oldest job not yet started, if any is left.
        if let Some(pool) = &self.pool {
            let jobs = self.jobs.clone();
            pool.spawn(move || {
                jobs.run_one();
            });
        }
        self.queue.push_back(Item::Batch(rx));
        self.in_flight += 1;
        while self.in_flight > self.max_in_flight {
            self.wait();
        }
        self.drain(false);
    }

    /// A transaction set ended: its claims meet its verdict. `header` is what its 277CA
    /// echoes.
    pub fn transaction_end(&mut self, outcome: &TransactionOutcome, header: Header837) {
        self.set_bytes = 0;
        let claim_errors = outcome
            .errors
            .iter()
            .filter_map(|e| Some((e.claim?, claim_error(e))))
            .collect();
        self.queue.push_back(Item::TransactionEnd {
            rejected: transaction_rejection(outcome),
            claim_errors,
            header: Box::new(header),
        });
        self.drain(false);
    }

    /// A group ended.
    pub fn group_end(&mut self, outcome: &GroupOutcome) {
        self.queue.push_back(Item::GroupEnd {
            rejected: group_rejection(outcome),
            header: Box::new(outcome.header.clone()),
            accepted: outcome.status != AckStatus::Rejected,
        });
        self.drain(false);
    }

    /// An interchange ended; `numbers` are the control numbers reserved for its 277CA.
    pub fn interchange_end(&mut self, outcome: &InterchangeOutcome, numbers: Reserved277) {
        self.queue.push_back(Item::InterchangeEnd {
            rejected: interchange_rejection(outcome),
            header: Box::new(outcome.header.clone()),
            accepted: outcome.status != AckStatus::Rejected,
            numbers,
        });
        self.drain(false);
    }

    /// Waits for every batch and writes what is left; returns the claims by status, payer and
    /// edit (late rejections not yet applied), the rejections to apply to lines already
    /// written, and what the 277CA holds.
    pub fn finish(mut self) -> io::Result<(Tally, Vec<LateRejection>, Counts277)> {
        while !self.queue.is_empty() {
            self.wait();
        }
        // Claims of a transaction set cut off without an end event: write them as they are.
        let rest = std::mem::take(&mut self.current);
        let bufs = std::mem::take(&mut self.bufs);
        let mut run = LineRun::default();
        for p in rest {
            let buf = bufs.get(p.buf).map_or(&[][..], Vec::as_slice);
            self.write(p.claim, buf, p.range, &[], &[], &mut run);
        }
        self.put_run(&mut run);
        let counts = match self.ack277.take() {
            Some(w) => w.finish()?,
            None => Counts277::default(),
        };
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()?;
        Ok((self.tally, self.late, counts))
    }

    /// Makes progress on the batches in flight: edits one no worker has started yet on this
    /// thread (rather than leave its core idle), else waits for the oldest.
    fn wait(&mut self) {
        if !self.help() {
            self.drain(true);
        }
    }

    fn drain(&mut self, block: bool) {
        let mut blocked_once = false;
        while let Some(front) = self.queue.front() {
            let results = match front {
                Item::Batch(rx) => {
                    let got = if block && !blocked_once {
                        blocked_once = true;
                        rx.recv().map_err(|_| true)
                    } else {
                        rx.try_recv()
                            .map_err(|e| e == mpsc::TryRecvError::Disconnected)
                    };
                    match got {
                        Ok(r) => Some(r),
                        Err(false) => return,
                        Err(true) => {
                            self.error
                                .get_or_insert_with(|| io::Error::other("an edit worker stopped"));
                            Some(BatchOut {
                                claims: Vec::new(),
                                lines: Vec::new(),
                                acks: Vec::new(),
                                hist: Vec::new(),
                                ahead: Vec::new(),
                            })
                        }
                    }
                }
                _ => None,
            };
            let Some(item) = self.queue.pop_front() else {
                return;
            };
            if matches!(item, Item::Batch(_)) {
                self.in_flight -= 1;
            }
            match (item, results) {
                (_, Some(e)) | (Item::Ready(e), None) => {
                    if let Some((bar, started)) = &self.progress {
                        let n = self.written + self.current.len() as u64 + e.claims.len() as u64;
                        let secs = started.elapsed().as_secs_f64().max(1e-3);
                        bar.set_message(format!("{n} claims, {:.0} claims/s", n as f64 / secs));
                    }
                    let mut start = 0;
                    let buf = self.bufs.len();
                    let mut ahead = e.ahead.into_iter();
                    let mut hist = e.hist.into_iter().peekable();
                    for (i, claim) in e.claims.into_iter().enumerate() {
                        let h = hist
                            .next_if(|(at, _)| *at as usize == i)
                            .map(|(_, h)| Box::new(h));
                        let read = if h.is_some() {
                            ahead.next().flatten()
                        } else {
                            None
                        };
                        self.current.push(Pending {
                            claim,
                            buf,
                            range: start..claim.end,
                            hist: h,
                            ahead: read,
                        });
                        start = claim.end;
                    }
                    self.bufs.push(e.lines);
                    self.ack_bufs.push(e.acks);
                }
                (Item::Settle { upto, claim_errors }, None) => {
                    if self.open_set.is_none() {
                        self.open_set = Some(OpenSet {
                            start: self.written,
                            mark: self.history_mark(),
                        });
                    }
                    self.early_errors.extend(claim_errors);
                    let n = self
                        .current
                        .iter()
                        .take_while(|p| p.claim.index < upto)
                        .count();
                    let claims: Vec<Pending> = self.current.drain(..n).collect();
                    let Some(next) = claims.last().map(|p| p.claim.index + 1) else {
                        continue;
                    };
                    let bufs = std::mem::take(&mut self.bufs);
                    let ack_bufs = std::mem::take(&mut self.ack_bufs);
                    let mut errors = std::mem::take(&mut self.early_errors);
                    self.settle_claims(claims, &bufs, &ack_bufs, &mut errors, None);
                    errors.retain(|(i, _)| *i >= next);
                    self.early_errors = errors;
                    self.bufs = bufs;
                    self.ack_bufs = ack_bufs;
                    // Batch buffers before the first claim still held are spent.
                    let keep = self.current.first().map_or(self.bufs.len(), |p| p.buf);
                    for b in self.bufs.iter_mut().take(keep) {
                        *b = Vec::new();
                    }
                    for b in self.ack_bufs.iter_mut().take(keep) {
                        *b = Vec::new();
                    }
                }
                (
                    Item::TransactionEnd {
                        rejected,
                        mut claim_errors,
                        header,
                    },
                    None,
                ) => {
                    let claims = std::mem::take(&mut self.current);
                    let bufs = std::mem::take(&mut self.bufs);
                    let ack_bufs = std::mem::take(&mut self.ack_bufs);
                    self.early_errors.clear();
                    // Claims settled as they came are rejected late with the set, and stop
                    // counting as sessions, before the rest are judged.
                    if let Some(open) = self.open_set.take() {
                        if let Some(f) = &rejected {
                            self.reject_late(open.start, f.clone());
                            self.uncount_history(open.mark);
                            if let Some(w) = self.ack277.as_mut() {
                                w.abandon();
                            }
                        }
                    }
                    self.settle_claims(
                        claims,
                        &bufs,
                        &ack_bufs,
                        &mut claim_errors,
                        rejected.as_ref(),
                    );
                    if let (None, Some(w)) = (&rejected, self.ack277.as_mut()) {
                        if let Err(e) = w.close(&header) {
                            self.error.get_or_insert(e);
                        }
                    }
                }
                (
                    Item::GroupEnd {
                        rejected,
                        header,
                        accepted,
                    },
                    None,
                ) => {
                    if let Some(finding) = rejected {
                        self.reject_late(self.group_start, finding);
                        self.uncount_history(self.hist_marks.0);
                    }
                    self.group_start = self.written;
                    self.hist_marks.0 = self.history_mark();
                    if let Some(w) = self.ack277.as_mut() {
                        if let Err(e) = w.group_end(&header, accepted) {
                            self.error.get_or_insert(e);
                        }
                    }
                }
                (
                    Item::InterchangeEnd {
                        rejected,
                        header,
                        accepted,
                        numbers,
                    },
                    None,
                ) => {
                    if let Some(finding) = rejected {
                        self.reject_late(self.interchange_start, finding);
                        self.uncount_history(self.hist_marks.1);
                    }
                    self.interchange_start = self.written;
                    self.group_start = self.written;
                    let mark = self.history_mark();
                    self.hist_marks = (mark, mark);
                    if let Some(w) = self.ack277.as_mut() {
                        if let Err(e) = w.interchange_end(&header, accepted, &numbers) {
                            self.error.get_or_insert(e);
                        }
                    }
                }
                (Item::Batch(_), None) => {}
            }
        }
    }

    /// Settles claims of the open transaction set, in order: their structural findings (their
    /// own implementation-guide errors from `claim_errors`, then `rejected` when the set is
    /// rejected), member history, their 277CA loops (unless the set is rejected) and their
    /// lines.
    fn settle_claims(
        &mut self,
        claims: Vec<Pending>,
        bufs: &[Vec<u8>],
        ack_bufs: &[Vec<u8>],
        claim_errors: &mut [(u32, Finding)],
        rejected: Option<&Finding>,
    ) {
        // Each claim's errors in the order they were found: sorted by claim (stably) once,
        // then a slice per claim, not a scan of all per claim.
        claim_errors.sort_by_key(|(i, _)| *i);
        let structural: Vec<Vec<Finding>> = claims
            .iter()
            .map(|p| {
                let from = claim_errors.partition_point(|(i, _)| *i < p.claim.index);
                let mut s: Vec<Finding> = claim_errors
                    .get(from..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|(i, _)| *i == p.claim.index)
                    .map(|(_, f)| f.clone())
                    .collect();
                if let Some(f) = rejected {
                    s.push(f.clone());
                }
                s
            })
            .collect();
        let later = self.judge_history(&claims, &structural);
        if let (None, Some(w)) = (rejected, self.ack277.as_mut()) {
            let acks: Vec<ClaimAck<'_>> = claims
                .iter()
                .zip(&structural)
                .zip(&later)
                .map(|((p, s), l)| ClaimAck {
                    bytes: ack_bufs.get(p.buf).map_or(&[][..], |b| &b[..]),
                    frag: p.claim.ack,
                    edit_rejected: p.claim.rejected,
                    cents: p.claim.cents,
                    structural: s,
                    later: l,
                })
                .collect();
            if let Err(e) = w.part(&acks) {
                self.error.get_or_insert(e);
            }
        }
        let mut run = LineRun::default();
        for ((p, s), l) in claims.into_iter().zip(structural).zip(later) {
            let buf = bufs.get(p.buf).map_or(&[][..], Vec::as_slice);
            self.write(p.claim, buf, p.range, &s, &l, &mut run);
        }
        self.put_run(&mut run);
    }

    fn history_mark(&self) -> u32 {
        self.history
            .as_ref()
            .and_then(|(ix, _)| ix.lock().ok().map(|i| i.mark()))
            .unwrap_or(0)
    }

    /// Claims of a group or interchange rejected at its trailer stop counting as sessions.
    fn uncount_history(&mut self, mark: u32) {
        if let Some((ix, _)) = &self.history {
            if let Ok(mut ix) = ix.lock() {
                ix.uncount_since(mark);
            }
        }
    }

    /// Judges each claim of a finished transaction set against member history, in order, and
    /// records it (counted unless something rejects it); returns the history findings of each.
    fn judge_history(
        &mut self,
        claims: &[Pending],
        structural: &[Vec<Finding>],
    ) -> Vec<Vec<Finding>> {
        let mut out = vec![Vec::new(); claims.len()];
        let Some((ix, rules)) = &self.history else {
            return out;
        };
        let Ok(mut ix) = ix.lock() else {
            self.error
                .get_or_insert_with(|| io::Error::other("member history is unusable"));
            return out;
        };
        for (i, p) in claims.iter().enumerate() {
            let Some(h) = &p.hist else { continue };
            // The member's records back in memory if they were spilled.
            if let Err(e) = ix.recall_with(&h.key, p.ahead.as_ref()) {
                self.error
                    .get_or_insert_with(|| io::Error::other(e.to_string()));
                return out;
            }
            // A void is not a session: it only takes its claim's services off the record.
            let found = if h.frequency == crate::history::index::Frequency::Void {
                Vec::new()
            } else {
                let mut found = ix.judge(h, &rules.rules);
                day_units_over(&ix, h, &self.engine.rules.rules, &mut found);
                found
            };
            let rejected = p.claim.rejected
                || structural
                    .get(i)
                    .is_some_and(|s| s.iter().any(|f| f.severity == Severity::Reject))
                || found.iter().any(|f| f.severity == Severity::Reject);
            if let Err(e) = ix.record(h, rejected) {
                self.error
                    .get_or_insert_with(|| io::Error::other(e.to_string()));
                return out;
            }
            out[i] = found;
        }
        out
    }

    fn reject_late(&mut self, from: u64, finding: Finding) {
        if from < self.written {
            self.late.push(LateRejection {
                lines: from..self.written,
                finding,
            });
        }
    }

    /// Writes a claim's line (`range` of its batch's `buf`), with structural findings put
    /// first and history findings last when there are any; a line without them joins `run`
    /// (whose lines it follows in `buf`), written later with its neighbours in one call.
    fn write<'b>(
        &mut self,
        claim: Edited,
        buf: &'b [u8],
        range: std::ops::Range<usize>,
        structural: &[Finding],
        later: &[Finding],
        run: &mut LineRun<'b>,
    ) {
        let line = buf.get(range.clone()).unwrap_or_default();
        self.written += 1;
        let mut rejects = claim.rejects;
        let mut warns = claim.warns;
        for f in structural.iter().chain(later) {
            match f.severity {
                Severity::Reject => rejects.add(&f.edit),
                Severity::Warn => warns.add(&f.edit),
            }
        }
        let rejected = claim.rejected
            || structural
                .iter()
                .chain(later)
                .any(|f| f.severity == Severity::Reject);
        self.tally.add(
            &ClaimTally {
                profile: claim
                    .profile
                    .and_then(|p| self.engine.rules.profiles.get(p as usize))
                    .map(|p| p.id.as_str()),
                cents: claim.cents,
                rejected,
                rejects,
                warns,
            },
            1,
        );
        if rejected && tracing::enabled!(tracing::Level::DEBUG) {
            // Without --log-phi a claim is named by its line in claims.jsonl, never by CLM01.
            let edits = rejects.names();
            if self.log_phi {
                #[derive(serde::Deserialize)]
                struct Id {
                    claim: String,
                }
                let id = serde_json::from_slice::<Id>(line.strip_suffix(b"\n").unwrap_or(line))
                    .map(|i| i.claim)
                    .unwrap_or_default();
                tracing::debug!(line = self.written, claim = %id, %edits, "claim rejected");
            } else {
                tracing::debug!(line = self.written, %edits, "claim rejected");
            }
        }
        if structural.is_empty() && later.is_empty() {
            if !run.extend(buf, &range) {
                self.put_run(run);
                *run = LineRun { buf, range };
            }
            return;
        }
        self.put_run(run);
        if self.error.is_none() && self.lines {
            if let Err(e) = add_findings_around(line, structural, later, self.out) {
                self.error = Some(e);
            }
        }
    }

    /// Writes the lines of `run` and empties it.
    fn put_run(&mut self, run: &mut LineRun<'_>) {
        let lines = run.buf.get(run.range.clone()).unwrap_or_default();
        run.range = 0..0;
        if lines.is_empty() || self.error.is_some() || !self.lines {
            return;
        }
        if let Err(e) = self.out.write_all(lines) {
            self.error = Some(e);
        }
    }
}

/// Unchanged claim lines that follow each other in one batch buffer, written with one call.
#[derive(Default)]
struct LineRun<'b> {
    buf: &'b [u8],
    range: std::ops::Range<usize>,
}

impl LineRun<'_> {
    /// Adds the line at `range` of `buf` when it follows the run's lines there; false when it
    /// does not (or the run is empty).
    fn extend(&mut self, buf: &[u8], range: &std::ops::Range<usize>) -> bool {
        if self.range.is_empty() {
            return false;
        }
        let follows = std::ptr::eq(self.buf, buf) && self.range.end == range.start;
        if follows {
            self.range.end = range.end;
        }
        follows
    }
}

fn structural(edit: &str, message: String, pos: &crate::x12::Position, ack: String) -> Finding {
    Finding {
        edit: Arc::from(edit),
        severity: Severity::Reject,
        stc: None,
        stc_extra: Vec::new(),
        line: None,
        message,
        segment: pos.segment,
        byte: pos.byte,
        ack: Some(ack),
        rule: None,
    }
}

/// An implementation-guide error inside one claim: E-04 for LX numbering, else E-43.
fn claim_error(e: &SegmentError) -> Finding {
    let p = crate::pipeline::segment_problem(e);
    let edit = if matches!(e.segment_id.as_str(), "LX" | "HL") && e.code == "8" {
        "E-04"
    } else {
        "E-43"
    };
    let mut ack = format!("999 IK3 {}", e.code);
    for el in &e.elements {
        ack.push_str(&format!(" IK4 {}", el.code));
    }
    let mut f = structural(edit, p.message, &e.position, ack);
    f.stc = Some(Arc::from("A3:684"));
    f
}

fn transaction_rejection(o: &TransactionOutcome) -> Option<Finding> {
    if o.status != AckStatus::Rejected {
        return None;
    }
    let codes = o.codes.join(" ");
    let version = o.codes.iter().any(|c| matches!(*c, "1" | "I6" | "19"));
    let envelope = o.codes.iter().any(|c| !matches!(*c, "5" | "I5"));
    let first = o.errors.iter().find(|e| e.claim.is_none());
    let edit = if version {
        "E-05"
    } else if envelope {
        "E-03"
    } else if first.is_some_and(|e| e.segment_id == "HL" && e.code == "8") {
        "E-04"
    } else {
        "E-43"
    };
    let (pos, why) = match first {
        Some(e) if !envelope => (
            e.position,
            format!(": {}", crate::pipeline::segment_problem(e).message),
        ),
        _ => (o.end, String::new()),
    };
    Some(structural(
        edit,
        format!(
            "rejected with its transaction set {} (999 IK5 R {codes}){why}",
            o.header.control
        ),
        &pos,
        format!("999 IK5 R {codes}"),
    ))
}

/// A group rejected for its own faults (not merely because none of its sets was accepted).
fn group_rejection(o: &GroupOutcome) -> Option<Finding> {
    if o.status != AckStatus::Rejected || o.codes.is_empty() {
        return None;
    }
    let codes = o.codes.join(" ");
    let edit = if o.codes.iter().any(|c| matches!(*c, "1" | "2")) {
        "E-05"
    } else {
        "E-02"
    };
    Some(structural(
        edit,
        format!(
            "rejected with its functional group {} (999 AK9 R {codes})",
            o.header.control
        ),
        &o.position,
        format!("999 AK9 R {codes}"),
    ))
}

fn interchange_rejection(o: &InterchangeOutcome) -> Option<Finding> {
    if o.status != AckStatus::Rejected {
        return None;
    }
    let codes: Vec<&str> = o.faults.iter().filter(|f| f.1).map(|f| f.0).collect();
    if codes.is_empty() {
        return None;
    }
    let edit = if codes.iter().any(|c| matches!(*c, "001" | "021")) {
        "E-02"
    } else {
        "E-01"
    };
    Some(structural(
        edit,
        format!(
            "rejected with its interchange {} (TA1 R {})",
            o.header.fields[12].trim(),
            codes.join(" ")
        ),
        &o.position,
        format!("TA1 R {}", codes.join(" ")),
    ))
}

/// E-25/E-26 across claims: a code's units on a date of service, with what the member's other
/// counted claims billed that date, over its per-date limit (an MUE with MAI 2 or 3, or the
/// rule's own daily limit). A claim over the limit on its own lines was judged by its rule
/// already and is left alone here.
fn day_units_over(
    ix: &HistoryIndex,
    h: &HistClaim,
    rules: &[super::rules::Rule],
    out: &mut Vec<Finding>,
) {
    for d in &h.day_units {
        let limit = i64::from(d.limit) * 100;
        if d.units > limit {
            continue;
        }
        let seen = ix.units_on(h, d.code, d.date);
        let total = d.units.saturating_add(seen);
        if seen == 0 || total <= limit {
            continue;
        }
        let Some(rule) = rules.get(d.rule as usize) else {
            continue;
        };
        let units = |n: i64| super::checks::units(Some(crate::claim::Money { cents: n }));
        let limit_text = match d.mai {
            Some(mai) => format!("MUE {} per date of service, MAI {mai}", d.limit),
            None => format!("at most {} per date of service", d.limit),
        };
        out.push(super::engine::finding_of(
            rule,
            super::checks::Hit {
                line: Some(d.line),
                loc: super::facts::Loc {
                    segment: d.segment,
                    byte: d.byte,
                },
                message: format!(
                    "{} units of {} on {} with the member's other claims of that date ({} on this claim, {} already billed; {limit_text})",
                    units(total),
                    d.code,
                    d.date,
                    units(d.units),
                    units(seen),
                ),
                variant: d.variant,
                table: d.table.clone(),
            },
        ));
    }
}
