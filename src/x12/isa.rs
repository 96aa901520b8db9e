//! The ISA interchange header: a nom parser and the checks TA1 answers with TA105 codes.
//!
//! The ISA is fixed width (106 bytes including its terminator) and is the only
//! place the delimiters are declared. [`parse_isa`] reads it leniently, splitting
//! on the element separator found at byte 3, so that a header with a field of the
//! wrong width still yields its sender and receiver (a TA1 can then be addressed);
//! [`IsaHeader::check`] reports every deviation from the fixed layout with the TA105
//! note code that answers it.

use nom::bytes::complete::{tag, take, take_till};
use nom::multi::count;
use nom::sequence::preceded;
use nom::IResult;

use super::delims::{DelimiterFault, Delimiters};

/// Length of a well-formed ISA segment, terminator included.
pub const ISA_LEN: usize = 106;

/// How many bytes the framer offers [`parse_isa`] at most; a header longer than
/// this is not an ISA.
pub const ISA_SCAN_LIMIT: usize = 512;

/// Width of ISA01…ISA15 (ISA16 is one byte and parsed apart).
const WIDTHS: [usize; 15] = [2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1];

/// An interchange header, owned (it outlives the buffer it was read from).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsaHeader {
    /// ISA01…ISA16 as written (ISA16 is the component separator).
    pub fields: [String; 16],
    /// Delimiters declared by this header.
    pub delimiters: Delimiters,
    /// Length of the ISA segment including its terminator (106 when well formed).
    pub len: usize,
}

/// One deviation of an ISA from the standard, with its TA105 note code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsaFault {
    /// TA105 note code (`001`…`031`).
    pub code: &'static str,
    /// 1-based element the fault is in (0 for the segment as a whole).
    pub element: u16,
    /// Plain explanation.
    pub message: String,
}

/// Why the bytes at a segment start could not be read as an ISA at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IsaError {
    /// More bytes are needed (and more may come).
    Incomplete,
    /// The bytes are not an ISA (fewer than 16 element separators, or no terminator).
    Malformed,
}

impl IsaHeader {
    /// ISA13, the interchange control number.
    pub fn control(&self) -> &str {
        &self.fields[12]
    }

    /// ISA12, the interchange control version (e.g. `00501`).
    pub fn version(&self) -> &str {
        &self.fields[11]
    }

    /// ISA14 = `1`: the sender asks for a TA1.
    pub fn ack_requested(&self) -> bool {
        self.fields[13] == "1"
    }

    /// ISA05/ISA06, the sender qualifier and id (ISA06 without trailing padding).
    pub fn sender(&self) -> (&str, &str) {
        (&self.fields[4], self.fields[5].trim_end())
    }

    /// ISA07/ISA08, the receiver qualifier and id (ISA08 without trailing padding).
    pub fn receiver(&self) -> (&str, &str) {
        (&self.fields[6], self.fields[7].trim_end())
    }

    /// Every deviation from the 5010 ISA, in element order, each with its TA105 code.
    pub fn check(&self) -> Vec<IsaFault> {
        let mut faults = Vec::new();
        let mut fault = |code: &'static str, element: u16, message: String| {
            faults.push(IsaFault {
                code,
                element,
                message,
            })
        };
        if let Err(f) = self.delimiters.check() {
            let (code, element) = match f {
                DelimiterFault::Element => ("026", 0),
                DelimiterFault::Component => ("027", 16),
                DelimiterFault::Repetition => ("016", 11),
                DelimiterFault::Segment => ("004", 0),
            };
            // A pre-5010 header has a standards id in ISA11; the version check speaks for it.
            if !(f == DelimiterFault::Repetition && self.version() != "00501") {
                fault(code, element, f.to_string());
            }
        }
        if self.version() == "00501" && self.delimiters.repetition.is_none() {
            fault(
                "016",
                11,
                format!("ISA11 {:?} is not a repetition separator", self.fields[10]),
            );
        }
        // Field codes for a field of the wrong width or content, ISA01..ISA15.
        const CODES: [&str; 15] = [
            "010", "011", "012", "013", "005", "006", "007", "008", "014", "015", "016", "017",
            "018", "019", "020",
        ];
        for (i, (&width, &code)) in WIDTHS.iter().zip(CODES.iter()).enumerate() {
            let value = &self.fields[i];
            if value.len() != width {
                fault(
                    code,
                    (i + 1) as u16,
                    format!(
                        "ISA{:02} is {} characters, the fixed width is {width}",
                        i + 1,
                        value.len()
                    ),
                );
            }
        }
        let f = &self.fields;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if f[0].len() == 2 && !matches!(f[0].as_str(), "00" | "03") {
            fault("010", 1, format!("ISA01 {:?} is not 00 or 03", f[0]));
        }
        if f[2].len() == 2 && !matches!(f[2].as_str(), "00" | "01") {
            fault("012", 3, format!("ISA03 {:?} is not 00 or 01", f[2]));
        }
        if f[5].trim().is_empty() && f[5].len() == 15 {
            fault("006", 6, "ISA06 sender id is blank".into());
        }
        if f[7].trim().is_empty() && f[7].len() == 15 {
            fault("008", 8, "ISA08 receiver id is blank".into());
        }
        if f[8].len() == 6 && !valid_yymmdd(&f[8]) {
            fault("014", 9, format!("ISA09 {:?} is not a date YYMMDD", f[8]));
        }
        if f[9].len() == 4 && !valid_hhmm(&f[9]) {
            fault("015", 10, format!("ISA10 {:?} is not a time HHMM", f[9]));
        }
        if f[11].len() == 5 {
            if !digits(&f[11]) {
                fault(
                    "017",
                    12,
                    format!("ISA12 {:?} is not a version number", f[11]),
                );
            } else if f[11] != "00501" {
                fault(
                    "003",
                    12,
                    format!("ISA12 version {} is not supported (00501 is)", f[11]),
                );
            }
        }
        if f[12].len() == 9 && !digits(&f[12]) {
            fault(
                "018",
                13,
                format!("ISA13 {:?} is not a 9-digit number", f[12]),
            );
        }
        if f[13].len() == 1 && !matches!(f[13].as_str(), "0" | "1") {
            fault("019", 14, format!("ISA14 {:?} is not 0 or 1", f[13]));
        }
        if f[14].len() == 1 && !matches!(f[14].as_str(), "T" | "P") {
            fault("020", 15, format!("ISA15 {:?} is not T or P", f[14]));
        }
        faults
    }
}

fn valid_yymmdd(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    let (yy, mm, dd) = (n(0), n(2), n(4));
    // Two-digit years: 00-49 are 20xx, 50-99 19xx, which only matters for 29 February.
    let year = if yy < 50 { 2000 + yy } else { 1900 + yy };
    (1..=12).contains(&mm) && dd >= 1 && dd <= days_in_month(year, mm)
}

fn valid_hhmm(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 4 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let hh = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
    let mm = u32::from(b[2] - b'0') * 10 + u32::from(b[3] - b'0');
    hh < 24 && mm < 60
}

/// Days in a month of the proleptic Gregorian calendar.
pub fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// The nom grammar of an ISA: `ISA`, the element separator, ISA01…ISA15 split on
/// it, the separator, ISA16 (one byte) and the segment terminator (one byte).
/// What [`isa_parts`] yields: element separator, ISA01…ISA15, ISA16, terminator.
type IsaParts<'a> = (u8, Vec<&'a [u8]>, u8, u8);

fn isa_parts(input: &[u8]) -> IResult<&[u8], IsaParts<'_>> {
    let (rest, _) = tag(&b"ISA"[..])(input)?;
    let (rest, sep) = take(1usize)(rest)?;
    let sep = sep[0];
    let (rest, first) = take_till(|b| b == sep)(rest)?;
    let (rest, others) = count(preceded(tag(&[sep][..]), take_till(|b| b == sep)), 14)(rest)?;
    let (rest, _) = tag(&[sep][..])(rest)?;
    let (rest, isa16) = take(1usize)(rest)?;
    let (rest, term) = take(1usize)(rest)?;
    let mut fields = Vec::with_capacity(15);
    fields.push(first);
    fields.extend(others);
    Ok((rest, (sep, fields, isa16[0], term[0])))
}

/// Text of a fixed-width field, one character per byte (anything but printable ASCII becomes `?`),
/// so widths are kept.
fn ascii(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if (b' '..=b'~').contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

/// Reads an ISA from the start of `input` (which must begin with `ISA`).
///
/// `at_eof` says whether more bytes can follow; without it a short input is
/// [`IsaError::Incomplete`]. Fields are split on the element separator, so a
/// header whose fields have the wrong widths is still read; [`IsaHeader::check`]
/// then says what is wrong.
pub fn parse_isa(input: &[u8], at_eof: bool) -> Result<IsaHeader, IsaError> {
    let window = &input[..input.len().min(ISA_SCAN_LIMIT)];
    match isa_parts(window) {
        Ok((rest, (sep, parts, isa16, term))) => {
            let len = window.len() - rest.len();
            let mut fields: [String; 16] = Default::default();
            for (slot, part) in fields.iter_mut().zip(parts.iter()) {
                *slot = ascii(part);
            }
            fields[15] = ascii(&[isa16]);
            let isa11 = parts.get(10).copied().unwrap_or_default();
            let repetition = match isa11 {
                [b] if !b.is_ascii_alphanumeric() => Some(*b),
                _ => None,
            };
            Ok(IsaHeader {
                fields,
                delimiters: Delimiters {
                    element: sep,
                    repetition,
                    component: isa16,
                    segment: term,
                },
                len,
            })
        }
        Err(nom::Err::Incomplete(_)) => Err(IsaError::Incomplete),
        Err(_) if !at_eof && input.len() < ISA_SCAN_LIMIT => Err(IsaError::Incomplete),
        Err(_) => Err(IsaError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const GOOD: &[u8] = b"ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *251215*1200*^*00501*000000001*0*T*:~";

    #[test]
    fn reads_a_standard_header() {
        assert_eq!(GOOD.len(), ISA_LEN);
        let isa = parse_isa(GOOD, true).expect("parses");
        assert_eq!(isa.len, ISA_LEN);
        assert_eq!(isa.delimiters, Delimiters::STANDARD);
        assert_eq!(isa.control(), "000000001");
        assert_eq!(isa.sender(), ("ZZ", "SUBMITTER"));
        assert_eq!(isa.receiver(), ("ZZ", "RECEIVER"));
        assert!(isa.check().is_empty(), "{:?}", isa.check());
    }

    #[test]
    fn takes_any_delimiters() {
        let odd: Vec<u8> = GOOD
            .iter()
            .map(|&b| match b {
                b'*' => b'|',
                b'^' => b'{',
                b':' => b'}',
                b'~' => b'\n',
                b => b,
            })
            .collect();
        let isa = parse_isa(&odd, true).expect("parses");
        assert_eq!(
            isa.delimiters,
            Delimiters {
                element: b'|',
                repetition: Some(b'{'),
                component: b'}',
                segment: b'\n'
            }
        );
        assert!(isa.check().is_empty());
    }

    #[test]
    fn wrong_widths_are_read_and_reported() {
        let long = String::from_utf8_lossy(GOOD).replace("SUBMITTER      ", "SUBMITTER");
        let isa = parse_isa(long.as_bytes(), true).expect("still splits");
        assert_eq!(isa.len, 100);
        let faults = isa.check();
        assert_eq!(faults[0].code, "006");
        assert_eq!(faults[0].element, 6);
    }

    #[test]
    fn version_and_fields_are_checked() {
        let text = String::from_utf8_lossy(GOOD)
            .replace("00501", "00401")
            .replace("*0*T*", "*2*X*");
        let isa = parse_isa(text.as_bytes(), true).expect("parses");
        let codes: Vec<_> = isa.check().iter().map(|f| f.code).collect();
        assert_eq!(codes, ["003", "019", "020"]);
    }

    #[test]
    fn short_input_needs_more_or_is_malformed_at_eof() {
        assert_eq!(parse_isa(&GOOD[..50], false), Err(IsaError::Incomplete));
        assert_eq!(parse_isa(&GOOD[..50], true), Err(IsaError::Malformed));
        assert_eq!(parse_isa(b"ISA", true), Err(IsaError::Malformed));
    }

    #[test]
    fn dates_and_times() {
        assert!(valid_yymmdd("240229"));
        assert!(!valid_yymmdd("230229"));
        assert!(!valid_yymmdd("251301"));
        assert!(valid_hhmm("2359"));
        assert!(!valid_hhmm("2460"));
    }
}
