//! Payer profiles: how a claim is matched to Medicare, Aetna, Cigna, UnitedHealthcare, BCBS
//! (or any profile a rule pack defines), by payer id, claim filing indicator or payer name.

use std::collections::HashMap;

/// One payer profile from the rule pack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Short id used by rules (`medicare`, `aetna`, …).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Payer scope code of the edit catalogue (`MCR`, `AET`, `CIG`, `UHC`, `BCBS`).
    pub catalogue_scope: String,
    /// 2010BB NM109 payer ids that identify it.
    pub payer_ids: Vec<String>,
    /// SBR09 claim filing indicators that identify it (only ones that name one payer, e.g. `MB`).
    pub claim_filing: Vec<String>,
    /// Payer name patterns (upper case; `*` matches any run of characters).
    pub name_patterns: Vec<String>,
    /// Where the matching data come from.
    pub source: String,
}

/// How a claim was matched to its profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchedBy {
    /// 2010BB NM109.
    PayerId,
    /// SBR09.
    ClaimFiling,
    /// 2010BB NM103.
    Name,
}

/// All profiles, with a lookup by payer id.
#[derive(Clone, Debug, Default)]
pub struct Profiles {
    list: Vec<Profile>,
    /// Payer ids of the profiles, sorted, with their profile's index.
    by_id: Vec<(Box<[u8]>, usize)>,
    /// Payer ids known without a profile (the E-06 payer set is these plus the profiles').
    directory: Vec<String>,
}

impl Profiles {
    /// Checks that no payer id or claim filing code names two profiles; an error names the
    /// index of the second profile.
    pub fn new(list: Vec<Profile>, directory: Vec<String>) -> Result<Self, (usize, String)> {
        let mut by_id = HashMap::new();
        for (i, p) in list.iter().enumerate() {
            for id in &p.payer_ids {
                if let Some(j) = by_id.insert(id.clone(), i) {
                    return Err((
                        i,
                        format!(
                            "payer id {id} is in profiles `{}` and `{}`",
                            list[j].id, p.id
                        ),
                    ));
                }
            }
        }
        for (i, p) in list.iter().enumerate() {
            for c in &p.claim_filing {
                if let Some(q) = list[..i].iter().find(|q| q.claim_filing.contains(c)) {
                    return Err((
                        i,
                        format!(
                            "claim filing indicator {c} is in profiles `{}` and `{}`",
                            q.id, p.id
                        ),
                    ));
                }
            }
        }
        let mut by_id: Vec<(Box<[u8]>, usize)> = by_id
            .into_iter()
            .map(|(id, i)| (id.into_bytes().into(), i))
            .collect();
        by_id.sort_unstable();
        Ok(Profiles {
            list,
            by_id,
            directory,
        })
    }

    /// Number of profiles.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The profiles, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.list.iter()
    }

    /// A profile by index.
    pub fn get(&self, i: usize) -> Option<&Profile> {
        self.list.get(i)
    }

    /// The index of a profile id.
    pub fn index(&self, id: &str) -> Option<usize> {
        self.list.iter().position(|p| p.id == id)
    }

    /// Whether a payer id is configured (in a profile or in the directory).
    pub fn knows_payer_id(&self, id: &[u8]) -> bool {
        self.profile_of_id(id).is_some() || self.directory.iter().any(|d| d.as_bytes() == id)
    }

    /// The profile whose payer ids include `id`.
    fn profile_of_id(&self, id: &[u8]) -> Option<usize> {
        // A handful of ids: compare lengths and first bytes before the bytes.
        self.by_id
            .iter()
            .find(|(k, _)| k.len() == id.len() && k.first() == id.first() && **k == *id)
            .map(|&(_, i)| i)
    }

    /// The profile a claim belongs to: by payer id, else by claim filing indicator, else by
    /// payer name.
    pub fn matching(
        &self,
        payer_id: &[u8],
        claim_filing: &[u8],
        name: &[u8],
    ) -> Option<(usize, MatchedBy)> {
        if let Some(i) = self.profile_of_id(payer_id) {
            return Some((i, MatchedBy::PayerId));
        }
        if !claim_filing.is_empty() {
            if let Some(i) = self
                .list
                .iter()
                .position(|p| p.claim_filing.iter().any(|c| c.as_bytes() == claim_filing))
            {
                return Some((i, MatchedBy::ClaimFiling));
            }
        }
        let upper: Vec<u8> = name.iter().map(u8::to_ascii_uppercase).collect();
        self.list
            .iter()
            .position(|p| {
                p.name_patterns
                    .iter()
                    .any(|pat| glob(pat.as_bytes(), &upper))
            })
            .map(|i| (i, MatchedBy::Name))
    }
}

/// `*` matches any run of bytes; everything else matches itself.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob(rest, &text[i..])),
        Some((c, rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profiles() -> Profiles {
        let p = |id: &str, ids: &[&str], cf: &[&str], names: &[&str]| Profile {
            id: id.into(),
            name: id.into(),
            catalogue_scope: String::new(),
            payer_ids: ids.iter().map(|s| s.to_string()).collect(),
            claim_filing: cf.iter().map(|s| s.to_string()).collect(),
            name_patterns: names.iter().map(|s| s.to_string()).collect(),
            source: String::new(),
        };
        Profiles::new(
            vec![
                p("medicare", &["12202"], &["MB", "MA"], &["*MEDICARE*"]),
                p("aetna", &["60054"], &[], &["AETNA*"]),
            ],
            vec!["99999".into()],
        )
        .unwrap()
    }

    #[test]
    fn id_then_filing_then_name() {
        let ps = profiles();
        assert_eq!(
            ps.matching(b"60054", b"MB", b"X"),
            Some((1, MatchedBy::PayerId))
        );
        assert_eq!(
            ps.matching(b"00001", b"MA", b"X"),
            Some((0, MatchedBy::ClaimFiling))
        );
        assert_eq!(
            ps.matching(b"00001", b"CI", b"Aetna Better Health"),
            Some((1, MatchedBy::Name))
        );
        assert_eq!(ps.matching(b"00001", b"CI", b"ACME"), None);
        assert!(ps.knows_payer_id(b"99999") && ps.knows_payer_id(b"12202"));
        assert!(!ps.knows_payer_id(b"00001"));
    }

    #[test]
    fn a_payer_id_in_two_profiles_is_refused() {
        let mut list: Vec<Profile> = profiles().iter().cloned().collect();
        list[1].payer_ids.push("12202".into());
        let (at, msg) = Profiles::new(list, vec![]).unwrap_err();
        assert_eq!(at, 1);
        assert!(msg.contains("12202"));
    }
}
