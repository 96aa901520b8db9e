//! A segment writer for the 277CA's hot paths (each claim's fragment, each 277's header and
//! roll-ups): segments go straight into one byte buffer, with the bytes
//! [`crate::x12::X12Writer`] writes (delimiters and line ends inside a value blanked, trailing
//! empty elements and components dropped), and are counted as they are written.

use crate::x12::writer::BlankTable;
use crate::x12::Delimiters;

/// The bytes a copied value keeps as they are (printable ASCII).
const PRINTABLE: std::ops::RangeInclusive<u8> = 0x20..=0x7e;

/// Segments written back to back into a buffer.
#[derive(Clone, Debug)]
pub struct SegBuf {
    buf: Vec<u8>,
    /// The bytes a value cannot hold, which are written as blanks.
    blank: BlankTable,
    /// Each byte of a value copied from an 837 as [`SegBuf::el_fit`] writes it: `?` for
    /// one that is not printable ASCII, then blanked as `blank` blanks it.
    fit_map: [u8; 256],
    element: u8,
    component: u8,
    /// The terminator and the line end after it.
    end: Vec<u8>,
    /// Length of `buf` up to the last non-empty element of the open segment.
    kept: usize,
    segments: u32,
}

impl SegBuf {
    /// An empty buffer writing with `delims`, and `eol` after each terminator.
    pub fn new(delims: Delimiters, eol: &[u8], capacity: usize) -> Self {
        let blank = BlankTable::new(delims);
        let mut end = vec![delims.segment];
        end.extend_from_slice(eol);
        // Every byte made printable, then blanked, in one pass (a batch makes a writer).
        let printable: Vec<u8> = (0..=255u8)
            .map(|b| if PRINTABLE.contains(&b) { b } else { b'?' })
            .collect();
        let mut blanked = Vec::with_capacity(256);
        blank.push(&mut blanked, &printable);
        let mut fit_map = [b' '; 256];
        for (slot, &b) in fit_map.iter_mut().zip(&blanked) {
            *slot = b;
        }
        SegBuf {
            buf: Vec::with_capacity(capacity),
            blank,
            fit_map,
            element: delims.element,
            component: delims.component,
            end,
            kept: 0,
            segments: 0,
        }
    }

    /// Bytes written.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Segments written.
    #[inline]
    pub fn segments(&self) -> u32 {
        self.segments
    }

    /// The bytes written.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The buffer.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Empties it (the segment count too).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.segments = 0;
    }

    /// Starts a segment with `id`, or with a head this writer wrote before: the id and first
    /// elements (taken with [`SegBuf::bytes`] before the segment ended), the last not empty.
    #[inline]
    pub fn seg(&mut self, id: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(id);
        self.kept = self.buf.len();
        self
    }

    #[inline]
    fn value(&mut self, value: &[u8]) {
        self.blank.push(&mut self.buf, value);
    }

    /// Appends a simple element.
    #[inline]
    pub fn el(&mut self, value: impl AsRef<[u8]>) -> &mut Self {
        let value = value.as_ref();
        self.buf.push(self.element);
        if !value.is_empty() {
            self.value(value);
            self.kept = self.buf.len();
        }
        self
    }

    /// Appends `n` empty elements.
    #[inline]
    pub fn empty(&mut self, n: usize) -> &mut Self {
        for _ in 0..n {
            self.buf.push(self.element);
        }
        self
    }

    /// Appends a composite element; trailing empty components are dropped.
    pub fn comp(&mut self, parts: &[&[u8]]) -> &mut Self {
        self.buf.push(self.element);
        let used = parts
            .iter()
            .rposition(|p| !p.is_empty())
            .map_or(0, |i| i + 1);
        for (i, part) in parts.iter().take(used).enumerate() {
            if i > 0 {
                self.buf.push(self.component);
            }
            self.value(part);
        }
        if used > 0 {
            self.kept = self.buf.len();
        }
        self
    }

    /// Appends a `category:status[:entity]` code (split on `:`) as a composite, as
    /// [`SegBuf::comp`] writes its parts.
    pub fn code(&mut self, code: &str) -> &mut Self {
        self.buf.push(self.element);
        let start = self.buf.len();
        // End of the last non-empty part: trailing empty parts are cut off after.
        let mut end = start;
        for (i, part) in code.as_bytes().split(|&b| b == b':').enumerate() {
            if i > 0 {
                self.buf.push(self.component);
            }
            if !part.is_empty() {
                self.value(part);
                end = self.buf.len();
            }
        }
        self.buf.truncate(end);
        if end > start {
            self.kept = end;
        }
        self
    }

    /// Appends a value copied from an 837, made fit for an element of `min..=max`
    /// characters as [`crate::ack::claim277::fit`] makes it, in one pass: printable ASCII
    /// only (others become `?`), cut at `max`; one shorter than `min` (or blank) becomes
    /// `UNKNOWN` when `min` > 0.
    #[inline]
    pub fn el_fit(&mut self, v: &[u8], min: usize, max: usize) -> &mut Self {
        let v = v.get(..max).unwrap_or(v);
        if min > 0 && (v.len() < min || v.iter().all(|&b| b == b' ')) {
            return self.el(b"UNKNOWN".get(..max.min(7)).unwrap_or_default());
        }
        self.buf.push(self.element);
        if !v.is_empty() {
            let map = &self.fit_map;
            self.buf.extend(v.iter().map(|&b| map[usize::from(b)]));
            self.kept = self.buf.len();
        }
        self
    }

    /// Appends a whole segment this writer wrote before (terminator included), counting it.
    #[inline]
    pub fn segment_bytes(&mut self, segment: &[u8]) {
        self.buf.extend_from_slice(segment);
        self.segments += 1;
    }

    /// Ends the segment: trailing empty elements are dropped, the terminator written.
    #[inline]
    pub fn end(&mut self) {
        self.buf.truncate(self.kept);
        match self.end.as_slice() {
            // The terminator alone or with a newline (the usual ends) without a copy call.
            [t] => self.buf.push(*t),
            [t, n] => {
                self.buf.push(*t);
                self.buf.push(*n);
            }
            end => self.buf.extend_from_slice(end),
        }
        self.segments += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::X12Writer;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the values, the bytes are the ones X12Writer writes.
        #[test]
        fn same_bytes_as_the_x12_writer(
            values in proptest::collection::vec(proptest::collection::vec(
                prop_oneof![Just(b'*'), Just(b':'), Just(b'~'), Just(b'^'), Just(b'\n'), Just(b'A'), Just(b' ')], 0..4), 0..6),
            comp_at in 0usize..6,
            code in "[A-Z0-9:]{0,12}",
            eol in any::<bool>(),
        ) {
            let eol: &'static [u8] = if eol { b"\n" } else { b"" };
            let d = Delimiters::STANDARD;
            let mut w = X12Writer::new(Vec::new(), d, eol);
            let mut s = SegBuf::new(d, eol, 0);
            let parts: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
            let mut b = w.segment("STC");
            s.seg(b"STC");
            for (i, v) in values.iter().enumerate() {
                if i == comp_at {
                    b = b.comp(&parts);
                    s.comp(&parts);
                }
                b = b.el(v);
                s.el(v);
            }
            let parts: Vec<&[u8]> = code.split(':').map(str::as_bytes).collect();
            b.comp(&parts).el("").end().unwrap();
            s.code(&code).el("").end();
            prop_assert_eq!(s.segments(), 1);
            prop_assert_eq!(w.into_inner().unwrap(), s.into_bytes());
        }

        /// A value written with `el_fit` is the one `el` writes of what `fit` makes of it.
        #[test]
        fn el_fit_is_el_of_fit(
            v in proptest::collection::vec(any::<u8>(), 0..12),
            spaces in 0usize..4,
            min in 0usize..4,
            max in 0usize..10,
            delims in prop_oneof![Just(Delimiters::STANDARD), Just(Delimiters { element: b'?', component: b' ', segment: b'\n', repetition: Some(b'A') })],
        ) {
            let v: Vec<u8> = std::iter::repeat_n(b' ', spaces).chain(v).collect();
            let mut a = SegBuf::new(delims, b"", 0);
            let mut b = SegBuf::new(delims, b"", 0);
            a.seg(b"REF").el_fit(&v, min, max).end();
            b.seg(b"REF").el(crate::ack::claim277::fit(&v, min, max)).end();
            prop_assert_eq!(a.into_bytes(), b.into_bytes());
        }
    }
}
