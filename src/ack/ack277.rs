//! The 277CA claim acknowledgment (005010X214) of one input, put together in input order from
//! the claim fragments the edit workers wrote: one 277 per accepted 837 transaction set, one
//! group per accepted 837 group, one interchange per accepted 837 interchange. An interchange's
//! 277CA is spooled until its IEA is read, so a group or interchange rejected at its trailer
//! leaves nothing behind.

use std::io::{self, Write};
use std::ops::Range;

use super::claim277::{finding_text, fit, write_stc, Frag, Render277};
use super::num::Num;
use super::seg::SegBuf;
use super::spool::Spool;
use super::{reply_envelope, Reserved277};
use crate::clock::Timestamp;
use crate::edit::finding::{Finding, Severity};
use crate::x12::{ControlNumbers, GroupHeader, IsaHeader, X12Writer};

/// The 277CA implementation convention.
pub const VERSION_277: &str = "005010X214";

/// A party named in the 837 header (1000A submitter, 1000B receiver).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Party {
    /// NM102 is `1` (a person).
    pub person: bool,
    /// NM103.
    pub name: String,
    /// NM104.
    pub first: String,
    /// NM105.
    pub middle: String,
    /// NM109.
    pub id: String,
}

/// What the 277CA echoes from the 837 transaction set header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header837 {
    /// BHT03, the submitter's batch id (2200B TRN02).
    pub bht03: String,
    /// 1000A: who sent the claims (the 277CA's information receiver).
    pub submitter: Party,
    /// 1000B: who received them (the 277CA's information source).
    pub receiver: Party,
}

/// One claim of an accepted transaction set, as the assembler needs it.
#[derive(Clone, Copy, Debug)]
pub struct ClaimAck<'a> {
    /// The batch buffer its fragment is in.
    pub bytes: &'a [u8],
    /// Its fragment.
    pub frag: Frag,
    /// Whether an edit rejects it.
    pub edit_rejected: bool,
    /// CLM02 in cents.
    pub cents: i64,
    /// Structural findings on it (implementation-guide errors inside the claim).
    pub structural: &'a [Finding],
    /// Findings after its edits' (member history).
    pub later: &'a [Finding],
}

impl ClaimAck<'_> {
    fn rejected(&self) -> bool {
        self.edit_rejected
            || self
                .structural
                .iter()
                .chain(self.later)
                .any(|f| f.severity == Severity::Reject)
    }

    fn part(&self, r: Range<usize>) -> &[u8] {
        self.bytes.get(r).unwrap_or_default()
    }

    fn provider(&self) -> &[u8] {
        self.part(self.frag.start..self.frag.patient)
    }
}

/// Claims and dollars accepted and rejected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Sums {
    accepted: u64,
    rejected: u64,
    accepted_cents: i64,
    rejected_cents: i64,
}

impl Sums {
    fn add(&mut self, c: &ClaimAck<'_>) {
        if c.rejected() {
            self.rejected += 1;
            self.rejected_cents = self.rejected_cents.saturating_add(c.cents);
        } else {
            self.accepted += 1;
            self.accepted_cents = self.accepted_cents.saturating_add(c.cents);
        }
    }

    fn total(&self) -> i64 {
        self.accepted_cents.saturating_add(self.rejected_cents)
    }
}

/// What the 277CA of an input holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts277 {
    /// Interchanges written.
    pub interchanges: u32,
    /// 277 transaction sets written.
    pub transactions: u32,
    /// Claims acknowledged as accepted.
    pub accepted: u64,
    /// Claims acknowledged as rejected.
    pub rejected: u64,
}

/// A group waiting in the spool for its interchange's end.
struct Spooled {
    /// Its place among the interchange's groups that were not rejected.
    ordinal: usize,
    header: GroupHeader,
    range: Range<u64>,
    sets: u32,
}

/// Writes the 277CA of one input.
pub struct Ack277Writer<'w> {
    out: &'w mut dyn Write,
    render: Render277,
    now: Timestamp,
    spool: Spool,
    scratch: SegBuf,
    groups: Vec<Spooled>,
    group_from: u64,
    group_sets: u32,
    groups_accepted: usize,
    /// Segments of the transaction set being written.
    segments: u32,
    /// Counts of what was spooled for the interchange being read.
    pending: Counts277,
    counts: Counts277,
}

impl<'w> Ack277Writer<'w> {
    /// A writer to `out`.
    pub fn new(out: &'w mut dyn Write, render: Render277, now: Timestamp) -> Self {
        let scratch = SegBuf::new(render.delimiters, render.eol, 4096);
        Ack277Writer {
            out,
            render,
            now,
            spool: Spool::default(),
            scratch,
            groups: Vec::new(),
            group_from: 0,
            group_sets: 0,
            groups_accepted: 0,
            segments: 0,
            pending: Counts277::default(),
            counts: Counts277::default(),
        }
    }

    /// Appends `segments` whole segments to the transaction set being spooled.
    fn put(&mut self, bytes: &[u8], segments: u32) -> io::Result<()> {
        self.segments += segments;
        self.spool.append(bytes)
    }

    /// Appends what the scratch writer holds.
    fn put_scratch(&mut self) -> io::Result<()> {
        self.segments += self.scratch.segments();
        let res = self.spool.append(self.scratch.bytes());
        self.scratch.clear();
        res
    }

    /// One accepted (or accepted with errors) 837 transaction set and its claims, in order.
    pub fn transaction(&mut self, header: &Header837, claims: &[ClaimAck<'_>]) -> io::Result<()> {
        if claims.is_empty() {
            return Ok(());
        }
        // Roll-ups first: the whole set, and each run of claims of one billing provider.
        let mut all = Sums::default();
        let mut sections: Vec<(Range<usize>, Sums)> = Vec::new();
        for (i, c) in claims.iter().enumerate() {
            all.add(c);
            match sections.last_mut() {
                Some((r, s)) if claims[r.start].provider() == c.provider() => {
                    r.end = i + 1;
                    s.add(c);
                }
                _ => {
                    let mut s = Sums::default();
                    s.add(c);
                    sections.push((i..i + 1, s));
                }
            }
        }
        let date = self.render.date.clone();
        let control = Num::padded(u64::from(self.group_sets) + 1, 4);
        let w = &mut self.scratch;
        self.segments = 0;
        w.seg(b"ST").el("277").el(control).el(VERSION_277).end();
        let bht03 = fit(header.bht03.as_bytes(), 1, 50);
        let bht03 = &*bht03;
        w.seg(b"BHT")
            .el("0085")
            .el("08")
            .el(bht03)
            .el(&date)
            .el(self.now.hhmm())
            .el("TH")
            .end();
        // 2000A: we, acting for the 837's receiver, are the information source.
        w.seg(b"HL").el("1").el("").el("20").el("1").end();
        w.seg(b"NM1")
            .el("AY")
            .el("2")
            .el(fit(header.receiver.name.as_bytes(), 1, 60))
            .el("")
            .el("")
            .el("")
            .el("")
            .el("46")
            .el(fit(header.receiver.id.as_bytes(), 2, 80))
            .end();
        w.seg(b"TRN").el("1").el(bht03).end();
        w.seg(b"DTP").el("050").el("D8").el(&date).end();
        w.seg(b"DTP").el("009").el("D8").el(&date).end();
        // 2000B: the submitter, with the roll-up of every claim of the set.
        w.seg(b"HL").el("2").el("1").el("21").el("1").end();
        let s = &header.submitter;
        w.seg(b"NM1")
            .el("41")
            .el(if s.person { "1" } else { "2" })
            .el(fit(s.name.as_bytes(), 1, 60))
            .el(fit(if s.person { s.first.as_bytes() } else { b"" }, 0, 35))
            .el(fit(if s.person { s.middle.as_bytes() } else { b"" }, 0, 25))
            .el("")
            .el("")
            .el("46")
            .el(fit(s.id.as_bytes(), 2, 80))
            .end();
        w.seg(b"TRN").el("2").el(bht03).end();
        write_stc::<&str>(
            w,
            "A1:19:AY",
            &date,
            "WQ",
            Some(Num::amount(all.total()).as_str()),
            &[],
            "",
        );
        roll_up(w, &all, ["90", "AA"]);
        self.put_scratch()?;
        let mut hl = 2u32;
        for (range, sums) in &sections {
            hl += 1;
            let provider_hl = hl;
            let first = &claims[range.start];
            self.scratch
                .seg(b"HL")
                .el(Num::uint(provider_hl.into()))
                .el("2")
                .el("19")
                .el("1")
                .end();
            self.put_scratch()?;
            self.put(first.provider(), Frag::PROVIDER_SEGMENTS)?;
            let w = &mut self.scratch;
            w.seg(b"TRN").el("1").el("0").end();
            write_stc::<&str>(
                w,
                "A1:19:AY",
                "",
                "WQ",
                Some(Num::amount(sums.total()).as_str()),
                &[],
                "",
            );
            roll_up(w, sums, ["QA", "QC"]);
            self.put_scratch()?;
            for c in &claims[range.clone()] {
                hl += 1;
                self.scratch
                    .seg(b"HL")
                    .el(Num::uint(hl.into()))
                    .el(Num::uint(provider_hl.into()))
                    .el("PT")
                    .end();
                self.put_scratch()?;
                self.put(c.part(c.frag.patient..c.frag.stc), Frag::PATIENT_SEGMENTS)?;
                let structural = rejecting(c.structural);
                self.reject_stcs(structural, "A3:684", &date, c.cents)?;
                // The edits' own STCs: their rejections always; their acceptance only when
                // nothing else rejects the claim.
                let later = rejecting(c.later);
                if c.edit_rejected || (structural.is_none() && later.is_none()) {
                    self.put(c.part(c.frag.stc..c.frag.tail), c.frag.stc_segments)?;
                }
                self.reject_stcs(later, "A3:21", &date, c.cents)?;
                self.put(c.part(c.frag.tail..c.frag.end), c.frag.tail_segments)?;
            }
        }
        let count = self.segments + 1;
        self.scratch
            .seg(b"SE")
            .el(Num::uint(count.into()))
            .el(control)
            .end();
        self.put_scratch()?;
        self.group_sets += 1;
        self.pending.transactions += 1;
        self.pending.accepted += all.accepted;
        self.pending.rejected += all.rejected;
        Ok(())
    }

    /// One rejecting STC per finding the stage added (structural or history), with `fallback`
    /// for a finding without a 277CA code of its own.
    fn reject_stcs(
        &mut self,
        findings: Option<&[Finding]>,
        fallback: &str,
        date: &str,
        cents: i64,
    ) -> io::Result<()> {
        let Some(findings) = findings else {
            return Ok(());
        };
        let charge = Num::amount(cents);
        for f in findings.iter().filter(|f| f.severity == Severity::Reject) {
            write_stc(
                &mut self.scratch,
                f.stc.as_deref().unwrap_or(fallback),
                date,
                "U",
                Some(charge.as_str()),
                &f.stc_extra,
                &finding_text(f),
            );
        }
        self.put_scratch()
    }

    /// A group ended; `accepted` is false when the 999 rejects it (its sets are dropped).
    pub fn group_end(&mut self, header: &GroupHeader, accepted: bool) -> io::Result<()> {
        let end = self.spool.len();
        if accepted {
            if self.group_sets > 0 {
                self.groups.push(Spooled {
                    ordinal: self.groups_accepted,
                    header: header.clone(),
                    range: self.group_from..end,
                    sets: self.group_sets,
                });
            }
            self.groups_accepted += 1;
        } else {
            self.spool.truncate(self.group_from)?;
        }
        self.group_from = self.spool.len();
        self.group_sets = 0;
        Ok(())
    }

    /// An interchange ended: when it was not rejected, its 277CA is written out with the
    /// control numbers reserved for it.
    pub fn interchange_end(
        &mut self,
        isa: &IsaHeader,
        accepted: bool,
        numbers: &Reserved277,
    ) -> io::Result<()> {
        let groups = std::mem::take(&mut self.groups);
        let pending = std::mem::take(&mut self.pending);
        let res = if accepted && !groups.is_empty() {
            self.write_interchange(isa, &groups, numbers).map(|()| {
                self.counts.interchanges += 1;
                self.counts.transactions += pending.transactions;
                self.counts.accepted += pending.accepted;
                self.counts.rejected += pending.rejected;
            })
        } else {
            Ok(())
        };
        self.spool.clear();
        self.group_from = 0;
        self.group_sets = 0;
        self.groups_accepted = 0;
        res
    }

    fn write_interchange(
        &mut self,
        isa: &IsaHeader,
        groups: &[Spooled],
        numbers: &Reserved277,
    ) -> io::Result<()> {
        let env = reply_envelope(isa, &self.now);
        let mut w = X12Writer::new(&mut *self.out, self.render.delimiters, self.render.eol);
        let control =
            w.begin_interchange(&env, &mut ControlNumbers::starting_at(numbers.interchange))?;
        let mut written = 0u32;
        for g in groups {
            let Some(&gs06) = numbers.groups.get(g.ordinal) else {
                continue;
            };
            w.segment("GS")
                .el("HN")
                .el(fit(g.header.receiver.as_bytes(), 2, 15))
                .el(fit(g.header.sender.as_bytes(), 2, 15))
                .el(&self.render.date)
                .el(self.now.hhmm())
                .el(Num::uint(gs06))
                .el("X")
                .el(VERSION_277)
                .end()?;
            self.spool.copy_to(g.range.clone(), w.get_mut())?;
            w.segment("GE")
                .el(Num::uint(g.sets.into()))
                .el(Num::uint(gs06))
                .end()?;
            written += 1;
        }
        w.segment("IEA")
            .el(Num::uint(written.into()))
            .el(Num::padded(control, 9))
            .end()?;
        w.get_mut().flush()
    }

    /// Drops what waits for an interchange end that never came; returns what was written.
    pub fn finish(mut self) -> io::Result<Counts277> {
        self.spool.clear();
        self.out.flush()?;
        Ok(self.counts)
    }
}

/// `findings` when any of them rejects (only those become STCs), else None.
fn rejecting(findings: &[Finding]) -> Option<&[Finding]> {
    findings
        .iter()
        .any(|f| f.severity == Severity::Reject)
        .then_some(findings)
}

/// QTY and AMT roll-ups: counts and amounts accepted and rejected, each only when its count
/// is not zero.
fn roll_up(w: &mut SegBuf, s: &Sums, qty: [&str; 2]) {
    if s.accepted > 0 {
        w.seg(b"QTY").el(qty[0]).el(Num::uint(s.accepted)).end();
    }
    if s.rejected > 0 {
        w.seg(b"QTY").el(qty[1]).el(Num::uint(s.rejected)).end();
    }
    if s.accepted > 0 {
        w.seg(b"AMT")
            .el("YU")
            .el(Num::amount(s.accepted_cents))
            .end();
    }
    if s.rejected > 0 {
        w.seg(b"AMT")
            .el("YY")
            .el(Num::amount(s.rejected_cents))
            .end();
    }
}
