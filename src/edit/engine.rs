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
    ///
    /// Claims go through in chunks of [`CHUNK`], one step at a time over the chunk (facts, then
    /// rules, then lines, then fragments, then history and verdicts), so that each step's code
    /// stays in the instruction cache for the whole chunk instead of being evicted by the
    /// others at every claim. Each output buffer still receives its claims in input order.
    pub fn edit_batch_lines(
        &self,
        batch: &ClaimBatch,
        rules_label: &str,
        mut lines: Option<&mut Vec<u8>>,
        mut acks: Option<&mut ClaimAcks>,
        mut hist: Option<&mut Vec<(u32, crate::history::index::HistClaim)>>,
        out: &mut Vec<Edited>,
    ) {
        let mut hits = Vec::new();
        let n = CHUNK.min(batch.claims.len());
        let mut slots: Vec<Slot<'_>> = (0..n).map(|_| Slot::default()).collect();
        let mut line_cache = crate::report::claims_jsonl::LineCache::new(rules_label);
        // The slot read last, whose billing provider the next claim most likely shares.
        let mut last: Option<usize> = None;
        for chunk in batch.claims.chunks(CHUNK) {
            for (k, rec) in chunk.iter().enumerate() {
                if let Some(j) = last.filter(|&j| j != k) {
                    let billing = slots[j].facts.billing.clone();
                    slots[k].facts.billing = billing;
                }
                slots[k].facts.read_into(batch, rec);
                last = Some(k);
            }
            let slots = &mut slots[..chunk.len()];
            for (slot, rec) in slots.iter_mut().zip(chunk) {
                slot.matched = self.prepare(&mut slot.facts, rec.kind, &mut slot.rules);
            }
            for slot in slots.iter_mut() {
                slot.findings.clear();
                self.check(&slot.facts, &slot.rules, &mut hits, &mut slot.findings);
            }
            for (slot, rec) in slots.iter_mut().zip(chunk) {
                if let Some(lines) = lines.as_deref_mut() {
                    let f = &slot.facts;
                    line_cache.write(
                        &crate::report::claims_jsonl::ClaimOut {
                            id: f.id,
                            kind: rec.kind,
                            transaction: &rec.transaction_control,
                            payer_id: f.payer_id,
                            payer_name: f.payer_name,
                            profile: self.profile_of(slot.matched),
                            matched_by: slot.matched.map(|m| m.1),
                            charge: f.charge,
                            findings: &slot.findings,
                        },
                        lines,
                    );
                }
                slot.end = lines.as_deref().map_or(0, Vec::len);
            }
            for (slot, rec) in slots.iter_mut().zip(chunk) {
                slot.ack = match acks.as_deref_mut() {
                    Some(a) => a.claim(
                        &ClaimView::new(batch, rec).with_context_nm1s(slot.facts.context_nm1s),
                        &slot.facts,
                        &slot.findings,
                    ),
                    None => Frag::default(),
                };
            }
            for (slot, rec) in slots.iter().zip(chunk) {
                let f = &slot.facts;
                if let Some(h) = hist.as_deref_mut() {
                    let view = ClaimView::new(batch, rec).with_context_nm1s(f.context_nm1s);
                    let profile = self.profile_of(slot.matched);
                    if let Some(mut c) = self.history.claim(&view, f, profile, &slot.rules) {
                        self.day_units(f, &slot.rules, &mut c);
                        h.push((out.len() as u32, c));
                    }
                }
                let (mut rejects, mut warns) = (EditSet::default(), EditSet::default());
                for x in &slot.findings {
                    match x.severity {
                        Severity::Reject => rejects.add(&x.edit),
                        Severity::Warn => warns.add(&x.edit),
                    }
                }
                out.push(Edited {
                    transaction: rec.transaction,
                    index: rec.index,
                    rejected: slot.findings.iter().any(|x| x.severity == Severity::Reject),
                    warned: slot.findings.iter().any(|x| x.severity == Severity::Warn),
                    end: slot.end,
                    profile: slot.matched.and_then(|m| u16::try_from(m.0).ok()),
                    cents: f.charge.map_or(0, |c| c.cents),
                    rejects,
                    warns,
                    ack: slot.ack,
                });
            }
        }
    }

    /// The id of a matched profile.
    fn profile_of(&self, matched: Option<(usize, MatchedBy)>) -> Option<&str> {
        matched
            .and_then(|m| self.profile_ids.get(m.0))
            .map(|p| &**p)
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

    /// Matches one claim to its payer profile, selects the rules in force for it into `rules`
    /// and indexes its codes; returns the profile it matched.
    fn prepare(
        &self,
        f: &mut Facts<'_>,
        kind: Kind,
        rules: &mut Vec<usize>,
    ) -> Option<(usize, MatchedBy)> {
        let matched = self
            .rules
            .profiles
            .matching(f.payer_id, f.claim_filing, f.payer_name);
        let profile = matched.map(|m| m.0);
        self.rules
            .applicable(profile, kind, f.date_of_service(), rules);
        f.index_codes(&self.rules.code_index);
        matched
    }

    /// Runs the rules in force (`rules`, from [`Engine::prepare`]) on one claim.
    fn check(
        &self,
        f: &Facts<'_>,
        rules: &[usize],
        hits: &mut Vec<Hit>,
        findings: &mut Vec<Finding>,
    ) {
        let cx = self.context();
        for &i in rules {
            let rule = &self.rules.rules[i];
            if rule.check.runs_elsewhere() || !rule.check.may_fire(f.line_code_sets) {
                continue;
            }
            hits.clear();
            rule.check.run(f, &cx, hits);
            for hit in hits.drain(..) {
                findings.push(finding_of(rule, hit));
            }
        }
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

/// Claims edited one step at a time (see [`Engine::edit_batch_lines`]).
const CHUNK: usize = 32;

/// One claim of a chunk between the steps of [`Engine::edit_batch_lines`].
#[derive(Default)]
struct Slot<'b> {
    facts: Facts<'b>,
    findings: Vec<Finding>,
    matched: Option<(usize, MatchedBy)>,
    /// The rules in force for it.
    rules: Vec<usize>,
    /// End of its line in the line buffer.
    end: usize,
    ack: Frag,
}
