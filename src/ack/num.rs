//! Numbers and dates as element values, formatted on the stack: the 277CA writes a few per
//! claim (HL numbers, amounts, dates), and a `String` for each showed up in profiles.

use crate::digits::PAIRS;

/// The text of a number, right-aligned in a small buffer.
#[derive(Clone, Copy, Debug)]
pub struct Num {
    buf: [u8; 24],
    start: usize,
}

impl Num {
    fn empty() -> Self {
        Num {
            buf: [0; 24],
            start: 24,
        }
    }

    fn push_front(&mut self, b: u8) {
        if self.start > 0 {
            self.start -= 1;
            self.buf[self.start] = b;
        }
    }

    /// Prepends the decimal digits of `n`, at least `width` of them (zero-padded): two at a
    /// time from a table.
    fn digits_front(&mut self, mut n: u64, width: usize) {
        let end = self.start;
        while n >= 100 {
            let pair = (n % 100) as usize * 2;
            n /= 100;
            self.push_front(PAIRS.get(pair + 1).copied().unwrap_or(b'0'));
            self.push_front(PAIRS.get(pair).copied().unwrap_or(b'0'));
        }
        if n >= 10 {
            let pair = n as usize * 2;
            self.push_front(PAIRS.get(pair + 1).copied().unwrap_or(b'0'));
            self.push_front(PAIRS.get(pair).copied().unwrap_or(b'0'));
        } else {
            self.push_front(b'0' + n as u8);
        }
        while end - self.start < width && self.start > 0 {
            self.push_front(b'0');
        }
    }

    /// `n` in decimal.
    pub fn uint(n: u64) -> Self {
        Num::padded(n, 1)
    }

    /// `n` in decimal with at least `width` digits, as `format!("{n:0width$}")` writes it
    /// (`width` at most 20).
    pub fn padded(n: u64, width: usize) -> Self {
        let mut out = Num::empty();
        out.digits_front(n, width);
        out
    }

    /// An X12 amount (type R) from cents: `1500`, `1500.5`, `1500.25`, `-3.25`.
    pub fn amount(cents: i64) -> Self {
        let abs = cents.unsigned_abs();
        let (whole, frac) = (abs / 100, abs % 100);
        let mut out = Num::empty();
        if frac % 10 != 0 {
            out.digits_front(frac, 2);
            out.push_front(b'.');
        } else if frac != 0 {
            out.digits_front(frac / 10, 1);
            out.push_front(b'.');
        }
        out.digits_front(whole, 1);
        if cents < 0 {
            out.push_front(b'-');
        }
        out
    }

    /// Cents as whole units and two decimals, unsigned: `1500.00`, `0.05` (as `Money`
    /// displays them).
    pub fn cents(cents: u64) -> Self {
        let mut out = Num::empty();
        out.digits_front(cents % 100, 2);
        out.push_front(b'.');
        out.digits_front(cents / 100, 1);
        out
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    /// The text (always ASCII).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl AsRef<[u8]> for Num {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// A `CCYYMMDD` date or a `CCYYMMDD-CCYYMMDD` span, on the stack.
#[derive(Clone, Copy, Debug)]
pub struct D8 {
    /// Room for a span of the widest fields (a 5-digit year, 3-digit month and day).
    buf: [u8; 23],
    len: usize,
}

impl D8 {
    /// `CCYYMMDD`, each part zero-padded as `format!("{:04}{:02}{:02}")` writes it.
    pub fn day(d: crate::claim::Date) -> Self {
        let mut out = D8 {
            buf: [0; 23],
            len: 0,
        };
        out.push_date(d);
        out
    }

    /// `CCYYMMDD-CCYYMMDD`.
    pub fn span(from: crate::claim::Date, thru: crate::claim::Date) -> Self {
        let mut out = D8::day(from);
        out.push(b'-');
        out.push_date(thru);
        out
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn push_date(&mut self, d: crate::claim::Date) {
        if d.year <= 9999 && d.month <= 99 && d.day <= 99 {
            // The usual widths: eight digits, written without a division loop per part.
            let (y, m, day) = (d.year, u16::from(d.month), u16::from(d.day));
            for v in [
                y / 1000,
                y / 100 % 10,
                y / 10 % 10,
                y % 10,
                m / 10,
                m % 10,
                day / 10,
                day % 10,
            ] {
                self.push(b'0' + v as u8);
            }
            return;
        }
        for (v, width) in [
            (u64::from(d.year), 4),
            (u64::from(d.month), 2),
            (u64::from(d.day), 2),
        ] {
            for &b in Num::padded(v, width).as_bytes() {
                self.push(b);
            }
        }
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

impl AsRef<[u8]> for D8 {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dates_are_ccyymmdd() {
        let d = |year, month, day| crate::claim::Date { year, month, day };
        assert_eq!(D8::day(d(2026, 1, 5)).as_bytes(), b"20260105");
        assert_eq!(
            D8::span(d(999, 12, 31), d(2026, 11, 27)).as_bytes(),
            b"09991231-20261127"
        );
        assert_eq!(
            D8::day(d(65535, 255, 7)).as_bytes(),
            format!("{:04}{:02}{:02}", 65535, 255, 7).as_bytes()
        );
    }

    proptest! {
        /// Every date is what `format!` writes.
        #[test]
        fn dates_match_format(year in any::<u16>(), month in any::<u8>(), day in any::<u8>()) {
            let d = crate::claim::Date { year, month, day };
            let expected = format!("{year:04}{month:02}{day:02}");
            let got = D8::day(d);
            prop_assert_eq!(got.as_bytes(), expected.as_bytes());
        }

        /// Every number is what `format!` writes.
        #[test]
        fn numbers_match_format(
            n in prop_oneof![any::<u64>(), 0u64..100_000],
            cents in prop_oneof![any::<i64>(), -100_000i64..100_000],
            width in 0usize..12,
        ) {
            prop_assert_eq!(Num::uint(n).as_str().to_owned(), n.to_string());
            prop_assert_eq!(Num::cents(n).as_str().to_owned(), format!("{}.{:02}", n / 100, n % 100));
            prop_assert_eq!(Num::padded(n, width).as_str().to_owned(), format!("{n:0width$}"));
            prop_assert_eq!(
                Num::amount(cents).as_str().to_owned(),
                crate::ack::claim277::amount(cents)
            );
        }
    }
}
