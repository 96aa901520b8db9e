//! The X12 writer every acknowledgment goes through: caller-chosen delimiters,
//! trailing empty elements trimmed, SE01/GE01/IEA01 counted, control numbers assigned.

use std::io::{self, Write};

use super::delims::Delimiters;

/// Sender, receiver and flags of an outbound interchange (the ISA fields we choose).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterchangeEnvelope {
    /// ISA05, ISA06: who sends the acknowledgment.
    pub sender: (String, String),
    /// ISA07, ISA08: who receives it.
    pub receiver: (String, String),
    /// ISA09 `YYMMDD`.
    pub date: String,
    /// ISA10 `HHMM`.
    pub time: String,
    /// ISA15 `T` or `P`.
    pub usage: String,
}

/// Allocates outbound control numbers (ISA13, GS06) in sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlNumbers {
    next_interchange: u64,
    next_group: u64,
}

impl ControlNumbers {
    /// Numbers start at `first` (clamped to 1..=999_999_999) for both ISA13 and GS06.
    pub fn starting_at(first: u64) -> Self {
        let first = first.clamp(1, 999_999_999);
        ControlNumbers {
            next_interchange: first,
            next_group: first,
        }
    }

    /// The next interchange control number (ISA13).
    pub fn take_interchange(&mut self) -> u64 {
        let n = self.next_interchange;
        self.next_interchange = if n >= 999_999_999 { 1 } else { n + 1 };
        n
    }

    /// The next group control number (GS06).
    pub fn take_group(&mut self) -> u64 {
        let n = self.next_group;
        self.next_group = if n >= 999_999_999 { 1 } else { n + 1 };
        n
    }
}

/// Writes X12 segments and envelopes.
pub struct X12Writer<W: Write> {
    out: W,
    delims: Delimiters,
    /// The bytes a value cannot hold (delimiters and line ends), which are written as blanks.
    blank: BlankTable,
    eol: &'static [u8],
    trim: bool,
    line: Vec<u8>,
    interchange: Option<(String, u32)>,
    group: Option<(String, u32)>,
    transaction: Option<(String, u32)>,
    next_st: u32,
}

/// The bytes a value cannot hold under a set of delimiters (the delimiters and line ends), which
/// are written as blanks: X12 has no escape, so a delimiter inside a value would change the
/// structure. Shared by [`X12Writer`] and the 277CA's `SegBuf`.
#[derive(Clone, Debug)]
pub struct BlankTable([bool; 256]);

impl BlankTable {
    /// The table for `delims`.
    pub fn new(delims: Delimiters) -> Self {
        let mut blank = [false; 256];
        for b in [
            delims.element,
            delims.component,
            delims.segment,
            b'\r',
            b'\n',
        ]
        .into_iter()
        .chain(delims.repetition)
        {
            blank[usize::from(b)] = true;
        }
        BlankTable(blank)
    }

    /// Appends `value` to `out` with those bytes blanked. (One pass: values are short, and
    /// copying the clean run first measured more instructions on the 277CA's fragments.)
    #[inline]
    pub fn push(&self, out: &mut Vec<u8>, value: &[u8]) {
        out.extend(
            value
                .iter()
                .map(|&b| if self.0[usize::from(b)] { b' ' } else { b }),
        );
    }
}

/// One segment being written; elements are appended in order and the segment ends with [`SegmentBuilder::end`].
pub struct SegmentBuilder<'w, W: Write> {
    w: &'w mut X12Writer<W>,
    /// Length of `line` up to the last non-empty element (what trimming keeps).
    kept: usize,
}

impl<W: Write> X12Writer<W> {
    /// A writer with the given delimiters, writing `eol` (e.g. `b"\n"` or `b""`) after each terminator.
    pub fn new(out: W, delims: Delimiters, eol: &'static [u8]) -> Self {
        let blank = BlankTable::new(delims);
        X12Writer {
            out,
            delims,
            blank,
            eol,
            trim: true,
            line: Vec::with_capacity(256),
            interchange: None,
            group: None,
            transaction: None,
            next_st: 1,
        }
    }

    /// Keep empty trailing elements and components (for writing tokens back byte for byte).
    pub fn keep_trailing_empties(mut self) -> Self {
        self.trim = false;
        self
    }

    /// The writer it writes to.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The writer it writes to, for bytes written around the segment builder.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// The delimiters in use.
    pub fn delimiters(&self) -> Delimiters {
        self.delims
    }

    /// Starts a segment with id `id`.
    pub fn segment(&mut self, id: &str) -> SegmentBuilder<'_, W> {
        self.line.clear();
        self.line.extend_from_slice(id.as_bytes());
        let kept = self.line.len();
        SegmentBuilder { w: self, kept }
    }

    /// Writes a segment from tokens (elements → repetitions → components), as [`crate::x12::Segment::tokens`] gives them.
    pub fn tokens(&mut self, id: &[u8], tokens: &[Vec<Vec<&[u8]>>]) -> io::Result<()> {
        let isa = id == b"ISA";
        let id = String::from_utf8_lossy(id);
        let mut seg = self.segment(&id);
        for element in tokens {
            seg = match element.as_slice() {
                // ISA11 and ISA16 are delimiters themselves: the ISA is written as it is.
                [parts] if isa => seg.raw(parts.concat()),
                _ => seg.repeated(element),
            };
        }
        seg.end()
    }

    /// Appends a value with its delimiters (and line ends) blanked: X12 has no escape, so a
    /// delimiter inside a value would change the structure. Values rarely hold one, so the
    /// clean run before the first is copied in one piece.
    fn push_value(&mut self, value: &[u8]) {
        self.blank.push(&mut self.line, value);
    }

    fn emit(&mut self) -> io::Result<()> {
        self.line.push(self.delims.segment);
        self.line.extend_from_slice(self.eol);
        self.out.write_all(&self.line)?;
        if let Some((_, count)) = self.transaction.as_mut() {
            *count += 1;
        }
        Ok(())
    }

    /// Writes the ISA for `env` with control number taken from `numbers`, and returns that number.
    pub fn begin_interchange(
        &mut self,
        env: &InterchangeEnvelope,
        numbers: &mut ControlNumbers,
    ) -> io::Result<u64> {
        let control = numbers.take_interchange();
        // Fixed width in bytes: only printable ASCII that is not a delimiter goes into the ISA.
        let d = self.delims;
        let pad = |s: &str, w: usize| {
            let clean: String = s
                .chars()
                .map(|c| {
                    let printable = (' '..='~').contains(&c);
                    if printable && !d.is_delimiter(c as u8) {
                        c
                    } else {
                        '?'
                    }
                })
                .collect();
            format!("{:<w$.w$}", clean, w = w)
        };
        let rep = self.delims.repetition.unwrap_or(b'^');
        let fields = [
            "00".to_owned(),
            pad("", 10),
            "00".to_owned(),
            pad("", 10),
            pad(&env.sender.0, 2),
            pad(&env.sender.1, 15),
            pad(&env.receiver.0, 2),
            pad(&env.receiver.1, 15),
            pad(&env.date, 6),
            pad(&env.time, 4),
            String::from_utf8_lossy(&[rep]).into_owned(),
            "00501".to_owned(),
            format!("{control:09}"),
            "0".to_owned(),
            pad(&env.usage, 1),
        ];
        self.line.clear();
        self.line.extend_from_slice(b"ISA");
        for f in &fields {
            self.line.push(self.delims.element);
            self.line.extend_from_slice(f.as_bytes());
        }
        self.line.push(self.delims.element);
        self.line.push(self.delims.component);
        self.emit()?;
        self.interchange = Some((format!("{control:09}"), 0));
        Ok(control)
    }

    /// Writes the IEA with the number of groups written since the ISA.
    pub fn end_interchange(&mut self) -> io::Result<()> {
        let (control, groups) = self.interchange.take().unwrap_or_default();
        self.segment("IEA")
            .el(groups.to_string())
            .el(&control)
            .end()
    }

    /// Writes a GS; the group control number comes from `numbers`. Returns it.
    #[allow(clippy::too_many_arguments)]
    pub fn begin_group(
        &mut self,
        functional_id: &str,
        sender: &str,
        receiver: &str,
        date: &str,
        time: &str,
        version: &str,
        numbers: &mut ControlNumbers,
    ) -> io::Result<u64> {
        let control = numbers.take_group();
        self.segment("GS")
            .el(functional_id)
            .el(sender)
            .el(receiver)
            .el(date)
            .el(time)
            .el(control.to_string())
            .el("X")
            .el(version)
            .end()?;
        if let Some((_, groups)) = self.interchange.as_mut() {
            *groups += 1;
        }
        self.group = Some((control.to_string(), 0));
        self.next_st = 1;
        Ok(control)
    }

    /// Writes the GE with the number of transaction sets written since the GS.
    pub fn end_group(&mut self) -> io::Result<()> {
        let (control, sets) = self.group.take().unwrap_or_default();
        self.segment("GE").el(sets.to_string()).el(&control).end()
    }

    /// Writes an ST with the next transaction control number of the group (`0001`, `0002`, …).
    pub fn begin_transaction(&mut self, id: &str, convention: &str) -> io::Result<()> {
        let control = format!("{:04}", self.next_st);
        self.next_st += 1;
        self.transaction = Some((control.clone(), 0));
        self.segment("ST")
            .el(id)
            .el(&control)
            .el(convention)
            .end()?;
        if let Some((_, sets)) = self.group.as_mut() {
            *sets += 1;
        }
        Ok(())
    }

    /// Writes the SE with the segment count from ST to SE inclusive.
    pub fn end_transaction(&mut self) -> io::Result<()> {
        let (control, count) = self.transaction.clone().unwrap_or_default();
        self.segment("SE")
            .el((count + 1).to_string())
            .el(&control)
            .end()?;
        self.transaction = None;
        Ok(())
    }

    /// Flushes and returns the inner writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> SegmentBuilder<'_, W> {
    fn separator(&mut self) {
        self.w.line.push(self.w.delims.element);
    }

    /// Appends a simple element.
    pub fn el(mut self, value: impl AsRef<[u8]>) -> Self {
        let value = value.as_ref();
        self.separator();
        self.w.push_value(value);
        if !value.is_empty() {
            self.kept = self.w.line.len();
        }
        self
    }

    /// Appends an element as it is, delimiters included (only the ISA needs this).
    fn raw(mut self, value: Vec<u8>) -> Self {
        self.separator();
        self.w.line.extend_from_slice(&value);
        self.kept = self.w.line.len();
        self
    }

    /// Appends a composite element; trailing empty components are dropped (unless kept).
    pub fn comp(mut self, parts: &[&[u8]]) -> Self {
        self.separator();
        self.components(parts);
        let empty = parts.iter().all(|p| p.is_empty());
        if !empty || !self.w.trim {
            self.kept = self.w.line.len();
        }
        self
    }

    /// Appends an element with repetitions, each a list of components.
    pub fn repeated(mut self, reps: &[Vec<&[u8]>]) -> Self {
        self.separator();
        let rep = self.w.delims.repetition.unwrap_or(b'^');
        for (ri, parts) in reps.iter().enumerate() {
            if ri > 0 {
                self.w.line.push(rep);
            }
            self.components(parts);
        }
        let empty = reps.iter().all(|r| r.iter().all(|p| p.is_empty())) && reps.len() <= 1;
        if !empty || !self.w.trim {
            self.kept = self.w.line.len();
        }
        self
    }

    /// The components of one repetition; trailing empty ones are dropped (unless kept).
    fn components(&mut self, parts: &[&[u8]]) {
        let used = if self.w.trim {
            parts
                .iter()
                .rposition(|p| !p.is_empty())
                .map_or(0, |i| i + 1)
        } else {
            parts.len()
        };
        let component = self.w.delims.component;
        for (ci, part) in parts[..used].iter().enumerate() {
            if ci > 0 {
                self.w.line.push(component);
            }
            self.w.push_value(part);
        }
    }

    /// Ends the segment: trailing empty elements are dropped (unless kept), then the terminator is written.
    pub fn end(self) -> io::Result<()> {
        if self.w.trim {
            self.w.line.truncate(self.kept);
        }
        self.w.emit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_empties_are_trimmed_and_counts_kept() {
        let mut w = X12Writer::new(Vec::new(), Delimiters::STANDARD, b"\n");
        let mut n = ControlNumbers::starting_at(7);
        let env = InterchangeEnvelope {
            sender: ("ZZ".into(), "ME".into()),
            receiver: ("ZZ".into(), "YOU".into()),
            date: "251215".into(),
            time: "1200".into(),
            usage: "T".into(),
        };
        w.begin_interchange(&env, &mut n).unwrap();
        w.begin_group(
            "FA",
            "ME",
            "YOU",
            "20251215",
            "1200",
            "005010X231A1",
            &mut n,
        )
        .unwrap();
        w.begin_transaction("999", "005010X231A1").unwrap();
        w.segment("IK3")
            .el("CLM")
            .el("12")
            .el("")
            .el("8")
            .el("")
            .end()
            .unwrap();
        w.segment("IK4")
            .comp(&[b"5", b"", b""])
            .el("")
            .end()
            .unwrap();
        w.segment("X").el("a*b~c").end().unwrap();
        w.end_transaction().unwrap();
        w.end_group().unwrap();
        w.end_interchange().unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0].len(), 106);
        assert!(lines[0].contains("*000000007*0*T*:~"));
        assert_eq!(lines[1], "GS*FA*ME*YOU*20251215*1200*7*X*005010X231A1~");
        assert_eq!(lines[3], "IK3*CLM*12**8~");
        assert_eq!(lines[4], "IK4*5~");
        assert_eq!(lines[5], "X*a b c~");
        assert_eq!(lines[6], "SE*5*0001~");
        assert_eq!(lines[7], "GE*1*7~");
        assert_eq!(lines[8], "IEA*1*000000007~");
    }
}
