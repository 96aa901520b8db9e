//! `NAME.claims.jsonl`: one JSON object per claim read, in input order, every claim accounted
//! for as accepted or rejected, with its findings. Also the reader that parses it back.

use std::io::{self, BufRead, Write};
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::edit::{ClaimResult, Finding, Severity};

/// One line of `claims.jsonl`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimLine {
    /// CLM01.
    pub claim: String,
    /// `accepted` or `rejected`.
    pub status: String,
    /// `837P` or `837I`.
    pub kind: String,
    /// ST02 of its transaction set.
    pub transaction: String,
    /// The payer and the profile it was matched to.
    pub payer: PayerOut,
    /// CLM02 with two decimals, when readable.
    pub charge: Option<String>,
    /// What was found, structural findings first.
    pub findings: Vec<FindingOut>,
    /// The rule pack that edited it (`NAME VERSION`).
    pub rules: String,
}

/// The payer of a claim line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayerOut {
    /// 2010BB NM109.
    pub id: String,
    /// 2010BB NM103.
    pub name: String,
    /// Profile id (`medicare`, `aetna`, …), or null when no profile matched.
    pub profile: Option<String>,
    /// How it matched (`payer_id`, `claim_filing`, `name`), or why only generic edits ran.
    pub matched: String,
}

/// One finding of a claim line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingOut {
    /// Catalogue id.
    pub edit: String,
    /// `reject` or `warn`.
    pub severity: String,
    /// 277CA STC category:status[:entity], null for findings with no 277CA code.
    pub stc: Option<String>,
    /// Further STC composites.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stc_extra: Vec<String>,
    /// LX01 of the line, or null for claim-level findings.
    pub line: Option<u32>,
    /// What is wrong.
    pub message: String,
    /// Segment ordinal in the input.
    pub segment: u64,
    /// Byte offset in the input.
    pub byte: u64,
    /// The acknowledgment code of a structural finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<String>,
    /// The rule that fired: file, line and pack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl From<&Finding> for FindingOut {
    fn from(f: &Finding) -> Self {
        FindingOut {
            edit: f.edit.to_string(),
            severity: f.severity.as_str().to_owned(),
            stc: f.stc.as_ref().map(|s| s.to_string()),
            stc_extra: f.stc_extra.iter().map(|s| s.to_string()).collect(),
            line: f.line,
            message: f.message.clone(),
            segment: f.segment,
            byte: f.byte,
            ack: f.ack.clone(),
            rule: f.rule.as_ref().map(|s| s.to_string()),
        }
    }
}

impl ClaimLine {
    /// The line for an edited claim.
    pub fn new(r: &ClaimResult, rules: &str) -> Self {
        let matched = match (r.matched_by, &r.profile) {
            (Some(m), Some(_)) => match m {
                crate::edit::payer::MatchedBy::PayerId => "payer_id",
                crate::edit::payer::MatchedBy::ClaimFiling => "claim_filing",
                crate::edit::payer::MatchedBy::Name => "name",
            }
            .to_owned(),
            _ => "none: payer not matched to a profile, generic edits only".to_owned(),
        };
        ClaimLine {
            claim: r.id.clone(),
            status: if r.rejected() { "rejected" } else { "accepted" }.to_owned(),
            kind: r.kind.as_str().to_owned(),
            transaction: r.transaction_control.clone(),
            payer: PayerOut {
                id: r.payer_id.clone(),
                name: r.payer_name.clone(),
                profile: r.profile.as_ref().map(|p| p.to_string()),
                matched,
            },
            charge: r.charge.map(|c| c.to_string()),
            findings: r.findings.iter().map(FindingOut::from).collect(),
            rules: rules.to_owned(),
        }
    }

    /// Whether any finding rejects it.
    pub fn rejected(&self) -> bool {
        self.status == "rejected"
    }

    /// Writes it as one line.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer(&mut *out, self).map_err(io::Error::other)?;
        out.write_all(b"\n")
    }
}

/// A rejection that came after its claims were written (the group or interchange was
/// rejected at its trailer): lines `lines` (0-based) get `finding` and become rejected.
#[derive(Clone, Debug)]
pub struct LateRejection {
    /// Line numbers (0-based) it covers.
    pub lines: Range<u64>,
    /// The finding each of them gets.
    pub finding: Finding,
}

/// Copies `src` to `dst`, applying late rejections.
pub fn apply_late(
    src: impl BufRead,
    dst: &mut dyn Write,
    late: &[LateRejection],
) -> io::Result<()> {
    for (n, line) in src.lines().enumerate() {
        let line = line?;
        let hits: Vec<&LateRejection> = late
            .iter()
            .filter(|l| l.lines.contains(&(n as u64)))
            .collect();
        if hits.is_empty() {
            dst.write_all(line.as_bytes())?;
            dst.write_all(b"\n")?;
            continue;
        }
        let mut c: ClaimLine = serde_json::from_str(&line).map_err(io::Error::other)?;
        for h in hits {
            c.findings.push(FindingOut::from(&h.finding));
        }
        if c.findings
            .iter()
            .any(|f| f.severity == Severity::Reject.as_str())
        {
            c.status = "rejected".into();
        }
        c.write(dst)?;
    }
    Ok(())
}

/// Reads a `claims.jsonl` back, checking each line's status agrees with its findings.
pub fn read_claims(src: impl BufRead) -> Result<Vec<ClaimLine>, String> {
    let mut out = Vec::new();
    for (n, line) in src.lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", n + 1))?;
        let c: ClaimLine =
            serde_json::from_str(&line).map_err(|e| format!("line {}: {e}", n + 1))?;
        let rejects = c.findings.iter().any(|f| f.severity == "reject");
        let ok = match c.status.as_str() {
            "rejected" => rejects,
            "accepted" => !rejects,
            _ => false,
        };
        if !ok {
            return Err(format!(
                "line {}: status {} disagrees with its findings",
                n + 1,
                c.status
            ));
        }
        if let Some(f) = c
            .findings
            .iter()
            .find(|f| f.severity != "reject" && f.severity != "warn")
        {
            return Err(format!("line {}: severity {}", n + 1, f.severity));
        }
        out.push(c);
    }
    Ok(out)
}
