//! The edit engine: matches each claim to a payer profile, selects the rules in force for its
//! payer, kind and date of service, runs their checks and collects the findings.

use std::sync::Arc;

use super::checks::{Context, Hit};
use super::facts::Facts;
use super::finding::{Finding, Severity};
use super::payer::MatchedBy;
use super::rules::RuleSet;
use crate::ack::claim277::{ClaimAcks, Frag};
use crate::claim::view::ClaimView;
use crate::claim::{ClaimBatch, Date, Kind};
use crate::history::index::{DayUnits, HistClaim};
use crate::report::summary::EditSet;

/// One edited claim as the ordered stage needs it (its line is in the batch's buffer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edited {
    /// Sequence number of its transaction set in the input.
    pub transaction: u32,
    /// Its index in the transaction set.
    pub index: u32,
    /// Whether a finding rejects it.
    pub rejected: bool,
    /// Whether a finding warns.
    pub warned: bool,
    /// End of its line in the batch's line buffer.
    pub end: usize,
    /// Its payer profile (index into the rule set's profiles).
    pub profile: Option<u16>,
    /// CLM02 in cents (0 when unreadable).
    pub cents: i64,
    /// The edits that reject it.
    pub rejects: EditSet,
    /// The edits that warn.
    pub warns: EditSet,
    /// Its 277CA fragment in the batch's acknowledgment buffer (empty when none is written).
    pub ack: Frag,
}

/// The engine: an immutable rule set and the run's clock, shared by every worker.
#[derive(Clone, Debug)]
pub struct Engine {
    /// The rules.
    pub rules: Arc<RuleSet>,
    /// Today, for checks that need it when a file carries no date.
    pub today: Date,
    profile_ids: Vec<Arc<str>>,
    /// Member history: the rules history judges and the regions it tracks.
    pub history: Arc<crate::history::HistoryPlan>,
}

impl Engine {
    /// An engine over `rules`.
    pub fn new(rules: Arc<RuleSet>, today: Date) -> Self {
        let profile_ids = rules
            .profiles
            .iter()
            .map(|p| Arc::from(p.id.as_str()))
            .collect();
        let history = Arc::new(crate::history::HistoryPlan::of(&rules));
        Engine {
            rules,
            today,
            profile_ids,
            history,
        }
    }

    /// Edits every claim of a batch, writing its `claims.jsonl` line to `lines` (when given), its 277CA
    /// fragment to `acks` (when given) and what the ordered stage needs to `out` (in order).
    pub fn edit_batch_lines(
        &self,
        batch: &ClaimBatch,
        rules_label: &str,
        mut lines: Option<&mut Vec<u8>>,
        mut acks: Option<&mut ClaimAcks>,
        mut hist: Option<&mut Vec<(u32, crate::history::index::HistClaim)>>,
        out: &mut Vec<Edited>,
    ) {
        let mut scratch = Scratch::default();
        let mut f = Facts::default();
        let mut findings = Vec::new();
        let mut line_cache = crate::report::claims_jsonl::LineCache::new(rules_label);
        for rec in &batch.claims {
            f.read_into(batch, rec);
            findings.clear();
            let matched = self.run(&mut f, rec.kind, &mut scratch, &mut findings);
            if let Some(lines) = lines.as_deref_mut() {
                line_cache.write(
                    &crate::report::claims_jsonl::ClaimOut {
                        id: f.id,
                        kind: rec.kind,
                        transaction: &rec.transaction_control,
                        payer_id: f.payer_id,
                        payer_name: f.payer_name,
                        profile: matched
                            .and_then(|m| self.profile_ids.get(m.0))
                            .map(|p| &**p),
                        matched_by: matched.map(|m| m.1),
                        charge: f.charge,
                        findings: &findings,
                    },
                    lines,
                );
            }
            let ack = match acks.as_deref_mut() {
                Some(a) => a.claim(
                    &ClaimView::new(batch, rec).with_context_nm1s(f.context_nm1s),
                    &f,
                    &findings,
                ),
                None => Frag::default(),
            };
            if let Some(h) = hist.as_deref_mut() {
                let profile = matched
                    .and_then(|m| self.profile_ids.get(m.0))
                    .map(|p| &**p);
                let view = ClaimView::new(batch, rec).with_context_nm1s(f.context_nm1s);
                if let Some(mut c) = self.history.claim(&view, &f, profile, &scratch.rules) {
                    self.day_units(&f, &scratch.rules, &mut c);
                    h.push((out.len() as u32, c));
                }
            }
            let (mut rejects, mut warns) = (EditSet::default(), EditSet::default());
            for x in &findings {
                match x.severity {
                    Severity::Reject => rejects.add(&x.edit),
                    Severity::Warn => warns.add(&x.edit),
                }
            }
            out.push(Edited {
                transaction: rec.transaction,
                index: rec.index,
                rejected: findings.iter().any(|x| x.severity == Severity::Reject),
                warned: findings.iter().any(|x| x.severity == Severity::Warn),
                end: lines.as_deref().map_or(0, Vec::len),
                profile: matched.and_then(|m| u16::try_from(m.0).ok()),
                cents: f.charge.map_or(0, |c| c.cents),
                rejects,
                warns,
                ack,
            });
        }
    }

    /// The per-date-of-service unit limits of the rules in force (`applicable`) on the codes
    /// history keeps of the claim, for the history stage to judge with the member's other
    /// claims.
    fn day_units(&self, f: &Facts<'_>, applicable: &[usize], c: &mut HistClaim) {
        let cx = self.context();
        let mut limits = Vec::new();
        for &i in applicable {
            let check = &self.rules.rules[i].check;
            if !check.has_day_limits() {
                continue;
            }
            limits.clear();
            check.day_limits(f, &cx, &mut limits);
            for d in &limits {
                let code = std::str::from_utf8(d.code).unwrap_or("").into();
                if !c.services.iter().any(|s| s.code == code) {
                    continue;
                }
                c.day_units.push(DayUnits {
                    code,
                    date: d.date,
                    units: d.units,
                    limit: d.limit,
                    mai: d.mai,
                    rule: i as u32,
                    line: d.line,
                    segment: d.loc.segment,
                    byte: d.loc.byte,
                    variant: d.variant,
                    table: d.table.clone(),
                });
            }
        }
    }

    fn context(&self) -> Context<'_> {
        Context {
            profiles: &self.rules.profiles,
            today: self.today,
            tables: self.rules.tables(),
        }
    }

    /// Runs the rules in force for one claim; returns the profile it matched.
    fn run(
        &self,
        f: &mut Facts<'_>,
        kind: Kind,
        s: &mut Scratch,
        findings: &mut Vec<Finding>,
    ) -> Option<(usize, MatchedBy)> {
        let matched = self
            .rules
            .profiles
            .matching(f.payer_id, f.claim_filing, f.payer_name);
        let profile = matched.map(|m| m.0);
        self.rules
            .applicable(profile, kind, f.date_of_service(), &mut s.rules);
        f.index_codes(&self.rules.code_index);
        let f = &*f;
        let cx = self.context();
        for &i in &s.rules {
            let rule = &self.rules.rules[i];
            if rule.check.runs_elsewhere() || !rule.check.may_fire(f.line_code_sets) {
                continue;
            }
            s.hits.clear();
            rule.check.run(f, &cx, &mut s.hits);
            for hit in s.hits.drain(..) {
                findings.push(finding_of(rule, hit));
            }
        }
        matched
    }
}

/// The finding a rule's hit makes.
pub(crate) fn finding_of(rule: &super::rules::Rule, hit: Hit) -> Finding {
    let Hit {
        line,
        loc,
        message,
        variant,
        table,
    } = hit;
    Finding {
        edit: rule.edit.clone(),
        severity: rule.severity,
        stc: rule.stc_for(variant),
        // A variant with its own STC replaces the rule's whole code set.
        stc_extra: if variant.is_some_and(|v| rule.stc_variants.iter().any(|(k, _)| k == v)) {
            Vec::new()
        } else {
            rule.stc_extra.clone()
        },
        line,
        message,
        segment: loc.segment,
        byte: loc.byte,
        ack: None,
        // A finding from a CMS table names the table, edition and file first.
        rule: Some(match table {
            Some(t) => Arc::from(format!("{t}; {}", rule.origin)),
            None => rule.origin.clone(),
        }),
    }
}

#[derive(Default)]
struct Scratch {
    rules: Vec<usize>,
    hits: Vec<Hit>,
}
