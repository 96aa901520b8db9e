//! A segment writer for the 277CA's hot paths (each claim's fragment, each 277's header and
//! roll-ups): segments go straight into one byte buffer, with the bytes
//! [`crate::x12::X12Writer`] writes (delimiters and line ends inside a value blanked, trailing
//! empty elements and components dropped), and are counted as they are written.

use crate::x12::writer::BlankTable;
use crate::x12::Delimiters;

/// Segments written back to back into a buffer.
#[derive(Clone, Debug)]
pub struct SegBuf {
    buf: Vec<u8>,
    /// The bytes a value cannot hold, which are written as blanks.
    blank: BlankTable,
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
        SegBuf {
            buf: Vec::with_capacity(capacity),
            blank,
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

    /// Starts a segment.
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

    /// Appends a `category:status[:entity]` code (split on `:`) as a composite.
    pub fn code(&mut self, code: &str) -> &mut Self {
        let mut parts: [&[u8]; 4] = [b""; 4];
        let mut n = 0;
        for p in code.split(':') {
            match parts.get_mut(n) {
                Some(slot) => *slot = p.as_bytes(),
                None => {
                    let all: Vec<&[u8]> = code.split(':').map(str::as_bytes).collect();
                    return self.comp(&all);
                }
            }
            n += 1;
        }
        self.comp(parts.get(..n).unwrap_or_default())
    }

    /// Ends the segment: trailing empty elements are dropped, the terminator written.
    #[inline]
    pub fn end(&mut self) {
        self.buf.truncate(self.kept);
        self.buf.extend_from_slice(&self.end);
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
    }
}
