//! The run summary: claims by status, payer profile and edit, dollars accepted and rejected,
//! per input and for the run; written as `DIR/summary.json` and told on stderr in one line.

use std::collections::BTreeMap;

use serde::Serialize;

use super::claims_jsonl::ClaimLine;
use crate::claim::Money;

/// Edit ids as a bit set (`E-NN` is bit NN; ids from E-128 on are counted as `other`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EditSet(pub u128);

impl EditSet {
    /// Adds an edit id.
    pub fn add(&mut self, edit: &str) {
        if let Some(n) = edit
            .strip_prefix("E-")
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|&n| n < 128)
        {
            self.0 |= 1 << n;
        }
    }

    /// The ids in the set, in order (`E-07,E-29`).
    pub fn names(self) -> String {
        self.bits()
            .map(|n| format!("E-{n:02}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn bits(self) -> impl Iterator<Item = usize> {
        let mut rest = self.0;
        std::iter::from_fn(move || {
            if rest == 0 {
                return None;
            }
            let n = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            Some(n)
        })
    }
}

/// Claims and dollars by status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Claims read.
    pub claims: u64,
    /// Accepted.
    pub accepted: u64,
    /// Rejected.
    pub rejected: u64,
    /// With at least one warning.
    pub warned: u64,
    /// CLM02 of the accepted claims, in cents (written as dollars).
    #[serde(rename = "accepted_dollars", serialize_with = "dollars")]
    pub accepted_cents: i64,
    /// CLM02 of the rejected claims, in cents (written as dollars).
    #[serde(rename = "rejected_dollars", serialize_with = "dollars")]
    pub rejected_cents: i64,
}

fn dollars<S: serde::Serializer>(cents: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&Money { cents: *cents }.to_string())
}

impl Counts {
    fn add(&mut self, rejected: bool, warned: bool, cents: i64, sign: i64) {
        let n = |x: &mut u64| *x = x.saturating_add_signed(sign);
        n(&mut self.claims);
        if rejected {
            n(&mut self.rejected);
            self.rejected_cents = self.rejected_cents.saturating_add(sign * cents);
        } else {
            n(&mut self.accepted);
            self.accepted_cents = self.accepted_cents.saturating_add(sign * cents);
        }
        if warned {
            n(&mut self.warned);
        }
    }

    fn merge(&mut self, o: &Counts) {
        self.claims += o.claims;
        self.accepted += o.accepted;
        self.rejected += o.rejected;
        self.warned += o.warned;
        self.accepted_cents = self.accepted_cents.saturating_add(o.accepted_cents);
        self.rejected_cents = self.rejected_cents.saturating_add(o.rejected_cents);
    }

    fn accepted_dollars(&self) -> String {
        Money {
            cents: self.accepted_cents,
        }
        .to_string()
    }

    fn rejected_dollars(&self) -> String {
        Money {
            cents: self.rejected_cents,
        }
        .to_string()
    }
}

/// Claims an edit flagged, by severity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EditCounts {
    /// Claims it rejected.
    pub reject: u64,
    /// Claims it warned.
    pub warn: u64,
}

/// Tallies of one input or a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// All claims.
    #[serde(flatten)]
    pub all: Counts,
    /// By payer profile (`none` for payers without one).
    pub by_payer: BTreeMap<String, Counts>,
    /// By edit id: claims it flagged.
    pub by_edit: EditTable,
}

/// Claims flagged per edit id `E-00`…`E-127`, kept as a table (the reading thread adds to it
/// for every claim) and written as a map of the ids that fired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditTable(Vec<EditCounts>);

impl Default for EditTable {
    fn default() -> Self {
        EditTable(vec![EditCounts::default(); 128])
    }
}

impl EditTable {
    /// The counts of an edit id, if it is one the table holds.
    pub fn get(&self, edit: &str) -> Option<&EditCounts> {
        let n: usize = edit.strip_prefix("E-")?.parse().ok()?;
        self.0.get(n)
    }

    /// `(id, counts)` of the edits that fired, in id order.
    pub fn fired(&self) -> impl Iterator<Item = (String, &EditCounts)> {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, c)| c.reject + c.warn > 0)
            .map(|(n, c)| (format!("E-{n:02}"), c))
    }
}

impl Serialize for EditTable {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for (k, v) in self.fired() {
            m.serialize_entry(&k, v)?;
        }
        m.end()
    }
}

/// One claim as the tally sees it.
pub struct ClaimTally<'a> {
    /// Profile id, if matched.
    pub profile: Option<&'a str>,
    /// CLM02 in cents (0 when unreadable).
    pub cents: i64,
    /// Whether it is rejected.
    pub rejected: bool,
    /// Edits that reject it.
    pub rejects: EditSet,
    /// Edits that warn.
    pub warns: EditSet,
}

impl Tally {
    /// Counts one claim (`sign` -1 takes it back out).
    pub fn add(&mut self, c: &ClaimTally<'_>, sign: i64) {
        let rejected = c.rejected;
        let warned = c.warns.0 != 0;
        self.all.add(rejected, warned, c.cents, sign);
        let payer = c.profile.unwrap_or("none");
        match self.by_payer.get_mut(payer) {
            Some(p) => p.add(rejected, warned, c.cents, sign),
            None => {
                let mut p = Counts::default();
                p.add(rejected, warned, c.cents, sign);
                self.by_payer.insert(payer.to_owned(), p);
            }
        }
        for (set, reject) in [(c.rejects, true), (c.warns, false)] {
            for n in set.bits() {
                if let Some(e) = self.by_edit.0.get_mut(n) {
                    let slot = if reject { &mut e.reject } else { &mut e.warn };
                    *slot = slot.saturating_add_signed(sign);
                }
            }
        }
    }

    /// Counts a claim line as read back (for lines changed after they were first counted).
    pub fn add_line(&mut self, c: &ClaimLine, sign: i64) {
        let mut rejects = EditSet::default();
        let mut warns = EditSet::default();
        for f in &c.findings {
            if f.severity == "reject" {
                rejects.add(&f.edit);
            } else {
                warns.add(&f.edit);
            }
        }
        let cents = c
            .charge
            .as_deref()
            .and_then(|s| Money::parse(s.as_bytes()))
            .map_or(0, |m| m.cents);
        self.add(
            &ClaimTally {
                profile: c.payer.profile.as_deref(),
                cents,
                rejected: c.rejected(),
                rejects,
                warns,
            },
            sign,
        );
    }

    /// Adds another tally.
    pub fn merge(&mut self, o: &Tally) {
        self.all.merge(&o.all);
        for (k, v) in &o.by_payer {
            self.by_payer.entry(k.clone()).or_default().merge(v);
        }
        for (e, v) in self.by_edit.0.iter_mut().zip(&o.by_edit.0) {
            e.reject += v.reject;
            e.warn += v.warn;
        }
        self.by_payer.retain(|_, v| v.claims > 0);
    }

    /// One line for people: counts, dollars and the edits that fired most.
    pub fn human(&self) -> String {
        let mut top: Vec<(String, u64)> = self
            .by_edit
            .fired()
            .map(|(k, v)| (k, v.reject + v.warn))
            .collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut s = format!(
            "{} claims: {} accepted (${}), {} rejected (${}), {} with warnings",
            self.all.claims,
            self.all.accepted,
            self.all.accepted_dollars(),
            self.all.rejected,
            self.all.rejected_dollars(),
            self.all.warned
        );
        if !top.is_empty() {
            let list: Vec<String> = top
                .iter()
                .take(5)
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            s.push_str(&format!("; top edits: {}", list.join(", ")));
        }
        s
    }
}

/// One input in the summary.
#[derive(Clone, Debug, Serialize)]
pub struct InputSummary {
    /// The input as named on the command line.
    pub input: String,
    /// Bytes read.
    pub bytes: u64,
    /// Interchanges, groups, transaction sets read, and transaction sets rejected.
    pub interchanges: u64,
    /// Functional groups.
    pub groups: u64,
    /// Transaction sets.
    pub transactions: u64,
    /// Transaction sets rejected.
    pub transactions_rejected: u64,
    /// Problems reported (structural).
    pub problems: u64,
    /// Exit status this input asks for.
    pub exit: i32,
    /// Claims.
    pub claims: Tally,
    /// What its 277CA acknowledges (claims of accepted transaction sets only).
    pub ack277: crate::ack::ack277::Counts277,
    /// Outputs written.
    pub outputs: Vec<String>,
    /// Why it failed, when it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The whole run.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    /// `scrub837 VERSION`.
    pub tool: String,
    /// Rule pack `NAME VERSION` (or `none` with --no-edits).
    pub rules: String,
    /// The run's clock (`--now`).
    pub now: String,
    /// Exit status of the run.
    pub exit: i32,
    /// Bytes read over all inputs.
    pub bytes: u64,
    /// Wall-clock time of the run in milliseconds (the one field that differs between runs).
    pub elapsed_ms: u64,
    /// Claims over all inputs.
    pub claims: Tally,
    /// Each input, in order.
    pub inputs: Vec<InputSummary>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_take_back() {
        let mut t = Tally::default();
        let mut rejects = EditSet::default();
        rejects.add("E-29");
        let c = ClaimTally {
            profile: Some("medicare"),
            cents: 150_000,
            rejected: true,
            rejects,
            warns: EditSet::default(),
        };
        t.add(&c, 1);
        assert_eq!((t.all.claims, t.all.rejected), (1, 1));
        assert_eq!(t.all.rejected_dollars(), "1500.00");
        assert_eq!(t.by_edit.get("E-29").unwrap().reject, 1);
        t.add(&c, -1);
        assert_eq!((t.all.claims, t.all.rejected), (0, 0));
        assert_eq!(t.by_edit.get("E-29").unwrap().reject, 0);
        assert!(t.human().starts_with("0 claims"));
    }
}
