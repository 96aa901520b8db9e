//! What an edit finds: a finding with its catalogue id, severity, 277CA code and location.

use std::sync::Arc;

use serde::Serialize;

/// How a finding affects its claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Reported; the claim is still accepted.
    Warn,
    /// The claim is rejected.
    Reject,
}

impl Severity {
    /// `reject` or `warn`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Reject => "reject",
            Severity::Warn => "warn",
        }
    }

    /// Parses `reject` or `warn`.
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "reject" => Some(Severity::Reject),
            "warn" => Some(Severity::Warn),
            _ => None,
        }
    }
}

/// One finding on one claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Catalogue id, e.g. `E-29`.
    pub edit: Arc<str>,
    /// Reject or warn.
    pub severity: Severity,
    /// 277CA STC category:status[:entity], when the finding maps to one.
    pub stc: Option<Arc<str>>,
    /// Further STC composites (STC10, STC11).
    pub stc_extra: Vec<Arc<str>>,
    /// LX01 of the line it is about, for line-level findings.
    pub line: Option<u32>,
    /// What is wrong, in plain words (no member names, ids or birth dates).
    pub message: String,
    /// 1-based segment ordinal in the input of the segment it points at (0 when none).
    pub segment: u64,
    /// Byte offset of that segment.
    pub byte: u64,
    /// The acknowledgment code of a structural finding (`999 IK3 8`, `TA1 001`, …).
    pub ack: Option<String>,
    /// Where the rule came from: rule file and line, pack version.
    pub rule: Option<Arc<str>>,
}
