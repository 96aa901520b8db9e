//! The edit engine: matches each claim to a payer profile, selects the rules in force for its
//! payer, kind and date of service, runs their checks and collects the findings.

use std::sync::Arc;

use super::checks::{Context, Hit};
use super::facts::{Facts, Loc};
use super::finding::{Finding, Severity};
use super::payer::MatchedBy;
use super::rules::RuleSet;
use crate::claim::{ClaimBatch, ClaimRec, Date, Kind, Money};

/// What the edits made of one claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimResult {
    /// Sequence number of its transaction set in the input.
    pub transaction: u32,
    /// Its index in the transaction set.
    pub index: u32,
    /// ST02.
    pub transaction_control: String,
    /// CLM01.
    pub id: String,
    /// 837P or 837I.
    pub kind: Kind,
    /// 2010BB NM109.
    pub payer_id: String,
    /// 2010BB NM103.
    pub payer_name: String,
    /// The payer profile matched, if any.
    pub profile: Option<Arc<str>>,
    /// How it was matched.
    pub matched_by: Option<MatchedBy>,
    /// CLM02.
    pub charge: Option<Money>,
    /// Where the CLM is.
    pub clm: Loc,
    /// Findings, in rule order.
    pub findings: Vec<Finding>,
}

impl ClaimResult {
    /// Whether any finding rejects the claim.
    pub fn rejected(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Reject)
    }
}

/// The engine: an immutable rule set and the run's clock, shared by every worker.
#[derive(Clone, Debug)]
pub struct Engine {
    /// The rules.
    pub rules: Arc<RuleSet>,
    /// Today, for checks that need it when a file carries no date.
    pub today: Date,
    profile_ids: Vec<Arc<str>>,
}

impl Engine {
    /// An engine over `rules`.
    pub fn new(rules: Arc<RuleSet>, today: Date) -> Self {
        let profile_ids = rules
            .profiles
            .iter()
            .map(|p| Arc::from(p.id.as_str()))
            .collect();
        Engine {
            rules,
            today,
            profile_ids,
        }
    }

    /// Edits every claim of a batch, in order.
    pub fn edit_batch(&self, batch: &ClaimBatch) -> Vec<ClaimResult> {
        let mut scratch = Scratch::default();
        batch
            .claims
            .iter()
            .map(|rec| self.edit_claim(batch, rec, &mut scratch))
            .collect()
    }

    fn edit_claim(&self, batch: &ClaimBatch, rec: &ClaimRec, s: &mut Scratch) -> ClaimResult {
        let f = Facts::read(batch, rec);
        let matched = self
            .rules
            .profiles
            .matching(f.payer_id, f.claim_filing, f.payer_name);
        let profile = matched.map(|m| m.0);
        self.rules
            .applicable(profile, rec.kind, f.date_of_service(), &mut s.rules);
        let cx = Context {
            profiles: &self.rules.profiles,
            today: self.today,
        };
        let mut findings = Vec::new();
        for &i in &s.rules {
            let rule = &self.rules.rules[i];
            s.hits.clear();
            rule.check.run(&f, &cx, &mut s.hits);
            for Hit {
                line,
                loc,
                message,
                variant,
            } in s.hits.drain(..)
            {
                findings.push(Finding {
                    edit: rule.edit.clone(),
                    severity: rule.severity,
                    stc: rule.stc_for(variant),
                    stc_extra: rule.stc_extra.clone(),
                    line,
                    message,
                    segment: loc.segment,
                    byte: loc.byte,
                    ack: None,
                    rule: Some(rule.origin.clone()),
                });
            }
        }
        ClaimResult {
            transaction: rec.transaction,
            index: rec.index,
            transaction_control: rec.transaction_control.clone(),
            id: String::from_utf8_lossy(f.id).into_owned(),
            kind: rec.kind,
            payer_id: String::from_utf8_lossy(f.payer_id).into_owned(),
            payer_name: String::from_utf8_lossy(f.payer_name).into_owned(),
            profile: profile.and_then(|p| self.profile_ids.get(p).cloned()),
            matched_by: matched.map(|m| m.1),
            charge: f.charge,
            clm: f.clm,
            findings,
        }
    }
}

#[derive(Default)]
struct Scratch {
    rules: Vec<usize>,
    hits: Vec<Hit>,
}
