//! Acknowledgments: the 999 and TA1 writers, and a reader that parses them back.
//!
//! [`AckBuilder`] is an [`EnvelopeSink`]: it collects the outcome of each
//! transaction set and group as the envelope checker reports them, and renders
//! an interchange's acknowledgments when its IEA (or the end of input) is read.

pub mod ack277;
pub mod ack999;
pub mod claim277;
pub mod num;
pub mod read;
pub mod read277;
pub mod rewrite;
pub mod seg;
pub mod spool;
pub mod ta1;

use crate::clock::Timestamp;
use crate::x12::{
    ControlNumbers, Delimiters, EnvelopeSink, GroupHeader, GroupOutcome, InterchangeEnvelope,
    InterchangeOutcome, IsaHeader, Position, TransactionOutcome, X12Writer,
};

/// What goes into every acknowledgment we write: delimiters, clock, control numbers.
pub struct AckSettings<'a> {
    /// Delimiters of the acknowledgments.
    pub delimiters: Delimiters,
    /// Bytes written after each segment terminator (`b"\n"` or `b""`).
    pub eol: &'static [u8],
    /// The time every acknowledgment is stamped with.
    pub now: Timestamp,
    /// The control-number sequence, shared by every file of a run.
    pub numbers: &'a mut ControlNumbers,
}

/// Counts over the acknowledgments built for one input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AckCounts {
    /// 999 transaction sets written (one per functional group acknowledged).
    pub acks_999: u32,
    /// TA1 segments written.
    pub ta1s: u32,
}

/// One acknowledged group: its outcome and its transaction sets' outcomes.
pub struct GroupAck {
    /// AK1/AK9.
    pub outcome: GroupOutcome,
    /// AK2…IK5 per transaction set, in input order.
    pub transactions: Vec<TransactionOutcome>,
}

/// The envelope of an acknowledgment answering `isa`: sender and receiver swapped, stamped
/// `now`, with the inbound usage indicator (test stays test).
pub fn reply_envelope(isa: &IsaHeader, now: &Timestamp) -> InterchangeEnvelope {
    let (sq, sid) = isa.sender();
    let (rq, rid) = isa.receiver();
    let usage = match isa.fields[14].as_str() {
        "T" => "T",
        _ => "P",
    };
    // A blank id cannot address anyone (the inbound ISA was faulty, and its TA1 says so).
    let id = |s: &str| {
        if s.trim().is_empty() {
            "UNKNOWN".to_owned()
        } else {
            s.to_owned()
        }
    };
    InterchangeEnvelope {
        sender: (rq.to_owned(), id(rid)),
        receiver: (sq.to_owned(), id(sid)),
        date: now.yymmdd(),
        time: now.hhmm(),
        usage: usage.to_owned(),
    }
}

/// Control numbers set aside for the 277CA of one interchange (unused ones leave gaps).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reserved277 {
    /// ISA13.
    pub interchange: u64,
    /// GS06 for each group that was not rejected, in order.
    pub groups: Vec<u64>,
}

/// Builds the 999 and TA1 bytes for one input.
pub struct AckBuilder<'a> {
    settings: AckSettings<'a>,
    w999: X12Writer<Vec<u8>>,
    wta1: X12Writer<Vec<u8>>,
    groups: Vec<GroupAck>,
    transactions: Vec<TransactionOutcome>,
    counts: AckCounts,
}

impl<'a> AckBuilder<'a> {
    /// A builder writing with `settings`.
    pub fn new(settings: AckSettings<'a>) -> Self {
        let w999 = X12Writer::new(Vec::new(), settings.delimiters, settings.eol);
        let wta1 = X12Writer::new(Vec::new(), settings.delimiters, settings.eol);
        AckBuilder {
            settings,
            w999,
            wta1,
            groups: Vec::new(),
            transactions: Vec::new(),
            counts: AckCounts::default(),
        }
    }

    /// The 999 bytes and the TA1 bytes (each empty when none is due), and the counts.
    pub fn finish(self) -> std::io::Result<(Vec<u8>, Vec<u8>, AckCounts)> {
        Ok((
            self.w999.into_inner()?,
            self.wta1.into_inner()?,
            self.counts,
        ))
    }

    /// Takes an interchange control number and `groups` group control numbers for the 277CA
    /// answering an interchange. Taken on the reading thread, in input order, after the
    /// interchange's 999 and TA1 numbers, so numbering never depends on the thread count.
    pub fn reserve_277(&mut self, groups: usize) -> Reserved277 {
        Reserved277 {
            interchange: self.settings.numbers.take_interchange(),
            groups: (0..groups)
                .map(|_| self.settings.numbers.take_group())
                .collect(),
        }
    }

    fn render(&mut self, outcome: &InterchangeOutcome) -> std::io::Result<()> {
        let env = reply_envelope(&outcome.header, &self.settings.now);
        let groups = std::mem::take(&mut self.groups);
        if outcome.status != crate::x12::AckStatus::Rejected && !groups.is_empty() {
            ack999::write_interchange(
                &mut self.w999,
                &env,
                &groups,
                &self.settings.now,
                self.settings.numbers,
            )?;
            self.counts.acks_999 += groups.len() as u32;
        }
        if outcome.ta1_due() {
            ta1::write_interchange(&mut self.wta1, &env, outcome, self.settings.numbers)?;
            self.counts.ta1s += 1;
        }
        Ok(())
    }
}

impl EnvelopeSink for AckBuilder<'_> {
    fn interchange_start(&mut self, _isa: &IsaHeader, _position: &Position) {
        self.groups.clear();
    }

    fn group_start(&mut self, _header: &GroupHeader, _position: &Position) {
        self.transactions.clear();
    }

    fn transaction_end(&mut self, outcome: &TransactionOutcome) {
        self.transactions.push(outcome.clone());
    }

    fn group_end(&mut self, outcome: &GroupOutcome) {
        self.groups.push(GroupAck {
            outcome: outcome.clone(),
            transactions: std::mem::take(&mut self.transactions),
        });
    }

    fn interchange_end(&mut self, outcome: &InterchangeOutcome) {
        // Writing into a Vec cannot fail.
        let _ = self.render(outcome);
    }
}
