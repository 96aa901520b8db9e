//! The edit stage on a thread of its own, so that the reading thread only reads, walks and
//! batches: it hands the stage its batches and the ends of transaction sets, groups and
//! interchanges through a short channel, in input order, and the stage thread does everything
//! else (hands batches to the workers, judges history, writes lines and the 277CA) exactly as
//! it would on the reading thread.

use std::io;
use std::sync::mpsc;

use crate::ack::ack277::{Counts277, Header837};
use crate::ack::Reserved277;
use crate::claim::ClaimBatch;
use crate::report::claims_jsonl::LateRejection;
use crate::report::summary::Tally;
use crate::x12::{GroupOutcome, InterchangeOutcome, SegmentError, TransactionOutcome};

use super::stage::EditStage;

/// What the stage returns when it is finished.
pub type Finished = io::Result<(Tally, Vec<LateRejection>, Counts277)>;

/// Messages queued for the stage thread beyond the one it is working on: each batch holds up
/// to a MiB of input, so few.
const QUEUED: usize = 2;

/// One call of the stage's, as the reading thread would have made it.
enum Call {
    Batch(ClaimBatch),
    Settle(u32, Vec<SegmentError>),
    TransactionEnd(Box<TransactionOutcome>, Box<Header837>),
    GroupEnd(Box<GroupOutcome>),
    InterchangeEnd(Box<InterchangeOutcome>, Reserved277),
}

/// The reading thread's end of a stage running on its own thread.
pub struct StageLink {
    tx: mpsc::SyncSender<Call>,
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
        let handle = std::thread::Builder::new()
            .name("scrub837-stage".into())
            .spawn_scoped(scope, move || run(stage, rx))?;
        let link = StageLink {
            tx,
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

    /// A stage thread that stopped (it panicked) takes no more calls; its join says so.
    fn call(&self, call: Call) {
        let _ = self.tx.send(call);
    }

    /// See [`EditStage::batch`].
    pub fn batch(&mut self, batch: ClaimBatch) {
        self.set_bytes = self.set_bytes.saturating_add(batch.data.len());
        self.call(Call::Batch(batch));
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

/// The stage thread: every call in order, then the stage's finish.
fn run(mut stage: EditStage<'_>, rx: mpsc::Receiver<Call>) -> Finished {
    for call in rx {
        match call {
            Call::Batch(b) => stage.batch(b),
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
