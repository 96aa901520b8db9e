//! Code sets from rule files: exact codes and `PREFIX*` families, compared without the
//! decimal point (`M47.816` and `M47816` are the same code).

use std::collections::HashSet;

/// A set of codes (procedures, diagnoses, modifiers, places of service, …).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeSet {
    exact: HashSet<Box<[u8]>>,
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
                self.exact.insert(normalize(entry).into());
            }
        }
    }

    /// Whether `code` (as it sits in the claim: no decimal point) is in the set.
    pub fn contains(&self, code: &[u8]) -> bool {
        if self.exact.contains(code) {
            return true;
        }
        self.prefixes.iter().any(|p| code.starts_with(p))
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefixes.is_empty()
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

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
