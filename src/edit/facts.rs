//! The facts edits read from one claim, gathered in one pass over its segments and context:
//! codes, modifiers, units, dates, diagnoses and pointers, references, providers, and where
//! each sits in the input.

use super::codes::{CodeIndex, CodeSet, Sets};
use super::fields::{parse_u32, part, Elems};
use crate::claim::batch::ContextRec;
use crate::claim::view::{non_empty, ContextNm1s, DIAGNOSIS_QUALIFIERS};
use crate::claim::{ClaimBatch, ClaimRec, Date, DateRange, Kind, Money};
use crate::x12::segment::Split;
use crate::x12::{Delimiters, Position};

/// Where a segment is: its 1-based ordinal and byte offset in the input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Loc {
    /// Segment ordinal in the input.
    pub segment: u64,
    /// Byte offset.
    pub byte: u64,
}

impl From<&Position> for Loc {
    fn from(p: &Position) -> Self {
        Loc {
            segment: p.segment,
            byte: p.byte,
        }
    }
}

/// One diagnosis of the claim's HI segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dx<'b> {
    /// Qualifier (`ABK` principal, `ABF` other, …).
    pub qualifier: &'b [u8],
    /// The code, as sent (no decimal point).
    pub code: &'b [u8],
    /// The rule set's code sets it is in (see [`Facts::index_codes`]).
    pub sets: Sets,
}

/// Up to `N` items inline (no allocation), e.g. a line's four modifiers.
#[derive(Clone, Copy, Debug)]
pub struct Few<T: Copy + Default, const N: usize> {
    items: [T; N],
    len: u8,
}

impl<T: Copy + Default, const N: usize> Default for Few<T, N> {
    fn default() -> Self {
        Few {
            items: [T::default(); N],
            len: 0,
        }
    }
}

impl<T: Copy + Default, const N: usize> Few<T, N> {
    /// Adds an item; one past the capacity is dropped.
    pub fn push(&mut self, x: T) {
        if let Some(slot) = self.items.get_mut(self.len as usize) {
            *slot = x;
            self.len += 1;
        }
    }
}

impl<T: Copy + Default, const N: usize> Few<T, N> {
    /// Items it holds at most.
    pub const fn capacity(&self) -> usize {
        N
    }
}

impl<T: Copy + Default, const N: usize> std::ops::Deref for Few<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items[..self.len as usize]
    }
}

/// One service line.
#[derive(Clone, Debug, Default)]
pub struct Line<'b> {
    /// LX01 (or the line's ordinal when LX01 is unreadable).
    pub number: u32,
    /// Product/service id qualifier (SV101-1 / SV202-1, `HC`).
    pub qualifier: &'b [u8],
    /// Procedure code (SV101-2 / SV202-2).
    pub code: &'b [u8],
    /// SV201 revenue code (837I).
    pub revenue: &'b [u8],
    /// REF*6R line item control number.
    pub control: Option<&'b [u8]>,
    /// Modifiers, in order (at most four).
    pub modifiers: Few<&'b [u8], 4>,
    /// Units (in hundredths).
    pub units: Option<Money>,
    /// Line charge.
    pub charge: Option<Money>,
    /// SV105 (837P).
    pub place: Option<&'b [u8]>,
    /// SV107 pointers as sent (0 for one that is not a number; at most four).
    pub pointers: Few<u32, 4>,
    /// DTP*472.
    pub dates: Option<DateRange>,
    /// REF*G1 at the line.
    pub prior_auth: Option<&'b [u8]>,
    /// Line rendering provider NPI (2420A / 2420C NM1*82 NM109), and where.
    pub rendering: Option<(&'b [u8], Loc)>,
    /// Where its SV1/SV2 is (its LX when there is none).
    pub loc: Loc,
    /// The rule set's code sets its code is in (see [`Facts::index_codes`]).
    pub code_sets: Sets,
    /// The code sets any of its modifiers is in.
    pub modifier_sets: Sets,
}

impl Line<'_> {
    /// Whether it carries a modifier.
    pub fn has_modifier(&self, m: &[u8]) -> bool {
        self.modifiers.contains(&m)
    }

    /// Whether its code is in `set`.
    #[inline]
    pub fn code_in(&self, set: &CodeSet) -> bool {
        set.has(self.code, self.code_sets)
    }

    /// Whether any of its modifiers is in `set`.
    #[inline]
    pub fn modifier_in(&self, set: &CodeSet) -> bool {
        set.has_any(&self.modifiers, self.modifier_sets)
    }
}

impl Dx<'_> {
    /// Whether its code is in `set`.
    #[inline]
    pub fn code_in(&self, set: &CodeSet) -> bool {
        set.has(self.code, self.sets)
    }
}

/// Everything the edits read about one claim.
#[derive(Clone, Debug, Default)]
pub struct Facts<'b> {
    /// 837P or 837I.
    pub kind: Option<Kind>,
    /// CLM01.
    pub id: &'b [u8],
    /// Where the CLM is.
    pub clm: Loc,
    /// CLM02.
    pub charge: Option<Money>,
    /// CLM05-1.
    pub facility_code: &'b [u8],
    /// CLM05-3.
    pub frequency: &'b [u8],
    /// Claim-level REF segments: qualifier, value, where.
    pub refs: Vec<(&'b [u8], &'b [u8], Loc)>,
    /// Diagnoses in order.
    pub diagnoses: Vec<Dx<'b>>,
    /// Where the first HI is.
    pub hi: Option<Loc>,
    /// DTP*434 statement period (837I).
    pub statement: Option<DateRange>,
    /// Billing provider NM102 (`1` person, `2` organization).
    pub billing_entity_type: &'b [u8],
    /// Billing provider NPI and where.
    pub billing_npi: Option<(&'b [u8], Loc)>,
    /// Claim-level rendering provider NPI (2310B / 2310D NM1*82) and where.
    pub rendering: Option<(&'b [u8], Loc)>,
    /// Subscriber member id (2010BA NM109) and where its NM1 is.
    pub member_id: Option<&'b [u8]>,
    /// Where NM1*IL is.
    pub subscriber_loc: Option<Loc>,
    /// The patient's DMG02 and DMG03 (2010CA when there is a patient loop, else 2010BA) and where.
    pub patient_dmg: Option<(&'b [u8], &'b [u8], Loc)>,
    /// 2010BB NM109.
    pub payer_id: &'b [u8],
    /// 2010BB NM103.
    pub payer_name: &'b [u8],
    /// SBR09.
    pub claim_filing: &'b [u8],
    /// Where NM1*PR is.
    pub payer_loc: Option<Loc>,
    /// Service lines.
    pub lines: Vec<Line<'b>>,
    /// BHT04.
    pub created: Option<Date>,
    /// Where the first context NM1s of the billing provider, subscriber and patient are.
    pub context_nm1s: ContextNm1s,
    /// The billing provider read last.
    pub(crate) billing: BillingCache<'b>,
    /// The code sets any line's code is in (see [`Facts::index_codes`]).
    pub line_code_sets: Sets,
}

/// The billing provider's facts, kept while consecutive claims share its segments.
#[derive(Clone, Debug, Default)]
pub(crate) struct BillingCache<'b> {
    /// The batch and the number of segments they were read from.
    key: Option<(usize, usize)>,
    /// Where in the batch those segments start (a batch holds a billing provider once while
    /// consecutive subscribers share it, but copies it again when it comes back after another).
    start: u32,
    entity_type: &'b [u8],
    npi: Option<(&'b [u8], Loc)>,
    nm1s: ContextNm1s,
    /// Where its NM1s are, from `start` (`None` past four: a copy is then scanned whole).
    nm1_at: Option<Few<u32, 4>>,
}

/// One segment of a claim or its context, its id found and its bytes at hand.
struct Seg<'b> {
    raw: &'b [u8],
    id: &'b [u8],
    loc: Loc,
}

impl<'b> Seg<'b> {
    /// Segment `i` of `batch`, when it is there and has an id.
    #[inline]
    fn at(batch: &'b ClaimBatch, i: u32) -> Option<Seg<'b>> {
        let r = batch.segs.get(i as usize)?;
        let raw = batch
            .data
            .get(r.start as usize..(r.start as usize + r.len as usize))?;
        let id = raw.get(..id_len(raw, batch.delimiters.element)?)?;
        Some(Seg {
            raw,
            id,
            loc: Loc::from(&r.position),
        })
    }

    /// Its elements 1 to `max`.
    #[inline]
    fn elems(&self, sep: u8, max: usize) -> Elems<'b> {
        Elems::new(self.raw, self.id.len(), sep, max)
    }
}

/// Whether the `n` segments of `batch` from `a` and from `b` have the same bytes and
/// positions.
fn same_segments(batch: &ClaimBatch, a: u32, b: u32, n: usize) -> bool {
    if a == b {
        return true;
    }
    let bytes = |r: &crate::claim::batch::SegRec| {
        batch
            .data
            .get(r.start as usize..(r.start as usize + r.len as usize))
    };
    let (Some(x), Some(y)) = (
        batch.segs.get(a as usize..a as usize + n),
        batch.segs.get(b as usize..b as usize + n),
    ) else {
        return false;
    };
    x.iter()
        .zip(y)
        .all(|(p, q)| p.position == q.position && bytes(p).is_some_and(|v| Some(v) == bytes(q)))
}

/// The length of a segment's id as [`crate::x12::Segment::parse`] finds it: an upper-case letter and one
/// or two upper-case letters or digits, then the element separator or the end.
#[inline]
fn id_len(raw: &[u8], sep: u8) -> Option<usize> {
    let id_byte = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    let len = match *raw {
        [a, b, c, ..] if a.is_ascii_uppercase() && id_byte(b) && id_byte(c) => 3,
        [a, b, ..] if a.is_ascii_uppercase() && id_byte(b) => 2,
        _ => return None,
    };
    match raw.get(len) {
        Some(&b) if b != sep => None,
        _ => Some(len),
    }
}

impl<'b> Facts<'b> {
    /// Reads claim `rec` of `batch`.
    pub fn read(batch: &'b ClaimBatch, rec: &'b ClaimRec) -> Facts<'b> {
        let mut f = Facts::default();
        f.read_into(batch, rec);
        f
    }

    /// Reads claim `rec` of `batch` into `self`, reusing its lists (and its billing provider
    /// when the previous claim read had the same one).
    pub fn read_into(&mut self, batch: &'b ClaimBatch, rec: &'b ClaimRec) {
        let mut refs = std::mem::take(&mut self.refs);
        let mut diagnoses = std::mem::take(&mut self.diagnoses);
        let mut lines = std::mem::take(&mut self.lines);
        let billing = std::mem::take(&mut self.billing);
        refs.clear();
        diagnoses.clear();
        lines.clear();
        *self = Facts {
            kind: Some(rec.kind),
            created: rec.created,
            refs,
            diagnoses,
            lines,
            billing,
            ..Facts::default()
        };
        if let Some(ctx) = batch.contexts.get(rec.context as usize) {
            self.read_billing(batch, ctx.billing.clone());
            let mut nm1s = ContextNm1s::default();
            self.read_subscriber(batch, ctx, &mut nm1s);
            self.context_nm1s = self.billing.nm1s.then(&nm1s);
        }
        self.read_claim(batch, rec);
    }

    /// The billing provider loop (2000A/2010AA), unless it is the one read last.
    fn read_billing(&mut self, batch: &'b ClaimBatch, range: std::ops::Range<u32>) {
        let key = Some((batch as *const ClaimBatch as usize, range.len()));
        let sep = batch.delimiters.element;
        let start = self.billing.start;
        if self.billing.key != key || !same_segments(batch, start, range.start, range.len()) {
            let mut b = BillingCache {
                key,
                start: range.start,
                nm1_at: Some(Few::default()),
                ..BillingCache::default()
            };
            for i in range {
                let Some(seg) = Seg::at(batch, i) else {
                    continue;
                };
                if seg.id == b"NM1" {
                    b.nm1_at = b
                        .nm1_at
                        .filter(|at| at.len() < at.capacity())
                        .map(|mut at| {
                            at.push(i - b.start);
                            at
                        });
                    b.nm1s.note(seg.raw, sep, i);
                    let s = seg.elems(sep, 9);
                    if s.value(1) == b"85" {
                        b.entity_type = s.value(2);
                        b.npi = (s.value(8) == b"XX").then(|| (s.value(9), seg.loc));
                    }
                }
            }
            self.billing = b;
        } else if self.billing.start != range.start {
            // The same segments copied again: only where their NM1s sit has changed.
            let mut nm1s = ContextNm1s::default();
            let mut note = |i| {
                if let Some(seg) = Seg::at(batch, i) {
                    nm1s.note(seg.raw, sep, i);
                }
            };
            match &self.billing.nm1_at {
                Some(at) => at.iter().for_each(|&k| note(range.start + k)),
                None => range.clone().for_each(note),
            }
            self.billing.nm1s = nm1s;
            self.billing.start = range.start;
        }
        self.billing_entity_type = self.billing.entity_type;
        self.billing_npi = self.billing.npi;
    }

    /// The subscriber, payer and patient loops (2000B/2010BA/2010BB, 2000C/2010CA).
    fn read_subscriber(&mut self, batch: &'b ClaimBatch, ctx: &ContextRec, nm1s: &mut ContextNm1s) {
        let f = self;
        let sep = batch.delimiters.element;
        let mut after_il = false;
        for i in ctx.subscriber.clone() {
            let Some(seg) = Seg::at(batch, i) else {
                continue;
            };
            match seg.id {
                b"SBR" => f.claim_filing = seg.elems(sep, 9).value(9),
                b"NM1" => {
                    nm1s.note(seg.raw, sep, i);
                    let s = seg.elems(sep, 9);
                    match s.value(1) {
                        b"IL" => {
                            f.member_id = non_empty(s.value(9));
                            f.subscriber_loc = Some(seg.loc);
                            after_il = true;
                        }
                        b"PR" => {
                            f.payer_id = s.value(9);
                            f.payer_name = s.value(3);
                            f.payer_loc = Some(seg.loc);
                            after_il = false;
                        }
                        _ => {}
                    }
                }
                b"DMG" if after_il => {
                    let s = seg.elems(sep, 3);
                    f.patient_dmg = Some((s.value(2), s.value(3), seg.loc));
                }
                _ => {}
            }
        }
        for i in ctx.patient.clone() {
            let Some(seg) = Seg::at(batch, i) else {
                continue;
            };
            match seg.id {
                b"DMG" => {
                    let s = seg.elems(sep, 3);
                    f.patient_dmg = Some((s.value(2), s.value(3), seg.loc));
                }
                b"NM1" => nm1s.note(seg.raw, sep, i),
                _ => {}
            }
        }
    }

    /// The claim: 2300 and its 2310/2320/2330 loops, then the 2400 lines.
    fn read_claim(&mut self, batch: &'b ClaimBatch, rec: &'b ClaimRec) {
        let d = batch.delimiters;
        let sep = d.element;
        // In a line (past its LX)?
        let mut in_line = false;
        // In a line: past its own segments (into 2410/2420/2430)?
        let mut line_loops = false;
        let mut nm1_entity: &[u8] = b"";
        for i in rec.segs.clone() {
            let Some(seg) = Seg::at(batch, i) else {
                continue;
            };
            if seg.id == b"LX" {
                let ordinal = self.lines.len() as u32 + 1;
                let s = seg.elems(sep, 1);
                self.lines.push(Line {
                    number: parse_u32(s.value(1)).unwrap_or(ordinal),
                    loc: seg.loc,
                    ..Line::default()
                });
                in_line = true;
                line_loops = false;
                continue;
            }
            if !in_line {
                self.claim_segment(&seg, d, &mut nm1_entity);
            } else if let Some(l) = self.lines.last_mut() {
                line_segment(l, &seg, d, &mut line_loops);
            }
        }
    }

    /// One segment of 2300 or its 2310/2320/2330 loops; `nm1_entity` is the NM101 of the
    /// provider loop it is in (`SBR` from the other-payer loops on).
    fn claim_segment(&mut self, seg: &Seg<'b>, d: Delimiters, nm1_entity: &mut &'b [u8]) {
        let sep = d.element;
        match seg.id {
            b"CLM" => {
                let s = seg.elems(sep, 5);
                self.id = s.value(1);
                self.clm = seg.loc;
                self.charge = Money::parse(s.value(2));
                let c5 = s.value(5);
                self.facility_code = part(c5, d.component, 1).unwrap_or(b"");
                self.frequency = part(c5, d.component, 3).unwrap_or(b"");
            }
            b"DTP" if seg.elems(sep, 1).value(1) == b"434" => {
                let s = seg.elems(sep, 3);
                self.statement = DateRange::parse(s.value(2), s.value(3));
            }
            b"REF" if nm1_entity.is_empty() => {
                let s = seg.elems(sep, 2);
                self.refs.push((s.value(1), s.value(2), seg.loc));
            }
            b"HI" => {
                self.hi.get_or_insert(seg.loc);
                let s = seg.elems(sep, Split::MAX);
                let rep = d.repetition.unwrap_or(d.segment);
                for n in 1..=s.len() {
                    for r in s.value(n).split(|&b| b == rep) {
                        let mut parts = r.split(|&b| b == d.component);
                        let qualifier = parts.next().unwrap_or(b"");
                        let code = parts.next().unwrap_or(b"");
                        if !code.is_empty() && DIAGNOSIS_QUALIFIERS.contains(&qualifier) {
                            self.diagnoses.push(Dx {
                                qualifier,
                                code,
                                sets: Sets::default(),
                            });
                        }
                    }
                }
            }
            // 2310x providers come before the 2320/2330 other-payer loops (from SBR on),
            // whose NM1*82 is another payer's rendering provider.
            b"NM1" if *nm1_entity != b"SBR" => {
                *nm1_entity = seg.elems(sep, 1).value(1);
                if *nm1_entity == b"82" && self.rendering.is_none() {
                    let s = seg.elems(sep, 9);
                    if s.value(8) == b"XX" {
                        self.rendering = Some((s.value(9), seg.loc));
                    }
                }
            }
            b"SBR" => *nm1_entity = b"SBR",
            _ => {}
        }
    }
    /// Looks up which of `index`'s code sets each line's code and modifiers and each
    /// diagnosis are in, so checks test bits instead of searching their sets.
    pub fn index_codes(&mut self, index: &CodeIndex) {
        self.line_code_sets = index.none();
        for l in &mut self.lines {
            l.code_sets = index.sets_of(l.code);
            self.line_code_sets = self.line_code_sets.or(l.code_sets);
            l.modifier_sets = l
                .modifiers
                .iter()
                .fold(index.none(), |s, m| s.or(index.sets_of(m)));
        }
        for d in &mut self.diagnoses {
            d.sets = index.sets_of(d.code);
        }
    }

    /// 837P or 837I.
    pub fn kind(&self) -> Kind {
        self.kind.unwrap_or(Kind::Professional)
    }

    /// A claim-level REF by qualifier.
    pub fn reference(&self, qualifier: &[u8]) -> Option<(&'b [u8], Loc)> {
        self.refs
            .iter()
            .find(|(q, _, _)| *q == qualifier)
            .map(|(_, v, l)| (*v, *l))
    }

    /// The date of service of a line (its DTP*472, else the statement period's first day).
    pub fn line_date(&self, l: &Line<'_>) -> Option<Date> {
        l.dates.map(|d| d.from).or(self.statement.map(|s| s.from))
    }

    /// The claim's date of service: its first line date, else the statement period's start.
    pub fn date_of_service(&self) -> Option<Date> {
        self.lines
            .iter()
            .filter_map(|l| l.dates.map(|d| d.from))
            .min()
            .or(self.statement.map(|s| s.from))
    }

    /// The diagnoses that count for a line: those it points to (837P), or every diagnosis of
    /// the claim (837I, which has no pointers).
    pub fn line_diagnoses<'s>(&'s self, l: &'s Line<'_>) -> impl Iterator<Item = &'s [u8]> {
        self.line_dx(l).map(|d| d.code)
    }

    /// The diagnoses that count for a line (see [`Facts::line_diagnoses`]), with their sets.
    pub fn line_dx<'s>(&'s self, l: &'s Line<'_>) -> LineDiagnoses<'s, 'b> {
        LineDiagnoses {
            diagnoses: &self.diagnoses,
            pointers: (self.kind() == Kind::Professional).then(|| l.pointers.iter()),
            next: 0,
        }
    }

    /// The place of service of a line (837P: SV105, else CLM05-1).
    pub fn line_place(&self, l: &Line<'b>) -> &'b [u8] {
        l.place.unwrap_or(self.facility_code)
    }

    /// The type of bill (837I: CLM05-1 + CLM05-3).
    pub fn type_of_bill(&self) -> Vec<u8> {
        let mut t = self.facility_code.to_vec();
        t.extend_from_slice(self.frequency);
        t
    }
}

/// One segment of a service line (2400 and its 2410/2420/2430 loops); `line_loops` says
/// whether the line's own segments are behind.
fn line_segment<'b>(l: &mut Line<'b>, seg: &Seg<'b>, d: Delimiters, line_loops: &mut bool) {
    let sep = d.element;
    match seg.id {
        b"SV1" | b"SV2" => {
            let professional = seg.id == b"SV1";
            let s = seg.elems(sep, if professional { 7 } else { 5 });
            let pro = if professional { 1 } else { 2 };
            if !professional {
                l.revenue = s.value(1);
            }
            if s.has(pro) {
                let mut parts = s.value(pro).split(|&b| b == d.component);
                l.qualifier = parts.next().unwrap_or(b"");
                l.code = parts.next().unwrap_or(b"");
                l.modifiers = Few::default();
                for m in parts.take(4).filter(|m| !m.is_empty()) {
                    l.modifiers.push(m);
                }
            }
            let (charge, units) = if professional { (2, 4) } else { (3, 5) };
            l.charge = Money::parse(s.value(charge));
            l.units = Money::parse(s.value(units));
            if professional {
                l.place = non_empty(s.value(5));
                l.pointers = Few::default();
                for p in s
                    .value(7)
                    .split(|&b| b == d.component)
                    .take(4)
                    .filter(|p| !p.is_empty())
                {
                    l.pointers.push(parse_u32(p).unwrap_or(0));
                }
            }
            l.loc = seg.loc;
        }
        b"DTP" if !*line_loops => {
            let s = seg.elems(sep, 3);
            if s.value(1) == b"472" && l.dates.is_none() {
                l.dates = DateRange::parse(s.value(2), s.value(3));
            }
        }
        b"REF" if !*line_loops => {
            let s = seg.elems(sep, 2);
            match s.value(1) {
                b"G1" => {
                    l.prior_auth.get_or_insert(s.value(2));
                }
                b"6R" => {
                    l.control.get_or_insert(s.value(2));
                }
                _ => {}
            }
        }
        b"LIN" | b"SVD" => *line_loops = true,
        b"NM1" => {
            *line_loops = true;
            if l.rendering.is_none() && seg.elems(sep, 1).value(1) == b"82" {
                let s = seg.elems(sep, 9);
                if s.value(8) == b"XX" {
                    l.rendering = Some((s.value(9), seg.loc));
                }
            }
        }
        _ => {}
    }
}

/// The diagnoses of one line (see [`Facts::line_diagnoses`]).
pub struct LineDiagnoses<'s, 'b> {
    diagnoses: &'s [Dx<'b>],
    pointers: Option<std::slice::Iter<'s, u32>>,
    next: usize,
}

impl<'s, 'b> Iterator for LineDiagnoses<'s, 'b> {
    type Item = &'s Dx<'b>;

    fn next(&mut self) -> Option<&'s Dx<'b>> {
        match &mut self.pointers {
            Some(ptrs) => loop {
                let p = *ptrs.next()? as usize;
                if let Some(d) = p.checked_sub(1).and_then(|i| self.diagnoses.get(i)) {
                    return Some(d);
                }
            },
            None => {
                let d = self.diagnoses.get(self.next)?;
                self.next += 1;
                Some(d)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::{Delimiters, Segment};

    proptest::proptest! {
        /// `id_len` finds the id `Segment::parse` finds, and fails where it fails.
        #[test]
        fn id_len_agrees_with_segment_parse(
            raw in proptest::collection::vec(
                proptest::prop_oneof![
                    4 => proptest::sample::select(&b"NM1*AZ09:^ a"[..]),
                    1 => proptest::num::u8::ANY,
                ],
                0..8,
            ),
        ) {
            let d = Delimiters::STANDARD;
            let want = Segment::parse(&raw, d).ok().map(|s| s.id().len());
            proptest::prop_assert_eq!(id_len(&raw, d.element), want);
        }
    }
}
