//! The 999 Implementation Acknowledgment (005010X231A1) writer.

use std::io::{self, Write};

use super::GroupAck;
use crate::clock::Timestamp;
use crate::x12::{ControlNumbers, InterchangeEnvelope, TransactionOutcome, X12Writer};

/// The 999 implementation convention.
pub const VERSION_999: &str = "005010X231A1";

/// Writes one interchange holding a 999 for each group of `groups`.
///
/// Each acknowledged group gets its own GS (its GS02/GS03 mirror that group's
/// GS03/GS02) and one ST 999 with AK1, an AK2 … IK5 per transaction set, and AK9.
pub fn write_interchange<W: Write>(
    w: &mut X12Writer<W>,
    env: &InterchangeEnvelope,
    groups: &[GroupAck],
    now: &Timestamp,
    numbers: &mut ControlNumbers,
) -> io::Result<()> {
    w.begin_interchange(env, numbers)?;
    for g in groups {
        let h = &g.outcome.header;
        w.begin_group(
            "FA",
            &h.receiver,
            &h.sender,
            &now.ccyymmdd(),
            &now.hhmm(),
            VERSION_999,
            numbers,
        )?;
        w.begin_transaction("999", VERSION_999)?;
        w.segment("AK1")
            .el(&h.functional_id)
            .el(&h.control)
            .el(&h.version)
            .end()?;
        for t in &g.transactions {
            write_transaction(w, t)?;
        }
        let mut ak9 = w
            .segment("AK9")
            .el(g.outcome.status.code())
            .el(g.outcome.included.to_string())
            .el(g.outcome.received.to_string())
            .el(g.outcome.accepted.to_string());
        for code in g.outcome.codes.iter().take(5) {
            ak9 = ak9.el(code);
        }
        ak9.end()?;
        w.end_transaction()?;
        w.end_group()?;
    }
    w.end_interchange()
}

fn write_transaction<W: Write>(w: &mut X12Writer<W>, t: &TransactionOutcome) -> io::Result<()> {
    w.segment("AK2")
        .el(&t.header.id)
        .el(&t.header.control)
        .el(t.header.convention.as_deref().unwrap_or(""))
        .end()?;
    for e in &t.errors {
        let position = e.position.in_transaction.unwrap_or(0).to_string();
        w.segment("IK3")
            .el(ik301(&e.segment_id))
            .el(position)
            .el(ik303(e.loop_id.as_deref().unwrap_or("")))
            .el(e.code)
            .end()?;
        if let Some((name, value)) = e.context.as_ref().filter(|(_, v)| !v.is_empty()) {
            w.segment("CTX")
                .comp(&[name.as_bytes(), value.as_bytes()])
                .end()?;
        }
        for el in e.elements.iter().take(99) {
            let element = el.element.element.to_string();
            let component = el.element.component.map(|c| c.to_string());
            let repetition = el.element.repetition.map(|r| r.to_string());
            let reference = el.reference.map(|r| r.to_string()).unwrap_or_default();
            w.segment("IK4")
                .comp(&[
                    element.as_bytes(),
                    component.as_deref().unwrap_or("").as_bytes(),
                    repetition.as_deref().unwrap_or("").as_bytes(),
                ])
                .el(reference)
                .el(el.code)
                .el(el.value.as_deref().unwrap_or(""))
                .end()?;
        }
    }
    let mut ik5 = w.segment("IK5").el(t.status.code());
    for code in t.codes.iter().take(5) {
        ik5 = ik5.el(code);
    }
    ik5.end()
}

/// IK303 is AN 1–4: the loop number without its letter suffix (`2010AA` → `2010`); the
/// full loop id is on the problem line.
fn ik303(loop_id: &str) -> &str {
    loop_id.get(..4).unwrap_or(loop_id)
}

/// IK301 must be a segment id; an unreadable one is written as `UNK`.
fn ik301(id: &str) -> &str {
    let ok = (2..=3).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        id
    } else {
        "UNK"
    }
}
