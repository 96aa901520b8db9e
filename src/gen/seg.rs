//! The generator's segment writer: elements appended to one growing buffer with `*`, `:` and
//! `~` (plus `\n` with `--newlines`), trailing empty elements dropped, segments counted for SE01,
//! digits, amounts and dates written without allocating.

use crate::digits::PAIRS;

/// Segments written into a byte buffer that the driver drains into the output.
pub struct SegWriter {
    /// The bytes written since the last drain.
    pub buf: Vec<u8>,
    /// A newline after each `~`.
    newline: bool,
    /// `CCYYMMDD` of the days from `first_day` on, written once (dates are most of the digits).
    dates: Vec<[u8; 8]>,
    first_day: Day,
    /// Empty elements seen since the last non-empty one: written only if one follows.
    pending: usize,
    /// Segments ended since the last [`SegWriter::reset_count`].
    pub count: u64,
}

impl SegWriter {
    /// A writer ending segments with `~`, or `~\n` when `newlines`.
    pub fn new(newlines: bool, capacity: usize) -> SegWriter {
        SegWriter {
            buf: Vec::with_capacity(capacity),
            newline: newlines,
            dates: Vec::new(),
            first_day: Day(0),
            pending: 0,
            count: 0,
        }
    }

    /// Prepares the `CCYYMMDD` of `first..=last`, the days most dates fall on.
    pub fn cache_dates(&mut self, first: Day, last: Day) {
        self.first_day = first;
        self.dates = (first.0..=last.0)
            .map(|d| {
                let mut b = Vec::with_capacity(8);
                put_d8(&mut b, Day(d));
                let mut out = [b'0'; 8];
                out.copy_from_slice(&b[..8]);
                out
            })
            .collect();
    }

    /// Starts the count of segments afresh (at ST).
    pub fn reset_count(&mut self) {
        self.count = 0;
    }

    /// Starts a segment with its id.
    #[inline]
    pub fn start(&mut self, id: &[u8]) {
        self.buf.extend_from_slice(id);
        self.pending = 0;
    }

    /// Writes the separators owed before a non-empty element.
    #[inline]
    fn sep(&mut self) {
        for _ in 0..=self.pending {
            self.buf.push(b'*');
        }
        self.pending = 0;
    }

    /// The next element; an empty one is written only if a non-empty element follows it.
    #[inline]
    pub fn el(&mut self, v: &[u8]) {
        if v.is_empty() {
            self.pending += 1;
        } else {
            self.sep();
            self.buf.extend_from_slice(v);
        }
    }

    /// `n` empty elements.
    #[inline]
    pub fn empty(&mut self, n: usize) {
        self.pending += n;
    }

    /// The next element, a number.
    #[inline]
    pub fn num(&mut self, n: u64) {
        self.sep();
        put_u64(&mut self.buf, n);
    }

    /// The next element, a number zero-padded to `width` digits.
    #[inline]
    pub fn num_w(&mut self, n: u64, width: usize) {
        self.sep();
        put_padded(&mut self.buf, n, width);
    }

    /// The next element, an amount in cents as an X12 `R` value (`1536`, `12.5`, `12.05`).
    #[inline]
    pub fn money(&mut self, cents: i64) {
        self.sep();
        put_money(&mut self.buf, cents);
    }

    /// The next element, a date `CCYYMMDD`.
    #[inline]
    pub fn date(&mut self, day: Day) {
        self.sep();
        self.raw_date(day);
    }

    /// A component of the current element: `:` and the value.
    #[inline]
    pub fn comp(&mut self, v: &[u8]) {
        self.buf.push(b':');
        self.buf.extend_from_slice(v);
    }

    /// A component of the current element: `:` and a number.
    #[inline]
    pub fn comp_num(&mut self, n: u64) {
        self.buf.push(b':');
        put_u64(&mut self.buf, n);
    }

    /// More bytes of the current element.
    #[inline]
    pub fn raw(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }

    /// More of the current element: a number zero-padded to `width` digits.
    #[inline]
    pub fn raw_num_w(&mut self, n: u64, width: usize) {
        put_padded(&mut self.buf, n, width);
    }

    /// More of the current element: a date `CCYYMMDD`.
    #[inline]
    pub fn raw_date(&mut self, day: Day) {
        let cached = usize::try_from(day.0 - self.first_day.0)
            .ok()
            .and_then(|i| self.dates.get(i));
        match cached {
            Some(d8) => self.buf.extend_from_slice(d8),
            None => put_d8(&mut self.buf, day),
        }
    }

    /// Ends the segment (trailing empty elements are dropped) and counts it.
    #[inline]
    pub fn end(&mut self) {
        self.buf.push(b'~');
        if self.newline {
            self.buf.push(b'\n');
        }
        self.pending = 0;
        self.count += 1;
    }
}

/// Appends the decimal digits of `n`.
#[inline]
pub fn put_u64(buf: &mut Vec<u8>, n: u64) {
    put_padded(buf, n, 1);
}

/// Appends the decimal digits of `n`, zero-padded to at least `width` (at most 20) digits.
#[inline]
pub fn put_padded(buf: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    let mut i = tmp.len();
    // Two digits per division.
    while n >= 100 {
        let d = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        tmp[i] = PAIRS[d];
        tmp[i + 1] = PAIRS[d + 1];
    }
    if n >= 10 {
        let d = n as usize * 2;
        i -= 2;
        tmp[i] = PAIRS[d];
        tmp[i + 1] = PAIRS[d + 1];
    } else {
        i -= 1;
        tmp[i] = b'0' + n as u8;
    }
    // Byte by byte: numbers are short, and a copy of unknown length costs a call.
    for &d in &tmp[i.min(tmp.len().saturating_sub(width))..] {
        buf.push(d);
    }
}

/// Appends an amount in cents the way gen837.py writes it: no trailing zeros after the
/// decimal point and no point without digits after it.
pub fn put_money(buf: &mut Vec<u8>, cents: i64) {
    if cents < 0 {
        buf.push(b'-');
    }
    let c = cents.unsigned_abs();
    put_u64(buf, c / 100);
    let frac = c % 100;
    if frac != 0 {
        buf.push(b'.');
        if frac % 10 == 0 {
            put_u64(buf, frac / 10);
        } else {
            put_padded(buf, frac, 2);
        }
    }
}

/// A calendar day, counted from 1970-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(pub i64);

impl Day {
    /// The day of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    pub fn from_ymd(y: i64, m: u32, d: u32) -> Day {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(m);
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Day(era * 146_097 + doe - 719_468)
    }

    /// Its year, month and day (Hinnant's `civil_from_days`).
    pub fn ymd(self) -> (i64, u32, u32) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = yoe + era * 400 + i64::from(m <= 2);
        (y, m, d)
    }

    /// `n` days later (earlier when negative).
    pub fn plus(self, n: i64) -> Day {
        Day(self.0 + n)
    }
}

/// Appends a day as `CCYYMMDD`.
pub fn put_d8(buf: &mut Vec<u8>, day: Day) {
    let (y, m, d) = day.ymd();
    put_padded(buf, y.clamp(0, 9999) as u64, 4);
    put_padded(buf, u64::from(m), 2);
    put_padded(buf, u64::from(d), 2);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut SegWriter)) -> String {
        let mut w = SegWriter::new(false, 64);
        f(&mut w);
        String::from_utf8(w.buf).unwrap()
    }

    #[test]
    fn empty_elements_are_written_only_before_a_value() {
        let s = text(|w| {
            w.start(b"NM1");
            w.el(b"82");
            w.el(b"1");
            w.el(b"SMITH");
            w.empty(4);
            w.el(b"XX");
            w.el(b"1234567893");
            w.end();
            w.start(b"SBR");
            w.el(b"P");
            w.el(b"");
            w.el(b"");
            w.empty(5);
            w.end();
        });
        assert_eq!(s, "NM1*82*1*SMITH*****XX*1234567893~SBR*P~");
    }

    #[test]
    fn composites_numbers_and_counts() {
        let mut w = SegWriter::new(true, 64);
        w.start(b"SV1");
        w.el(b"HC");
        w.comp(b"64635");
        w.comp(b"50");
        w.money(153_600);
        w.el(b"UN");
        w.num(1);
        w.empty(2);
        w.num(1);
        w.comp(b"2");
        w.end();
        w.start(b"ST");
        w.el(b"837");
        w.num_w(7, 4);
        w.end();
        assert_eq!(
            String::from_utf8(w.buf.clone()).unwrap(),
            "SV1*HC:64635:50*1536*UN*1***1:2~\nST*837*0007~\n"
        );
        assert_eq!(w.count, 2);
        w.reset_count();
        assert_eq!(w.count, 0);
    }

    #[test]
    fn amounts_look_like_gen837s() {
        let cases = [
            (0, "0"),
            (5, "0.05"),
            (50, "0.5"),
            (100, "1"),
            (1_105, "11.05"),
            (1_150, "11.5"),
            (190_000, "1900"),
            (-1_250, "-12.5"),
        ];
        for (cents, want) in cases {
            let mut b = Vec::new();
            put_money(&mut b, cents);
            assert_eq!(String::from_utf8(b).unwrap(), want, "{cents}");
        }
        let mut b = Vec::new();
        put_padded(&mut b, 123_456_789_012, 4);
        put_padded(&mut b, 42, 5);
        put_u64(&mut b, u64::MAX);
        assert_eq!(
            String::from_utf8(b).unwrap(),
            format!("1234567890120004218446744073709551615")
        );
    }

    #[test]
    fn cached_and_computed_dates_agree() {
        let mut w = SegWriter::new(false, 64);
        let first = Day::from_ymd(2025, 1, 2);
        w.cache_dates(first, first.plus(10));
        assert_eq!(w.dates.len(), 11);
        for n in -5..15 {
            w.buf.clear();
            w.raw_date(first.plus(n));
            let mut b = Vec::new();
            put_d8(&mut b, first.plus(n));
            assert_eq!(w.buf, b, "{n}");
        }
    }

    #[test]
    fn days_round_trip_through_the_calendar() {
        assert_eq!(Day::from_ymd(1970, 1, 1), Day(0));
        assert_eq!(Day::from_ymd(2025, 1, 2).plus(329).ymd(), (2025, 11, 27));
        assert_eq!(Day::from_ymd(2024, 2, 28).plus(1).ymd(), (2024, 2, 29));
        assert_eq!(Day::from_ymd(2025, 2, 28).plus(1).ymd(), (2025, 3, 1));
        assert_eq!(Day::from_ymd(2025, 1, 2).plus(-900).ymd(), (2022, 7, 17));
        let start = Day::from_ymd(1899, 12, 25);
        let mut prev = start.ymd();
        for n in 1..100_000 {
            let d = start.plus(n);
            let ymd = d.ymd();
            assert_eq!(Day::from_ymd(ymd.0, ymd.1, ymd.2), d);
            assert!(ymd > prev, "{ymd:?} after {prev:?}");
            prev = ymd;
        }
        let mut b = Vec::new();
        put_d8(&mut b, Day::from_ymd(2025, 12, 15));
        assert_eq!(b, b"20251215");
    }
}
