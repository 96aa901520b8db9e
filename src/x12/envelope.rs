//! Envelope checking: ISA/IEA, GS/GE and ST/SE pairing, control numbers and counts.
//!
//! [`EnvelopeChecker`] is a state machine fed one [`Frame`] at a time. It knows
//! nothing of what an 837 contains: body segments of each transaction set are
//! passed to an [`EnvelopeSink`] together with their positions, and every
//! envelope fault becomes a [`Problem`] carrying the acknowledgment code that
//! answers it (TA105, AK905, IK502 or IK304).

use std::collections::HashSet;

use super::delims::Delimiters;
use super::framer::{Frame, FrameKind};
use super::isa::IsaHeader;
use super::position::{ElementRef, Position};
use super::segment::Segment;

/// An acknowledgment status: TA104, IK501 and AK901 codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AckStatus {
    /// `A`: accepted.
    Accepted,
    /// `E`: accepted, but errors were noted.
    AcceptedWithErrors,
    /// `P`: some transaction sets of the group were rejected (AK901 only).
    Partial,
    /// `R`: rejected.
    Rejected,
}

impl AckStatus {
    /// The one-letter code.
    pub fn code(self) -> &'static str {
        match self {
            AckStatus::Accepted => "A",
            AckStatus::AcceptedWithErrors => "E",
            AckStatus::Partial => "P",
            AckStatus::Rejected => "R",
        }
    }

    /// True for `A` and `E`.
    pub fn is_accepted(self) -> bool {
        matches!(self, AckStatus::Accepted | AckStatus::AcceptedWithErrors)
    }
}

/// Which structure a problem belongs to, and so which acknowledgment answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    /// Content outside any interchange: reported, answered by no acknowledgment.
    File,
    /// TA1 (TA105 note code).
    Interchange,
    /// 999 AK9 (AK905 code).
    Group,
    /// 999 IK5 (IK502 code).
    Transaction,
    /// 999 IK3 (IK304 code), and IK4 when an element is named.
    Segment,
}

/// One thing wrong with the input's structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Which acknowledgment answers it.
    pub level: Level,
    /// The code that acknowledgment carries (TA105, AK905, IK502 or IK304); empty for file-level problems.
    pub code: &'static str,
    /// Whether the structure it belongs to is rejected because of it.
    pub reject: bool,
    /// Where it is.
    pub position: Position,
    /// Plain explanation, free of claim contents.
    pub message: String,
}

/// A GS header, owned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupHeader {
    /// GS01 functional identifier (`HC` for claims).
    pub functional_id: String,
    /// GS02 application sender code.
    pub sender: String,
    /// GS03 application receiver code.
    pub receiver: String,
    /// GS06 group control number.
    pub control: String,
    /// GS08 version / release / industry identifier code.
    pub version: String,
}

/// An ST header, owned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransactionHeader {
    /// ST01 transaction set identifier (`837`).
    pub id: String,
    /// ST02 transaction set control number.
    pub control: String,
    /// ST03 implementation convention reference, when present.
    pub convention: Option<String>,
}

/// An error in one element, as a 999 IK4 reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElementError {
    /// IK401: element, component and repetition.
    pub element: ElementRef,
    /// IK402: data element reference number, when known.
    pub reference: Option<u32>,
    /// IK403: element syntax error code.
    pub code: &'static str,
    /// IK404: a copy of the bad data, when there is some.
    pub value: Option<String>,
}

/// An error in one segment of a transaction set, as a 999 IK3 (+ IK4) reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentError {
    /// IK301: segment id.
    pub segment_id: String,
    /// IK302 comes from `position.in_transaction`.
    pub position: Position,
    /// IK303: loop identifier, when known.
    pub loop_id: Option<String>,
    /// IK304: segment syntax error code.
    pub code: &'static str,
    /// The elements in error (IK4), if any.
    pub elements: Vec<ElementError>,
    /// The claim (0-based, in the transaction set) the error belongs to, when it can be
    /// attributed to one; such errors reject that claim only (IK501 `E`).
    pub claim: Option<u32>,
    /// Business context for the 999 CTX segment, e.g. `("CLM01", "A1234")`.
    pub context: Option<(String, String)>,
}

/// How one transaction set ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionOutcome {
    /// The ST header.
    pub header: TransactionHeader,
    /// Where its ST is.
    pub position: Position,
    /// Where it ended: its SE, or the segment that cut it off.
    pub end: Position,
    /// Segments counted from ST to SE inclusive (or to where it was cut off).
    pub segments: u32,
    /// IK502…IK506 codes (at most five are written).
    pub codes: Vec<&'static str>,
    /// Segment errors (IK3/IK4).
    pub errors: Vec<SegmentError>,
    /// IK501.
    pub status: AckStatus,
}

/// How one functional group ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupOutcome {
    /// The GS header.
    pub header: GroupHeader,
    /// Where its GS is.
    pub position: Position,
    /// AK902: transaction sets the GE says were included (the count received when GE01 is unusable).
    pub included: u32,
    /// AK903: transaction sets received.
    pub received: u32,
    /// AK904: transaction sets accepted (IK501 `A` or `E`).
    pub accepted: u32,
    /// AK905…AK909 codes.
    pub codes: Vec<&'static str>,
    /// AK901.
    pub status: AckStatus,
}

/// How one interchange ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterchangeOutcome {
    /// The ISA header.
    pub header: IsaHeader,
    /// Where its ISA is.
    pub position: Position,
    /// Functional groups read.
    pub groups: u32,
    /// TA105 codes of the faults found, in order, each with whether it rejects.
    pub faults: Vec<(&'static str, bool)>,
    /// TA104.
    pub status: AckStatus,
}

impl TransactionOutcome {
    /// Settles IK501 from what was found: `R` for any envelope code or any segment error not
    /// attributable to one claim, `E` when every error belongs to a claim, `A` otherwise.
    /// IK502 `5` (segments in error) is added whenever segment errors are present.
    pub fn settle(&mut self) {
        if !self.errors.is_empty() && !self.codes.contains(&"5") {
            self.codes.push("5");
        }
        let envelope = self.codes.iter().any(|c| *c != "5");
        let unattributed = self.errors.iter().any(|e| e.claim.is_none());
        self.status = if envelope || unattributed {
            AckStatus::Rejected
        } else if !self.errors.is_empty() {
            AckStatus::AcceptedWithErrors
        } else {
            AckStatus::Accepted
        };
    }
}

impl InterchangeOutcome {
    /// TA105: the code of the first fault, or `000`.
    pub fn note_code(&self) -> &'static str {
        self.faults.first().map_or("000", |f| f.0)
    }

    /// Whether a TA1 is written: on any fault, or when ISA14 asks for one, provided the
    /// header can be answered at all (a 9-digit ISA13 for TA101 and a usable element separator).
    pub fn ta1_due(&self) -> bool {
        let control = self.header.control();
        let addressable = control.len() == 9
            && control.bytes().all(|b| b.is_ascii_digit())
            && !self.faults.iter().any(|f| f.0 == "026");
        addressable && (!self.faults.is_empty() || self.header.ack_requested())
    }
}

/// Receives what the checker reads, in input order.
#[allow(unused_variables)]
pub trait EnvelopeSink {
    /// An ISA opened an interchange.
    fn interchange_start(&mut self, isa: &IsaHeader, position: &Position) {}
    /// A GS opened a functional group.
    fn group_start(&mut self, header: &GroupHeader, position: &Position) {}
    /// An ST opened a transaction set.
    fn transaction_start(&mut self, header: &TransactionHeader, position: &Position) {}
    /// A TA1 segment directly inside an interchange (outside any group).
    fn interchange_segment(&mut self, segment: &Segment<'_>, position: &Position) {}
    /// A segment between ST and SE (exclusive).
    fn transaction_segment(&mut self, segment: &Segment<'_>, position: &Position) {}
    /// A segment inside a transaction set could not be used (unreadable id, oversize); the sink
    /// may attribute the error to a claim before it is recorded.
    fn transaction_bad_segment(&mut self, error: &mut SegmentError) {}
    /// A transaction set is about to end: the sink may add segment errors (and attribute them
    /// to claims) before its IK5 status is settled.
    fn transaction_check(&mut self, outcome: &mut TransactionOutcome) {}
    /// A transaction set ended (by SE, or cut off).
    fn transaction_end(&mut self, outcome: &TransactionOutcome) {}
    /// A functional group ended.
    fn group_end(&mut self, outcome: &GroupOutcome) {}
    /// An interchange ended.
    fn interchange_end(&mut self, outcome: &InterchangeOutcome) {}
    /// A problem was found; it is also recorded in the outcome it belongs to.
    fn problem(&mut self, problem: &Problem) {}
}

/// What the checker accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeConfig {
    /// GS08 / ST03 values accepted.
    pub versions: Vec<String>,
    /// GS01 functional identifiers accepted.
    pub functional_ids: Vec<String>,
    /// ST01 transaction set identifiers accepted.
    pub transaction_ids: Vec<String>,
}

impl Default for EnvelopeConfig {
    fn default() -> Self {
        EnvelopeConfig {
            versions: vec!["005010X222A1".into(), "005010X223A2".into()],
            functional_ids: vec!["HC".into()],
            transaction_ids: vec!["837".into()],
        }
    }
}

/// Totals over a whole input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamTotals {
    /// Interchanges read (ISA seen).
    pub interchanges: u32,
    /// Interchanges rejected (TA104 `R`).
    pub interchanges_rejected: u32,
    /// Functional groups read.
    pub groups: u32,
    /// Functional groups rejected (AK901 `R`).
    pub groups_rejected: u32,
    /// Transaction sets read.
    pub transactions: u32,
    /// Transaction sets rejected (IK501 `R`).
    pub transactions_rejected: u32,
    /// Transaction sets accepted with errors (IK501 `E`: some claims rejected).
    pub transactions_with_errors: u32,
    /// Problems outside any interchange.
    pub file_problems: u32,
    /// Segments framed.
    pub segments: u64,
}

struct OpenInterchange {
    header: IsaHeader,
    position: Position,
    groups: u32,
    group_controls: HashSet<String>,
    faults: Vec<(&'static str, bool)>,
    stray_reported: bool,
}

struct OpenGroup {
    header: GroupHeader,
    position: Position,
    received: u32,
    accepted: u32,
    with_errors: u32,
    controls: HashSet<String>,
    codes: Vec<&'static str>,
    supported: bool,
}

struct OpenTransaction {
    header: TransactionHeader,
    position: Position,
    segments: u32,
    codes: Vec<&'static str>,
    errors: Vec<SegmentError>,
}

/// The envelope state machine.
pub struct EnvelopeChecker {
    config: EnvelopeConfig,
    interchange: Option<OpenInterchange>,
    group: Option<OpenGroup>,
    transaction: Option<OpenTransaction>,
    interchange_controls: HashSet<String>,
    after_bad_isa: bool,
    totals: StreamTotals,
}

fn text(s: &Segment<'_>, n: usize) -> String {
    s.text(n).into_owned()
}

fn push_code(codes: &mut Vec<&'static str>, code: &'static str) {
    if !codes.contains(&code) {
        codes.push(code);
    }
}

impl EnvelopeChecker {
    /// A checker accepting what `config` lists.
    pub fn new(config: EnvelopeConfig) -> Self {
        EnvelopeChecker {
            config,
            interchange: None,
            group: None,
            transaction: None,
            interchange_controls: HashSet::new(),
            after_bad_isa: false,
            totals: StreamTotals::default(),
        }
    }

    /// Totals so far.
    pub fn totals(&self) -> &StreamTotals {
        &self.totals
    }

    fn in_tx(&self) -> Option<u32> {
        self.transaction.as_ref().map(|t| t.segments)
    }

    /// Feeds one terminated segment (what [`Framer::drain_buffered`] hands out); the same as
    /// [`EnvelopeChecker::feed`] with a [`FrameKind::Segment`] frame.
    ///
    /// [`Framer::drain_buffered`]: super::framer::Framer::drain_buffered
    #[inline]
    pub fn feed_segment(
        &mut self,
        bytes: &[u8],
        offset: u64,
        ordinal: u64,
        delims: Delimiters,
        sink: &mut impl EnvelopeSink,
    ) {
        // The hot path: a body segment of an open transaction set.
        if let (Some(t), Ok(seg)) = (self.transaction.as_mut(), Segment::parse(bytes, delims)) {
            if !matches!(seg.id(), b"GS" | b"ST" | b"SE" | b"GE" | b"IEA") {
                t.segments += 1;
                let pos = Position::at(offset, ordinal, Some(t.segments));
                sink.transaction_segment(&seg, &pos);
                return;
            }
        }
        self.feed(
            &Frame {
                bytes,
                offset,
                ordinal,
                kind: FrameKind::Segment,
                delimiters: Some(delims),
            },
            sink,
        );
    }

    /// Feeds one frame.
    pub fn feed(&mut self, frame: &Frame<'_>, sink: &mut impl EnvelopeSink) {
        let pos = Position::at(frame.offset, frame.ordinal, None);
        match &frame.kind {
            FrameKind::Junk { len } => {
                if !std::mem::take(&mut self.after_bad_isa) {
                    let message = if self.totals.interchanges == 0 {
                        format!("{len} bytes before the ISA are not part of an interchange")
                    } else {
                        format!("{len} bytes outside any interchange")
                    };
                    self.file_problem(pos, message, sink);
                }
            }
            FrameKind::BadIsa => {
                self.close_all("022", "a new ISA began before the IEA", &pos, sink);
                self.after_bad_isa = true;
                self.file_problem(
                    pos,
                    "ISA cannot be read: it needs 16 elements and a terminator after ISA16; the bytes up to the next ISA are skipped".into(),
                    sink,
                );
            }
            FrameKind::Isa(isa) => self.open_interchange(isa, pos, sink),
            FrameKind::Oversize { len } => {
                let id = frame
                    .delimiters
                    .and_then(|d| Segment::parse(frame.bytes, d).ok())
                    .map(|s| s.id_str().to_owned());
                let what = id.clone().unwrap_or_else(|| "a segment".into());
                let message = format!("{what} is {len} bytes long, over the limit; it was skipped");
                if self.transaction.is_some() {
                    self.body_error(pos, id.unwrap_or_default(), "8", message, sink);
                } else {
                    self.stray(pos, message, sink);
                }
            }
            FrameKind::Segment | FrameKind::Unterminated => {
                let Some(d) = frame.delimiters else { return };
                if frame.kind == FrameKind::Unterminated {
                    self.interchange_fault(
                        "023",
                        false,
                        pos,
                        "premature end of file: the last segment has no terminator".into(),
                        sink,
                    );
                }
                match Segment::parse(frame.bytes, d) {
                    Ok(seg) => self.segment(&seg, pos, sink),
                    Err(_) => {
                        let message = "segment does not start with a segment id".to_string();
                        if self.transaction.is_some() {
                            self.body_error(pos, String::new(), "1", message, sink);
                        } else {
                            self.stray(pos, message, sink);
                        }
                    }
                }
            }
        }
    }

    /// Ends the input after `segments` segments and `end` bytes: whatever is still open was cut off.
    pub fn finish(
        &mut self,
        end: u64,
        segments: u64,
        sink: &mut impl EnvelopeSink,
    ) -> StreamTotals {
        self.totals.segments = segments;
        let pos = Position::at(end, segments, None);
        self.close_all("023", "premature end of file", &pos, sink);
        self.totals.clone()
    }

    fn file_problem(&mut self, position: Position, message: String, sink: &mut impl EnvelopeSink) {
        self.totals.file_problems += 1;
        sink.problem(&Problem {
            level: Level::File,
            code: "",
            reject: true,
            position,
            message,
        });
    }

    fn interchange_fault(
        &mut self,
        code: &'static str,
        reject: bool,
        position: Position,
        message: String,
        sink: &mut impl EnvelopeSink,
    ) {
        if let Some(ic) = self.interchange.as_mut() {
            ic.faults.push((code, reject));
            sink.problem(&Problem {
                level: Level::Interchange,
                code,
                reject,
                position,
                message,
            });
        } else {
            self.file_problem(position, message, sink);
        }
    }

    fn group_fault(
        &mut self,
        code: &'static str,
        position: Position,
        message: String,
        sink: &mut impl EnvelopeSink,
    ) {
        if let Some(g) = self.group.as_mut() {
            push_code(&mut g.codes, code);
            sink.problem(&Problem {
                level: Level::Group,
                code,
                reject: true,
                position,
                message,
            });
        }
    }

    fn transaction_fault(
        &mut self,
        code: &'static str,
        position: Position,
        message: String,
        sink: &mut impl EnvelopeSink,
    ) {
        if let Some(t) = self.transaction.as_mut() {
            push_code(&mut t.codes, code);
            sink.problem(&Problem {
                level: Level::Transaction,
                code,
                reject: true,
                position,
                message,
            });
        }
    }

    /// A segment inside ST…SE that cannot be used: counted, reported as IK3, and the set rejected.
    fn body_error(
        &mut self,
        pos: Position,
        segment_id: String,
        code: &'static str,
        message: String,
        sink: &mut impl EnvelopeSink,
    ) {
        let Some(t) = self.transaction.as_mut() else {
            return;
        };
        t.segments += 1;
        let position = Position {
            in_transaction: Some(t.segments),
            ..pos
        };
        let mut error = SegmentError {
            segment_id,
            position,
            loop_id: None,
            code,
            elements: Vec::new(),
            claim: None,
            context: None,
        };
        sink.transaction_bad_segment(&mut error);
        let reject = error.claim.is_none();
        t.errors.push(error);
        push_code(&mut t.codes, "5");
        sink.problem(&Problem {
            level: Level::Segment,
            code,
            reject,
            position,
            message,
        });
    }

    /// A segment where none belongs (outside ST…SE, or outside GS…GE): the interchange is rejected.
    fn stray(&mut self, pos: Position, message: String, sink: &mut impl EnvelopeSink) {
        match self.interchange.as_mut() {
            Some(ic) if ic.stray_reported => {}
            Some(ic) => {
                ic.stray_reported = true;
                self.interchange_fault("024", true, pos, message, sink);
            }
            None => self.file_problem(pos, message, sink),
        }
    }

    fn open_interchange(&mut self, isa: &IsaHeader, pos: Position, sink: &mut impl EnvelopeSink) {
        self.close_all("022", "a new ISA began before the IEA", &pos, sink);
        self.totals.interchanges += 1;
        self.interchange = Some(OpenInterchange {
            header: isa.clone(),
            position: pos,
            groups: 0,
            group_controls: HashSet::new(),
            faults: Vec::new(),
            stray_reported: false,
        });
        sink.interchange_start(isa, &pos);
        for fault in isa.check() {
            let at = if fault.element > 0 {
                pos.with_element(ElementRef::new("ISA", fault.element))
            } else {
                pos
            };
            self.interchange_fault(fault.code, true, at, fault.message, sink);
        }
        if !self.interchange_controls.insert(isa.control().to_owned()) {
            self.interchange_fault(
                "025",
                true,
                pos.with_element(ElementRef::new("ISA", 13)),
                format!(
                    "interchange control number {} is used twice in this file",
                    isa.control()
                ),
                sink,
            );
        }
    }

    /// Ends the open transaction set, if any, because something other than its SE came: IK502 2.
    fn cut_transaction(&mut self, pos: &Position, why: &str, sink: &mut impl EnvelopeSink) {
        if self.transaction.is_some() {
            let at = Position {
                in_transaction: self.in_tx(),
                ..*pos
            };
            self.transaction_fault("2", at, format!("SE missing: {why}"), sink);
            self.close_transaction(at, sink);
        }
    }

    /// Ends the open group, if any, because something other than its GE came: AK905 3.
    fn cut_group(&mut self, pos: &Position, why: &str, sink: &mut impl EnvelopeSink) {
        if self.group.is_some() {
            self.group_fault("3", *pos, format!("GE missing: {why}"), sink);
            self.close_group(None, sink);
        }
    }

    /// Closes whatever is open, reporting each missing trailer with the given interchange code.
    fn close_all(
        &mut self,
        interchange_code: &'static str,
        why: &str,
        pos: &Position,
        sink: &mut impl EnvelopeSink,
    ) {
        self.cut_transaction(pos, why, sink);
        self.cut_group(pos, why, sink);
        if self.interchange.is_some() {
            self.interchange_fault(
                interchange_code,
                true,
                *pos,
                format!("IEA missing: {why}"),
                sink,
            );
            self.close_interchange(sink);
        }
    }

    fn segment(&mut self, seg: &Segment<'_>, pos: Position, sink: &mut impl EnvelopeSink) {
        match seg.id() {
            b"GS" => self.open_group(seg, pos, sink),
            b"ST" => self.open_transaction(seg, pos, sink),
            b"SE" => self.end_transaction(seg, pos, sink),
            b"GE" => self.end_group(seg, pos, sink),
            b"IEA" => self.end_interchange(seg, pos, sink),
            _ => {
                if let Some(t) = self.transaction.as_mut() {
                    t.segments += 1;
                    let pos = Position {
                        in_transaction: Some(t.segments),
                        ..pos
                    };
                    sink.transaction_segment(seg, &pos);
                } else if seg.id() == b"TA1" && self.interchange.is_some() && self.group.is_none() {
                    sink.interchange_segment(seg, &pos);
                } else {
                    let message = format!("{} segment outside a transaction set", seg.id_str());
                    self.stray(pos, message, sink);
                }
            }
        }
    }

    fn open_group(&mut self, seg: &Segment<'_>, pos: Position, sink: &mut impl EnvelopeSink) {
        if self.interchange.is_none() {
            return self.stray(pos, "GS outside an interchange".into(), sink);
        }
        self.cut_transaction(&pos, "a GS began", sink);
        self.cut_group(&pos, "a new GS began", sink);
        let header = GroupHeader {
            functional_id: text(seg, 1),
            sender: text(seg, 2),
            receiver: text(seg, 3),
            control: text(seg, 6),
            version: text(seg, 8),
        };
        let supported = self.config.functional_ids.contains(&header.functional_id)
            && self.config.versions.contains(&header.version);
        self.totals.groups += 1;
        let fresh = self
            .interchange
            .as_mut()
            .map(|ic| {
                ic.groups += 1;
                ic.group_controls.insert(header.control.clone())
            })
            .unwrap_or(true);
        self.group = Some(OpenGroup {
            header: header.clone(),
            position: pos,
            received: 0,
            accepted: 0,
            with_errors: 0,
            controls: HashSet::new(),
            codes: Vec::new(),
            supported,
        });
        sink.group_start(&header, &pos);
        if !self.config.functional_ids.contains(&header.functional_id) {
            self.group_fault(
                "1",
                pos.with_element(ElementRef::new("GS", 1)),
                format!(
                    "functional group {:?} is not supported (HC is)",
                    header.functional_id
                ),
                sink,
            );
        } else if !self.config.versions.contains(&header.version) {
            self.group_fault(
                "2",
                pos.with_element(ElementRef::new("GS", 8)),
                format!(
                    "version {:?} is not supported (supported: {})",
                    header.version,
                    self.config.versions.join(", ")
                ),
                sink,
            );
        }
        let c = &header.control;
        if c.is_empty() || c.len() > 9 || !c.bytes().all(|b| b.is_ascii_digit()) {
            self.group_fault(
                "6",
                pos.with_element(ElementRef::new("GS", 6)),
                format!("group control number {c:?} is not 1 to 9 digits"),
                sink,
            );
        } else if !fresh {
            self.group_fault(
                "19",
                pos.with_element(ElementRef::new("GS", 6)),
                format!("group control number {c} is used twice in this interchange"),
                sink,
            );
        }
    }

    fn open_transaction(&mut self, seg: &Segment<'_>, pos: Position, sink: &mut impl EnvelopeSink) {
        if self.group.is_none() {
            return self.stray(pos, "ST outside a functional group".into(), sink);
        }
        self.cut_transaction(&pos, "a new ST began", sink);
        let header = TransactionHeader {
            id: text(seg, 1),
            control: text(seg, 2),
            convention: seg
                .element(3)
                .map(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        };
        let pos = Position {
            in_transaction: Some(1),
            ..pos
        };
        self.totals.transactions += 1;
        let (fresh, group_version, supported) = match self.group.as_mut() {
            Some(g) => {
                g.received += 1;
                (
                    g.controls.insert(header.control.clone()),
                    g.header.version.clone(),
                    g.supported,
                )
            }
            None => (true, String::new(), false),
        };
        self.transaction = Some(OpenTransaction {
            header: header.clone(),
            position: pos,
            segments: 1,
            codes: Vec::new(),
            errors: Vec::new(),
        });
        sink.transaction_start(&header, &pos);
        if header.id.is_empty() {
            self.transaction_fault(
                "6",
                pos.with_element(ElementRef::new("ST", 1)),
                "ST01 transaction set identifier is missing".into(),
                sink,
            );
        } else if !self.config.transaction_ids.contains(&header.id) {
            self.transaction_fault(
                "1",
                pos.with_element(ElementRef::new("ST", 1)),
                format!("transaction set {:?} is not supported (837 is)", header.id),
                sink,
            );
        }
        let c = &header.control;
        if c.len() < 4 || c.len() > 9 || !c.bytes().all(|b| b.is_ascii_alphanumeric()) {
            self.transaction_fault(
                "7",
                pos.with_element(ElementRef::new("ST", 2)),
                format!("transaction set control number {c:?} is not 4 to 9 characters"),
                sink,
            );
        } else if !fresh {
            self.transaction_fault(
                "23",
                pos.with_element(ElementRef::new("ST", 2)),
                format!("transaction set control number {c} is used twice in this group"),
                sink,
            );
        }
        let convention = header.convention.clone().unwrap_or_default();
        if !supported || !self.config.versions.contains(&convention) {
            let shown = if convention.is_empty() {
                &group_version
            } else {
                &convention
            };
            self.transaction_fault(
                "I6",
                pos.with_element(ElementRef::new("ST", 3)),
                format!("implementation convention {shown:?} is not supported"),
                sink,
            );
        } else if convention != group_version {
            self.transaction_fault(
                "19",
                pos.with_element(ElementRef::new("ST", 3)),
                format!("ST03 {convention:?} does not match GS08 {group_version:?}"),
                sink,
            );
        }
    }

    fn end_transaction(&mut self, seg: &Segment<'_>, pos: Position, sink: &mut impl EnvelopeSink) {
        let Some(t) = self.transaction.as_mut() else {
            return self.stray(pos, "SE without an ST".into(), sink);
        };
        t.segments += 1;
        let counted = t.segments;
        let control = t.header.control.clone();
        let pos = Position {
            in_transaction: Some(counted),
            ..pos
        };
        let stated = seg.text(1);
        if stated.parse::<u32>().ok() != Some(counted) {
            self.transaction_fault(
                "4",
                pos.with_element(ElementRef::new("SE", 1)),
                format!("count is {stated}, {counted} segments found"),
                sink,
            );
        }
        let se02 = seg.text(2);
        if se02 != control {
            self.transaction_fault(
                "3",
                pos.with_element(ElementRef::new("SE", 2)),
                format!("SE02 is {se02}, ST02 is {control}"),
                sink,
            );
        }
        self.close_transaction(pos, sink);
    }

    /// Ends the open transaction set; `end` is where (its SE, or where it was cut off).
    fn close_transaction(&mut self, end: Position, sink: &mut impl EnvelopeSink) {
        let Some(t) = self.transaction.take() else {
            return;
        };
        let mut outcome = TransactionOutcome {
            header: t.header,
            position: t.position,
            end,
            segments: t.segments,
            codes: t.codes,
            errors: t.errors,
            status: AckStatus::Accepted,
        };
        sink.transaction_check(&mut outcome);
        outcome.settle();
        if outcome.status.is_accepted() {
            if let Some(g) = self.group.as_mut() {
                g.accepted += 1;
            }
        } else {
            self.totals.transactions_rejected += 1;
        }
        if outcome.status == AckStatus::AcceptedWithErrors {
            self.totals.transactions_with_errors += 1;
            if let Some(g) = self.group.as_mut() {
                g.with_errors += 1;
            }
        }
        sink.transaction_end(&outcome);
    }

    fn end_group(&mut self, seg: &Segment<'_>, pos: Position, sink: &mut impl EnvelopeSink) {
        if self.group.is_none() {
            return self.stray(pos, "GE without a GS".into(), sink);
        }
        self.cut_transaction(&pos, "the GE came first", sink);
        let Some(g) = self.group.as_ref() else { return };
        let (received, control) = (g.received, g.header.control.clone());
        let stated = seg.text(1);
        let stated_n = stated.parse::<u32>().ok();
        if stated_n != Some(received) {
            self.group_fault(
                "5",
                pos.with_element(ElementRef::new("GE", 1)),
                format!("count is {stated}, {received} transaction sets found"),
                sink,
            );
        }
        let ge02 = seg.text(2);
        if ge02 != control {
            self.group_fault(
                "4",
                pos.with_element(ElementRef::new("GE", 2)),
                format!("GE02 is {ge02}, GS06 is {control}"),
                sink,
            );
        }
        self.close_group(stated_n, sink);
    }

    fn close_group(&mut self, stated: Option<u32>, sink: &mut impl EnvelopeSink) {
        let Some(g) = self.group.take() else { return };
        let status = if !g.codes.is_empty() || g.accepted == 0 {
            AckStatus::Rejected
        } else if g.accepted < g.received {
            AckStatus::Partial
        } else if g.with_errors > 0 {
            AckStatus::AcceptedWithErrors
        } else {
            AckStatus::Accepted
        };
        if status == AckStatus::Rejected {
            self.totals.groups_rejected += 1;
        }
        sink.group_end(&GroupOutcome {
            header: g.header,
            position: g.position,
            included: stated.unwrap_or(g.received),
            received: g.received,
            accepted: g.accepted,
            codes: g.codes,
            status,
        });
    }

    fn end_interchange(&mut self, seg: &Segment<'_>, pos: Position, sink: &mut impl EnvelopeSink) {
        if self.interchange.is_none() {
            return self.stray(pos, "IEA without an ISA".into(), sink);
        }
        self.cut_transaction(&pos, "the IEA came first", sink);
        self.cut_group(&pos, "the IEA came first", sink);
        let Some(ic) = self.interchange.as_ref() else {
            return;
        };
        let (groups, control) = (ic.groups, ic.header.control().to_owned());
        let stated = seg.text(1);
        if stated.parse::<u32>().ok() != Some(groups) {
            self.interchange_fault(
                "021",
                true,
                pos.with_element(ElementRef::new("IEA", 1)),
                format!("count is {stated}, {groups} functional groups found"),
                sink,
            );
        }
        let iea02 = seg.text(2);
        if iea02 != control {
            self.interchange_fault(
                "001",
                true,
                pos.with_element(ElementRef::new("IEA", 2)),
                format!("IEA02 is {iea02}, ISA13 is {control}"),
                sink,
            );
        }
        self.close_interchange(sink);
    }

    fn close_interchange(&mut self, sink: &mut impl EnvelopeSink) {
        let Some(ic) = self.interchange.take() else {
            return;
        };
        let status = if ic.faults.iter().any(|f| f.1) {
            AckStatus::Rejected
        } else if ic.faults.is_empty() {
            AckStatus::Accepted
        } else {
            AckStatus::AcceptedWithErrors
        };
        if status == AckStatus::Rejected {
            self.totals.interchanges_rejected += 1;
        }
        sink.interchange_end(&InterchangeOutcome {
            header: ic.header,
            position: ic.position,
            groups: ic.groups,
            faults: ic.faults,
            status,
        });
    }
}

/// The sink that ignores everything (for counting only).
impl EnvelopeSink for () {}
