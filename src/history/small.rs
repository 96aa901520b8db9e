//! `SmallStr`: a short text kept inline (member ids, claim ids, payer keys), on the heap only
//! past 22 bytes, so that history's keys and records cost no allocation of their own; and
//! `SmallList`, a short list kept inline the same way (a claim's services and rules in force).

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// Bytes kept inline.
const INLINE: usize = 22;

/// An immutable text; compares, orders and hashes as its `str`.
#[derive(Clone)]
pub enum SmallStr {
    /// Up to [`INLINE`] bytes (the first `len`), always valid UTF-8.
    Inline {
        /// Bytes used.
        len: u8,
        /// The text, then zeros.
        bytes: [u8; INLINE],
    },
    /// A longer text.
    Heap(Box<str>),
}

impl SmallStr {
    /// The text.
    pub fn as_str(&self) -> &str {
        match self {
            // Only ever filled from a `str` cut at its end, so never empty by mistake.
            SmallStr::Inline { .. } => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            SmallStr::Heap(s) => s,
        }
    }

    /// The text's bytes, without checking them again (comparisons and hashes use these).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            SmallStr::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            SmallStr::Heap(s) => s.as_bytes(),
        }
    }

    /// Bytes of text, as [`String::from_utf8_lossy`] reads them.
    pub fn from_utf8_lossy(b: &[u8]) -> SmallStr {
        // ASCII (as X12 ids are) is copied as it is: the checks below cost more than the copy.
        if b.len() <= INLINE && b.is_ascii() {
            let mut bytes = [0; INLINE];
            bytes[..b.len()].copy_from_slice(b);
            return SmallStr::Inline {
                len: b.len() as u8,
                bytes,
            };
        }
        match std::str::from_utf8(b) {
            Ok(s) => s.into(),
            Err(_) => String::from_utf8_lossy(b).as_ref().into(),
        }
    }

    /// Bytes it holds on the heap (0 when inline).
    pub fn heap_bytes(&self) -> usize {
        match self {
            SmallStr::Inline { .. } => 0,
            SmallStr::Heap(s) => s.len(),
        }
    }
}

impl Default for SmallStr {
    fn default() -> Self {
        SmallStr::Inline {
            len: 0,
            bytes: [0; INLINE],
        }
    }
}

impl From<&str> for SmallStr {
    fn from(s: &str) -> SmallStr {
        if s.len() > INLINE {
            return SmallStr::Heap(s.into());
        }
        let mut bytes = [0; INLINE];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        SmallStr::Inline {
            len: s.len() as u8,
            bytes,
        }
    }
}

impl From<String> for SmallStr {
    fn from(s: String) -> SmallStr {
        s.as_str().into()
    }
}

impl std::ops::Deref for SmallStr {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SmallStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for SmallStr {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            // Zeros past the text: the whole arrays compare, in a few words and no call.
            (
                SmallStr::Inline { len, bytes },
                SmallStr::Inline {
                    len: len2,
                    bytes: bytes2,
                },
            ) => len == len2 && bytes == bytes2,
            _ => self.as_bytes() == other.as_bytes(),
        }
    }
}

impl Eq for SmallStr {}

impl PartialOrd for SmallStr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SmallStr {
    /// As `str` orders: by bytes.
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for SmallStr {
    /// As `str` hashes: its bytes, then 0xff.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.as_bytes());
        state.write_u8(0xff);
    }
}

/// A list of up to `N` items inline, on the heap (all of them) past that: what a worker hands
/// the history stage of each claim costs no allocation of its own, nor a free on the stage.
#[derive(Clone, Debug)]
pub enum SmallList<T: Copy + Default, const N: usize> {
    /// Up to `N` items (the first `len`).
    Inline {
        /// Items used.
        len: u8,
        /// The items, then fillers.
        items: [T; N],
    },
    /// More.
    Heap(Vec<T>),
}

impl<T: Copy + Default, const N: usize> Default for SmallList<T, N> {
    fn default() -> Self {
        SmallList::Inline {
            len: 0,
            items: [T::default(); N],
        }
    }
}

impl<T: Copy + Default, const N: usize> SmallList<T, N> {
    /// Adds an item at the end.
    pub fn push(&mut self, x: T) {
        match self {
            SmallList::Inline { len, items } => {
                let at = usize::from(*len);
                match items.get_mut(at) {
                    Some(slot) if at < usize::from(u8::MAX) => {
                        *slot = x;
                        *len += 1;
                    }
                    _ => {
                        let mut v = Vec::with_capacity(2 * N + 1);
                        v.extend_from_slice(items.get(..at).unwrap_or_default());
                        v.push(x);
                        *self = SmallList::Heap(v);
                    }
                }
            }
            SmallList::Heap(v) => v.push(x),
        }
    }
}

impl<T: Copy + Default, const N: usize> std::ops::Deref for SmallList<T, N> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            SmallList::Inline { len, items } => items.get(..usize::from(*len)).unwrap_or_default(),
            SmallList::Heap(v) => v,
        }
    }
}

impl<T: Copy + Default, const N: usize> std::ops::DerefMut for SmallList<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            SmallList::Inline { len, items } => {
                items.get_mut(..usize::from(*len)).unwrap_or_default()
            }
            SmallList::Heap(v) => v,
        }
    }
}

impl<'a, T: Copy + Default, const N: usize> IntoIterator for &'a SmallList<T, N> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: Copy + Default, const N: usize> FromIterator<T> for SmallList<T, N> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut out = SmallList::default();
        for x in items {
            out.push(x);
        }
        out
    }
}

impl<T: Copy + Default, const N: usize> From<Vec<T>> for SmallList<T, N> {
    fn from(v: Vec<T>) -> Self {
        v.into_iter().collect()
    }
}

/// Equal when their items are, in order (inline or not).
impl<T: Copy + Default + PartialEq, const N: usize> PartialEq for SmallList<T, N> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Copy + Default + Eq, const N: usize> Eq for SmallList<T, N> {}

impl std::fmt::Debug for SmallStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for SmallStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any text reads back as itself, and compares and orders as a `str` does, inline or
        /// not.
        #[test]
        fn a_small_str_is_its_text(a in ".{0,30}", b in ".{0,30}") {
            let (x, y) = (SmallStr::from(a.as_str()), SmallStr::from(b.as_str()));
            proptest::prop_assert_eq!(x.as_str(), a.as_str());
            proptest::prop_assert_eq!(x.heap_bytes() > 0, a.len() > INLINE);
            proptest::prop_assert_eq!(x == y, a == b);
            proptest::prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            let hash = |v: &dyn Fn(&mut std::collections::hash_map::DefaultHasher)| {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                v(&mut h);
                h.finish()
            };
            proptest::prop_assert_eq!(hash(&|h| x.hash(h)), hash(&|h| a.as_str().hash(h)));
        }

        /// A list holds what was pushed, in order, inline or past it, and compares as a
        /// vector of the same items does.
        #[test]
        fn a_small_list_is_its_items(
            a in proptest::collection::vec(proptest::num::u16::ANY, 0..12),
            b in proptest::collection::vec(proptest::num::u16::ANY, 0..12),
        ) {
            let (x, y): (SmallList<u16, 4>, SmallList<u16, 4>) = (a.clone().into(), b.iter().copied().collect());
            proptest::prop_assert_eq!(&*x, a.as_slice());
            proptest::prop_assert_eq!(x == y, a == b);
            proptest::prop_assert_eq!(matches!(x, SmallList::Heap(_)), a.len() > 4);
            let mut z = x.clone();
            for v in z.iter_mut() {
                *v = v.wrapping_add(1);
            }
            let want: Vec<u16> = a.iter().map(|v| v.wrapping_add(1)).collect();
            proptest::prop_assert_eq!(&*z, want.as_slice());
        }

        /// Bytes read as `String::from_utf8_lossy` reads them.
        #[test]
        fn bytes_read_as_from_utf8_lossy(b in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            let s = SmallStr::from_utf8_lossy(&b);
            let want = String::from_utf8_lossy(&b);
            proptest::prop_assert_eq!(s.as_str(), want.as_ref());
        }
    }
}
