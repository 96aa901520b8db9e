//! The edit stage on a thread of its own, so that the reading thread only reads, walks and
//! batches: it queues each batch's edits as a job and hands the stage the job and the ends of
//! transaction sets, groups and interchanges through a short channel, in input order. The
//! stage thread does everything else (edits queued batches, judges history, writes lines and
//! the 277CA) exactly as it would on the reading thread. When the channel is full (the stage
//! is the busier thread) the reading thread edits the oldest batch nobody has started instead
//! of waiting, so two threads share the work whichever of them has more.

use std::io;
use std::sync::mpsc;

use crate::ack::ack277::{Counts277, Header837};
use crate::ack::Reserved277;
use crate::claim::ClaimBatch;
use crate::report::claims_jsonl::LateRejection;
use crate::report::summary::Tally;
use crate::x12::{GroupOutcome, InterchangeOutcome, SegmentError, TransactionOutcome};

use super::stage::{EditStage, Edits, JobMaker};

/// What the stage returns when it is finished.
pub type Finished = io::Result<(Tally, Vec<LateRejection>, Counts277)>;

/// Messages queued for the stage thread beyond the one it is working on: each batch holds up
/// to a MiB of input, so few.
const QUEUED: usize = 2;

/// One call of the stage's, as the reading thread would have made it.
enum Call {
    /// A batch this end queued as a job, and its input bytes.
    Batch(Edits, usize),
    Settle(u32, Vec<SegmentError>),
    TransactionEnd(Box<TransactionOutcome>, Box<Header837>),
    GroupEnd(Box<GroupOutcome>),
    InterchangeEnd(Box<InterchangeOutcome>, Reserved277),
}

/// The reading thread's end of a stage running on its own thread.
pub struct StageLink {
    tx: mpsc::SyncSender<Call>,
    /// Queues each batch as a job, which this end edits itself rather than wait for the
    /// stage.
    jobs: JobMaker,
    /// Batches this end edited itself.
    edited: u64,
    /// Input bytes of the open transaction set's claims sent so far, and how many the stage
    /// holds before it settles claims as they come (the stage's own count, kept here so the
    /// reading thread need not ask across threads).
    set_bytes: usize,
    hold_bytes: usize,
}

impl StageLink {
    /// Starts `stage` on a thread of `scope`; the handle gives what [`EditStage::finish`]
    /// returns once the link is dropped.
    pub fn start<'scope, 'env: 'scope>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        stage: EditStage<'env>,
        hold_bytes: usize,
    ) -> io::Result<(Self, std::thread::ScopedJoinHandle<'scope, Finished>)> {
        let (tx, rx) = mpsc::sync_channel(QUEUED);
        let jobs = stage.share_jobs();
        let handle = std::thread::Builder::new()
            .name("scrub837-stage".into())
            .spawn_scoped(scope, move || run(stage, rx))?;
        let link = StageLink {
            tx,
            jobs,
            edited: 0,
            set_bytes: 0,
            hold_bytes,
        };
        Ok((link, handle))
    }

    /// Whether the open transaction set is past what the stage holds (see
    /// [`EditStage::streaming`]).
    pub fn streaming(&self) -> bool {
        self.set_bytes > self.hold_bytes
    }

    /// Queues `call`; while the queue is full, edits a batch the stage has not started yet
    /// (the stage thread is then the busier one) instead of waiting. A stage thread that
    /// stopped (it panicked) takes no more calls; its join says so.
    fn call(&mut self, mut call: Call) {
        loop {
            match self.tx.try_send(call) {
                Ok(()) | Err(mpsc::TrySendError::Disconnected(_)) => return,
                Err(mpsc::TrySendError::Full(back)) => call = back,
            }
            if !self.jobs.run_one() {
                let _ = self.tx.send(call);
                return;
            }
            self.edited += 1;
        }
    }

    /// The last call is made: edits what the stage has not started yet, then lets the stage
    /// finish. Returns how many batches this end edited in all.
    pub fn finish(mut self) -> u64 {
        while self.jobs.run_one() {
            self.edited += 1;
        }
        self.edited
    }

    /// See [`EditStage::batch`].
    pub fn batch(&mut self, batch: ClaimBatch) {
        let bytes = batch.data.len();
        self.set_bytes = self.set_bytes.saturating_add(bytes);
        let edits = self.jobs.queue(batch);
        self.call(Call::Batch(edits, bytes));
    }

    /// See [`EditStage::settle`].
    pub fn settle(&mut self, upto: u32, errors: Vec<SegmentError>) {
        self.call(Call::Settle(upto, errors));
    }

    /// See [`EditStage::transaction_end`].
    pub fn transaction_end(&mut self, outcome: &TransactionOutcome, header: Header837) {
        self.set_bytes = 0;
        self.call(Call::TransactionEnd(
            Box::new(outcome.clone()),
            Box::new(header),
        ));
    }

    /// See [`EditStage::group_end`].
    pub fn group_end(&mut self, outcome: &GroupOutcome) {
        self.call(Call::GroupEnd(Box::new(outcome.clone())));
    }

    /// See [`EditStage::interchange_end`].
    pub fn interchange_end(&mut self, outcome: &InterchangeOutcome, numbers: Reserved277) {
        self.call(Call::InterchangeEnd(Box::new(outcome.clone()), numbers));
    }
}

/// The stage thread: every call in order, editing queued batches while no call waits, then
/// the stage's finish.
fn run(mut stage: EditStage<'_>, rx: mpsc::Receiver<Call>) -> Finished {
    loop {
        let call = match rx.try_recv() {
            Ok(call) => call,
            Err(mpsc::TryRecvError::Disconnected) => break,
            Err(mpsc::TryRecvError::Empty) => {
                if stage.help() {
                    continue;
                }
                match rx.recv() {
                    Ok(call) => call,
                    Err(_) => break,
                }
            }
        };
        match call {
            Call::Batch(edits, bytes) => stage.queued(edits, bytes),
            Call::Settle(upto, errors) => stage.settle(upto, &errors),
            Call::TransactionEnd(outcome, header) => stage.transaction_end(&outcome, *header),
            Call::GroupEnd(outcome) => stage.group_end(&outcome),
            Call::InterchangeEnd(outcome, numbers) => stage.interchange_end(&outcome, numbers),
        }
    }
    stage.finish()
}

/// What a stage thread's join gives: its result, or an error if it panicked.
pub fn joined(result: std::thread::Result<Finished>) -> Finished {
    result.unwrap_or_else(|_| Err(io::Error::other("the edit stage failed")))
}
