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
    out: &'w mut (dyn Write + Send),
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

/// Appends to a spool as a writer.
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
    pub fn new(out: &'w mut (dyn Write + Send), render: Render277, now: Timestamp) -> Self {
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
            open: OpenSet {
                hl: 2,
                ..OpenSet::default()
            },
            body: Spool::default(),
            heads: Spool::default(),
        }
    }

    /// Appends what the scratch writer holds.
    fn put_scratch(&mut self) -> io::Result<()> {
        self.segments += move_segments(&mut self.scratch, &mut self.spool)?;
        Ok(())
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
            self.heads.copy_to(head, &mut SpoolOut(&mut self.spool))?;
            self.body.copy_to(body, &mut SpoolOut(&mut self.spool))?;
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

    fn writer(out: &mut Vec<u8>) -> Ack277Writer<'_> {
        let render = Render277 {
            delimiters: Delimiters::STANDARD,
            eol: b"\n",
            date: "20261127".into(),
        };
        let now = Timestamp::parse_rfc3339("2026-11-27T12:00:00Z").unwrap();
        Ack277Writer::new(out, render, now)
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

    /// What the interchange's spool holds.
    fn spooled(w: &mut Ack277Writer<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        let len = w.spool.len();
        w.spool.copy_to(0..len, &mut out).unwrap();
        out
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
    }
}
