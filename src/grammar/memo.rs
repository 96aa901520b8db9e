//! A small direct-mapped memo of segments whose element rules found nothing, so a segment seen
//! again (the same bytes, placed as the same segment definition) skips the element check.
//!
//! Only clean verdicts are kept and a hit compares every byte, so the memo never changes what
//! is reported; it must be cleared when the delimiters change (the check depends on them).

use super::SegIx;

/// Segments longer than this are not memoized.
const WIDTH: usize = 64;
/// Nor shorter ones (cheap to check, and the word reads need eight bytes).
const NARROW: usize = 8;
/// Slots (a power of two).
const SLOTS: usize = 1024;

/// One remembered segment: its definition and bytes (`len` 0: an empty slot).
#[derive(Clone, Copy)]
struct Slot {
    sx: SegIx,
    len: u8,
    bytes: [u8; WIDTH],
}

const EMPTY: Slot = Slot {
    sx: 0,
    len: 0,
    bytes: [0; WIDTH],
};

/// Segments (by definition and bytes) known to pass their element rules.
pub struct CleanMemo {
    slots: Box<[Slot]>,
}

impl Default for CleanMemo {
    fn default() -> Self {
        CleanMemo {
            slots: vec![EMPTY; SLOTS].into_boxed_slice(),
        }
    }
}

/// The eight bytes of `raw` from `at` (which must leave eight bytes), as a word.
#[inline(always)]
fn word(raw: &[u8], at: usize) -> u64 {
    raw.get(at..at + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map_or(0, u64::from_le_bytes)
}

/// Writes `w` as the eight bytes of `bytes` from `at` (which must leave eight bytes).
#[inline(always)]
fn put(bytes: &mut [u8], at: usize, w: u64) {
    if let Some(d) = bytes.get_mut(at..at + 8) {
        d.copy_from_slice(&w.to_le_bytes());
    }
}

/// The slot of `raw` (eight bytes or more) placed as `sx`: a multiplicative hash over its whole
/// words and its last eight bytes.
#[inline]
fn slot_of(sx: SegIx, raw: &[u8]) -> usize {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let n = raw.len();
    let mut h = (u64::from(sx) ^ (n as u64) << 16 ^ word(raw, n - 8)).wrapping_mul(K);
    let mut at = 0;
    while at + 8 <= n {
        h = (h.rotate_left(5) ^ word(raw, at)).wrapping_mul(K);
        at += 8;
    }
    (h >> (64 - SLOTS.trailing_zeros())) as usize
}

/// Whether `a` and `b` (the same length, eight bytes or more) hold the same bytes: their whole
/// words and their last eight bytes.
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = b.len();
    let mut at = 0;
    while at + 8 <= n {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

impl CleanMemo {
    /// Whether `raw` (a whole segment, terminator excluded) placed as `sx` was remembered clean.
    #[inline]
    pub fn is_clean(&self, sx: SegIx, raw: &[u8]) -> bool {
        if !(NARROW..=WIDTH).contains(&raw.len()) {
            return false;
        }
        let s = self.slots.get(slot_of(sx, raw)).unwrap_or(&EMPTY);
        s.sx == sx
            && usize::from(s.len) == raw.len()
            && s.bytes.get(..raw.len()).is_some_and(|b| same(b, raw))
    }

    /// Remembers that `raw` placed as `sx` passes its element rules (ignored when too short or too long).
    #[inline]
    pub fn remember(&mut self, sx: SegIx, raw: &[u8]) {
        if !(NARROW..=WIDTH).contains(&raw.len()) {
            return;
        }
        if let Some(s) = self.slots.get_mut(slot_of(sx, raw)) {
            s.sx = sx;
            s.len = raw.len() as u8;
            // Whole words, then the last eight bytes (overlapping), as `same` reads them.
            let n = raw.len();
            let mut at = 0;
            while at + 8 <= n {
                put(&mut s.bytes, at, word(raw, at));
                at += 8;
            }
            put(&mut s.bytes, n - 8, word(raw, n - 8));
        }
    }

    /// Forgets everything (the delimiters changed).
    pub fn clear(&mut self) {
        self.slots.fill(EMPTY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    proptest::proptest! {
        /// The word-at-a-time comparison is byte equality, for any two values of one length.
        #[test]
        fn same_is_equality(
            pair in (NARROW..=WIDTH).prop_flat_map(|n| (
                proptest::collection::vec(proptest::sample::select(&b"AB*"[..]), n),
                proptest::collection::vec(proptest::sample::select(&b"AB*"[..]), n),
            )),
        ) {
            let (a, b) = pair;
            proptest::prop_assert_eq!(same(&a, &b), a == b);
        }

        /// A look-up says clean exactly for what was remembered last in its slot: never for
        /// other bytes or another definition, whatever collides.
        #[test]
        fn hits_only_what_was_remembered(
            entries in proptest::collection::vec(
                (0u16..4, proptest::collection::vec(proptest::sample::select(&b"AB*:1"[..]), 0..70)),
                1..40,
            ),
            probe in (0u16..4, proptest::collection::vec(proptest::sample::select(&b"AB*:1"[..]), 0..70)),
        ) {
            let mut memo = CleanMemo::default();
            for (sx, raw) in &entries {
                memo.remember(*sx, raw);
                proptest::prop_assert_eq!(memo.is_clean(*sx, raw), (NARROW..=WIDTH).contains(&raw.len()));
            }
            let (sx, raw) = &probe;
            if memo.is_clean(*sx, raw) {
                proptest::prop_assert!(entries.iter().any(|(s, r)| s == sx && r == raw));
            }
            memo.clear();
            proptest::prop_assert!(!memo.is_clean(*sx, raw));
        }
    }

    #[test]
    fn only_the_same_definition_and_bytes_hit() {
        let mut memo = CleanMemo::default();
        let a = b"NM1*82*1*LEE*JAMES****XX*1859237889";
        memo.remember(7, a);
        assert!(memo.is_clean(7, a));
        assert!(!memo.is_clean(8, a));
        let mut b = *a;
        b[20] = b'Y';
        assert!(!memo.is_clean(7, &b));
        // Remembered in turn, the other bytes hit too.
        memo.remember(7, &b);
        assert!(memo.is_clean(7, &b));
    }
}
