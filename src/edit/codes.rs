//! Code sets from rule files: exact codes and `PREFIX*` families, compared without the
//! decimal point (`M47.816` and `M47816` are the same code).

/// A set of codes (procedures, diagnoses, modifiers, places of service, …). Codes of up to
/// eight bytes (all CPT, ICD-10-CM, modifier and place-of-service codes) are packed into a
/// sorted `u64` list and found by binary search; longer ones by comparison.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeSet {
    packed: Vec<u64>,
    long: Vec<Box<[u8]>>,
    prefixes: Vec<Box<[u8]>>,
    /// The entries as written, for `explain`.
    pub listed: Vec<String>,
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
    let mut b = [0u8; 8];
    b[..code.len()].copy_from_slice(code);
    Some(u64::from_be_bytes(b))
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
