//! Implementation-guide validation of whole transaction sets: picks the grammar for each set,
//! walks its segments, attributes errors to claims, and counts the claims read and rejected.

use super::walker::{ClaimTally, Placement, Walker};
use super::{Grammar, GrammarError};
use crate::x12::{
    AckStatus, GroupOutcome, InterchangeOutcome, Position, Segment, TransactionHeader,
    TransactionOutcome,
};

/// The claim grammars in force (837P and 837I), each compiled when a transaction set of its
/// version first comes (compiling one costs more than scrubbing a small file).
#[derive(Debug)]
pub struct Grammars {
    list: Vec<LazyGrammar>,
}

/// An embedded grammar and its version, compiled on first use.
#[derive(Debug)]
struct LazyGrammar {
    file: &'static str,
    version: &'static str,
    compiled: std::sync::OnceLock<Option<Grammar>>,
}

impl LazyGrammar {
    /// The compiled grammar (`None` if the embedded file does not load, which a test rules
    /// out: its version is then unsupported).
    fn get(&self) -> Option<&Grammar> {
        self.compiled
            .get_or_init(|| match Grammar::embedded(self.file)? {
                Ok(g) => Some(g),
                Err(e) => {
                    tracing::error!("{e}");
                    None
                }
            })
            .as_ref()
    }
}

/// The embedded claim grammars and their GS08 / ST03 versions (a test holds these to the files).
const CLAIM_GRAMMARS: [(&str, &str); 2] =
    [("837P.json", "005010X222A1"), ("837I.json", "005010X223A2")];

impl Grammars {
    /// The 837P and 837I grammars embedded in the binary (compiled when first needed).
    pub fn embedded() -> Result<Self, GrammarError> {
        let list = CLAIM_GRAMMARS
            .iter()
            .map(|&(file, version)| LazyGrammar {
                file,
                version,
                compiled: std::sync::OnceLock::new(),
            })
            .collect();
        Ok(Grammars { list })
    }

    /// The grammar for a GS08 / ST03 version.
    pub fn for_version(&self, version: &str) -> Option<&Grammar> {
        self.list.iter().find(|g| g.version == version)?.get()
    }
}

/// Claim counts over an input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClaimCounts {
    /// Claims read (CLM segments placed in a 2300 loop).
    pub read: u64,
    /// Claims rejected: by their own errors, or with the transaction set, group or interchange.
    pub rejected: u64,
}

/// Validates the transaction sets of one input.
pub struct Validator<'g> {
    grammars: &'g Grammars,
    /// One walker per grammar, made when a transaction set of its version first comes.
    walkers: Vec<Option<Walker<'g>>>,
    active: Option<usize>,
    group_version: String,
    counts: ClaimCounts,
    /// Errors of the envelope layer attributed to claims of the set being walked, and how
    /// many of them [`Validator::settled`] handed out.
    bad: Vec<crate::x12::SegmentError>,
    bad_settled: usize,
    group_ok: u64,
    interchange_ok: u64,
    tally: ClaimTally,
}

impl<'g> Validator<'g> {
    /// A validator over `grammars`.
    pub fn new(grammars: &'g Grammars) -> Self {
        Validator {
            grammars,
            walkers: grammars.list.iter().map(|_| None).collect(),
            active: None,
            group_version: String::new(),
            counts: ClaimCounts::default(),
            bad: Vec::new(),
            bad_settled: 0,
            group_ok: 0,
            interchange_ok: 0,
            tally: ClaimTally::default(),
        }
    }

    /// The walker of the transaction set being read, if its version is supported.
    #[inline]
    fn walker(&mut self) -> Option<&mut Walker<'g>> {
        self.walkers.get_mut(self.active?)?.as_mut()
    }

    /// Claim counts so far.
    pub fn counts(&self) -> ClaimCounts {
        self.counts
    }

    /// An error the envelope layer found inside the transaction set (an unreadable or oversize
    /// segment): it belongs to the claim being walked, if any.
    pub fn bad_segment(&mut self, error: &mut crate::x12::SegmentError) {
        if let Some(w) = self.walker() {
            w.attribute(error);
            if error.claim.is_some() {
                self.bad.push(error.clone());
            }
        }
    }

    /// Claims of the transaction set being walked before the returned index are closed;
    /// with the errors attributed to them not handed out before, in the order the set's
    /// outcome lists them (by position; the envelope's first).
    pub fn settled(&mut self) -> (u32, Vec<crate::x12::SegmentError>) {
        let Some(w) = self
            .active
            .and_then(|i| self.walkers.get_mut(i))
            .and_then(|w| w.as_mut())
        else {
            return (0, Vec::new());
        };
        let (upto, found) = w.settled();
        let n = self.bad[self.bad_settled..]
            .iter()
            .take_while(|e| e.claim.is_some_and(|c| c < upto))
            .count();
        let mut errors: Vec<crate::x12::SegmentError> = self.bad
            [self.bad_settled..self.bad_settled + n]
            .iter()
            .chain(found.iter().filter(|e| e.claim.is_some()))
            .cloned()
            .collect();
        self.bad_settled += n;
        errors.sort_by_key(|e| e.position.in_transaction);
        (upto, errors)
    }

    /// A group began with this GS08.
    pub fn group_start(&mut self, version: &str) {
        self.group_version = version.to_owned();
        self.group_ok = 0;
    }

    /// A transaction set began.
    pub fn transaction_start(&mut self, header: &TransactionHeader) {
        self.bad.clear();
        self.bad_settled = 0;
        let version = header
            .convention
            .as_deref()
            .unwrap_or(self.group_version.as_str());
        let grammars = self.grammars;
        self.active = grammars.list.iter().position(|g| g.version == version);
        let Some((i, g)) = self
            .active
            .and_then(|i| Some((i, grammars.list.get(i)?.get()?)))
        else {
            self.active = None;
            return;
        };
        if let Some(slot) = self.walkers.get_mut(i) {
            slot.get_or_insert_with(|| Walker::new(g)).begin();
        }
    }

    /// The grammar of the transaction set being walked, if its version is supported.
    pub fn active_grammar(&self) -> Option<&'g super::Grammar> {
        self.active
            .and_then(|i| self.walkers.get(i)?.as_ref())
            .map(|w| w.grammar())
    }

    /// A segment inside the transaction set.
    pub fn segment(&mut self, seg: &Segment<'_>, position: &Position) -> Option<Placement> {
        self.walker()?.segment(seg, position)
    }

    /// The transaction set is ending: close its loops and add what was found to `outcome`;
    /// `report` sees each error the walker found.
    pub fn check(
        &mut self,
        outcome: &mut TransactionOutcome,
        mut report: impl FnMut(&crate::x12::SegmentError),
    ) {
        self.tally = ClaimTally::default();
        let Some(w) = self
            .active
            .take()
            .and_then(|i| self.walkers.get_mut(i)?.as_mut())
        else {
            return;
        };
        w.finish(&outcome.end, !outcome.codes.contains(&"2"));
        let (errors, tally) = w.take();
        errors.iter().for_each(&mut report);
        outcome.errors.extend(errors);
        outcome.errors.sort_by_key(|e| e.position.in_transaction);
        self.tally = tally;
    }

    /// The transaction set ended with its settled status.
    pub fn transaction_end(&mut self, outcome: &TransactionOutcome) {
        let n = u64::from(self.tally.read);
        self.counts.read += n;
        let rejected = match outcome.status {
            AckStatus::Rejected => n,
            _ => u64::from(self.tally.with_errors),
        };
        self.counts.rejected += rejected;
        self.group_ok += n - rejected;
    }

    /// The group ended: a rejected group rejects the claims it accepted.
    pub fn group_end(&mut self, outcome: &GroupOutcome) {
        if outcome.status == AckStatus::Rejected {
            self.counts.rejected += self.group_ok;
        } else {
            self.interchange_ok += self.group_ok;
        }
        self.group_ok = 0;
    }

    /// The interchange ended: a rejected interchange rejects every claim in it.
    pub fn interchange_end(&mut self, outcome: &InterchangeOutcome) {
        if outcome.status == AckStatus::Rejected {
            self.counts.rejected += self.interchange_ok;
        }
        self.interchange_ok = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_grammars_load_under_the_versions_listed() {
        let grammars = Grammars::embedded().expect("embedded");
        for (file, version) in CLAIM_GRAMMARS {
            let g = grammars.for_version(version).expect(file);
            assert_eq!(g.version, version, "{file}");
            let direct = Grammar::embedded(file).expect("bundled").expect("loads");
            assert_eq!(
                (g.name.as_str(), g.segments.len()),
                (direct.name.as_str(), direct.segments.len())
            );
        }
        assert!(grammars.for_version("004010X098A1").is_none());
    }
}
