//! A claim segment's elements found as far as the edits read them: split on the element
//! separator only, eight bytes at a time, stopping after the last element wanted.

use crate::x12::segment::Split;

/// The first elements of one segment (at most [`Split::MAX`], like [`Split`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Elems<'a> {
    /// The bytes after the id and its separator.
    raw: &'a [u8],
    /// Where each known element ends in `raw`.
    ends: [u32; Split::MAX],
    /// Elements known.
    len: u8,
}

const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// Bit 7 of each byte of `x` that is zero (exact: no carry crosses bytes).
#[inline]
fn zero_bytes(x: u64) -> u64 {
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

impl<'a> Elems<'a> {
    /// Elements 1 to `max` of a segment whose id is `id_len` bytes long (the same values as
    /// [`Split::value`] for those elements).
    #[inline]
    pub(crate) fn new(raw: &'a [u8], id_len: usize, sep: u8, max: usize) -> Elems<'a> {
        let max = max.min(Split::MAX);
        let mut e = Elems {
            raw: raw.get(id_len + 1..).unwrap_or_default(),
            ends: [0; Split::MAX],
            len: 0,
        };
        if raw.len() <= id_len || max == 0 {
            return e;
        }
        let found = e.find(sep, max);
        if found < max {
            // The last element runs to the end; `found < max <= Split::MAX` keeps it in bounds.
            if let Some(slot) = e.ends.get_mut(found) {
                *slot = e.raw.len() as u32;
            }
            e.len = (found + 1) as u8;
        } else {
            e.len = max as u8;
        }
        e
    }

    /// Records the ends of up to `max` elements that a separator closes; returns how many.
    #[inline]
    fn find(&mut self, sep: u8, max: usize) -> usize {
        let splat = u64::from_ne_bytes([sep; 8]);
        let mut n = 0usize;
        let mut chunks = self.raw.chunks_exact(8);
        let mut base = 0u32;
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            let mut m = zero_bytes(u64::from_le_bytes(w) ^ splat);
            while m != 0 {
                if let Some(slot) = self.ends.get_mut(n) {
                    *slot = base + m.trailing_zeros() / 8;
                }
                n += 1;
                if n == max {
                    return n;
                }
                m &= m - 1;
            }
            base += 8;
        }
        for (i, &b) in chunks.remainder().iter().enumerate() {
            if b == sep {
                if let Some(slot) = self.ends.get_mut(n) {
                    *slot = base + i as u32;
                }
                n += 1;
                if n == max {
                    return n;
                }
            }
        }
        n
    }

    /// Element `n` (1-based) as bytes, empty when absent or past the elements wanted.
    #[inline]
    pub(crate) fn value(&self, n: usize) -> &'a [u8] {
        if n == 0 || n > self.len as usize {
            return b"";
        }
        let start = match n {
            1 => 0,
            _ => self.ends[n - 2] as usize + 1,
        };
        self.raw
            .get(start..self.ends[n - 1] as usize)
            .unwrap_or_default()
    }

    /// Whether element `n` is known (present and within the elements wanted).
    #[inline]
    pub(crate) fn has(&self, n: usize) -> bool {
        (1..=self.len as usize).contains(&n)
    }

    /// Elements known.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }
}

/// A number as `str::parse::<u32>` reads it (an optional `+`, then digits, no overflow),
/// without the UTF-8 check.
#[inline]
pub(crate) fn parse_u32(b: &[u8]) -> Option<u32> {
    let digits = b.strip_prefix(b"+").unwrap_or(b);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u32, |n, &c| {
        let d = c.checked_sub(b'0').filter(|&d| d <= 9)?;
        n.checked_mul(10)?.checked_add(u32::from(d))
    })
}

#[inline]
pub(crate) fn part(bytes: &[u8], sep: u8, n: usize) -> Option<&[u8]> {
    n.checked_sub(1)
        .and_then(|i| bytes.split(move |&b| b == sep).nth(i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::{Delimiters, Segment};

    proptest::proptest! {
        /// Every element wanted reads as `Split` reads it, for any bytes, separators and
        /// number wanted; elements past those wanted read empty.
        #[test]
        fn agrees_with_split(
            body in proptest::collection::vec(
                proptest::prop_oneof![
                    4 => proptest::sample::select(&b"*:^AZ09 .-"[..]),
                    1 => proptest::num::u8::ANY,
                ],
                0..300,
            ),
            bare in proptest::bool::ANY,
            max in 0usize..30,
        ) {
            let d = Delimiters::STANDARD;
            let mut raw = b"REF".to_vec();
            if !bare {
                raw.push(b'*');
                raw.extend(body.iter().filter(|&&b| b != b'~'));
            }
            let s = Segment::parse(&raw, d).expect("id is valid");
            let split = s.split();
            let e = Elems::new(&raw, 3, d.element, max);
            proptest::prop_assert_eq!(e.len(), split.len().min(max));
            for n in 0..=Split::MAX + 2 {
                let want: &[u8] = if n <= max { split.value(n) } else { b"" };
                proptest::prop_assert_eq!(e.value(n), want, "element {}", n);
                proptest::prop_assert_eq!(e.has(n), n <= max && split.element(n).is_some());
            }
        }

        /// `parse_u32` reads what `str::parse::<u32>` reads.
        #[test]
        fn parse_u32_agrees_with_str_parse(
            b in proptest::collection::vec(
                proptest::prop_oneof![
                    6 => proptest::sample::select(&b"0123456789"[..]),
                    1 => proptest::sample::select(&b"+- .a"[..]),
                    1 => proptest::num::u8::ANY,
                ],
                0..13,
            ),
        ) {
            let want = std::str::from_utf8(&b).ok().and_then(|s| s.parse::<u32>().ok());
            proptest::prop_assert_eq!(parse_u32(&b), want);
        }

        /// `part` finds what `Element::component` finds.
        #[test]
        fn part_agrees_with_component(
            body in proptest::collection::vec(proptest::sample::select(&b":AB1"[..]), 0..20),
            n in 0usize..8,
        ) {
            let mut raw = b"SV1*".to_vec();
            raw.extend(&body);
            let s = Segment::parse(&raw, Delimiters::STANDARD).expect("id is valid");
            let el = s.element(1).expect("one element");
            proptest::prop_assert_eq!(part(&body, b':', n), el.component(n));
        }
    }
}
