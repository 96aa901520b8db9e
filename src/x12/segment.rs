//! Zero-copy views of one framed segment: its id, elements, repetitions and components.
//!
//! Parsing is done with nom's complete parsers over the framed bytes: a
//! segment id (two or three upper-case letters or digits, starting with a
//! letter), then fields split on one delimiter at a time. Splitting is lazy and
//! allocation-free: iterators hand out borrowed slices.

use nom::IResult;

use super::delims::Delimiters;

/// One segment, borrowed from the framer's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    raw: &'a [u8],
    id_len: usize,
    delims: Delimiters,
}

/// A segment whose first bytes are not a segment id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadSegmentId;

/// The nom parser of a segment id: an upper-case letter, then one or two upper-case letters or
/// digits. Written out by hand (it runs once per segment, on the hot path).
fn segment_id(input: &[u8]) -> IResult<&[u8], &[u8]> {
    let id_byte = |b: &u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    let len = match input {
        [a, b, c, ..] if a.is_ascii_uppercase() && id_byte(b) && id_byte(c) => 3,
        [a, b, ..] if a.is_ascii_uppercase() && id_byte(b) => 2,
        _ => {
            return Err(nom::Err::Error(nom::error::Error::new(
                input,
                nom::error::ErrorKind::TakeWhileMN,
            )))
        }
    };
    Ok((&input[len..], &input[..len]))
}

/// A nom parser for one field: the bytes up to `sep` and whether a separator followed (so
/// another field comes). At the end of input it yields the rest. Fields are a few bytes long,
/// so a plain scan beats a memchr call here.
#[inline]
fn field(sep: u8) -> impl Fn(&[u8]) -> IResult<&[u8], (&[u8], bool)> {
    move |input: &[u8]| match input.iter().position(|&b| b == sep) {
        Some(i) => Ok((&input[i + 1..], (&input[..i], true))),
        None => Ok((&input[input.len()..], (input, false))),
    }
}

impl<'a> Segment<'a> {
    /// Parses the id of a framed segment (`raw` excludes the terminator).
    pub fn parse(raw: &'a [u8], delims: Delimiters) -> Result<Self, BadSegmentId> {
        let (rest, id) = segment_id(raw).map_err(|_| BadSegmentId)?;
        if rest.first().is_some_and(|&b| b != delims.element) {
            return Err(BadSegmentId);
        }
        Ok(Segment {
            raw,
            id_len: id.len(),
            delims,
        })
    }

    /// The segment id, e.g. `CLM`.
    pub fn id(&self) -> &'a [u8] {
        &self.raw[..self.id_len]
    }

    /// The segment id as text (ids are ASCII by construction).
    pub fn id_str(&self) -> &'a str {
        std::str::from_utf8(self.id()).unwrap_or("???")
    }

    /// The whole segment, terminator excluded.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Delimiters in force.
    pub fn delimiters(&self) -> Delimiters {
        self.delims
    }

    /// Elements from the first (`SEG01`) on.
    pub fn elements(&self) -> Elements<'a> {
        let rest = &self.raw[self.id_len..];
        Fields {
            rest: if rest.is_empty() {
                None
            } else {
                Some(&rest[1..])
            },
            sep: self.delims.element,
        }
        .with_delims(self.delims)
    }

    /// Element `n` (1-based), or `None` when the segment has fewer elements.
    pub fn element(&self, n: usize) -> Option<Element<'a>> {
        if n == 0 {
            return None;
        }
        self.elements().nth(n - 1)
    }

    /// Element `n` as bytes, empty when absent.
    pub fn value(&self, n: usize) -> &'a [u8] {
        self.element(n).map(|e| e.as_bytes()).unwrap_or(b"")
    }

    /// Element `n` as text (lossy for non-UTF-8 bytes), empty when absent.
    pub fn text(&self, n: usize) -> std::borrow::Cow<'a, str> {
        String::from_utf8_lossy(self.value(n))
    }

    /// Number of elements, counting empty ones.
    pub fn element_count(&self) -> usize {
        self.elements().count()
    }

    /// The segment split into elements → repetitions → components, for writing back.
    ///
    /// ISA elements are fixed-width and never split further.
    pub fn tokens(&self) -> Vec<Vec<Vec<&'a [u8]>>> {
        let whole = self.id() == b"ISA";
        self.elements()
            .map(|e| {
                if whole {
                    vec![vec![e.as_bytes()]]
                } else {
                    e.repetitions().map(|r| r.components().collect()).collect()
                }
            })
            .collect()
    }
}

/// An iterator over fields separated by one delimiter.
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    rest: Option<&'a [u8]>,
    sep: u8,
}

impl<'a> Fields<'a> {
    fn with_delims(self, delims: Delimiters) -> Elements<'a> {
        Elements {
            inner: self,
            delims,
        }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let input = self.rest?;
        let (rest, (value, more)) = field(self.sep)(input).ok()?;
        self.rest = more.then_some(rest);
        Some(value)
    }
}

/// An iterator over a segment's elements.
#[derive(Clone, Debug)]
pub struct Elements<'a> {
    inner: Fields<'a>,
    delims: Delimiters,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Element<'a>;

    fn next(&mut self) -> Option<Element<'a>> {
        self.inner.next().map(|bytes| Element {
            bytes,
            delims: self.delims,
        })
    }
}

/// A segment's elements split once, for code that reads many of them (element `n` is then an
/// index, not a scan). Holds the first [`Split::MAX`] elements as offsets, so it stays small,
/// and notes which of them hold a component or repetition separator.
#[derive(Clone, Copy, Debug)]
pub struct Split<'a> {
    raw: &'a [u8],
    ends: [u32; Split::MAX],
    len: u8,
    /// More than [`Split::MAX`] elements: the rest are not held.
    more: bool,
    /// Bit `n - 1`: element `n` holds a component separator.
    composite: u32,
    /// Bit `n - 1`: element `n` holds a repetition separator.
    repeated: u32,
    delims: Delimiters,
}

impl<'a> Split<'a> {
    /// Elements kept (the 837 segments edits read have at most 21).
    pub const MAX: usize = 24;

    /// Element `n` (1-based) as bytes, empty when absent.
    #[inline]
    pub fn value(&self, n: usize) -> &'a [u8] {
        if n == 0 || n > self.len as usize {
            return b"";
        }
        let start = if n == 1 {
            0
        } else {
            self.ends[n - 2] as usize + 1
        };
        self.raw
            .get(start..self.ends[n - 1] as usize)
            .unwrap_or_default()
    }

    /// Element `n` (1-based), or `None` when the segment has fewer elements.
    #[inline]
    pub fn element(&self, n: usize) -> Option<Element<'a>> {
        (1..=self.len as usize).contains(&n).then(|| Element {
            bytes: self.value(n),
            delims: self.delims,
        })
    }

    /// Number of elements held.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether it holds no element.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the segment has more than [`Split::MAX`] elements (only the first are held).
    pub fn truncated(&self) -> bool {
        self.more
    }

    /// The bytes the elements are split from (element 1 on, terminator excluded).
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// Where each held element ends in [`Split::bytes`] (element `n` starts one past the end of
    /// element `n - 1`, element 1 at 0).
    #[inline]
    pub fn ends(&self) -> &[u32] {
        &self.ends[..self.len as usize]
    }

    /// Bit `n - 1`: element `n` holds a component separator.
    #[inline]
    pub fn composite_bits(&self) -> u32 {
        self.composite
    }

    /// Bit `n - 1`: element `n` holds a repetition separator.
    #[inline]
    pub fn repeated_bits(&self) -> u32 {
        self.repeated
    }

    /// Whether element `n` (1-based, within [`Split::MAX`]) holds a component or repetition
    /// separator, i.e. is more than one simple value.
    #[inline]
    pub fn compound(&self, n: usize) -> bool {
        (1..=Split::MAX).contains(&n) && (self.composite | self.repeated) >> (n - 1) & 1 == 1
    }
}

/// Byte classes under one set of delimiters, for [`Segment::split_by`]: a table look-up per byte
/// instead of three comparisons.
#[derive(Clone, Debug)]
pub struct SplitTable {
    delims: Delimiters,
    /// 1: element separator, 2: component separator, 3: repetition separator, 0: other.
    class: [u8; 256],
}

impl SplitTable {
    /// The table for `delims`.
    pub fn new(delims: Delimiters) -> SplitTable {
        let mut class = [0u8; 256];
        // Later writes win, in the order `split` tests the separators: element, component,
        // repetition (the terminator stands in for a missing repetition separator).
        class[usize::from(delims.repetition.unwrap_or(delims.segment))] = 3;
        class[usize::from(delims.component)] = 2;
        class[usize::from(delims.element)] = 1;
        SplitTable { delims, class }
    }

    /// The delimiters it is for.
    pub fn delimiters(&self) -> Delimiters {
        self.delims
    }
}

impl<'a> Segment<'a> {
    /// [`Segment::split`] by a [`SplitTable`] (the same result; faster when the table is kept
    /// from segment to segment).
    #[inline]
    pub fn split_by(&self, table: &SplitTable) -> Split<'a> {
        if table.delims != self.delims {
            return self.split();
        }
        let rest = self.raw.get(self.id_len + 1..).unwrap_or_default();
        let mut ends = [0u32; Split::MAX];
        let mut len = 0usize;
        let mut more = false;
        let (mut composite, mut repeated) = (0u32, 0u32);
        if self.raw.len() > self.id_len {
            for (i, &b) in rest.iter().enumerate() {
                match table.class[usize::from(b)] {
                    0 => {}
                    1 => {
                        ends[len] = i as u32;
                        len += 1;
                        if len == Split::MAX {
                            more = true;
                            break;
                        }
                    }
                    2 => composite |= 1 << len,
                    _ => repeated |= 1 << len,
                }
            }
            if !more {
                ends[len] = rest.len() as u32;
                len += 1;
            }
        }
        Split {
            raw: rest,
            ends,
            len: len as u8,
            more,
            composite,
            repeated,
            delims: self.delims,
        }
    }

    /// The elements split once (see [`Split`]).
    pub fn split(&self) -> Split<'a> {
        let rest = self.raw.get(self.id_len + 1..).unwrap_or_default();
        let mut ends = [0u32; Split::MAX];
        let mut len = 0usize;
        let mut more = false;
        let (mut composite, mut repeated) = (0u32, 0u32);
        if self.raw.len() > self.id_len {
            let d = self.delims;
            // A byte that never occurs inside a segment stands in for a missing repetition
            // separator. (Separators are dense in X12: a word-at-a-time search measured no
            // fewer instructions than this byte loop.)
            let rep = d.repetition.unwrap_or(d.segment);
            for (i, &b) in rest.iter().enumerate() {
                if b == d.element {
                    ends[len] = i as u32;
                    len += 1;
                    if len == Split::MAX {
                        more = true;
                        break;
                    }
                } else if b == d.component {
                    composite |= 1 << len;
                } else if b == rep {
                    repeated |= 1 << len;
                }
            }
            if !more {
                ends[len] = rest.len() as u32;
                len += 1;
            }
        }
        Split {
            raw: rest,
            ends,
            len: len as u8,
            more,
            composite,
            repeated,
            delims: self.delims,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Element<'a> {
    bytes: &'a [u8],
    delims: Delimiters,
}

impl<'a> Element<'a> {
    /// The element's bytes as written.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// True for an empty element.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Components split on the component separator (one component for a simple element).
    pub fn components(&self) -> Fields<'a> {
        Fields {
            rest: Some(self.bytes),
            sep: self.delims.component,
        }
    }

    /// Component `n` (1-based), or `None` when there are fewer.
    pub fn component(&self, n: usize) -> Option<&'a [u8]> {
        if n == 0 {
            return None;
        }
        self.components().nth(n - 1)
    }

    /// Repetitions split on the repetition separator (one when there is none).
    pub fn repetitions(&self) -> Elements<'a> {
        match self.delims.repetition {
            Some(sep) => Fields {
                rest: Some(self.bytes),
                sep,
            }
            .with_delims(self.delims),
            None => Fields {
                rest: Some(self.bytes),
                // No repetition separator: a byte that never splits (the terminator cannot occur inside).
                sep: self.delims.segment,
            }
            .with_delims(self.delims),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Delimiters = Delimiters::STANDARD;

    #[test]
    fn ids_and_elements() {
        let s = Segment::parse(b"CLM*A1*100***11:B:1*Y", D).unwrap();
        assert_eq!(s.id(), b"CLM");
        assert_eq!(s.element_count(), 6);
        assert_eq!(s.value(1), b"A1");
        assert_eq!(s.value(3), b"");
        assert_eq!(s.element(5).unwrap().component(2), Some(&b"B"[..]));
        assert_eq!(s.element(7).map(|e| e.as_bytes()), None);
        assert_eq!(s.element(0).map(|e| e.as_bytes()), None);
    }

    #[test]
    fn split_agrees_with_element() {
        let s = Segment::parse(b"CLM*A1*100***11:B:1*Y", D).unwrap();
        let e = s.split();
        assert_eq!(e.len(), 6);
        for n in 0..9 {
            assert_eq!(e.value(n), s.value(n), "{n}");
            assert_eq!(
                e.element(n).map(|x| x.as_bytes()),
                s.element(n).map(|x| x.as_bytes())
            );
        }
        assert_eq!(e.element(5).unwrap().component(3), Some(&b"1"[..]));
    }

    proptest::proptest! {
        /// The word-at-a-time split agrees with the element iterator on every element, its
        /// separator flags and the overflow mark, for any bytes and separators.
        #[test]
        fn split_agrees_with_the_element_iterator(
            body in proptest::collection::vec(
                proptest::prop_oneof![
                    4 => proptest::sample::select(&b"*:^~AZ09 .-"[..]),
                    1 => proptest::num::u8::ANY,
                ],
                0..300,
            ),
            no_repetition in proptest::bool::ANY,
        ) {
            let d = Delimiters {
                repetition: (!no_repetition).then_some(b'^'),
                ..D
            };
            let mut raw = b"REF*".to_vec();
            raw.extend(body.iter().filter(|&&b| b != b'~'));
            let s = Segment::parse(&raw, d).expect("id is valid");
            let e = s.split();
            let all: Vec<&[u8]> = s.elements().map(|x| x.as_bytes()).collect();
            proptest::prop_assert_eq!(e.truncated(), all.len() > Split::MAX);
            proptest::prop_assert_eq!(e.len(), all.len().min(Split::MAX));
            let by_table = s.split_by(&SplitTable::new(d));
            proptest::prop_assert_eq!(by_table.ends(), e.ends());
            proptest::prop_assert_eq!(by_table.bytes(), e.bytes());
            proptest::prop_assert_eq!(
                (by_table.truncated(), by_table.composite_bits(), by_table.repeated_bits()),
                (e.truncated(), e.composite_bits(), e.repeated_bits())
            );
            let mut start = 0usize;
            for (n, &end) in e.ends().iter().enumerate() {
                proptest::prop_assert_eq!(&e.bytes()[start..end as usize], e.value(n + 1));
                start = end as usize + 1;
            }
            for (n, v) in all.iter().enumerate().take(Split::MAX) {
                proptest::prop_assert_eq!(e.value(n + 1), *v);
                let (c, r) = (e.composite_bits() >> n & 1 == 1, e.repeated_bits() >> n & 1 == 1);
                proptest::prop_assert_eq!(c || r, e.compound(n + 1));
                let compound = v.contains(&b':') || (!no_repetition && v.contains(&b'^'));
                proptest::prop_assert_eq!(e.compound(n + 1), compound);
            }
        }
    }

    #[test]
    fn split_flags_compound_elements_and_overflow() {
        let s = Segment::parse(b"SV1*HC:64635:RT*100*UN*1***1:2^3", D).unwrap();
        let e = s.split();
        assert!(e.compound(1) && e.compound(7));
        assert!(!e.compound(2) && !e.compound(6) && !e.compound(0) && !e.compound(99));
        assert!(!e.truncated());
        let long = format!("REF{}", "*X".repeat(Split::MAX + 1));
        let s = Segment::parse(long.as_bytes(), D).unwrap();
        let e = s.split();
        assert!(e.truncated());
        assert_eq!(e.len(), Split::MAX);
        assert_eq!(e.value(Split::MAX), b"X");
        let exact = format!("REF{}", "*X".repeat(Split::MAX));
        let e = Segment::parse(exact.as_bytes(), D).unwrap().split();
        assert!(!e.truncated());
        assert_eq!(e.len(), Split::MAX);
    }

    #[test]
    fn a_segment_with_no_elements() {
        let s = Segment::parse(b"SE", D).unwrap();
        assert_eq!(s.element_count(), 0);
        let s = Segment::parse(b"SE*", D).unwrap();
        assert_eq!(s.element_count(), 1);
        assert_eq!(s.value(1), b"");
    }

    #[test]
    fn repetitions_then_components() {
        let s = Segment::parse(b"HI*ABK:M5450^ABF:M5459", D).unwrap();
        let reps: Vec<Vec<&[u8]>> = s
            .element(1)
            .unwrap()
            .repetitions()
            .map(|r| r.components().collect())
            .collect();
        assert_eq!(
            reps,
            vec![vec![&b"ABK"[..], b"M5450"], vec![b"ABF", b"M5459"]]
        );
    }

    #[test]
    fn bad_ids_are_refused() {
        for raw in [&b""[..], b"c", b"1AB*X", b"ABCD*X", b"AB-X", b"\x00\x01"] {
            assert_eq!(Segment::parse(raw, D).err(), Some(BadSegmentId), "{raw:?}");
        }
    }
}
