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

// Borrowed twins of the line types, for writing without copying every string (field order and
// names are the same; a test checks that both write the same bytes).
#[derive(Serialize)]
struct LineRef<'a> {
    claim: &'a str,
    status: &'a str,
    kind: &'a str,
    transaction: &'a str,
    payer: PayerRef<'a>,
    charge: Option<String>,
    findings: Vec<FindingRef<'a>>,
    rules: &'a str,
}

#[derive(Serialize)]
struct PayerRef<'a> {
    id: &'a str,
    name: &'a str,
    profile: Option<&'a str>,
    matched: &'a str,
}

#[derive(Serialize)]
struct FindingRef<'a> {
    edit: &'a str,
    severity: &'a str,
    stc: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stc_extra: Vec<&'a str>,
    line: Option<u32>,
    message: &'a str,
    segment: u64,
    byte: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    ack: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'a str>,
}

impl<'a> From<&'a Finding> for FindingRef<'a> {
    fn from(f: &'a Finding) -> Self {
        FindingRef {
            edit: &f.edit,
            severity: f.severity.as_str(),
            stc: f.stc.as_deref(),
            stc_extra: f.stc_extra.iter().map(|s| &**s).collect(),
            line: f.line,
            message: &f.message,
            segment: f.segment,
            byte: f.byte,
            ack: f.ack.as_deref(),
            rule: f.rule.as_deref(),
        }
    }
}

/// What a claim line says, borrowed from wherever it lives.
pub struct ClaimOut<'a> {
    /// CLM01.
    pub id: &'a str,
    /// 837P or 837I.
    pub kind: crate::claim::Kind,
    /// ST02.
    pub transaction: &'a str,
    /// 2010BB NM109.
    pub payer_id: &'a str,
    /// 2010BB NM103.
    pub payer_name: &'a str,
    /// Profile id.
    pub profile: Option<&'a str>,
    /// How the profile matched.
    pub matched_by: Option<crate::edit::payer::MatchedBy>,
    /// CLM02.
    pub charge: Option<crate::claim::Money>,
    /// Findings.
    pub findings: &'a [Finding],
}

/// Writes the line of an edited claim (`rules` names the pack: `NAME VERSION`).
pub fn write_result(r: &ClaimResult, rules: &str, out: &mut Vec<u8>) {
    write_claim(
        &ClaimOut {
            id: &r.id,
            kind: r.kind,
            transaction: &r.transaction_control,
            payer_id: &r.payer_id,
            payer_name: &r.payer_name,
            profile: r.profile.as_deref(),
            matched_by: r.matched_by,
            charge: r.charge,
            findings: &r.findings,
        },
        rules,
        out,
    )
}

/// Writes one claim line.
pub fn write_claim(r: &ClaimOut<'_>, rules: &str, out: &mut Vec<u8>) {
    let rejected = r.findings.iter().any(|f| f.severity == Severity::Reject);
    let matched = match (r.matched_by, &r.profile) {
        (Some(m), Some(_)) => match m {
            crate::edit::payer::MatchedBy::PayerId => "payer_id",
            crate::edit::payer::MatchedBy::ClaimFiling => "claim_filing",
            crate::edit::payer::MatchedBy::Name => "name",
        },
        _ => "none: payer not matched to a profile, generic edits only",
    };
    let line = LineRef {
        claim: r.id,
        status: if rejected { "rejected" } else { "accepted" },
        kind: r.kind.as_str(),
        transaction: r.transaction,
        payer: PayerRef {
            id: r.payer_id,
            name: r.payer_name,
            profile: r.profile,
            matched,
        },
        charge: r.charge.map(|c| c.to_string()),
        findings: r.findings.iter().map(FindingRef::from).collect(),
        rules,
    };
    // Serializing plain structs into memory cannot fail.
    let _ = serde_json::to_writer(&mut *out, &line);
    out.push(b'\n');
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

/// A written line with `findings` put first (structural findings that came after the worker
/// wrote it); the claim becomes rejected when any of them rejects.
pub fn prepend_findings(line: &[u8], findings: &[Finding], out: &mut dyn Write) -> io::Result<()> {
    let mut c: ClaimLine = serde_json::from_slice(line.strip_suffix(b"\n").unwrap_or(line))
        .map_err(io::Error::other)?;
    let mut all: Vec<FindingOut> = findings.iter().map(FindingOut::from).collect();
    all.append(&mut c.findings);
    c.findings = all;
    if c.findings
        .iter()
        .any(|f| f.severity == Severity::Reject.as_str())
    {
        c.status = "rejected".into();
    }
    c.write(out)
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
