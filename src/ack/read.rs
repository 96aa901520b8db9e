//! Reads acknowledgments back (our own 999s and TA1s), through the same framer and envelope checker.
//!
//! Used by the tests to prove that every acknowledgment we write is well formed
//! and that its counts reconcile.

use std::sync::OnceLock;

use crate::grammar::walker::Walker;
use crate::grammar::Grammar;
use crate::x12::{
    EnvelopeChecker, EnvelopeConfig, EnvelopeSink, Framer, GroupHeader, Level, Position, Problem,
    Segment, TransactionHeader,
};

/// One TA1 read back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ta1 {
    /// TA101: the acknowledged ISA13.
    pub control: String,
    /// TA104: `A`, `E` or `R`.
    pub status: String,
    /// TA105 note code.
    pub note: String,
}

/// One AK2 … IK5 loop read back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ack999Transaction {
    /// AK202: the acknowledged ST02.
    pub control: String,
    /// IK3 segments: (IK301, IK302, IK304).
    pub segment_errors: Vec<(String, String, String)>,
    /// IK501.
    pub status: String,
    /// IK502…IK506.
    pub codes: Vec<String>,
}

/// One 999 transaction set read back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ack999 {
    /// AK102: the acknowledged GS06.
    pub group_control: String,
    /// AK103: the acknowledged GS08.
    pub group_version: String,
    /// The AK2 loops.
    pub transactions: Vec<Ack999Transaction>,
    /// AK901.
    pub status: String,
    /// AK902, AK903, AK904.
    pub counts: [u32; 3],
    /// AK905…AK909.
    pub codes: Vec<String>,
}

impl Ack999 {
    /// Checks that AK9 agrees with the AK2 loops: received = AK2 count, accepted = IK5 `A`/`E` count,
    /// and AK901 follows from them (R when none accepted or a group code is present, P when some).
    pub fn reconcile(&self) -> Result<(), String> {
        let received = self.transactions.len() as u32;
        let accepted = self
            .transactions
            .iter()
            .filter(|t| t.status == "A" || t.status == "E")
            .count() as u32;
        if self.counts[1] != received {
            return Err(format!("AK903 {} but {received} AK2 loops", self.counts[1]));
        }
        if self.counts[2] != accepted {
            return Err(format!(
                "AK904 {} but {accepted} accepted IK5",
                self.counts[2]
            ));
        }
        let expected = if !self.codes.is_empty() || accepted == 0 {
            "R"
        } else if accepted < received {
            "P"
        } else if self.transactions.iter().any(|t| t.status == "E") {
            "E"
        } else {
            "A"
        };
        if self.status != expected {
            return Err(format!(
                "AK901 {} but the loops say {expected}",
                self.status
            ));
        }
        Ok(())
    }
}

/// Everything read from an acknowledgment file. Each 999 transaction set is also walked
/// against the 999 implementation guide (`grammars/999.json`); its findings are problems.
#[derive(Clone, Debug, Default)]
pub struct AckFile {
    /// Interchanges read.
    pub interchanges: u32,
    /// TA1 segments, in order.
    pub ta1s: Vec<Ta1>,
    /// 999 transaction sets, in order.
    pub acks: Vec<Ack999>,
    /// Envelope problems found while reading (a file we wrote must have none).
    pub problems: Vec<Problem>,
}

/// The 999 grammar (005010X231A1), compiled once.
fn grammar_999() -> Option<&'static Grammar> {
    static G: OnceLock<Option<Grammar>> = OnceLock::new();
    G.get_or_init(|| Grammar::embedded("999.json").and_then(Result::ok))
        .as_ref()
}

struct Collector {
    file: AckFile,
    current: Option<Ack999>,
    group: Option<GroupHeader>,
    /// Checks each 999 against its implementation guide, as we check 837s.
    walker: Option<Walker<'static>>,
}

fn texts(seg: &Segment<'_>, from: usize) -> Vec<String> {
    seg.elements()
        .skip(from - 1)
        .map(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

impl EnvelopeSink for Collector {
    fn interchange_start(&mut self, _isa: &crate::x12::IsaHeader, _position: &Position) {
        self.file.interchanges += 1;
    }

    fn interchange_segment(&mut self, seg: &Segment<'_>, _position: &Position) {
        self.file.ta1s.push(Ta1 {
            control: seg.text(1).into_owned(),
            status: seg.text(4).into_owned(),
            note: seg.text(5).into_owned(),
        });
    }

    fn group_start(&mut self, header: &GroupHeader, _position: &Position) {
        self.group = Some(header.clone());
    }

    fn transaction_start(&mut self, _header: &TransactionHeader, _position: &Position) {
        self.current = Some(Ack999::default());
        if let Some(w) = self.walker.as_mut() {
            w.begin();
        }
    }

    fn transaction_check(&mut self, outcome: &mut crate::x12::TransactionOutcome) {
        if let Some(w) = self.walker.as_mut() {
            w.finish(&outcome.end, !outcome.codes.contains(&"2"));
            let (errors, _) = w.take();
            for e in errors {
                self.file.problems.push(guide_problem("999", &e));
            }
        }
    }

    fn transaction_segment(&mut self, seg: &Segment<'_>, position: &Position) {
        if let Some(w) = self.walker.as_mut() {
            w.segment(seg, position);
        }
        let Some(ack) = self.current.as_mut() else {
            return;
        };
        match seg.id() {
            b"AK1" => {
                ack.group_control = seg.text(2).into_owned();
                ack.group_version = seg.text(3).into_owned();
            }
            b"AK2" => ack.transactions.push(Ack999Transaction {
                control: seg.text(2).into_owned(),
                ..Default::default()
            }),
            b"IK3" => {
                if let Some(t) = ack.transactions.last_mut() {
                    t.segment_errors.push((
                        seg.text(1).into_owned(),
                        seg.text(2).into_owned(),
                        seg.text(4).into_owned(),
                    ));
                }
            }
            b"IK5" => {
                if let Some(t) = ack.transactions.last_mut() {
                    t.status = seg.text(1).into_owned();
                    t.codes = texts(seg, 2);
                }
            }
            b"AK9" => {
                ack.status = seg.text(1).into_owned();
                for i in 0..3 {
                    ack.counts[i] = seg.text(i + 2).parse().unwrap_or(u32::MAX);
                }
                ack.codes = texts(seg, 5);
            }
            _ => {}
        }
    }

    fn transaction_end(&mut self, _outcome: &crate::x12::TransactionOutcome) {
        if let Some(ack) = self.current.take() {
            self.file.acks.push(ack);
        }
    }

    fn problem(&mut self, problem: &Problem) {
        self.file.problems.push(problem.clone());
    }
}

/// An implementation-guide error in an acknowledgment we read back, as a problem naming the
/// transaction set type (`999`, `277CA`), segment, loop and codes.
pub(crate) fn guide_problem(kind: &str, e: &crate::x12::SegmentError) -> Problem {
    Problem {
        level: Level::Segment,
        code: e.code,
        reject: true,
        position: e.position,
        message: format!(
            "{kind} {} in loop {}: IK304 {} {:?}",
            e.segment_id,
            e.loop_id.as_deref().unwrap_or("-"),
            e.code,
            e.elements
                .iter()
                .map(|x| (x.element.to_string(), x.code))
                .collect::<Vec<_>>()
        ),
    }
}

/// Reads a 999 or TA1 file.
pub fn read_acks(bytes: &[u8]) -> AckFile {
    let config = EnvelopeConfig {
        versions: vec![super::ack999::VERSION_999.into()],
        functional_ids: vec!["FA".into()],
        transaction_ids: vec!["999".into()],
    };
    let mut framer = Framer::new(bytes);
    let mut checker = EnvelopeChecker::new(config);
    let mut sink = Collector {
        file: AckFile::default(),
        current: None,
        group: None,
        walker: grammar_999().map(Walker::new),
    };
    // Reading from a slice cannot fail.
    let _ = crate::x12::check_stream(&mut framer, &mut checker, &mut sink);
    sink.file
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "ISA*00*          *00*          *ZZ*RECEIVER       *ZZ*SUBMITTER      *261127*1200*^*00501*000000001*0*T*:~\
GS*FA*REC*SUB*20261127*1200*1*X*005010X231A1~ST*999*0001*005010X231A1~AK1*HC*7*005010X222A1~\
AK2*837*0001*005010X222A1~IK5*A~AK9*A*1*1*1~SE*6*0001~GE*1*1~IEA*1*000000001~";

    #[test]
    fn a_well_formed_999_reads_back_clean() {
        let file = read_acks(GOOD.as_bytes());
        assert!(file.problems.is_empty(), "{:?}", file.problems);
        assert_eq!(file.acks.len(), 1);
        assert_eq!(file.acks[0].reconcile(), Ok(()));
    }

    #[test]
    fn the_999_guide_catches_what_the_envelope_cannot() {
        // AK9 without AK904 (required), and IK5 with a status the guide does not list.
        let bad = GOOD
            .replace("AK9*A*1*1*1~", "AK9*A*1*1~")
            .replace("IK5*A~", "IK5*Q~");
        let file = read_acks(bad.as_bytes());
        let codes: Vec<&str> = file.problems.iter().map(|p| p.code).collect();
        assert!(!codes.is_empty(), "no problems found");
        assert!(
            file.problems.iter().all(|p| p.level == Level::Segment),
            "{:?}",
            file.problems
        );
    }
}
