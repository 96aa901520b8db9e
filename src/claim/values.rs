//! Typed values read from claims: exact money, dates and date ranges.

use std::fmt;

/// An amount of money in exact cents (never a float).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money {
    /// Cents.
    pub cents: i64,
}

impl Money {
    /// Parses an X12 R value with at most two decimals (`1500`, `1500.5`, `-12.34`, `.5`).
    /// Read in one pass (it runs for every claim and line).
    #[inline]
    pub fn parse(b: &[u8]) -> Option<Money> {
        let (neg, body) = match b.strip_prefix(b"-") {
            Some(rest) => (true, rest),
            None => (false, b),
        };
        let (mut whole, mut frac, mut nw, mut nf, mut dot) = (0i64, 0i64, 0usize, 0usize, false);
        for &c in body {
            match c {
                b'0'..=b'9' if dot => {
                    nf += 1;
                    frac = frac * 10 + i64::from(c - b'0');
                }
                b'0'..=b'9' => {
                    nw += 1;
                    if nw > 15 {
                        return None;
                    }
                    whole = whole * 10 + i64::from(c - b'0');
                }
                b'.' if !dot => dot = true,
                _ => return None,
            }
            if nf > 2 {
                return None;
            }
        }
        if nw == 0 && nf == 0 {
            return None;
        }
        let cents = whole * 100 + if nf == 1 { frac * 10 } else { frac };
        Some(Money {
            cents: if neg { -cents } else { cents },
        })
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, o: Money) -> Money {
        Money {
            cents: self.cents.saturating_add(o.cents),
        }
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::default(), |a, b| a + b)
    }
}

impl fmt::Display for Money {
    /// `1500.00`, `-0.05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.cents < 0 { "-" } else { "" };
        let abs = self.cents.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// A calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year.
    pub year: u16,
    /// Month 1–12.
    pub month: u8,
    /// Day 1–31.
    pub day: u8,
}

impl Date {
    /// Parses a valid CCYYMMDD.
    pub fn parse_d8(b: &[u8]) -> Option<Date> {
        if !crate::grammar::elements::valid_date(b) {
            return None;
        }
        let n = |r: std::ops::Range<usize>| {
            b[r].iter()
                .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'))
        };
        Some(Date {
            year: n(0..4) as u16,
            month: n(4..6) as u8,
            day: n(6..8) as u8,
        })
    }
}

impl fmt::Display for Date {
    /// ISO 8601: `2026-11-01`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A date or a range of dates (D8 or RD8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateRange {
    /// First day.
    pub from: Date,
    /// Last day (equal to `from` for a single date).
    pub thru: Date,
}

impl DateRange {
    /// Parses a DTP02/DTP03 pair: `D8` + CCYYMMDD or `RD8` + CCYYMMDD-CCYYMMDD (from ≤ thru).
    pub fn parse(format: &[u8], value: &[u8]) -> Option<DateRange> {
        match format {
            b"D8" => Date::parse_d8(value).map(|d| DateRange { from: d, thru: d }),
            b"RD8" => {
                let i = value.iter().position(|&c| c == b'-')?;
                let from = Date::parse_d8(&value[..i])?;
                let thru = Date::parse_d8(&value[i + 1..])?;
                (from <= thru).then_some(DateRange { from, thru })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reading `Money::parse` is held to: split at the point, then check and add.
    fn by_parts(b: &[u8]) -> Option<Money> {
        let (neg, body) = match b.strip_prefix(b"-") {
            Some(rest) => (true, rest),
            None => (false, b),
        };
        let (whole, frac) = match body.iter().position(|&c| c == b'.') {
            Some(i) => (&body[..i], &body[i + 1..]),
            None => (body, &b""[..]),
        };
        if (whole.is_empty() && frac.is_empty())
            || frac.len() > 2
            || whole.len() > 15
            || !whole.iter().chain(frac).all(u8::is_ascii_digit)
        {
            return None;
        }
        let mut cents: i64 = 0;
        for &d in whole {
            cents = cents * 10 + i64::from(d - b'0');
        }
        let mut f = 0i64;
        for (i, &d) in frac.iter().enumerate() {
            f += i64::from(d - b'0') * if i == 0 { 10 } else { 1 };
        }
        cents = cents * 100 + f;
        Some(Money {
            cents: if neg { -cents } else { cents },
        })
    }

    proptest::proptest! {
        /// `Money::parse` reads what a reading by parts reads.
        #[test]
        fn one_pass_agrees_with_a_reading_by_parts(
            b in proptest::collection::vec(
                proptest::prop_oneof![
                    6 => proptest::sample::select(&b"0123456789"[..]),
                    2 => proptest::sample::select(&b"-."[..]),
                    1 => proptest::sample::select(&b"+ ea"[..]),
                ],
                0..20,
            ),
        ) {
            proptest::prop_assert_eq!(Money::parse(&b), by_parts(&b));
        }
    }

    #[test]
    fn money_is_exact() {
        assert_eq!(Money::parse(b"1500").unwrap().to_string(), "1500.00");
        assert_eq!(Money::parse(b"1500.5").unwrap().cents, 150_050);
        assert_eq!(Money::parse(b"-0.05").unwrap().to_string(), "-0.05");
        assert_eq!(Money::parse(b".5").unwrap().cents, 50);
        for bad in [&b""[..], b".", b"1.234", b"1,00", b"--1", b"1e3"] {
            assert_eq!(Money::parse(bad), None, "{bad:?}");
        }
        let total: Money = [b"0.10", b"0.20"]
            .iter()
            .map(|b| Money::parse(*b).unwrap())
            .sum();
        assert_eq!(total.to_string(), "0.30");
    }

    #[test]
    fn dates_and_ranges() {
        let r = DateRange::parse(b"RD8", b"20261101-20261105").unwrap();
        assert_eq!(
            (r.from.to_string(), r.thru.to_string()),
            ("2026-11-01".into(), "2026-11-05".into())
        );
        assert!(DateRange::parse(b"RD8", b"20261105-20261101").is_none());
        assert_eq!(DateRange::parse(b"D8", b"20261101").unwrap().from, r.from);
        assert!(DateRange::parse(b"D8", b"20261131").is_none());
    }
}
