//! The TA1 interchange acknowledgment writer.

use std::io::{self, Write};

use crate::x12::{ControlNumbers, InterchangeEnvelope, InterchangeOutcome, X12Writer};

/// Writes one interchange holding the TA1 that answers `outcome`.
///
/// TA101–TA103 echo ISA13, ISA09 and ISA10; TA104 is `A`, `E` or `R`; TA105 is
/// the note code of the first fault found (`000` when there was none).
pub fn write_interchange<W: Write>(
    w: &mut X12Writer<W>,
    env: &InterchangeEnvelope,
    outcome: &InterchangeOutcome,
    numbers: &mut ControlNumbers,
) -> io::Result<()> {
    let f = &outcome.header.fields;
    w.begin_interchange(env, numbers)?;
    w.segment("TA1")
        .el(&f[12])
        .el(&f[8])
        .el(&f[9])
        .el(outcome.status.code())
        .el(outcome.note_code())
        .end()?;
    w.end_interchange()
}
