//! `NAME.claims.jsonl`: one JSON object per claim read, in input order, every claim accounted
//! for as accepted or rejected, with its findings. Also the reader that parses it back.

use std::io::{self, BufRead, Write};
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::ack::num::Num;
use crate::edit::{Finding, Severity};

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
    /// Inserts findings after the first `before` of its own (0 puts them first, `usize::MAX`
    /// last) and makes the line rejected
    /// when any finding rejects it.
    fn add_findings<'f>(&mut self, before: usize, findings: impl Iterator<Item = &'f Finding>) {
        let at = before.min(self.findings.len());
        let new: Vec<FindingOut> = findings.map(FindingOut::from).collect();
        self.findings.splice(at..at, new);
        if self
            .findings
            .iter()
            .any(|f| f.severity == Severity::Reject.as_str())
        {
            self.status = "rejected".into();
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

/// What a claim line says, borrowed from wherever it lives. Values copied from the 837 are
/// bytes, written as `String::from_utf8_lossy` reads them.
pub struct ClaimOut<'a> {
    /// CLM01.
    pub id: &'a [u8],
    /// 837P or 837I.
    pub kind: crate::claim::Kind,
    /// ST02.
    pub transaction: &'a str,
    /// 2010BB NM109.
    pub payer_id: &'a [u8],
    /// 2010BB NM103.
    pub payer_name: &'a [u8],
    /// Profile id.
    pub profile: Option<&'a str>,
    /// How the profile matched.
    pub matched_by: Option<crate::edit::payer::MatchedBy>,
    /// CLM02.
    pub charge: Option<crate::claim::Money>,
    /// Findings.
    pub findings: &'a [Finding],
}

/// Writes one claim line. Written by hand (the hot path of the edit workers); the bytes are
/// exactly what serde_json writes for the same [`ClaimLine`] (a test compares them).
pub fn write_claim(r: &ClaimOut<'_>, rules: &str, out: &mut Vec<u8>) {
    LineCache::new(rules).write(r, out);
}

/// Most recent payer blocks a [`LineCache`] keeps (a batch's claims have few payers).
const BLOCKS: usize = 16;

/// Writes the claim lines of a batch, formatting what repeats between them once: the end of
/// every line (with the rule pack's label), and the middle (status, kind, transaction and
/// payer) of the last [`BLOCKS`] payers seen.
pub struct LineCache {
    /// `],"rules":"LABEL"}` and the newline.
    tail: Vec<u8>,
    blocks: Vec<Block>,
    /// The block replaced next once `blocks` is full.
    next: usize,
}

/// A line's middle, from `,"status":` to `"charge":`, and what it was written from.
struct Block {
    rejected: bool,
    kind: crate::claim::Kind,
    transaction: String,
    payer_id: Vec<u8>,
    payer_name: Vec<u8>,
    profile: Option<String>,
    matched_by: Option<crate::edit::payer::MatchedBy>,
    bytes: Vec<u8>,
}

impl Block {
    fn is_for(&self, r: &ClaimOut<'_>, rejected: bool) -> bool {
        self.payer_id == r.payer_id
            && self.payer_name == r.payer_name
            && self.rejected == rejected
            && self.kind == r.kind
            && self.matched_by == r.matched_by
            && self.profile.as_deref() == r.profile
            && self.transaction == r.transaction
    }
}

impl LineCache {
    /// A cache for lines edited with the rule pack `rules` (`NAME VERSION`).
    pub fn new(rules: &str) -> Self {
        let mut tail = b"],\"rules\":".to_vec();
        json_str(&mut tail, rules);
        tail.extend_from_slice(b"}\n");
        LineCache {
            tail,
            blocks: Vec::new(),
            next: 0,
        }
    }

    /// Writes one claim line.
    pub fn write(&mut self, r: &ClaimOut<'_>, out: &mut Vec<u8>) {
        let rejected = r.findings.iter().any(|f| f.severity == Severity::Reject);
        out.reserve(LINE_GUESS);
        out.extend_from_slice(b"{\"claim\":");
        json_bytes(out, r.id);
        match self.blocks.iter().find(|b| b.is_for(r, rejected)) {
            Some(b) => out.extend_from_slice(&b.bytes),
            None => {
                let from = out.len();
                write_block(r, rejected, out);
                self.keep(r, rejected, out.get(from..).unwrap_or_default());
            }
        }
        write_charge(r.charge, out);
        out.extend_from_slice(b",\"findings\":[");
        for (i, f) in r.findings.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_finding(out, f);
        }
        out.extend_from_slice(&self.tail);
    }

    /// Keeps the block written for `r`, in place of the oldest once full.
    fn keep(&mut self, r: &ClaimOut<'_>, rejected: bool, bytes: &[u8]) {
        let block = Block {
            rejected,
            kind: r.kind,
            transaction: r.transaction.to_owned(),
            payer_id: r.payer_id.to_vec(),
            payer_name: r.payer_name.to_vec(),
            profile: r.profile.map(str::to_owned),
            matched_by: r.matched_by,
            bytes: bytes.to_vec(),
        };
        if self.blocks.len() < BLOCKS {
            self.blocks.push(block);
        } else if let Some(slot) = self.blocks.get_mut(self.next) {
            *slot = block;
            self.next = (self.next + 1) % BLOCKS;
        }
    }
}

/// A line's middle: `,"status":…,"kind":…,"transaction":…,"payer":{…},"charge":`.
fn write_block(r: &ClaimOut<'_>, rejected: bool, out: &mut Vec<u8>) {
    let matched = match (r.matched_by, &r.profile) {
        (Some(m), Some(_)) => match m {
            crate::edit::payer::MatchedBy::PayerId => "payer_id",
            crate::edit::payer::MatchedBy::ClaimFiling => "claim_filing",
            crate::edit::payer::MatchedBy::Name => "name",
        },
        _ => "none: payer not matched to a profile, generic edits only",
    };
    // The status words and the kinds have nothing to escape.
    out.extend_from_slice(if rejected {
        b",\"status\":\"rejected\",\"kind\":"
    } else {
        b",\"status\":\"accepted\",\"kind\":"
    });
    json_str(out, r.kind.as_str());
    out.extend_from_slice(b",\"transaction\":");
    json_str(out, r.transaction);
    out.extend_from_slice(b",\"payer\":{\"id\":");
    json_bytes(out, r.payer_id);
    out.extend_from_slice(b",\"name\":");
    json_bytes(out, r.payer_name);
    out.extend_from_slice(b",\"profile\":");
    json_opt(out, r.profile);
    out.extend_from_slice(b",\"matched\":");
    json_str(out, matched);
    out.extend_from_slice(b"},\"charge\":");
}

/// CLM02 as Money displays it (`1500.00`, `-0.05`), or null: digits, sign and point, nothing
/// to escape; formatted on the stack.
fn write_charge(charge: Option<crate::claim::Money>, out: &mut Vec<u8>) {
    match charge {
        Some(c) => {
            out.push(b'"');
            if c.cents < 0 {
                out.push(b'-');
            }
            out.extend_from_slice(Num::cents(c.cents.unsigned_abs()).as_bytes());
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

fn write_finding(out: &mut Vec<u8>, f: &Finding) {
    out.extend_from_slice(b"{\"edit\":");
    json_str(out, &f.edit);
    out.extend_from_slice(b",\"severity\":");
    json_str(out, f.severity.as_str());
    out.extend_from_slice(b",\"stc\":");
    json_opt(out, f.stc.as_deref());
    if !f.stc_extra.is_empty() {
        out.extend_from_slice(b",\"stc_extra\":[");
        for (i, x) in f.stc_extra.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_str(out, x);
        }
        out.push(b']');
    }
    out.extend_from_slice(b",\"line\":");
    match f.line {
        Some(n) => out.extend_from_slice(Num::uint(n.into()).as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"message\":");
    json_str(out, &f.message);
    out.extend_from_slice(b",\"segment\":");
    out.extend_from_slice(Num::uint(f.segment).as_bytes());
    out.extend_from_slice(b",\"byte\":");
    out.extend_from_slice(Num::uint(f.byte).as_bytes());
    if let Some(a) = &f.ack {
        out.extend_from_slice(b",\"ack\":");
        json_str(out, a);
    }
    if let Some(rule) = &f.rule {
        out.extend_from_slice(b",\"rule\":");
        json_str(out, rule);
    }
    out.push(b'}');
}

fn json_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => json_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Bytes reserved for a line before it is written (most lines fit).
const LINE_GUESS: usize = 512;

/// Bytes read as UTF-8 (invalid sequences replaced as `String::from_utf8_lossy` replaces
/// them), written as a JSON string. ASCII with nothing to escape (most values) is copied
/// whole, and nothing is allocated.
fn json_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    if plain(bytes, true) {
        quoted(out, bytes);
    } else {
        json_str(out, &String::from_utf8_lossy(bytes));
    }
}

/// `bytes` between quotes, as they are.
#[inline]
fn quoted(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    out.extend_from_slice(bytes);
    out.push(b'"');
}

/// A JSON string, escaped as serde_json escapes it. A string with nothing to escape (most) is
/// copied whole; otherwise the run before the first byte to escape is.
fn json_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if plain(bytes, false) {
        quoted(out, bytes);
        return;
    }
    let clean = clean_prefix(bytes);
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    out.extend_from_slice(&bytes[..clean]);
    let mut start = clean;
    for (at, &b) in bytes.iter().enumerate().skip(clean) {
        if let Some(esc) = escape(b) {
            out.extend_from_slice(&bytes[start..at]);
            out.extend_from_slice(esc.as_bytes());
            start = at + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Whether no byte of `bytes` needs a JSON escape (nor, when `ascii`, is past ASCII): eight
/// bytes at a time, the last eight (overlapping) for the rest, so only strings shorter than
/// eight bytes are looked at a byte at a time.
#[inline]
fn plain(bytes: &[u8], ascii: bool) -> bool {
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let high = if ascii { HIGH } else { 0 };
    let word = |c: &[u8]| u64::from_le_bytes(c.try_into().unwrap_or_default());
    let dirty = |w: u64| needs_escape(w) || w & high != 0;
    if bytes.len() < 8 {
        return bytes
            .iter()
            .all(|&b| b >= 0x20 && b != b'"' && b != b'\\' && (!ascii || b < 0x80));
    }
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder().len();
    for c in chunks {
        if dirty(word(c)) {
            return false;
        }
    }
    tail == 0 || !dirty(word(bytes.get(bytes.len() - 8..).unwrap_or_default()))
}

/// How many bytes come before the first one JSON escapes.
#[inline]
fn clean_prefix(bytes: &[u8]) -> usize {
    let mut n = 0;
    for chunk in bytes.chunks_exact(8) {
        if needs_escape(u64::from_le_bytes(chunk.try_into().unwrap_or_default())) {
            break;
        }
        n += 8;
    }
    let rest = bytes.get(n..).unwrap_or_default();
    n + rest
        .iter()
        .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
        .unwrap_or(rest.len())
}

/// Whether any of eight bytes is a control byte, `"` or `\` (exact as a whole: bit tricks
/// from "Bit Twiddling Hacks", hasless and haszero).
#[inline]
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    let zero = |x: u64| below(x, 1);
    (below(word, 0x20)
        | zero(word ^ (ONES * u64::from(b'"')))
        | zero(word ^ (ONES * u64::from(b'\\'))))
        != 0
}

/// The escape serde_json writes for a byte, if it needs one.
#[inline]
fn escape(b: u8) -> Option<Escape> {
    let short = match b {
        b'"' => b'"',
        b'\\' => b'\\',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        0x08 => b'b',
        0x0c => b'f',
        0..=0x1f => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            return Some(Escape {
                bytes: [
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ],
                len: 6,
            });
        }
        _ => return None,
    };
    Some(Escape {
        bytes: [b'\\', short, 0, 0, 0, 0],
        len: 2,
    })
}

/// An escape sequence: `\n`, `\u001f`.
struct Escape {
    bytes: [u8; 6],
    len: usize,
}

impl Escape {
    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn finding(msg: &str, extra: bool, ack: bool) -> Finding {
        Finding {
            edit: Arc::from("E-29"),
            severity: if extra {
                Severity::Warn
            } else {
                Severity::Reject
            },
            stc: (!ack).then(|| Arc::from("A7:453")),
            stc_extra: if extra {
                vec![Arc::from("A7:453")]
            } else {
                Vec::new()
            },
            line: extra.then_some(3),
            message: msg.to_owned(),
            segment: 12,
            byte: 345,
            ack: ack.then(|| "999 IK3 8".to_owned()),
            rule: (!ack).then(|| Arc::from("edits.toml:1 (pack x 1)")),
        }
    }

    proptest! {
        /// Charges, line numbers and offsets are written as Display writes them.
        #[test]
        fn numbers_as_display_writes_them(cents in any::<i64>(), line in any::<u32>(), at in any::<u64>()) {
            let mut f = finding("m", true, false);
            f.line = Some(line);
            f.segment = at;
            f.byte = at / 3;
            let findings = [f];
            let out = ClaimOut {
                id: b"C1",
                kind: crate::claim::Kind::Professional,
                transaction: "0001",
                payer_id: b"12202",
                payer_name: b"P",
                profile: None,
                matched_by: None,
                charge: Some(crate::claim::Money { cents }),
                findings: &findings,
            };
            let mut hand = Vec::new();
            write_claim(&out, "pack 1", &mut hand);
            let text = String::from_utf8_lossy(&hand);
            let charge = format!("\"charge\":\"{}\"", crate::claim::Money { cents });
            let numbers = format!("\"line\":{line},");
            let offsets = format!("\"segment\":{at},\"byte\":{}", at / 3);
            prop_assert!(text.contains(&charge), "{} lacks {}", text, charge);
            prop_assert!(text.contains(&numbers), "{} lacks {}", text, numbers);
            prop_assert!(text.contains(&offsets), "{} lacks {}", text, offsets);
        }

        /// Every string is escaped as serde_json escapes it, wherever its escapes fall in the
        /// eight-byte chunks.
        #[test]
        fn strings_escaped_as_serde(
            s in prop_oneof![any::<String>(), "[a-z\"\\\\\x00-\x1f\x7f é]{0,40}"],
        ) {
            let mut hand = Vec::new();
            json_str(&mut hand, &s);
            prop_assert_eq!(String::from_utf8_lossy(&hand), serde_json::to_string(&s).unwrap());
        }

        /// Bytes are written as serde_json writes the string `from_utf8_lossy` makes of them,
        /// whatever their length and wherever a byte to escape or past ASCII falls.
        #[test]
        fn bytes_escaped_as_serde_of_lossy(
            b in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..40),
                proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'"'), Just(b'\\'), Just(0x1f), Just(0x7f), Just(0xc3), Just(0xa9), Just(0xff)], 0..24),
                "[ -~]{0,40}".prop_map(String::into_bytes),
                any::<String>().prop_map(String::into_bytes),
            ],
        ) {
            let mut hand = Vec::new();
            json_bytes(&mut hand, &b);
            let expected = serde_json::to_string(&String::from_utf8_lossy(&b)).unwrap();
            prop_assert_eq!(String::from_utf8_lossy(&hand), expected);
        }

        /// Lines written through one cache (payers, statuses and transactions repeating, more
        /// payers than it keeps) are the lines each written alone.
        #[test]
        fn cached_lines_are_lines_written_alone(
            claims in proptest::collection::vec(
                (0u8..20, any::<bool>(), any::<bool>(), prop_oneof![Just("0001"), Just("0002")], proptest::option::of(0u8..3)),
                0..60),
        ) {
            let mut cache = LineCache::new("pack \"1\"");
            for (payer, reject, institutional, transaction, profile) in claims {
                let findings = if reject { vec![finding("m", false, false)] } else { vec![] };
                let id = format!("P{}", payer % 17);
                let name = format!("NAME {}", payer / 2);
                let profile = profile.map(|p| format!("prof{p}"));
                let out = ClaimOut {
                    id: b"C1",
                    kind: if institutional { crate::claim::Kind::Institutional } else { crate::claim::Kind::Professional },
                    transaction,
                    payer_id: id.as_bytes(),
                    payer_name: name.as_bytes(),
                    profile: profile.as_deref(),
                    matched_by: (payer % 3 == 0).then_some(crate::edit::payer::MatchedBy::Name),
                    charge: Some(crate::claim::Money { cents: i64::from(payer) * 101 }),
                    findings: &findings,
                };
                let (mut cached, mut alone) = (Vec::new(), Vec::new());
                cache.write(&out, &mut cached);
                write_claim(&out, "pack \"1\"", &mut alone);
                prop_assert_eq!(String::from_utf8_lossy(&cached), String::from_utf8_lossy(&alone));
            }
        }

        /// Findings spliced into a written line give the bytes that parsing it, adding them
        /// and writing it again give (structural ones first, history ones last, the status
        /// turned to rejected by any reject).
        #[test]
        fn spliced_findings_equal_a_parsed_and_rewritten_line(
            id in proptest::collection::vec(any::<u8>(), 0..12),
            name in any::<String>(),
            msgs in proptest::collection::vec((any::<String>(), any::<bool>(), any::<bool>()), 0..4),
            first in proptest::collection::vec((any::<String>(), any::<bool>(), any::<bool>()), 0..3),
            last in proptest::collection::vec((any::<String>(), any::<bool>(), any::<bool>()), 0..3),
            rules in any::<String>(),
        ) {
            let make = |v: &[(String, bool, bool)]| -> Vec<Finding> {
                v.iter().map(|(m, e, a)| finding(m, *e, *a)).collect()
            };
            let (own, first, last) = (make(&msgs), make(&first), make(&last));
            let out = ClaimOut {
                id: &id,
                kind: crate::claim::Kind::Professional,
                transaction: "0001",
                payer_id: b"12202",
                payer_name: name.as_bytes(),
                profile: Some("medicare"),
                matched_by: Some(crate::edit::payer::MatchedBy::PayerId),
                charge: Some(crate::claim::Money { cents: 150_000 }),
                findings: &own,
            };
            let mut line = Vec::new();
            write_claim(&out, &rules, &mut line);
            let mut spliced = Vec::new();
            prop_assert!(splice_findings(&line, &first, &last, &mut spliced));
            let mut c: ClaimLine = serde_json::from_slice(&line[..line.len() - 1]).unwrap();
            c.add_findings(0, first.iter());
            c.add_findings(usize::MAX, last.iter());
            let mut serde = Vec::new();
            c.write(&mut serde).unwrap();
            prop_assert_eq!(String::from_utf8_lossy(&spliced), String::from_utf8_lossy(&serde));
            let mut through = Vec::new();
            add_findings_around(&line, &first, &last, &mut through).unwrap();
            prop_assert_eq!(through, serde);
        }

        /// The hand-written line is byte for byte what serde_json writes for the same line.
        #[test]
        fn hand_written_json_equals_serde(
            id in proptest::collection::vec(any::<u8>(), 0..12),
            name in any::<String>(),
            msg in any::<String>(),
            charge in proptest::option::of(-100_000i64..100_000),
            profile in proptest::option::of("[a-z]{1,8}"),
            flags in any::<(bool, bool, bool)>(),
            institutional in any::<bool>(),
        ) {
            let findings = if flags.0 { vec![finding(&msg, flags.1, flags.2), finding("x\u{1}y", !flags.1, false)] } else { vec![] };
            let out = ClaimOut {
                id: &id,
                kind: if institutional { crate::claim::Kind::Institutional } else { crate::claim::Kind::Professional },
                transaction: "0001",
                payer_id: b"12202",
                payer_name: name.as_bytes(),
                profile: profile.as_deref(),
                matched_by: Some(crate::edit::payer::MatchedBy::PayerId),
                charge: charge.map(|cents| crate::claim::Money { cents }),
                findings: &findings,
            };
            let mut hand = Vec::new();
            write_claim(&out, "pack 1", &mut hand);
            let parsed: ClaimLine = serde_json::from_slice(&hand[..hand.len() - 1]).unwrap();
            let mut serde = Vec::new();
            parsed.write(&mut serde).unwrap();
            prop_assert_eq!(String::from_utf8_lossy(&hand), String::from_utf8_lossy(&serde));
        }
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

/// A written line with `first` put before its findings (structural findings) and `last` after
/// them (history findings), both found after the worker wrote it; the claim becomes rejected
/// when any of them rejects.
///
/// A line [`write_claim`] wrote is spliced, not parsed: its status word, the start of its
/// findings and their end are found by patterns that only occur there (every `"` inside a JSON
/// string is escaped, so `,"status":"`, `,"findings":[` and `],"rules":` cannot occur within
/// one), and the new findings are written as [`write_claim`] writes them. Any other line is
/// parsed and written again (the same bytes, a test says).
pub fn add_findings_around(
    line: &[u8],
    first: &[Finding],
    last: &[Finding],
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut spliced = Vec::with_capacity(line.len() + 256 * (first.len() + last.len()));
    if splice_findings(line, first, last, &mut spliced) {
        return out.write_all(&spliced);
    }
    let mut c: ClaimLine = serde_json::from_slice(line.strip_suffix(b"\n").unwrap_or(line))
        .map_err(io::Error::other)?;
    c.add_findings(0, first.iter());
    c.add_findings(usize::MAX, last.iter());
    c.write(out)
}

/// [`add_findings_around`] on a line [`write_claim`] wrote, into `out`; false (and `out` left
/// as it may be) when the line does not have that shape.
fn splice_findings(line: &[u8], first: &[Finding], last: &[Finding], out: &mut Vec<u8>) -> bool {
    const STATUS: &[u8] = b",\"status\":\"";
    const FINDINGS: &[u8] = b",\"findings\":[";
    const RULES: &[u8] = b"],\"rules\":";
    let Some(status) = memchr::memmem::find(line, STATUS).map(|i| i + STATUS.len()) else {
        return false;
    };
    let Some(open) = memchr::memmem::find(line, FINDINGS).map(|i| i + FINDINGS.len()) else {
        return false;
    };
    let Some(close) = memchr::memmem::rfind(line, RULES) else {
        return false;
    };
    let word = line.get(status..status + 8);
    if close < open
        || open < status + 8
        || !(word == Some(b"accepted") || word == Some(b"rejected"))
        || !line.ends_with(b"}\n")
    {
        return false;
    }
    let rejects = first
        .iter()
        .chain(last)
        .any(|f| f.severity == Severity::Reject);
    out.extend_from_slice(&line[..status]);
    out.extend_from_slice(if rejects {
        b"rejected"
    } else {
        &line[status..status + 8]
    });
    out.extend_from_slice(&line[status + 8..open]);
    // Items of the new array, a comma before each but the first.
    let mut any = false;
    let mut item = |out: &mut Vec<u8>| {
        if std::mem::replace(&mut any, true) {
            out.push(b',');
        }
    };
    for f in first {
        item(out);
        write_finding(out, f);
    }
    if open < close {
        item(out);
        out.extend_from_slice(&line[open..close]);
    }
    for f in last {
        item(out);
        write_finding(out, f);
    }
    out.extend_from_slice(&line[close..]);
    true
}

/// Copies `src` to `dst`, applying late rejections (in one sweep: `late` is in the order the
/// stage found them, each range starting at or after the previous one's start).
/// `tally` is corrected for every line that changes.
pub fn apply_late(
    src: impl BufRead,
    dst: &mut dyn Write,
    late: &[LateRejection],
    tally: &mut crate::report::summary::Tally,
) -> io::Result<()> {
    let mut order: Vec<&LateRejection> = late.iter().collect();
    order.sort_by_key(|l| l.lines.start);
    let mut next = 0;
    let mut active: Vec<&LateRejection> = Vec::new();
    for (n, line) in src.lines().enumerate() {
        let n = n as u64;
        let line = line?;
        while let Some(l) = order.get(next).filter(|l| l.lines.start <= n) {
            active.push(l);
            next += 1;
        }
        active.retain(|l| l.lines.end > n);
        if active.is_empty() {
            dst.write_all(line.as_bytes())?;
            dst.write_all(b"\n")?;
            continue;
        }
        let mut c: ClaimLine = serde_json::from_str(&line).map_err(io::Error::other)?;
        tally.add_line(&c, -1);
        c.add_findings(usize::MAX, active.iter().map(|h| &h.finding));
        tally.add_line(&c, 1);
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
