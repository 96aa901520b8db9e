//! Code sets from rule files: exact codes and `PREFIX*` families, compared without the
//! decimal point (`M47.816` and `M47816` are the same code).

/// A set of codes (procedures, diagnoses, modifiers, places of service, …). Codes of up to
/// eight bytes (all CPT, ICD-10-CM, modifier and place-of-service codes) are packed into a
/// sorted `u64` list and found by binary search; longer ones by comparison.
#[derive(Clone, Debug, Default)]
pub struct CodeSet {
    packed: Vec<u64>,
    long: Vec<Box<[u8]>>,
    prefixes: Vec<Box<[u8]>>,
    /// The entries as written, for `explain`.
    pub listed: Vec<String>,
    /// Its bit in a [`CodeIndex`] (the index's id, the bit), when it has one.
    bit: Option<(u32, u8)>,
}

/// Sets are equal when they list the same entries (whatever their bits).
impl PartialEq for CodeSet {
    fn eq(&self, other: &CodeSet) -> bool {
        self.same_codes(other) && self.listed == other.listed
    }
}

impl Eq for CodeSet {}

/// Which sets of a [`CodeIndex`] a code (or any of a few codes) is in, as the index found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sets {
    /// The index's id (0: not looked up, every test falls back to the set itself).
    index: u32,
    mask: u128,
}

impl Sets {
    /// The sets any of `self` and `other` is in (both from the same index).
    #[inline]
    pub fn or(self, other: Sets) -> Sets {
        Sets {
            index: self.index,
            mask: self.mask | other.mask,
        }
    }
}

/// The distinct code sets of a rule set's checks, numbered (at most [`CodeIndex::BITS`]), and
/// every code they list with the bits of the sets listing it: one look-up tells which sets
/// a claim's code is in, and each check then tests a bit instead of searching its set.
#[derive(Clone, Debug, Default)]
pub struct CodeIndex {
    id: u32,
    sets: Vec<CodeSet>,
    /// Packed exact codes with their sets, in an open-addressing table (a power of two long;
    /// key 0, a lone NUL byte, is kept apart in `zero`).
    exact: Vec<(u64, u128)>,
    zero: u128,
    /// Exact codes too long to pack.
    long: Vec<(Box<[u8]>, u128)>,
    /// Prefix families of up to eight bytes without NUL: packed prefix, mask of its bytes.
    short_prefixes: Vec<(u64, u64, u128)>,
    /// Other prefix families.
    prefixes: Vec<(Box<[u8]>, u128)>,
}

impl CodeIndex {
    /// Sets an index numbers; further sets keep searching themselves.
    pub const BITS: usize = 128;

    /// An empty index with an id of its own (so bits of another index are never trusted).
    pub fn new() -> CodeIndex {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(1);
        CodeIndex {
            id: NEXT.fetch_add(1, Ordering::Relaxed).max(1),
            ..CodeIndex::default()
        }
    }

    /// Numbers `set` (an equal set already numbered shares its bit); past [`Self::BITS`]
    /// distinct sets, `set` is left without a bit.
    pub fn number(&mut self, set: &mut CodeSet) {
        let at = match self.sets.iter().position(|s| s.same_codes(set)) {
            Some(at) => at,
            None if self.sets.len() < Self::BITS => {
                self.sets.push(set.clone());
                self.rebuild();
                self.sets.len() - 1
            }
            None => return,
        };
        set.bit = u8::try_from(at).ok().map(|b| (self.id, b));
    }

    /// Rebuilds the look-up tables from the numbered sets.
    fn rebuild(&mut self) {
        let mut exact: Vec<(u64, u128)> = Vec::new();
        let (mut long, mut prefixes) = (Vec::new(), Vec::new());
        self.zero = 0;
        for (i, set) in self.sets.iter().enumerate() {
            let bit = 1u128 << i;
            for &k in &set.packed {
                match exact.iter_mut().find(|e| e.0 == k) {
                    Some(e) => e.1 |= bit,
                    None => exact.push((k, bit)),
                }
            }
            add_bit(&mut long, &set.long, bit);
            add_bit(&mut prefixes, &set.prefixes, bit);
        }
        let size = (exact.len() * 2).next_power_of_two().max(16);
        self.exact = vec![(0, 0); size];
        for (k, bits) in exact {
            if k == 0 {
                self.zero = bits;
                continue;
            }
            let mut at = slot(k, size);
            while self.exact[at].0 != 0 {
                at = (at + 1) & (size - 1);
            }
            self.exact[at] = (k, bits);
        }
        self.long = long;
        self.short_prefixes.clear();
        self.prefixes.clear();
        for (p, bits) in prefixes {
            match pack(&p).filter(|_| !p.contains(&0)) {
                Some(k) => self
                    .short_prefixes
                    .push((k, u64::MAX << (8 * (8 - p.len())), bits)),
                None => self.prefixes.push((p, bits)),
            }
        }
    }

    /// The numbered sets `code` is in.
    #[inline]
    pub fn sets_of(&self, code: &[u8]) -> Sets {
        let mut mask = 0;
        match pack(code) {
            Some(k) => {
                mask |= self.exact_bits(k);
                // `code` starts with a prefix without NUL exactly when its padded bytes do.
                for &(p, m, bits) in &self.short_prefixes {
                    if k & m == p {
                        mask |= bits;
                    }
                }
            }
            None => {
                for (c, bits) in &self.long {
                    if **c == *code {
                        mask |= bits;
                    }
                }
                for &(p, m, bits) in &self.short_prefixes {
                    if code.len() > 8 && pack(&code[..8]).is_some_and(|k| k & m == p) {
                        mask |= bits;
                    }
                }
            }
        }
        for (p, bits) in &self.prefixes {
            if code.starts_with(p) {
                mask |= bits;
            }
        }
        Sets {
            index: self.id,
            mask,
        }
    }

    /// The sets listing the packed code `k` exactly.
    #[inline]
    fn exact_bits(&self, k: u64) -> u128 {
        if k == 0 {
            return self.zero;
        }
        let size = self.exact.len();
        if size == 0 {
            return 0;
        }
        let mut at = slot(k, size);
        loop {
            match self.exact.get(at) {
                Some(&(e, bits)) if e == k => return bits,
                Some(&(0, _)) | None => return 0,
                Some(_) => at = (at + 1) & (size - 1),
            }
        }
    }

    /// What [`Self::sets_of`] says of no code at all (e.g. a line without modifiers).
    pub fn none(&self) -> Sets {
        Sets {
            index: self.id,
            mask: 0,
        }
    }

    /// Sets numbered.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// Whether no set is numbered.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }
}

/// Adds `bit` to the entries of `list` for `codes`, adding entries missing.
fn add_bit(list: &mut Vec<(Box<[u8]>, u128)>, codes: &[Box<[u8]>], bit: u128) {
    for c in codes {
        match list.iter_mut().find(|e| e.0 == *c) {
            Some(e) => e.1 |= bit,
            None => list.push((c.clone(), bit)),
        }
    }
}

/// The first slot a packed code is looked for in a table of `size` (a power of two) slots.
#[inline]
fn slot(k: u64, size: usize) -> usize {
    (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & (size - 1)
}

/// A code as compared: upper case, no `.`.
pub fn normalize(code: &str) -> Vec<u8> {
    code.bytes()
        .filter(|&b| b != b'.')
        .map(|b| b.to_ascii_uppercase())
        .collect()
}

impl CodeSet {
    /// Adds one entry: a code, or a family `PREFIX*`.
    pub fn insert(&mut self, entry: &str) {
        self.listed.push(entry.to_owned());
        match entry.strip_suffix('*') {
            Some(prefix) => self.prefixes.push(normalize(prefix).into()),
            None => {
                let code = normalize(entry);
                match pack(&code) {
                    Some(k) => {
                        if let Err(at) = self.packed.binary_search(&k) {
                            self.packed.insert(at, k);
                        }
                    }
                    None => self.long.push(code.into()),
                }
            }
        }
    }

    /// Whether `code` (as it sits in the claim: no decimal point) is in the set.
    #[inline]
    pub fn contains(&self, code: &[u8]) -> bool {
        let exact = match pack(code) {
            Some(k) => self.packed.binary_search(&k).is_ok(),
            None => self.long.iter().any(|c| **c == *code),
        };
        exact || self.prefixes.iter().any(|p| code.starts_with(p))
    }

    /// Whether `code`, whose sets `sets` an index found, is in the set: a bit test when the
    /// set has a bit in that index, else a search.
    #[inline]
    pub fn has(&self, code: &[u8], sets: Sets) -> bool {
        self.bit_in(sets).unwrap_or_else(|| self.search(code))
    }

    /// What the set's bit in `sets` says, when the set has a bit in that index.
    #[inline]
    fn bit_in(&self, sets: Sets) -> Option<bool> {
        match self.bit {
            Some((index, bit)) if index == sets.index => Some(sets.mask >> bit & 1 == 1),
            _ => None,
        }
    }

    /// [`Self::contains`] for a set without a bit in the claim's index (rare: kept out of
    /// line so the bit test stays small where it is inlined).
    #[cold]
    fn search(&self, code: &[u8]) -> bool {
        self.contains(code)
    }

    /// Whether any of `codes`, whose sets together are `sets`, is in the set.
    #[inline]
    pub fn has_any(&self, codes: &[&[u8]], sets: Sets) -> bool {
        self.bit_in(sets)
            .unwrap_or_else(|| codes.iter().any(|c| self.search(c)))
    }

    /// Whether any code whose sets together are `sets` may be in the set: false only when
    /// the set's bit in that index says none is.
    #[inline]
    pub fn may_hold(&self, sets: Sets) -> bool {
        self.bit_in(sets).unwrap_or(true)
    }

    /// Whether both sets hold the same codes and families.
    fn same_codes(&self, other: &CodeSet) -> bool {
        self.packed == other.packed && self.long == other.long && self.prefixes == other.prefixes
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.packed.is_empty() && self.long.is_empty() && self.prefixes.is_empty()
    }

    /// A short human listing (first entries).
    pub fn summary(&self) -> String {
        const SHOWN: usize = 12;
        let mut s = self
            .listed
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if self.listed.len() > SHOWN {
            s.push_str(&format!(", … ({} in all)", self.listed.len()));
        }
        s
    }
}

/// A non-empty code of at most eight bytes as a number (codes hold no NUL bytes, so the
/// zero padding keeps lengths apart).
#[inline]
fn pack(code: &[u8]) -> Option<u64> {
    if code.is_empty() || code.len() > 8 {
        return None;
    }
    let k = code.iter().fold(0u64, |k, &b| k << 8 | u64::from(b));
    Some(k << (8 * (8 - code.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Packing is the big-endian number of the code zero-padded to eight bytes.
        #[test]
        fn pack_is_padded_big_endian(code in proptest::collection::vec(1u8.., 0..10)) {
            let want = (!code.is_empty() && code.len() <= 8).then(|| {
                let mut b = [0u8; 8];
                b[..code.len()].copy_from_slice(&code);
                u64::from_be_bytes(b)
            });
            proptest::prop_assert_eq!(pack(&code), want);
        }
    }

    /// A code or entry of up to ten bytes over a small alphabet (so sets and codes meet), with
    /// the odd NUL.
    fn short_code() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            proptest::prop_oneof![
                8 => proptest::sample::select(&b"AB12"[..]),
                1 => proptest::sample::select(&b"\0."[..]),
            ],
            0..11,
        )
    }

    proptest::proptest! {
        /// Through an index, every numbered set answers as its own search does, for codes of
        /// any length (packed or not) and sets of exact codes and families.
        #[test]
        fn index_agrees_with_contains(
            sets in proptest::collection::vec(
                proptest::collection::vec((short_code(), proptest::bool::ANY), 1..6),
                1..8,
            ),
            codes in proptest::collection::vec(short_code(), 1..20),
        ) {
            let mut index = CodeIndex::new();
            let mut built = Vec::new();
            for entries in &sets {
                let mut set = CodeSet::default();
                for (code, family) in entries {
                    let mut e = String::from_utf8_lossy(code).into_owned();
                    if *family {
                        e.push('*');
                    }
                    set.insert(&e);
                }
                index.number(&mut set);
                built.push(set);
            }
            for code in &codes {
                let found = index.sets_of(code);
                for set in &built {
                    proptest::prop_assert_eq!(set.has(code, found), set.contains(code));
                    proptest::prop_assert_eq!(
                        set.has_any(&[code.as_slice()], found),
                        set.contains(code)
                    );
                }
            }
        }
    }

    #[test]
    fn sets_past_the_bits_and_other_indexes_search_themselves() {
        let mut index = CodeIndex::new();
        let mut sets: Vec<CodeSet> = (0..CodeIndex::BITS + 2)
            .map(|n| {
                let mut s = CodeSet::default();
                s.insert(&format!("C{n}"));
                s
            })
            .collect();
        for s in &mut sets {
            index.number(s);
        }
        assert_eq!(index.len(), CodeIndex::BITS);
        let last = &sets[CodeIndex::BITS + 1];
        assert!(last.bit.is_none());
        let code = format!("C{}", CodeIndex::BITS + 1);
        assert!(last.has(code.as_bytes(), index.sets_of(code.as_bytes())));
        // Bits of one index are not read through another's look-up, nor through none.
        let other = CodeIndex::new();
        assert!(sets[0].has(b"C0", other.sets_of(b"C0")));
        assert!(sets[0].has(b"C0", Sets::default()));
        assert!(!sets[0].has(b"C1", index.sets_of(b"C1")));
    }

    #[test]
    fn exact_prefix_and_decimal_point() {
        let mut s = CodeSet::default();
        for e in ["M47.816", "M54.1*", "64635"] {
            s.insert(e);
        }
        assert!(s.contains(b"M47816"));
        assert!(s.contains(b"M5416"));
        assert!(s.contains(b"64635"));
        assert!(!s.contains(b"M4781"));
        assert!(!s.contains(b"64636"));
        assert!(!s.contains(b""));
        assert!(!s.contains(b"6463"));
        let mut big = CodeSet::default();
        for n in 0..40 {
            big.insert(&format!("C{n}"));
        }
        assert!(big.contains(b"C0") && big.contains(b"C39") && !big.contains(b"C40"));
        assert!(!big.contains(b"C") && !big.contains(b"C00"));
        let mut long = CodeSet::default();
        long.insert("ABCDEFGHIJ");
        assert!(long.contains(b"ABCDEFGHIJ") && !long.contains(b"ABCDEFGHI"));
    }
}
