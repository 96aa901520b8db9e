//! One claim's part of a 277CA (loops 2100C, 2100D, 2200D and 2220D without their HL
//! segments), written by the edit workers next to the claim's `claims.jsonl` line and put
//! together in input order by [`super::ack277::Ack277Writer`].

use std::sync::Arc;

use super::num::{Num, D8};
use super::seg::SegBuf;
use crate::claim::view::ClaimView;
use crate::claim::{Date, DateRange, Kind, Money};
use crate::edit::facts::Facts;
use crate::edit::finding::{Finding, Severity};
use crate::x12::Delimiters;
use crate::x12::Segment;

/// STC12 is at most 264 characters.
pub const STC12_MAX: usize = 264;

/// How every 277CA segment is written: delimiters, line ends, and the date of the run.
#[derive(Clone, Debug)]
pub struct Render277 {
    /// Delimiters of the acknowledgments.
    pub delimiters: Delimiters,
    /// Bytes after each segment terminator.
    pub eol: &'static [u8],
    /// STC02 and the DTP dates: the run's date, `CCYYMMDD`.
    pub date: String,
}

/// Where the parts of one claim's fragment are in the buffer it was written to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Frag {
    /// Start of the 2100C NM1*85 of its billing provider.
    pub start: usize,
    /// Start of its 2100D NM1*QC and 2200D TRN.
    pub patient: usize,
    /// Start of its 2200D STC segments (as its edits alone would have them).
    pub stc: usize,
    /// Start of the rest: REF, DTP and the 2220D service lines.
    pub tail: usize,
    /// End of the fragment.
    pub end: usize,
    /// Segments of its STC part (`stc..tail`).
    pub stc_segments: u32,
    /// Segments of its tail (`tail..end`).
    pub tail_segments: u32,
}

impl Frag {
    /// Segments of its provider part (`start..patient`): the NM1*85.
    pub const PROVIDER_SEGMENTS: u32 = 1;
    /// Segments of its patient part (`patient..stc`): the NM1*QC and the TRN.
    pub const PATIENT_SEGMENTS: u32 = 2;
}

/// An X12 amount (type R): `1500`, `1500.5`, `1500.25`, `-3.25`.
pub fn amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let (whole, frac) = (abs / 100, abs % 100);
    if frac == 0 {
        format!("{sign}{whole}")
    } else if frac % 10 == 0 {
        format!("{sign}{whole}.{}", frac / 10)
    } else {
        format!("{sign}{whole}.{frac:02}")
    }
}

/// `CCYYMMDD`.
pub fn d8(d: Date) -> String {
    String::from_utf8_lossy(D8::day(d).as_bytes()).into_owned()
}

/// A DTP qualifier and value for a date or range: `D8` for one day, `RD8` for a span.
pub fn dtp_value(r: DateRange) -> (&'static str, D8) {
    if r.from == r.thru {
        ("D8", D8::day(r.from))
    } else {
        ("RD8", D8::span(r.from, r.thru))
    }
}

/// Free text made fit for an AN element of at most `max` characters: printable ASCII only
/// (the writer blanks delimiters), whitespace runs folded.
pub fn free_text(s: &str, max: usize) -> String {
    let mut out = Vec::with_capacity(s.len().min(max));
    let mut fold = Fold::new(&mut out, max);
    fold.push(s);
    fold.finish();
    // Only ASCII is written.
    String::from_utf8(out).unwrap_or_default()
}

/// ASCII as free text keeps it: characters used as delimiters and whitespace become spaces
/// (so the text keeps single spaces once folded), other controls `?`.
const FOLD_ASCII: [u8; 128] = {
    let mut t = [b'?'; 128];
    let mut b = 0x21;
    while b < 0x7f {
        t[b] = b as u8;
        b += 1;
    }
    let blank = [
        b'*', b':', b'~', b'^', b'>', b'|', b' ', b'\t', b'\n', 0x0b, 0x0c, b'\r',
    ];
    let mut i = 0;
    while i < blank.len() {
        t[blank[i] as usize] = b' ';
        i += 1;
    }
    t
};

/// [`free_text`] written from pieces, straight into a buffer: the pieces are folded as
/// their concatenation would be.
struct Fold<'o> {
    out: &'o mut Vec<u8>,
    max: usize,
    /// The last byte written is a space.
    space: bool,
    /// `max` was reached: nothing more is taken.
    full: bool,
}

impl<'o> Fold<'o> {
    /// Appends to `out` (empty), at most `max` bytes.
    fn new(out: &'o mut Vec<u8>, max: usize) -> Self {
        Fold {
            out,
            max,
            space: false,
            full: false,
        }
    }

    fn push(&mut self, s: &str) {
        let bytes = s.as_bytes();
        if s.is_ascii() && self.out.len() + bytes.len() < self.max && !self.full {
            self.push_short_ascii(bytes);
            return;
        }
        let mut at = 0;
        while let Some(&b) = bytes.get(at) {
            if self.full {
                return;
            }
            let c = match FOLD_ASCII.get(usize::from(b)) {
                Some(&c) => {
                    at += 1;
                    c
                }
                None => {
                    // Past ASCII: one character (`at` is on a boundary: only whole
                    // characters are stepped over).
                    let mut chars = s.get(at..).unwrap_or_default().chars();
                    let c = chars
                        .next()
                        .map_or(b'?', |c| if c.is_whitespace() { b' ' } else { b'?' });
                    at = bytes.len() - chars.as_str().len();
                    c
                }
            };
            self.byte(c);
        }
    }

    /// [`Fold::push`] of ASCII that cannot reach `max`: no check of either per byte.
    fn push_short_ascii(&mut self, bytes: &[u8]) {
        let mut space = self.space;
        let mut empty = self.out.is_empty();
        for &b in bytes {
            let c = FOLD_ASCII.get(usize::from(b)).copied().unwrap_or(b'?');
            if c == b' ' {
                if space || empty {
                    continue;
                }
                space = true;
            } else {
                space = false;
            }
            empty = false;
            self.out.push(c);
        }
        self.space = space;
    }

    #[inline]
    fn byte(&mut self, c: u8) {
        if c == b' ' {
            if self.space || self.out.is_empty() {
                return;
            }
            self.space = true;
        } else {
            self.space = false;
        }
        if self.out.len() >= self.max {
            self.full = true;
            return;
        }
        self.out.push(c);
    }

    /// Drops the trailing space.
    fn finish(self) {
        if self.out.last() == Some(&b' ') {
            self.out.pop();
        }
    }
}

/// One STC segment of a 2200D (or, without `amount` and `text`, a 2220D).
pub fn write_stc<E: AsRef<str>>(
    w: &mut SegBuf,
    code: &str,
    date: &str,
    action: &str,
    amount: Option<&str>,
    extra: &[E],
    text: &str,
) {
    w.seg(b"STC")
        .code(code)
        .el(date)
        .el(action)
        .el(amount.unwrap_or(""));
    stc_rest(w, extra, text);
}

/// STC05…STC12 of an STC whose STC04 is written: STC10 and STC11 from `extra` (its first
/// two), then the text.
fn stc_rest<E: AsRef<str>>(w: &mut SegBuf, extra: &[E], text: impl AsRef<[u8]>) {
    if extra.is_empty() && text.as_ref().is_empty() {
        // Nothing after STC04: the empty elements would be trimmed.
        w.end();
        return;
    }
    w.empty(5);
    for i in 0..2 {
        match extra.get(i) {
            Some(c) => w.code(c.as_ref()),
            None => w.el(""),
        };
    }
    w.el(text).end();
}

/// The STC text of a reject finding: its edit id and its plain message.
pub fn finding_text(f: &Finding) -> String {
    free_text(&format!("{} {}", f.edit, f.message), STC12_MAX)
}

/// The STC01 of a finding with no 277CA code of its own (should a rule lack one).
const FALLBACK_STC: &str = "A3:21";

/// Writes the 277CA fragments of the claims of a batch.
pub struct ClaimAcks {
    w: SegBuf,
    date: String,
    /// `STC*A2:20*DATE*WQ`, the start of every acceptance STC.
    accept: Vec<u8>,
    /// The starts of the segments every claim has, written once.
    heads: Heads,
    /// The last NM1*85 written from its billing provider's NM1 alone (claims of one
    /// provider share it).
    provider: ProviderCache,
    /// STC12 text being made.
    text: Vec<u8>,
}

/// The id and first elements of the segments every fragment has, with the writer's
/// delimiters (for [`SegBuf::seg`]).
struct Heads {
    /// `NM1*QC*1`.
    patient: Vec<u8>,
    /// `TRN*2`.
    trn: Vec<u8>,
    /// `REF*D9`.
    d9: Vec<u8>,
    /// `DTP*472`.
    dtp: Vec<u8>,
}

impl Heads {
    /// The heads as `w` (empty, and left so) writes them.
    fn new(w: &mut SegBuf) -> Self {
        let mut head = |id: &[u8], values: &[&str]| {
            w.clear();
            w.seg(id);
            for v in values {
                w.el(v);
            }
            w.bytes().to_vec()
        };
        let heads = Heads {
            patient: head(b"NM1", &["QC", "1"]),
            trn: head(b"TRN", &["2"]),
            d9: head(b"REF", &["D9"]),
            dtp: head(b"DTP", &["472"]),
        };
        w.clear();
        heads
    }
}

/// A 2100C NM1*85 as written, and the 837 NM1*85 it was written from.
#[derive(Default)]
struct ProviderCache {
    from: Vec<u8>,
    delimiters: Option<Delimiters>,
    written: Vec<u8>,
}

impl ProviderCache {
    /// The segment written from `nm1`, if it is the one held.
    fn get(&self, nm1: &Segment<'_>) -> Option<&[u8]> {
        (self.delimiters == Some(nm1.delimiters()) && self.from == nm1.raw())
            .then_some(self.written.as_slice())
    }

    fn set(&mut self, nm1: &Segment<'_>, written: &[u8]) {
        self.from.clear();
        self.from.extend_from_slice(nm1.raw());
        self.delimiters = Some(nm1.delimiters());
        self.written.clear();
        self.written.extend_from_slice(written);
    }
}

/// A value copied from the 837 made fit for a 277CA element of `min..=max` characters:
/// printable ASCII only (others become `?`), cut at `max`; one shorter than `min` (or blank)
/// becomes `UNKNOWN` when `min` > 0.
pub fn fit(v: &[u8], min: usize, max: usize) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    let printable = |b: &u8| (0x20..=0x7e).contains(b);
    let mut v: Cow<'_, [u8]> = if v.iter().all(printable) {
        Cow::Borrowed(v)
    } else {
        Cow::Owned(
            v.iter()
                .map(|b| if printable(b) { *b } else { b'?' })
                .collect(),
        )
    };
    if v.len() > max {
        v = match v {
            Cow::Borrowed(b) => Cow::Borrowed(&b[..max]),
            Cow::Owned(mut b) => {
                b.truncate(max);
                Cow::Owned(b)
            }
        };
    }
    if min > 0 && (v.len() < min || v.iter().all(|b| *b == b' ')) {
        Cow::Borrowed(&b"UNKNOWN"[..max.min(7)])
    } else {
        v
    }
}

/// How many digits an X12 amount has (what its length limit counts).
fn digits(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

impl ClaimAcks {
    /// A writer for one batch.
    pub fn new(r: &Render277) -> Self {
        let mut w = SegBuf::new(r.delimiters, r.eol, 64 << 10);
        w.seg(b"STC").code("A2:20").el(&r.date).el("WQ");
        let accept = w.bytes().to_vec();
        let heads = Heads::new(&mut w);
        ClaimAcks {
            w,
            date: r.date.clone(),
            accept,
            heads,
            provider: ProviderCache::default(),
            text: Vec::with_capacity(STC12_MAX),
        }
    }

    fn len(&self) -> usize {
        self.w.len()
    }

    /// The bytes written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.w.into_bytes()
    }

    /// Writes one claim's fragment; `findings` are its edit findings.
    pub fn claim(&mut self, view: &ClaimView<'_>, f: &Facts<'_>, findings: &[Finding]) -> Frag {
        let mut frag = Frag {
            start: self.len(),
            ..Frag::default()
        };
        self.provider(view);
        frag.patient = self.len();
        self.patient(view, f);
        frag.stc = self.len();
        let before = self.w.segments();
        self.stcs(f, findings);
        frag.tail = self.len();
        let middle = self.w.segments();
        self.tail(f, findings);
        frag.end = self.len();
        frag.stc_segments = middle - before;
        frag.tail_segments = self.w.segments() - middle;
        frag
    }

    /// 2100C: the billing provider (the segment of the claim before, when it came from the
    /// same NM1 alone).
    fn provider(&mut self, view: &ClaimView<'_>) {
        let nm1 = view.context_nm1(b"85");
        if let Some(held) = nm1.as_ref().and_then(|s| self.provider.get(s)) {
            self.w.segment_bytes(held);
            return;
        }
        let start = self.len();
        let values = nm1_values(nm1.as_ref());
        let v = |i: usize| values[i];
        let person = v(2) == b"1";
        let from_nm1 = v(8) == b"XX" && v(9).len() >= 2;
        let (qualifier, id): (&[u8], &[u8]) = if from_nm1 {
            (b"XX", v(9))
        } else {
            match view.billing_provider().and_then(|p| p.tax_id) {
                Some(t) if !t.is_empty() => (b"FI", t),
                _ => (b"XX", b"UNKNOWN"),
            }
        };
        let w = &mut self.w;
        w.seg(b"NM1").el("85");
        if person {
            w.el("1")
                .el_fit(v(3), 1, 60)
                .el_fit(v(4), 0, 35)
                .el_fit(v(5), 0, 25)
                .el("")
                .el_fit(v(7), 0, 10);
        } else {
            w.el("2").el_fit(v(3), 1, 60).empty(4);
        }
        w.el(qualifier).el_fit(id, 2, 80).end();
        if let (Some(nm1), true) = (nm1, from_nm1) {
            let written = self.w.bytes().get(start..).unwrap_or_default();
            self.provider.set(&nm1, written);
        }
    }

    /// 2100D and the 2200D TRN: the patient (or the subscriber who is the patient), CLM01.
    fn patient(&mut self, view: &ClaimView<'_>, f: &Facts<'_>) {
        let nm1 = view.context_nm1_or(b"QC", b"IL");
        let values = nm1_values(nm1.as_ref());
        let v = |i: usize| values[i];
        self.w
            .seg(&self.heads.patient)
            .el_fit(v(3), 1, 60)
            .el_fit(v(4), 0, 35)
            .el_fit(v(5), 0, 25)
            .el("")
            .el_fit(v(7), 0, 10)
            .el("MI")
            .el_fit(f.member_id.unwrap_or(b""), 2, 80)
            .end();
        self.w.seg(&self.heads.trn).el_fit(f.id, 1, 50).end();
    }

    /// The 2200D STC segments the edits call for: one per reject finding, or the acceptance
    /// (with the warnings in STC12).
    fn stcs(&mut self, f: &Facts<'_>, findings: &[Finding]) {
        let charge = Num::amount(f.charge.map_or(0, |c| c.cents));
        let mut rejected = false;
        for x in findings.iter().filter(|x| x.severity == Severity::Reject) {
            rejected = true;
            self.text.clear();
            let mut fold = Fold::new(&mut self.text, STC12_MAX);
            fold.push(&x.edit);
            fold.push(" ");
            fold.push(&x.message);
            fold.finish();
            self.w
                .seg(b"STC")
                .code(x.stc.as_deref().unwrap_or(FALLBACK_STC))
                .el(&self.date)
                .el("U")
                .el(charge);
            stc_rest(&mut self.w, &x.stc_extra, &self.text);
        }
        if !rejected {
            self.text.clear();
            let mut fold = Fold::new(&mut self.text, STC12_MAX);
            let warns = findings.iter().filter(|x| x.severity == Severity::Warn);
            for (i, x) in warns.enumerate() {
                fold.push(if i == 0 { "warning " } else { "; " });
                fold.push(&x.edit);
                fold.push(" ");
                fold.push(&x.message);
            }
            fold.finish();
            self.w.seg(&self.accept).el(charge);
            stc_rest::<&str>(&mut self.w, &[], &self.text);
        }
    }

    /// REF*D9, REF*BLT, DTP*472 and a 2220D for each line a reject finding names.
    fn tail(&mut self, f: &Facts<'_>, findings: &[Finding]) {
        if let Some((d9, _)) = f.reference(b"D9").filter(|(v, _)| !v.is_empty()) {
            self.w.seg(&self.heads.d9).el_fit(d9, 1, 50).end();
        }
        if f.kind() == Kind::Institutional && !f.facility_code.is_empty() {
            self.w
                .seg(b"REF")
                .el("BLT")
                .el_fit(&f.type_of_bill(), 1, 50)
                .end();
        }
        self.w.seg(&self.heads.dtp);
        match claim_dates(f).map(dtp_value) {
            Some((q, v)) => self.w.el(q).el(v),
            None => self.w.el("D8").el(&self.date),
        }
        .end();
        if !findings
            .iter()
            .any(|x| x.severity == Severity::Reject && x.line.is_some())
        {
            return;
        }
        for line in &f.lines {
            let codes: Vec<&str> = findings
                .iter()
                .filter(|x| x.severity == Severity::Reject && x.line == Some(line.number))
                .flat_map(|x| {
                    std::iter::once(x.stc.as_deref().unwrap_or(FALLBACK_STC))
                        .chain(x.stc_extra.iter().map(|s| &**s))
                })
                .collect();
            let Some((first, rest)) = codes.split_first() else {
                continue;
            };
            let mut service: Vec<std::borrow::Cow<'_, [u8]>> = Vec::with_capacity(6);
            if line.code.is_empty() && !line.revenue.is_empty() {
                service.extend([b"NU"[..].into(), fit(line.revenue, 1, 48)]);
            } else {
                // SVC01-1 is one of the guide's qualifiers; HC when the 837 sent another.
                let q: &[u8] = match line.qualifier {
                    q @ (b"AD" | b"ER" | b"HC" | b"HP" | b"IV" | b"NU" | b"WK") => q,
                    _ => b"HC",
                };
                service.extend([q.into(), fit(line.code, 1, 48)]);
                // Modifiers are two characters; another length cannot be echoed.
                service.extend(
                    line.modifiers
                        .iter()
                        .filter(|m| m.len() == 2 && m.iter().all(u8::is_ascii_alphanumeric))
                        .map(|m| (*m).into()),
                );
            }
            let service: Vec<&[u8]> = service.iter().map(|c| &**c).collect();
            let units = line
                .units
                .map(|u| Num::amount(u.cents))
                .filter(|u| digits(u.as_str()) <= 15);
            let units = units.as_ref().map_or(&b""[..], Num::as_bytes);
            self.w
                .seg(b"SVC")
                .comp(&service)
                .el(Num::amount(line.charge.map_or(0, |c: Money| c.cents)))
                .el("")
                .el(if f.kind() == Kind::Institutional {
                    fit(line.revenue, 0, 48)
                } else {
                    b"".into()
                })
                .el("")
                .el("")
                .el(units)
                .end();
            let extra = rest.get(..2).unwrap_or(rest);
            write_stc(&mut self.w, first, &self.date, "U", None, extra, "");
            if let Some(c) = line.control.filter(|c| !c.is_empty()) {
                self.w.seg(b"REF").el("FJ").el_fit(c, 1, 50).end();
            }
            if let Some(d) = line.dates {
                let (q, v) = dtp_value(d);
                self.w.seg(b"DTP").el("472").el(q).el(v).end();
            }
        }
    }
}

/// NM101…NM109 of an NM1 (empty when absent) at their element numbers, split in one pass.
fn nm1_values<'a>(nm1: Option<&Segment<'a>>) -> [&'a [u8]; 10] {
    let mut values: [&[u8]; 10] = [b""; 10];
    if let Some(s) = nm1 {
        let sep = s.delimiters().element;
        // The id holds no separator: the elements start after the first one.
        let raw = s.raw();
        let Some(mut rest) = raw
            .iter()
            .position(|&b| b == sep)
            .and_then(|at| raw.get(at + 1..))
        else {
            return values;
        };
        for slot in values.iter_mut().skip(1) {
            match rest.iter().position(|&b| b == sep) {
                Some(at) => {
                    *slot = rest.get(..at).unwrap_or_default();
                    rest = rest.get(at + 1..).unwrap_or_default();
                }
                None => {
                    *slot = rest;
                    break;
                }
            }
        }
    }
    values
}

/// The claim's service dates: the 837I statement period, else the span of its line dates,
/// else the date its transaction set was created.
fn claim_dates(f: &Facts<'_>) -> Option<DateRange> {
    if f.kind() == Kind::Institutional {
        if let Some(s) = f.statement {
            return Some(s);
        }
    }
    let from = f.lines.iter().filter_map(|l| l.dates.map(|d| d.from)).min();
    let thru = f.lines.iter().filter_map(|l| l.dates.map(|d| d.thru)).max();
    match (from, thru) {
        (Some(from), Some(thru)) if from <= thru => Some(DateRange { from, thru }),
        _ => f
            .statement
            .or(f.created.map(|d| DateRange { from: d, thru: d })),
    }
}

/// A finding's STC extras as plain strings.
pub fn extras(f: &Finding) -> Vec<&str> {
    f.stc_extra.iter().map(|s: &Arc<str>| &**s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `free_text` as first written (one `char` at a time, into a `String`).
    fn free_text_reference(s: &str, max: usize) -> String {
        let mut out = String::new();
        let mut space = false;
        for c in s.chars() {
            let c = if matches!(c, '*' | ':' | '~' | '^' | '>' | '|') || c.is_whitespace() {
                ' '
            } else if c.is_ascii_graphic() {
                c
            } else {
                '?'
            };
            if c == ' ' {
                if space || out.is_empty() {
                    continue;
                }
                space = true;
            } else {
                space = false;
            }
            if out.len() >= max {
                break;
            }
            out.push(c);
        }
        out.truncate(out.trim_end().len());
        out
    }

    proptest! {
        /// Folding pieces gives the text folding their concatenation gave.
        #[test]
        fn folded_pieces_are_the_folded_whole(
            pieces in proptest::collection::vec(
                prop_oneof!["[ a-z*:~^>|\t\n\r\x0b\x0c\x01\x1c]{0,12}", any::<String>(), Just("\u{a0}\u{3000} é".to_owned())],
                0..5),
            max in 0usize..40,
        ) {
            let whole: String = pieces.concat();
            let mut out = Vec::new();
            let mut fold = Fold::new(&mut out, max);
            for p in &pieces {
                fold.push(p);
            }
            fold.finish();
            let expected = free_text_reference(&whole, max);
            prop_assert_eq!(String::from_utf8_lossy(&out), expected.as_str());
            prop_assert_eq!(free_text(&whole, max), expected);
        }

        /// An NM1's values are its elements as the segment view splits them.
        #[test]
        fn nm1_values_are_its_elements(
            values in proptest::collection::vec("[A-Z0-9 :^]{0,4}", 0..13),
        ) {
            let raw = std::iter::once("NM1".to_owned()).chain(values).collect::<Vec<_>>().join("*");
            let s = Segment::parse(raw.as_bytes(), Delimiters::STANDARD).unwrap();
            let got = nm1_values(Some(&s));
            prop_assert_eq!(got[0], b"");
            for (n, v) in got.iter().enumerate().skip(1) {
                prop_assert_eq!(*v, s.value(n));
            }
        }
    }

    #[test]
    fn amounts_are_x12_decimals() {
        assert_eq!(amount(150000), "1500");
        assert_eq!(amount(150050), "1500.5");
        assert_eq!(amount(150025), "1500.25");
        assert_eq!(amount(-325), "-3.25");
        assert_eq!(amount(1), "0.01");
        assert_eq!(amount(0), "0");
    }

    #[test]
    fn free_text_is_printable_and_bounded() {
        assert_eq!(free_text("  a\tb\n\nc é ", 264), "a b c ?");
        assert_eq!(free_text(&"x".repeat(300), 264).len(), 264);
        assert_eq!(free_text("ab cd", 3), "ab");
        assert_eq!(free_text("E-29: a*b~c^d", 264), "E-29 a b c d");
    }

    #[test]
    fn copied_values_fit_their_elements() {
        assert_eq!(&*fit(b"ABC", 1, 60), b"ABC");
        assert_eq!(&*fit(b"ABCDEF", 1, 3), b"ABC");
        assert_eq!(&*fit(b"A", 2, 80), b"UNKNOWN");
        assert_eq!(&*fit(b"", 1, 50), b"UNKNOWN");
        assert_eq!(&*fit(b"", 0, 35), b"");
        assert_eq!(&*fit(b"A\x01\xffB", 1, 60), b"A??B");
        assert_eq!(&*fit(b"  ", 1, 60), b"UNKNOWN");
        assert_eq!(&*fit(b"", 2, 5), b"UNKNO");
    }
}
