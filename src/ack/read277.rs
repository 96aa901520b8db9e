//! Reads 277CA claim acknowledgments (005010X214) back, through the same framer and envelope checker.
//!
//! Used by the tests to prove that every 277CA we write is valid against its implementation
//! guide (`grammars/277CA.json`) and that its roll-ups (2200B and 2200C QTY/AMT/STC04)
//! reconcile with the claims (2200D) they summarize.
//!
//! Segments are assigned to structure by the current HL level (HL03 `20`, `21`, `19`, `PT`)
//! and, inside a claim, by whether a service line (SVC, 2220D) has started.

use std::sync::OnceLock;

use crate::grammar::walker::Walker;
use crate::grammar::Grammar;
use crate::x12::{
    EnvelopeChecker, EnvelopeConfig, EnvelopeSink, Framer, GroupHeader, Position, Problem, Segment,
    TransactionHeader, TransactionOutcome,
};

/// One STC segment read back (2200B, 2200C, 2200D or 2220D).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stc277 {
    /// STC01 as written, e.g. `A7:453` or `A3:21:82`.
    pub code: String,
    /// STC03: `WQ` (accepted) or `U` (rejected).
    pub action: String,
    /// STC04 in cents; `None` when absent or not an exact amount.
    pub amount: Option<i64>,
    /// STC10 and STC11 as written, those that are not empty.
    pub extra: Vec<String>,
    /// STC12 free-form text (empty when absent).
    pub text: String,
}

/// One 2220D service line read back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Line277 {
    /// SVC01 as written, e.g. `HC:64635:RT`.
    pub service: String,
    /// REF*FJ: the line item control number.
    pub control: Option<String>,
    /// The line's STC.
    pub stc: Option<Stc277>,
}

/// One claim (2000D patient level with its 2200D) read back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claim277 {
    /// 2200D TRN02: the acknowledged CLM01.
    pub id: String,
    /// 2100D NM109: the member id.
    pub member: String,
    /// 2200D STC segments, in order.
    pub stcs: Vec<Stc277>,
    /// REF*BLT: the institutional bill type.
    pub bill_type: Option<String>,
    /// DTP*472 DTP03: the claim's service date or period.
    pub dates: String,
    /// 2220D service lines, in order.
    pub lines: Vec<Line277>,
}

impl Claim277 {
    /// Whether the claim was rejected: any of its STC segments has STC03 `U`.
    pub fn rejected(&self) -> bool {
        self.stcs.iter().any(|s| s.action == "U")
    }

    /// STC04 of its first STC in cents, 0 if it has none (or none readable).
    pub fn cents(&self) -> i64 {
        self.stcs.first().and_then(|s| s.amount).unwrap_or(0)
    }
}

/// Roll-up counts and amounts of one level (2200B or 2200C), as written in QTY/AMT.
///
/// A segment that is absent reads as 0; a QTY that is not a whole count reads as `u64::MAX`
/// and an AMT that is not an exact amount as `i64::MIN`, so that neither reconciles.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// QTY*90 (2200B) or QTY*QA (2200C): claims accepted.
    pub accepted: u64,
    /// QTY*AA (2200B) or QTY*QC (2200C): claims rejected.
    pub rejected: u64,
    /// AMT*YU: accepted amount in cents.
    pub accepted_cents: i64,
    /// AMT*YY: rejected amount in cents.
    pub rejected_cents: i64,
}

/// One 2000C billing provider level read back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provider277 {
    /// 2100C NM109: the provider's id (NPI).
    pub id: String,
    /// 2200C QTY/AMT.
    pub totals: Totals,
    /// 2200C STC04 (of its first STC) in cents.
    pub total_cents: Option<i64>,
    /// The claims under it, in order.
    pub claims: Vec<Claim277>,
}

/// One 277CA transaction set read back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transaction277 {
    /// ST02.
    pub control: String,
    /// 2200B TRN02: the acknowledged 837's BHT03.
    pub batch: String,
    /// 2200B QTY/AMT.
    pub totals: Totals,
    /// 2200B STC04 (of its first STC) in cents.
    pub total_cents: Option<i64>,
    /// The 2000C levels, in order.
    pub providers: Vec<Provider277>,
}

/// Counts and sums over a set of claims, as QTY/AMT should state them.
#[derive(Default)]
struct Tally {
    accepted: u64,
    rejected: u64,
    accepted_cents: i128,
    rejected_cents: i128,
}

impl Tally {
    fn add(&mut self, claim: &Claim277) {
        let cents = i128::from(claim.cents());
        if claim.rejected() {
            self.rejected += 1;
            self.rejected_cents += cents;
        } else {
            self.accepted += 1;
            self.accepted_cents += cents;
        }
    }

    fn total(&self) -> i128 {
        self.accepted_cents + self.rejected_cents
    }

    /// Compares with what `totals` states; `what` names the level and `qty` its qualifiers.
    fn check(&self, totals: &Totals, what: &str, qty: (&str, &str)) -> Result<(), String> {
        if totals.accepted != self.accepted {
            return Err(format!(
                "{what} QTY*{} {} but {} accepted claims",
                qty.0, totals.accepted, self.accepted
            ));
        }
        if totals.rejected != self.rejected {
            return Err(format!(
                "{what} QTY*{} {} but {} rejected claims",
                qty.1, totals.rejected, self.rejected
            ));
        }
        if i128::from(totals.accepted_cents) != self.accepted_cents {
            return Err(format!(
                "{what} AMT*YU {} but accepted claims total {}",
                totals.accepted_cents, self.accepted_cents
            ));
        }
        if i128::from(totals.rejected_cents) != self.rejected_cents {
            return Err(format!(
                "{what} AMT*YY {} but rejected claims total {}",
                totals.rejected_cents, self.rejected_cents
            ));
        }
        Ok(())
    }
}

impl Transaction277 {
    /// Checks the roll-ups against the claims: 2200B QTY/AMT and STC04 over all claims,
    /// each 2200C's QTY/AMT and STC04 over its own claims (amounts in cents, a claim counting
    /// as rejected iff [`Claim277::rejected`], for [`Claim277::cents`]); and that every claim
    /// has at least one STC and a TRN02. The error names the transaction set and what differs.
    pub fn reconcile(&self) -> Result<(), String> {
        let control = &self.control;
        let mut all = Tally::default();
        for (p, provider) in self.providers.iter().enumerate() {
            let mut own = Tally::default();
            for (c, claim) in provider.claims.iter().enumerate() {
                if claim.id.is_empty() {
                    return Err(format!(
                        "277CA {control}: claim {} of provider {} has no TRN02",
                        c + 1,
                        p + 1
                    ));
                }
                if claim.stcs.is_empty() {
                    return Err(format!("277CA {control}: claim {} has no STC", claim.id));
                }
                own.add(claim);
                all.add(claim);
            }
            let what = format!(
                "277CA {control}: 2200C of provider {} ({})",
                p + 1,
                provider.id
            );
            own.check(&provider.totals, &what, ("QA", "QC"))?;
            if let Some(total) = provider.total_cents {
                if i128::from(total) != own.total() {
                    return Err(format!(
                        "{what} STC04 {total} but its claims total {}",
                        own.total()
                    ));
                }
            }
        }
        let what = format!("277CA {control}: 2200B");
        all.check(&self.totals, &what, ("90", "AA"))?;
        if let Some(total) = self.total_cents {
            if i128::from(total) != all.total() {
                return Err(format!(
                    "{what} STC04 {total} but the claims total {}",
                    all.total()
                ));
            }
        }
        Ok(())
    }
}

/// Everything read from a 277CA file. Each transaction set is also walked against the
/// 277CA implementation guide; its findings are problems.
#[derive(Clone, Debug, Default)]
pub struct Ack277File {
    /// Interchanges read.
    pub interchanges: u32,
    /// Functional groups read.
    pub groups: u32,
    /// 277CA transaction sets, in order.
    pub transactions: Vec<Transaction277>,
    /// Envelope and implementation-guide problems (a file we wrote must have none).
    pub problems: Vec<Problem>,
}

impl Ack277File {
    /// Every claim of every transaction set, in order.
    pub fn claims(&self) -> impl Iterator<Item = &Claim277> {
        self.transactions
            .iter()
            .flat_map(|t| t.providers.iter())
            .flat_map(|p| p.claims.iter())
    }

    /// Reconciles every transaction set (see [`Transaction277::reconcile`]); the first error.
    pub fn reconcile(&self) -> Result<(), String> {
        self.transactions.iter().try_for_each(|t| t.reconcile())
    }
}

/// An X12 decimal (type R) as exact cents: optional minus, digits, at most one decimal point.
/// Digits past the second decimal must be zeros; `None` for anything else (or on overflow).
pub fn parse_cents(text: &str) -> Option<i64> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match body.split_once('.') {
        Some((w, f)) => (w, f),
        None => (body, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let mut cents: i64 = 0;
    for b in whole.bytes() {
        cents = cents.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    cents = cents.checked_mul(100)?;
    for (i, b) in fraction.bytes().enumerate() {
        let digit = i64::from(b - b'0');
        match i {
            0 => cents = cents.checked_add(digit * 10)?,
            1 => cents = cents.checked_add(digit)?,
            _ if digit != 0 => return None,
            _ => {}
        }
    }
    Some(if negative { -cents } else { cents })
}

/// A QTY02 as a whole count: `u64::MAX` when it is not one.
fn parse_count(text: &str) -> u64 {
    if let Ok(n) = text.parse::<u64>() {
        return n;
    }
    match parse_cents(text) {
        Some(c) if c >= 0 && c % 100 == 0 => (c / 100) as u64,
        _ => u64::MAX,
    }
}

/// The 277CA grammar (005010X214), compiled once.
fn grammar_277() -> Option<&'static Grammar> {
    static G: OnceLock<Option<Grammar>> = OnceLock::new();
    G.get_or_init(|| Grammar::embedded("277CA.json").and_then(Result::ok))
        .as_ref()
}

/// The HL level being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hl {
    /// Before any HL, or after an HL with an unknown HL03.
    None,
    /// 2000A information source.
    Source,
    /// 2000B information receiver.
    Receiver,
    /// 2000C billing provider.
    Provider,
    /// 2000D patient (claim).
    Patient,
}

struct Collector {
    file: Ack277File,
    current: Option<Transaction277>,
    level: Hl,
    /// The current claim has had its TRN (a further TRN starts another 2200D).
    claim_trn: bool,
    /// A 2220D SVC has started in the current claim.
    in_line: bool,
    /// Checks each 277CA against its implementation guide, as we check 837s.
    walker: Option<Walker<'static>>,
}

fn stc(seg: &Segment<'_>) -> Stc277 {
    Stc277 {
        code: seg.text(1).into_owned(),
        action: seg.text(3).into_owned(),
        amount: parse_cents(&seg.text(4)),
        extra: [10, 11]
            .iter()
            .map(|&n| seg.text(n).into_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        text: seg.text(12).into_owned(),
    }
}

/// Reads QTY/AMT into `totals`, with the QTY qualifiers of the level (`accepted`, `rejected`).
fn total(seg: &Segment<'_>, totals: &mut Totals, accepted: &[u8], rejected: &[u8]) {
    let q = seg.value(1);
    match seg.id() {
        b"QTY" if q == accepted => totals.accepted = parse_count(&seg.text(2)),
        b"QTY" if q == rejected => totals.rejected = parse_count(&seg.text(2)),
        b"AMT" if q == b"YU" => {
            totals.accepted_cents = parse_cents(&seg.text(2)).unwrap_or(i64::MIN)
        }
        b"AMT" if q == b"YY" => {
            totals.rejected_cents = parse_cents(&seg.text(2)).unwrap_or(i64::MIN)
        }
        _ => {}
    }
}

impl Collector {
    fn hl(&mut self, seg: &Segment<'_>, t: &mut Transaction277) {
        self.in_line = false;
        self.claim_trn = false;
        self.level = match seg.value(3) {
            b"20" => Hl::Source,
            b"21" => Hl::Receiver,
            b"19" => {
                t.providers.push(Provider277::default());
                Hl::Provider
            }
            b"PT" => {
                if t.providers.is_empty() {
                    // A patient without a provider: keep the claim under an anonymous one.
                    t.providers.push(Provider277::default());
                }
                if let Some(p) = t.providers.last_mut() {
                    p.claims.push(Claim277::default());
                }
                Hl::Patient
            }
            _ => Hl::None,
        };
    }

    fn claim_segment(&mut self, seg: &Segment<'_>, t: &mut Transaction277) {
        let Some(claims) = t.providers.last_mut().map(|p| &mut p.claims) else {
            return;
        };
        if seg.id() == b"TRN" && self.claim_trn {
            // Another 2200D for the same patient.
            let member = claims.last().map(|c| c.member.clone()).unwrap_or_default();
            claims.push(Claim277 {
                member,
                ..Default::default()
            });
            self.in_line = false;
        }
        let Some(claim) = claims.last_mut() else {
            return;
        };
        if self.in_line {
            if let Some(line) = claim.lines.last_mut() {
                match seg.id() {
                    b"STC" if line.stc.is_none() => line.stc = Some(stc(seg)),
                    b"REF" if seg.value(1) == b"FJ" => line.control = Some(seg.text(2).into()),
                    b"SVC" => claim.lines.push(Line277 {
                        service: seg.text(1).into_owned(),
                        ..Default::default()
                    }),
                    _ => {}
                }
                return;
            }
        }
        match seg.id() {
            b"NM1" => claim.member = seg.text(9).into_owned(),
            b"TRN" => {
                claim.id = seg.text(2).into_owned();
                self.claim_trn = true;
            }
            b"STC" => claim.stcs.push(stc(seg)),
            b"REF" if seg.value(1) == b"BLT" => claim.bill_type = Some(seg.text(2).into()),
            b"DTP" if seg.value(1) == b"472" => claim.dates = seg.text(3).into_owned(),
            b"SVC" => {
                claim.lines.push(Line277 {
                    service: seg.text(1).into_owned(),
                    ..Default::default()
                });
                self.in_line = true;
            }
            _ => {}
        }
    }

    fn segment(&mut self, seg: &Segment<'_>, t: &mut Transaction277) {
        if seg.id() == b"HL" {
            self.hl(seg, t);
            return;
        }
        match self.level {
            Hl::None | Hl::Source => {}
            Hl::Receiver => match seg.id() {
                b"TRN" => t.batch = seg.text(2).into_owned(),
                b"STC" if t.total_cents.is_none() => t.total_cents = parse_cents(&seg.text(4)),
                b"QTY" | b"AMT" => total(seg, &mut t.totals, b"90", b"AA"),
                _ => {}
            },
            Hl::Provider => {
                let Some(p) = t.providers.last_mut() else {
                    return;
                };
                match seg.id() {
                    b"NM1" => p.id = seg.text(9).into_owned(),
                    b"STC" if p.total_cents.is_none() => p.total_cents = parse_cents(&seg.text(4)),
                    b"QTY" | b"AMT" => total(seg, &mut p.totals, b"QA", b"QC"),
                    _ => {}
                }
            }
            Hl::Patient => self.claim_segment(seg, t),
        }
    }
}

impl EnvelopeSink for Collector {
    fn interchange_start(&mut self, _isa: &crate::x12::IsaHeader, _position: &Position) {
        self.file.interchanges += 1;
    }

    fn group_start(&mut self, _header: &GroupHeader, _position: &Position) {
        self.file.groups += 1;
    }

    fn transaction_start(&mut self, header: &TransactionHeader, _position: &Position) {
        self.current = Some(Transaction277 {
            control: header.control.clone(),
            ..Default::default()
        });
        self.level = Hl::None;
        self.claim_trn = false;
        self.in_line = false;
        if let Some(w) = self.walker.as_mut() {
            w.begin();
        }
    }

    fn transaction_check(&mut self, outcome: &mut TransactionOutcome) {
        if let Some(w) = self.walker.as_mut() {
            w.finish(&outcome.end, !outcome.codes.contains(&"2"));
            let (errors, _) = w.take();
            for e in errors {
                self.file
                    .problems
                    .push(super::read::guide_problem("277CA", &e));
            }
        }
    }

    fn transaction_segment(&mut self, seg: &Segment<'_>, position: &Position) {
        if let Some(w) = self.walker.as_mut() {
            w.segment(seg, position);
        }
        if let Some(mut t) = self.current.take() {
            self.segment(seg, &mut t);
            self.current = Some(t);
        }
    }

    fn transaction_end(&mut self, _outcome: &TransactionOutcome) {
        if let Some(t) = self.current.take() {
            self.file.transactions.push(t);
        }
    }

    fn problem(&mut self, problem: &Problem) {
        self.file.problems.push(problem.clone());
    }
}

/// Reads a 277CA file: its interchanges, groups and transaction sets, and every problem.
pub fn read_277ca(bytes: &[u8]) -> Ack277File {
    let config = EnvelopeConfig {
        versions: vec!["005010X214".into()],
        functional_ids: vec!["HN".into()],
        transaction_ids: vec!["277".into()],
    };
    let mut framer = Framer::new(bytes);
    let mut checker = EnvelopeChecker::new(config);
    let mut sink = Collector {
        file: Ack277File::default(),
        current: None,
        level: Hl::None,
        claim_trn: false,
        in_line: false,
        walker: grammar_277().map(Walker::new),
    };
    // Reading from a slice cannot fail.
    let _ = crate::x12::check_stream(&mut framer, &mut checker, &mut sink);
    sink.file
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::Level;

    /// Segments of the well-formed transaction set, ST and SE excluded.
    const BODY: &[&str] = &[
        "BHT*0085*08*277001*20261127*1200*TH",
        "HL*1**20*1",
        "NM1*AY*2*CLEARINGHOUSE*****46*CH001",
        "TRN*1*20261127001",
        "DTP*050*D8*20261127",
        "DTP*009*D8*20261127",
        "HL*2*1*21*1",
        "NM1*41*2*SUBMITTER INC*****46*SUB001",
        "TRN*2*BATCH0001",
        "STC*A1:19:PR*20261127*WQ*3500.75",
        "QTY*90*2",
        "QTY*AA*1",
        "AMT*YU*2250.25",
        "AMT*YY*1250.5",
        "HL*3*2*19*1",
        "NM1*85*2*CLINIC ONE*****XX*1234567893",
        "TRN*1*0",
        "STC*A1:19:85**WQ*2750.5",
        "QTY*QA*1",
        "QTY*QC*1",
        "AMT*YU*1500",
        "AMT*YY*1250.5",
        "HL*4*3*PT",
        "NM1*QC*1*DOE*JOHN****MI*M001",
        "TRN*2*CLAIM1",
        "STC*A2:20*20261127*WQ*1500",
        "REF*D9*TRACE1",
        "DTP*472*D8*20261101",
        "HL*5*3*PT",
        "NM1*QC*1*ROE*JANE****MI*M002",
        "TRN*2*CLAIM2",
        "STC*A7:453*20261127*U*1250.5******A7:454*A7:455:IL*E-29 SUBSCRIBER ID MISSING",
        "STC*A3:21:82*20261127*U*1250.5",
        "REF*D9*TRACE2",
        "DTP*472*D8*20261102",
        "SVC*HC:64635:RT*1250.5*****1",
        "STC*A7:453*20261127*U",
        "REF*FJ*LINE1",
        "DTP*472*D8*20261102",
        "HL*6*2*19*1",
        "NM1*85*2*HOSPITAL TWO*****XX*1245319599",
        "TRN*1*0",
        "STC*A1:19:85**WQ*750.25",
        "QTY*QA*1",
        "AMT*YU*750.25",
        "HL*7*6*PT",
        "NM1*QC*1*POE*ANN****MI*M003",
        "TRN*2*CLAIM3",
        "STC*A2:20*20261127*WQ*750.25********ACCEPTED",
        "REF*BLT*131",
        "DTP*472*RD8*20261101-20261102",
    ];

    /// A full interchange around `body` (ST…SE with the right SE01, GS/GE, ISA/IEA).
    fn file(body: &[&str]) -> String {
        let mut s = String::from(
            "ISA*00*          *00*          *ZZ*RECEIVER       *ZZ*SUBMITTER      *261127*1200*^*00501*000000001*0*T*:~\
GS*HN*REC*SUB*20261127*1200*1*X*005010X214~ST*277*0001*005010X214~",
        );
        for seg in body {
            s.push_str(seg);
            s.push('~');
        }
        s.push_str(&format!(
            "SE*{}*0001~GE*1*1~IEA*1*000000001~",
            body.len() + 2
        ));
        s
    }

    fn good() -> String {
        file(BODY)
    }

    fn with(from: &str, to: &str) -> String {
        let body: Vec<&str> = BODY
            .iter()
            .map(|s| if *s == from { to } else { s })
            .collect();
        assert_ne!(body, BODY, "{from} not in the fixture");
        file(&body)
    }

    #[test]
    fn a_well_formed_277ca_reads_back_clean_and_reconciles() {
        let f = read_277ca(good().as_bytes());
        assert!(f.problems.is_empty(), "{:#?}", f.problems);
        assert_eq!((f.interchanges, f.groups), (1, 1));
        assert_eq!(f.transactions.len(), 1);
        assert_eq!(f.reconcile(), Ok(()));

        let t = &f.transactions[0];
        assert_eq!(t.control, "0001");
        assert_eq!(t.batch, "BATCH0001");
        assert_eq!(t.total_cents, Some(350075));
        assert_eq!(
            t.totals,
            Totals {
                accepted: 2,
                rejected: 1,
                accepted_cents: 225025,
                rejected_cents: 125050
            }
        );
        assert_eq!(t.providers.len(), 2);
        assert_eq!(t.providers[0].id, "1234567893");
        assert_eq!(t.providers[0].total_cents, Some(275050));
        assert_eq!(t.providers[1].id, "1245319599");
        assert_eq!(t.providers[1].totals.rejected, 0);

        let claims: Vec<&Claim277> = f.claims().collect();
        assert_eq!(claims.len(), 3);
        assert_eq!(claims[0].id, "CLAIM1");
        assert_eq!(claims[0].member, "M001");
        assert!(!claims[0].rejected());
        assert_eq!(claims[0].cents(), 150000);
        assert_eq!(claims[0].dates, "20261101");

        let c2 = claims[1];
        assert!(c2.rejected());
        assert_eq!(c2.stcs.len(), 2);
        assert_eq!(c2.stcs[0].code, "A7:453");
        assert_eq!(c2.stcs[0].action, "U");
        assert_eq!(c2.stcs[0].extra, vec!["A7:454", "A7:455:IL"]);
        assert_eq!(c2.stcs[0].text, "E-29 SUBSCRIBER ID MISSING");
        assert_eq!(c2.stcs[1].code, "A3:21:82");
        assert_eq!(c2.dates, "20261102");
        assert_eq!(c2.lines.len(), 1);
        assert_eq!(c2.lines[0].service, "HC:64635:RT");
        assert_eq!(c2.lines[0].control.as_deref(), Some("LINE1"));
        let line_stc = c2.lines[0]
            .stc
            .as_ref()
            .map(|s| (s.code.as_str(), s.amount));
        assert_eq!(line_stc, Some(("A7:453", None)));

        let c3 = claims[2];
        assert_eq!(c3.bill_type.as_deref(), Some("131"));
        assert_eq!(c3.dates, "20261101-20261102");
        assert_eq!(c3.stcs[0].text, "ACCEPTED");
        assert_eq!(c3.cents(), 75025);
    }

    #[test]
    fn changed_roll_ups_do_not_reconcile() {
        let f = read_277ca(with("QTY*90*2", "QTY*90*3").as_bytes());
        assert!(f.problems.is_empty(), "{:#?}", f.problems);
        let err = f.reconcile().unwrap_err();
        assert!(err.contains("0001") && err.contains("QTY*90"), "{err}");

        let f = read_277ca(with("QTY*QC*1", "QTY*QC*2").as_bytes());
        let err = f.reconcile().unwrap_err();
        assert!(err.contains("QTY*QC"), "{err}");

        let f = read_277ca(with("STC*A1:19:85**WQ*750.25", "STC*A1:19:85**WQ*750.26").as_bytes());
        let err = f.reconcile().unwrap_err();
        assert!(err.contains("STC04"), "{err}");
    }

    #[test]
    fn a_missing_required_element_is_a_walker_problem() {
        let f = read_277ca(with("STC*A2:20*20261127*WQ*1500", "STC*A2:20**WQ*1500").as_bytes());
        assert!(!f.problems.is_empty());
        assert!(
            f.problems
                .iter()
                .any(|p| p.level == Level::Segment && p.message.contains(r#"("STC02", "1")"#)),
            "{:#?}",
            f.problems
        );
    }

    #[test]
    fn the_component_separator_is_not_allowed_in_stc12() {
        let f = read_277ca(
            with(
                "STC*A2:20*20261127*WQ*750.25********ACCEPTED",
                "STC*A2:20*20261127*WQ*750.25********E-29: TEXT",
            )
            .as_bytes(),
        );
        assert!(
            f.problems
                .iter()
                .any(|p| p.message.contains(r#"("STC12", "6")"#)),
            "{:#?}",
            f.problems
        );
    }

    #[test]
    fn truncations_never_panic() {
        let bytes = good().into_bytes();
        for n in 0..=bytes.len() {
            let f = read_277ca(&bytes[..n]);
            let _ = f.reconcile();
            if n > 0 && n < bytes.len() {
                assert!(!f.problems.is_empty(), "prefix of {n} bytes read clean");
            }
        }
        // And some garbage.
        for junk in [
            &b"HL*PT"[..],
            b"~~~",
            b"ISA*",
            b"\xff\xfe*~",
            b"ST*277*1~HL*1**PT~TRN*2~TRN*2~SVC~",
        ] {
            let _ = read_277ca(junk).reconcile();
        }
    }

    #[test]
    fn amounts_parse_exactly() {
        assert_eq!(parse_cents("1500"), Some(150000));
        assert_eq!(parse_cents("1500.5"), Some(150050));
        assert_eq!(parse_cents("1500.25"), Some(150025));
        assert_eq!(parse_cents("0.01"), Some(1));
        assert_eq!(parse_cents("-3.25"), Some(-325));
        assert_eq!(parse_cents(".5"), Some(50));
        assert_eq!(parse_cents("2.500"), Some(250));
        assert_eq!(parse_cents("abc"), None);
        assert_eq!(parse_cents(""), None);
        assert_eq!(parse_cents("-"), None);
        assert_eq!(parse_cents("."), None);
        assert_eq!(parse_cents("1.005"), None);
        assert_eq!(parse_cents("1.2.3"), None);
        assert_eq!(parse_cents("+1"), None);
        assert_eq!(parse_cents("99999999999999999999"), None);
    }
}
