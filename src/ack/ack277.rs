//! The 277CA claim acknowledgment (005010X214) of one input, put together in input order from
//! the claim fragments the edit workers wrote: one 277 per accepted 837 transaction set, one
//! group per accepted 837 group, one interchange per accepted 837 interchange. An interchange's
//! 277CA goes straight to the output behind an envelope of the right widths whose control
//! numbers (reserved only at the IEA) are patched in at the IEA; a group or interchange
//! rejected at its trailer, or whose IEA never comes, is cut off the output again.

use std::io::{self, Write};
use std::ops::Range;

use super::claim277::{finding_text, fit, write_stc, Frag, Render277};
use super::num::Num;
use super::rewrite::Rewrite;
use super::seg::SegBuf;
use super::spool::Spool;
use super::{reply_envelope, Reserved277};
use crate::clock::Timestamp;
use crate::edit::finding::{Finding, Severity};
use crate::x12::{ControlNumbers, GroupHeader, InterchangeEnvelope, IsaHeader, X12Writer};

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
    /// GS02 and GS03 of the 837 group the set is in (the 277CA's GS03 and GS02 are the
    /// group header's at its GE; these only size the GS written before it).
    pub group: (String, String),
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

/// A group of the open interchange, written with a GS and GE whose GS06 is a guess.
struct Written {
    /// Its place among the interchange's groups that were not rejected.
    ordinal: usize,
    header: GroupHeader,
    /// Where its GS is, as written.
    gs: Range<u64>,
    /// Its transaction sets.
    sets: Range<u64>,
    /// Where its GE is, as written.
    ge: Range<u64>,
    /// Its transaction sets' count.
    count: u32,
}

/// The group whose sets are being written: where its GS is and the GS06 it holds.
struct OpenGroup {
    gs: Range<u64>,
    gs06: u64,
}

/// Writes the 277CA of one input.
pub struct Ack277Writer<'w> {
    out: &'w mut dyn Rewrite,
    render: Render277,
    now: Timestamp,
    scratch: SegBuf,
    /// Where the open interchange's ISA is (written when its first set is).
    isa: Option<Range<u64>>,
    /// Its groups written.
    groups: Vec<Written>,
    group: Option<OpenGroup>,
    group_sets: u32,
    /// The GS06 the next interchange's first group is likely to get, less one for each of
    /// its groups (the 999 takes as many first).
    next_gs06: u64,
    /// Always write the envelope afresh at the IEA (tests: the patched envelope is the same).
    #[cfg(test)]
    rewrite_always: bool,
    groups_accepted: usize,
    /// Segments of the transaction set being written.
    segments: u32,
    /// Counts of what was spooled for the interchange being read.
    pending: Counts277,
    counts: Counts277,
    /// The transaction set being written in parts.
    open: OpenSet,
    /// Its 2000D loops (and 2220D), in order.
    body: Spool,
    /// Its 2000C loops, each written when its run of claims ends.
    heads: Spool,
}

/// The billing provider whose run of claims is open.
struct OpenProvider {
    /// Its 2100C NM1*85.
    nm1: Vec<u8>,
    /// Its HL01.
    hl: u32,
    sums: Sums,
    /// Where its claims start in the body spool.
    body: u64,
}

/// A transaction set whose 277 is being written in parts.
#[derive(Default)]
struct OpenSet {
    /// The whole set's roll-up.
    all: Sums,
    /// The last HL01 given.
    hl: u32,
    provider: Option<OpenProvider>,
    /// Each billing provider's 2000C in the heads spool and its claims in the body spool.
    sections: Vec<(Range<u64>, Range<u64>)>,
    /// Segments in both spools.
    segments: u32,
}

/// Appends to a spool as a writer (the interchange's sets, when its envelope is rewritten).
struct SpoolOut<'a>(&'a mut Spool);

impl Write for SpoolOut<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.append(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'w> Ack277Writer<'w> {
    /// A writer to `out`.
    /// `numbers` are the run's control numbers as they stand: the envelope written before the
    /// IEA guesses its GS06 from them (a wrong guess costs a rewrite of the interchange, never
    /// a wrong byte).
    pub fn new(
        out: &'w mut dyn Rewrite,
        render: Render277,
        now: Timestamp,
        numbers: &ControlNumbers,
    ) -> Self {
        let scratch = SegBuf::new(render.delimiters, render.eol, 4096);
        Ack277Writer {
            out,
            render,
            now,
            scratch,
            isa: None,
            groups: Vec::new(),
            group: None,
            group_sets: 0,
            next_gs06: numbers.clone().take_group(),
            #[cfg(test)]
            rewrite_always: false,
            groups_accepted: 0,
            segments: 0,
            pending: Counts277::default(),
            counts: Counts277::default(),
            open: OpenSet {
                hl: 2,
                ..OpenSet::default()
            },
            body: Spool::default(),
            heads: Spool::default(),
        }
    }

    /// Writes what the scratch writer holds.
    fn put_scratch(&mut self) -> io::Result<()> {
        self.segments += self.scratch.segments();
        let res = self.out.write_all(self.scratch.bytes());
        self.scratch.clear();
        res
    }

    /// One accepted (or accepted with errors) 837 transaction set and its claims, in order:
    /// [`Ack277Writer::part`] then [`Ack277Writer::close`].
    pub fn transaction(&mut self, header: &Header837, claims: &[ClaimAck<'_>]) -> io::Result<()> {
        self.part(claims)?;
        self.close(header)
    }

    /// Claims of the open transaction set, in input order (the set's first part opens it).
    /// Their 2000D loops go to the body spool now; each billing provider's 2000C (whose
    /// roll-up needs all of its claims) when its run of claims ends. So a set of any size
    /// needs only its claims' counts in memory.
    pub fn part(&mut self, claims: &[ClaimAck<'_>]) -> io::Result<()> {
        let date = self.render.date.clone();
        for c in claims {
            self.open.all.add(c);
            let same = self
                .open
                .provider
                .as_ref()
                .is_some_and(|p| p.nm1 == c.provider());
            if !same {
                self.end_provider()?;
                self.open.hl += 1;
                self.open.provider = Some(OpenProvider {
                    nm1: c.provider().to_vec(),
                    hl: self.open.hl,
                    sums: Sums::default(),
                    body: self.body.len(),
                });
            }
            let provider_hl = match self.open.provider.as_mut() {
                Some(p) => {
                    p.sums.add(c);
                    p.hl
                }
                None => 0,
            };
            self.open.hl += 1;
            self.scratch
                .seg(b"HL")
                .el(Num::uint(self.open.hl.into()))
                .el(Num::uint(provider_hl.into()))
                .el("PT")
                .end();
            let structural = rejecting(c.structural);
            let later = rejecting(c.later);
            if structural.is_none() && later.is_none() {
                // Nothing added: the fragment's patient, STC and tail parts as they are.
                let f = c.frag;
                let segments = Frag::PATIENT_SEGMENTS + f.stc_segments + f.tail_segments;
                self.body_raw(c.part(f.patient..f.end), segments)?;
                continue;
            }
            self.body_raw(c.part(c.frag.patient..c.frag.stc), Frag::PATIENT_SEGMENTS)?;
            self.reject_stcs(structural, "A3:684", &date, c.cents);
            // The edits' own STCs: their rejections always; their acceptance only when
            // nothing else rejects the claim.
            if c.edit_rejected || (structural.is_none() && later.is_none()) {
                self.body_raw(c.part(c.frag.stc..c.frag.tail), c.frag.stc_segments)?;
            }
            self.reject_stcs(later, "A3:21", &date, c.cents);
            self.body_raw(c.part(c.frag.tail..c.frag.end), c.frag.tail_segments)?;
        }
        Ok(())
    }

    /// Appends what the scratch writer holds, then `segments` whole segments `bytes`, to the
    /// body spool.
    fn body_raw(&mut self, bytes: &[u8], segments: u32) -> io::Result<()> {
        self.open.segments += move_segments(&mut self.scratch, &mut self.body)? + segments;
        self.body.append(bytes)
    }

    /// The run of claims of one billing provider ended: its 2000C, with the run's roll-up,
    /// goes to the heads spool.
    fn end_provider(&mut self) -> io::Result<()> {
        let Some(p) = self.open.provider.take() else {
            return Ok(());
        };
        let head_from = self.heads.len();
        self.scratch
            .seg(b"HL")
            .el(Num::uint(p.hl.into()))
            .el("2")
            .el("19")
            .el("1")
            .end();
        self.open.segments +=
            move_segments(&mut self.scratch, &mut self.heads)? + Frag::PROVIDER_SEGMENTS;
        self.heads.append(&p.nm1)?;
        let w = &mut self.scratch;
        w.seg(b"TRN").el("1").el("0").end();
        write_stc::<&str>(
            w,
            "A1:19:AY",
            "",
            "WQ",
            Some(Num::amount(p.sums.total()).as_str()),
            &[],
            "",
        );
        roll_up(w, &p.sums, ["QA", "QC"]);
        self.open.segments += move_segments(&mut self.scratch, &mut self.heads)?;
        self.open
            .sections
            .push((head_from..self.heads.len(), p.body..self.body.len()));
        Ok(())
    }

    /// The open transaction set ended accepted: its 277 goes to the interchange's spool,
    /// the header and 2000B roll-up first, then each 2000C with its claims. A set without
    /// claims writes nothing.
    pub fn close(&mut self, header: &Header837) -> io::Result<()> {
        let res = self.end_provider().and_then(|()| self.write_set(header));
        self.abandon();
        res
    }

    /// The open transaction set was rejected after all: what its parts wrote is dropped.
    pub fn abandon(&mut self) {
        // HL 1 and 2 are the 2000A and 2000B.
        self.open = OpenSet {
            hl: 2,
            ..OpenSet::default()
        };
        self.scratch.clear();
        self.body.clear();
        self.heads.clear();
    }

    fn write_set(&mut self, header: &Header837) -> io::Result<()> {
        if self.open.sections.is_empty() {
            return Ok(());
        }
        self.open_envelope(header)?;
        let all = self.open.all;
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
        let sections = std::mem::take(&mut self.open.sections);
        for (head, body) in sections {
            self.heads.copy_to(head, &mut self.out)?;
            self.body.copy_to(body, &mut self.out)?;
        }
        self.segments += self.open.segments;
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
    /// for a finding without a 277CA code of its own, in the scratch writer.
    fn reject_stcs(
        &mut self,
        findings: Option<&[Finding]>,
        fallback: &str,
        date: &str,
        cents: i64,
    ) {
        let Some(findings) = findings else {
            return;
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
    }

    /// Before a set's first byte: the interchange's ISA and the group's GS, when not written
    /// yet, of the widths they will have (the ISA's are fixed; the GS06 is a guess).
    fn open_envelope(&mut self, header: &Header837) -> io::Result<()> {
        if self.isa.is_none() {
            let at = self.out.written();
            let placeholder = InterchangeEnvelope {
                sender: (String::new(), String::new()),
                receiver: (String::new(), String::new()),
                date: String::new(),
                time: String::new(),
                usage: String::new(),
            };
            let isa = self.isa_line(&placeholder, 1)?;
            self.out.write_all(&isa)?;
            self.isa = Some(at..self.out.written());
        }
        if self.group.is_none() {
            // The 999 numbers its groups first: as many as were written before, and this one.
            let ahead = 2 * self.groups.len() as u64 + 1;
            let gs06 = self.next_gs06.saturating_add(ahead);
            let at = self.out.written();
            let (sender, receiver) = &header.group;
            let gs = self.gs_line(receiver, sender, gs06)?;
            self.out.write_all(&gs)?;
            self.group = Some(OpenGroup {
                gs: at..self.out.written(),
                gs06,
            });
        }
        Ok(())
    }

    /// A group ended; `accepted` is false when the 999 rejects it (its sets are dropped).
    pub fn group_end(&mut self, header: &GroupHeader, accepted: bool) -> io::Result<()> {
        let group = self.group.take();
        let sets = std::mem::take(&mut self.group_sets);
        let ordinal = self.groups_accepted;
        if accepted {
            self.groups_accepted += 1;
        }
        let Some(g) = group else {
            return Ok(());
        };
        if !accepted || sets == 0 {
            return self.out.cut(g.gs.start);
        }
        let from = self.out.written();
        let ge = self.ge_line(sets, g.gs06)?;
        self.out.write_all(&ge)?;
        self.groups.push(Written {
            ordinal,
            header: header.clone(),
            sets: g.gs.end..from,
            gs: g.gs,
            ge: from..self.out.written(),
            count: sets,
        });
        Ok(())
    }

    /// An interchange ended: when it was not rejected, its 277CA is completed with the
    /// control numbers reserved for it; else what it wrote is cut off.
    pub fn interchange_end(
        &mut self,
        isa: &IsaHeader,
        accepted: bool,
        numbers: &Reserved277,
    ) -> io::Result<()> {
        let groups = std::mem::take(&mut self.groups);
        let pending = std::mem::take(&mut self.pending);
        let start = self.isa.take();
        if let Some(last) = numbers.groups.last() {
            self.next_gs06 = last.saturating_add(1);
        }
        // A group that never ended has no place in the 277CA.
        let open = self.group.take().map(|g| g.gs.start);
        self.group_sets = 0;
        self.groups_accepted = 0;
        match start {
            Some(start) if accepted && !groups.is_empty() => open
                .map_or(Ok(()), |at| self.out.cut(at))
                .and_then(|()| self.end_interchange(isa, start, &groups, numbers))
                .and_then(|()| self.out.flush())
                .map(|()| {
                    self.counts.interchanges += 1;
                    self.counts.transactions += pending.transactions;
                    self.counts.accepted += pending.accepted;
                    self.counts.rejected += pending.rejected;
                }),
            Some(start) => self.out.cut(start.start),
            None => Ok(()),
        }
    }

    /// Writes the IEA and patches the real ISA, GS and GE segments over the ones written,
    /// when their widths are the same; else writes the interchange afresh.
    fn end_interchange(
        &mut self,
        isa: &IsaHeader,
        start: Range<u64>,
        groups: &[Written],
        numbers: &Reserved277,
    ) -> io::Result<()> {
        let env = reply_envelope(isa, &self.now);
        let control = ControlNumbers::starting_at(numbers.interchange).take_interchange();
        let isa_line = self.isa_line(&env, control)?;
        let mut same = isa_line.len() as u64 == start.end - start.start;
        let mut lines = Vec::with_capacity(groups.len());
        for g in groups {
            let Some(&gs06) = numbers.groups.get(g.ordinal) else {
                same = false;
                continue;
            };
            let gs = self.gs_line(&g.header.receiver, &g.header.sender, gs06)?;
            let ge = self.ge_line(g.count, gs06)?;
            same &= gs.len() as u64 == g.gs.end - g.gs.start
                && ge.len() as u64 == g.ge.end - g.ge.start;
            lines.push((g, gs, ge));
        }
        #[cfg(test)]
        {
            same &= !self.rewrite_always;
        }
        let iea = self.iea_line(lines.len(), control)?;
        if same {
            self.out.write_all(&iea)?;
            self.out.patch(start.start, &isa_line)?;
            for (g, gs, ge) in &lines {
                self.out.patch(g.gs.start, gs)?;
                self.out.patch(g.ge.start, ge)?;
            }
            return Ok(());
        }
        // Widths differ (a GS06 with more or fewer digits than guessed): the sets are moved
        // aside and the interchange written again behind its real envelope.
        let mut aside = Spool::default();
        let mut kept = Vec::with_capacity(lines.len());
        for (g, gs, ge) in lines {
            let from = aside.len();
            self.out
                .copy_out(g.sets.clone(), &mut SpoolOut(&mut aside))?;
            kept.push((from..aside.len(), gs, ge));
        }
        self.out.cut(start.start)?;
        self.out.write_all(&isa_line)?;
        for (sets, gs, ge) in kept {
            self.out.write_all(&gs)?;
            aside.copy_to(sets, &mut self.out)?;
            self.out.write_all(&ge)?;
        }
        self.out.write_all(&iea)
    }

    /// A line of the interchange's envelope, written as [`X12Writer`] writes it.
    fn line(
        &self,
        write: impl FnOnce(&mut X12Writer<Vec<u8>>) -> io::Result<()>,
    ) -> io::Result<Vec<u8>> {
        let mut w = X12Writer::new(Vec::new(), self.render.delimiters, self.render.eol);
        write(&mut w)?;
        w.into_inner()
    }

    fn isa_line(&self, env: &InterchangeEnvelope, control: u64) -> io::Result<Vec<u8>> {
        self.line(|w| {
            w.begin_interchange(env, &mut ControlNumbers::starting_at(control))
                .map(drop)
        })
    }

    fn gs_line(&self, receiver: &str, sender: &str, gs06: u64) -> io::Result<Vec<u8>> {
        self.line(|w| {
            w.segment("GS")
                .el("HN")
                .el(fit(receiver.as_bytes(), 2, 15))
                .el(fit(sender.as_bytes(), 2, 15))
                .el(&self.render.date)
                .el(self.now.hhmm())
                .el(Num::uint(gs06))
                .el("X")
                .el(VERSION_277)
                .end()
        })
    }

    fn ge_line(&self, sets: u32, gs06: u64) -> io::Result<Vec<u8>> {
        self.line(|w| {
            w.segment("GE")
                .el(Num::uint(sets.into()))
                .el(Num::uint(gs06))
                .end()
        })
    }

    fn iea_line(&self, groups: usize, control: u64) -> io::Result<Vec<u8>> {
        self.line(|w| {
            w.segment("IEA")
                .el(Num::uint(groups as u64))
                .el(Num::padded(control, 9))
                .end()
        })
    }

    /// Cuts off what waits for an interchange end that never came; returns what was written.
    pub fn finish(mut self) -> io::Result<Counts277> {
        if let Some(start) = self.isa.take() {
            self.out.cut(start.start)?;
        }
        self.out.flush()?;
        Ok(self.counts)
    }
}

/// Moves the segments `scratch` holds to the end of `to`; returns how many they were.
fn move_segments(scratch: &mut SegBuf, to: &mut Spool) -> io::Result<u32> {
    let n = scratch.segments();
    let res = to.append(scratch.bytes());
    scratch.clear();
    res.map(|()| n)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::Delimiters;
    use proptest::prelude::*;

    fn writer(out: &mut dyn Rewrite) -> Ack277Writer<'_> {
        writer_from(out, &ControlNumbers::starting_at(1))
    }

    fn writer_from<'a>(out: &'a mut dyn Rewrite, numbers: &ControlNumbers) -> Ack277Writer<'a> {
        let render = Render277 {
            delimiters: Delimiters::STANDARD,
            eol: b"\n",
            date: "20261127".into(),
        };
        let now = Timestamp::parse_rfc3339("2026-11-27T12:00:00Z").unwrap();
        Ack277Writer::new(out, render, now, numbers)
    }

    /// One claim's fragment in the layout the workers write: billing provider, patient, STC,
    /// tail.
    fn fragment(provider: u8, i: usize, buf: &mut Vec<u8>) -> Frag {
        let start = buf.len();
        buf.extend_from_slice(
            format!("NM1*85*2*PROVIDER {provider}*****XX*1234567893~\n").as_bytes(),
        );
        let patient = buf.len();
        buf.extend_from_slice(format!("NM1*QC*1*DOE*JANE~\nTRN*2*CLAIM{i}~\n").as_bytes());
        let stc = buf.len();
        buf.extend_from_slice(b"STC*A2:20*20261127*WQ*100~\n");
        let tail = buf.len();
        buf.extend_from_slice(format!("REF*D9*T{i}~\n").as_bytes());
        Frag {
            start,
            patient,
            stc,
            tail,
            end: buf.len(),
            stc_segments: 1,
            tail_segments: 1,
        }
    }

    fn reject() -> Finding {
        Finding {
            edit: Arc::from("E-43"),
            severity: Severity::Reject,
            stc: Some(Arc::from("A3:684")),
            stc_extra: Vec::new(),
            line: None,
            message: "a guide error".into(),
            segment: 7,
            byte: 70,
            ack: None,
            rule: None,
        }
    }

    /// What the writer has written.
    fn spooled(w: &mut Ack277Writer<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        let len = w.out.written();
        w.out.copy_out(0..len, &mut out).unwrap();
        out
    }

    /// What happens to a 277CA writer, in input order.
    #[derive(Clone, Debug)]
    enum Event {
        /// A transaction set of `claims` claims (of `providers` billing providers), rejected
        /// at its SE or not; `lie` when the GS the pipeline saw is not the group's at its GE.
        Set {
            claims: usize,
            providers: u8,
            rejected: bool,
            lie: bool,
        },
        Group(bool),
        Interchange(bool),
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            4 => (1usize..6, 1u8..3, proptest::bool::weighted(0.2), proptest::bool::weighted(0.1))
                .prop_map(|(claims, providers, rejected, lie)| Event::Set { claims, providers, rejected, lie }),
            2 => proptest::bool::weighted(0.8).prop_map(Event::Group),
            1 => proptest::bool::weighted(0.8).prop_map(Event::Interchange),
        ]
    }

    /// The sender of group `g` (of different widths).
    fn group_sender(g: usize) -> String {
        "S".repeat(2 + g % 5)
    }

    /// Feeds `events` to a writer to `out` whose numbers start at `first`, numbering as the
    /// reading thread does (the 999's first, then the 277CA's at each IEA).
    fn run(events: &[Event], first: u64, out: &mut dyn Rewrite, always: bool) -> Counts277 {
        let mut numbers = ControlNumbers::starting_at(first);
        let mut w = writer_from(out, &numbers);
        w.rewrite_always = always;
        let isa = crate::x12::isa::parse_isa(
            b"ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *261127*1200*^*00501*000000001*0*T*:~",
            true,
        )
        .unwrap();
        let mut buf = Vec::new();
        let (mut groups, mut groups_ok, mut claim) = (0usize, 0usize, 0usize);
        for e in events {
            match e {
                Event::Set {
                    claims,
                    providers,
                    rejected,
                    lie,
                } => {
                    let frags: Vec<Frag> = (0..*claims)
                        .map(|i| fragment((i % usize::from(*providers)) as u8, claim + i, &mut buf))
                        .collect();
                    claim += claims;
                    let acks: Vec<ClaimAck<'_>> = frags
                        .iter()
                        .enumerate()
                        .map(|(i, f)| ClaimAck {
                            bytes: &buf,
                            frag: *f,
                            edit_rejected: i % 3 == 1,
                            cents: 100 * i as i64,
                            structural: &[],
                            later: &[],
                        })
                        .collect();
                    let sender = group_sender(groups + usize::from(*lie));
                    let header = Header837 {
                        bht03: format!("B{claim}"),
                        group: (sender, "RECEIVER".into()),
                        ..Header837::default()
                    };
                    w.part(&acks).unwrap();
                    if *rejected {
                        w.abandon();
                    } else {
                        w.close(&header).unwrap();
                    }
                }
                Event::Group(accepted) => {
                    let header = GroupHeader {
                        sender: group_sender(groups),
                        receiver: "RECEIVER".into(),
                        ..GroupHeader::default()
                    };
                    w.group_end(&header, *accepted).unwrap();
                    groups += 1;
                    groups_ok += usize::from(*accepted);
                }
                Event::Interchange(accepted) => {
                    numbers.take_interchange();
                    for _ in 0..groups_ok {
                        numbers.take_group();
                    }
                    let reserved = if *accepted && groups_ok > 0 {
                        Reserved277 {
                            interchange: numbers.take_interchange(),
                            groups: (0..groups_ok).map(|_| numbers.take_group()).collect(),
                        }
                    } else {
                        Reserved277::default()
                    };
                    w.interchange_end(&isa, *accepted, &reserved).unwrap();
                    groups_ok = 0;
                }
            }
        }
        w.finish().unwrap()
    }

    use std::sync::Arc;

    proptest! {
        /// A set written in parts, whatever the cuts (and after a set abandoned half way),
        /// spools the same bytes as the set written at once.
        #[test]
        fn a_set_written_in_parts_is_the_set_written_at_once(
            claims in proptest::collection::vec((0u8..3, any::<bool>(), 0i64..100_000, any::<bool>()), 1..40),
            cuts in proptest::collection::vec(0usize..40, 0..5),
        ) {
            let mut buf = Vec::new();
            let frags: Vec<Frag> = (0..claims.len())
                .map(|i| fragment(claims[i].0, i, &mut buf))
                .collect();
            let bad = [reject()];
            let acks: Vec<ClaimAck<'_>> = claims
                .iter()
                .zip(&frags)
                .map(|(c, f)| ClaimAck {
                    bytes: &buf,
                    frag: *f,
                    edit_rejected: c.1,
                    cents: c.2,
                    structural: if c.3 { &bad[..] } else { &[] },
                    later: &[],
                })
                .collect();
            let header = Header837 { bht03: "B1".into(), ..Header837::default() };
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let mut once = writer(&mut a);
            once.transaction(&header, &acks).unwrap();
            let once = spooled(&mut once);
            let mut parts = writer(&mut b);
            parts.part(&acks[..acks.len() / 2]).unwrap();
            parts.abandon();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(acks.len())).collect();
            cuts.sort_unstable();
            let mut from = 0;
            for c in cuts.into_iter().chain([acks.len()]) {
                parts.part(&acks[from..c]).unwrap();
                from = c;
            }
            parts.close(&header).unwrap();
            let parts = spooled(&mut parts);
            prop_assert_eq!(String::from_utf8_lossy(&parts), String::from_utf8_lossy(&once));
        }

        /// The envelope patched in place at each IEA gives the bytes of the interchange written
        /// afresh behind its envelope (as when it was spooled to its IEA), to a Vec and to a
        /// file alike, whatever the groups and interchanges rejected, the GS06 widths (numbers
        /// near a power of ten) and the GS the pipeline saw; an interchange whose IEA never
        /// comes leaves nothing.
        #[test]
        fn the_patched_envelope_is_the_envelope_written_afresh(
            events in proptest::collection::vec(event(), 0..30),
            first in prop_oneof![1u64..4, 5u64..12, 95u64..102, Just(999_999_990u64)],
        ) {
            let (mut patched, mut fresh) = (Vec::new(), Vec::new());
            let counts = run(&events, first, &mut patched, false);
            let fresh_counts = run(&events, first, &mut fresh, true);
            prop_assert_eq!(String::from_utf8_lossy(&patched), String::from_utf8_lossy(&fresh));
            prop_assert_eq!(counts, fresh_counts);

            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("277");
            let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
            let mut f = io::BufWriter::with_capacity(64, crate::writeback::WritebackFile::new(file));
            run(&events, first, &mut f, false);
            f.flush().unwrap();
            drop(f);
            prop_assert_eq!(std::fs::read(&path).unwrap(), patched.clone());

            // Without its IEA, the last interchange is not there.
            let ended = events.iter().rposition(|e| matches!(e, Event::Interchange(_))).map_or(0, |i| i + 1);
            let mut head = Vec::new();
            run(&events[..ended], first, &mut head, false);
            prop_assert_eq!(head, patched.clone());
            // One ISA and one IEA for each interchange written.
            if counts.interchanges > 0 {
                prop_assert_eq!(patched.windows(4).filter(|w| w == b"ISA*").count() as u32, counts.interchanges);
                prop_assert_eq!(patched.windows(4).filter(|w| w == b"IEA*").count() as u32, counts.interchanges);
            } else {
                prop_assert!(patched.is_empty());
            }
        }
    }
}
