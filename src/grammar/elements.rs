//! Element rules of one segment: required, not used, repetitions, components, length, data
//! type (dates, times, numbers) and code values, reported with 999 IK4 codes.

use super::{pack_in, DataType, Rule, Usage};
use crate::x12::{Element, ElementError, ElementRef, Segment, Split};

/// The bad value, as IK404 carries it (at most 99 characters).
fn copy(value: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(value);
    Some(text.chars().take(99).collect())
}

fn digits(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(u8::is_ascii_digit)
}

/// CCYYMMDD, a real calendar date.
pub fn valid_date(b: &[u8]) -> bool {
    let Ok(w) = <[u8; 8]>::try_from(b) else {
        return false;
    };
    // Eight digits at once: each byte is 0x30..=0x3F, and stays below 0x40 when 6 is added.
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    let word = u64::from_le_bytes(w);
    if word & HIGH != ZEROS || word.wrapping_add(0x0606_0606_0606_0606) & HIGH != ZEROS {
        return false;
    }
    let [c1, c2, y1, y2, m1, m2, d1, d2] = w.map(|d| u32::from(d & 0x0F));
    let (y, m, d) = (
        c1 * 1000 + c2 * 100 + y1 * 10 + y2,
        m1 * 10 + m2,
        d1 * 10 + d2,
    );
    (1..=12).contains(&m) && d >= 1 && d <= crate::x12::isa::days_in_month(y, m)
}

/// HHMM, HHMMSS or HHMMSSd…d.
fn valid_time(b: &[u8]) -> bool {
    if b.len() < 4 || b.len() > 8 || !digits(b) {
        return false;
    }
    let n = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    n(0) < 24 && n(2) < 60 && (b.len() < 6 || n(4) < 60)
}

/// X12 type R: optional minus, digits with at most one decimal point; returns the digit count.
fn decimal_digits(b: &[u8]) -> Option<usize> {
    let body = b.strip_prefix(b"-").unwrap_or(b);
    let mut points = 0;
    let mut count = 0;
    for &c in body {
        match c {
            b'0'..=b'9' => count += 1,
            b'.' => points += 1,
            _ => return None,
        }
    }
    (count > 0 && points <= 1).then_some(count)
}

/// X12 type N0…N9: optional minus and digits; returns the digit count.
fn integer_digits(b: &[u8]) -> Option<usize> {
    let body = b.strip_prefix(b"-").unwrap_or(b);
    digits(body).then_some(body.len())
}

/// Checks one simple value against its rule; returns the IK403 code of the first fault.
#[inline]
pub fn check_value(value: &[u8], rule: &Rule) -> Option<&'static str> {
    let len = match rule.data_type {
        DataType::Text => value.len(),
        DataType::Decimal => match decimal_digits(value) {
            Some(n) => n,
            None => return Some("6"),
        },
        DataType::Integer => match integer_digits(value) {
            Some(n) => n,
            None => return Some("6"),
        },
        DataType::Date => {
            let ok = match value.len() {
                8 => valid_date(value),
                6 => valid_date(&[b"20", value].concat()),
                _ => false,
            };
            if !ok {
                return Some("8");
            }
            value.len()
        }
        DataType::Time => {
            if !valid_time(value) {
                return Some("9");
            }
            value.len()
        }
    } as u32;
    if len < rule.min_len {
        return Some("4");
    }
    if rule.max_len > 0 && len > rule.max_len {
        return Some("5");
    }
    if let Some(codes) = &rule.codes {
        if !codes.contains(value) {
            return Some("7");
        }
    }
    None
}

/// A date in DTP03 (or similar) written in the format its qualifier names: `D8` CCYYMMDD,
/// `RD8` CCYYMMDD-CCYYMMDD with from ≤ thru.
#[inline]
pub fn valid_period(format: &[u8], value: &[u8]) -> bool {
    match format {
        b"D8" => valid_date(value),
        b"RD8" => match value.iter().position(|&b| b == b'-') {
            Some(i) => {
                let (from, thru) = (&value[..i], &value[i + 1..]);
                valid_date(from) && valid_date(thru) && from <= thru
            }
            None => false,
        },
        _ => true,
    }
}

fn issue(
    seg: &Segment<'_>,
    def: &Rule,
    position: u16,
    component: Option<u16>,
    repetition: Option<u16>,
    code: &'static str,
    value: Option<String>,
) -> ElementError {
    ElementError {
        element: ElementRef {
            segment_id: crate::x12::position::SegmentId::new(seg.id_str()),
            element: position,
            component,
            repetition,
        },
        reference: def.reference,
        code,
        value,
    }
}

fn check_one(
    seg: &Segment<'_>,
    value: Element<'_>,
    def: &Rule,
    position: u16,
    repetition: Option<u16>,
    out: &mut Vec<ElementError>,
) {
    match &def.components {
        Some(components) => {
            let count = value.components().count();
            if count > components.len() {
                out.push(issue(
                    seg,
                    def,
                    position,
                    Some(components.len() as u16 + 1),
                    repetition,
                    "13",
                    copy(value.as_bytes()),
                ));
            }
            for (j, (part, cdef)) in value.components().zip(components).enumerate() {
                let c = Some(j as u16 + 1);
                if part.is_empty() {
                    if cdef.usage == Usage::R {
                        out.push(issue(seg, cdef, position, c, repetition, "1", None));
                    }
                } else if cdef.usage == Usage::N {
                    out.push(issue(seg, cdef, position, c, repetition, "I10", copy(part)));
                } else if let Some(code) = check_value(part, cdef) {
                    out.push(issue(seg, cdef, position, c, repetition, code, copy(part)));
                }
            }
            for (j, cdef) in components.iter().enumerate().skip(count) {
                if cdef.usage == Usage::R {
                    out.push(issue(
                        seg,
                        cdef,
                        position,
                        Some(j as u16 + 1),
                        repetition,
                        "1",
                        None,
                    ));
                }
            }
        }
        None => {
            let d = seg.delimiters();
            if value.as_bytes().contains(&d.component) {
                // A composite where a simple element belongs.
                out.push(issue(
                    seg,
                    def,
                    position,
                    None,
                    repetition,
                    "6",
                    copy(value.as_bytes()),
                ));
            } else if let Some(code) = check_value(value.as_bytes(), def) {
                out.push(issue(
                    seg,
                    def,
                    position,
                    None,
                    repetition,
                    code,
                    copy(value.as_bytes()),
                ));
            }
        }
    }
}

/// Checks one present, used element (`value`, at `position`) against its rule: repetitions,
/// components, type, length and codes.
fn check_element(
    seg: &Segment<'_>,
    value: Element<'_>,
    edef: &Rule,
    position: u16,
    out: &mut Vec<ElementError>,
) {
    let repeats = edef.repeat.is_none_or(|r| r > 1);
    if repeats {
        let mut n = 0u32;
        for (r, rep) in value.repetitions().enumerate() {
            n += 1;
            check_one(seg, rep, edef, position, Some(r as u16 + 1), out);
        }
        if edef.repeat.is_some_and(|max| n > max) {
            out.push(issue(seg, edef, position, None, None, "12", None));
        }
    } else if seg
        .delimiters()
        .repetition
        .is_some_and(|r| value.as_bytes().contains(&r))
    {
        out.push(issue(
            seg,
            edef,
            position,
            None,
            None,
            "12",
            copy(value.as_bytes()),
        ));
    } else {
        check_one(seg, value, edef, position, None, out);
    }
}

/// Checks element `position` (1-based) holding `value` against `rules`; the common start of
/// both element loops (missing rule, empty, not used).
#[inline]
fn check_at(
    seg: &Segment<'_>,
    value: Element<'_>,
    rules: &[Rule],
    position: u16,
    simple: bool,
    out: &mut Vec<ElementError>,
) {
    let Some(edef) = rules.get(position as usize - 1) else {
        if !value.is_empty() {
            out.push(ElementError {
                element: ElementRef::new(seg.id_str(), position),
                reference: None,
                code: "3",
                value: copy(value.as_bytes()),
            });
        }
        return;
    };
    if value.is_empty() {
        if edef.usage == Usage::R {
            out.push(issue(seg, edef, position, None, None, "1", None));
        }
        return;
    }
    if edef.usage == Usage::N {
        out.push(issue(
            seg,
            edef,
            position,
            None,
            None,
            "I10",
            copy(value.as_bytes()),
        ));
        return;
    }
    // The common case: one simple value where one simple value belongs.
    if simple && edef.components.is_none() && edef.repeat.is_some_and(|r| r <= 1) {
        if let Some(code) = check_value(value.as_bytes(), edef) {
            out.push(issue(
                seg,
                edef,
                position,
                None,
                None,
                code,
                copy(value.as_bytes()),
            ));
        }
        return;
    }
    check_element(seg, value, edef, position, out);
}

/// How the compiled check reads one value (see [`Op`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Compared by length (and codes) only.
    Text,
    /// X12 type R.
    Decimal,
    /// X12 types N0…N9.
    Integer,
    /// CCYYMMDD (a six-digit date goes to the full check).
    Date,
    /// HHMM[SS[d…]].
    Time,
    /// Components, each with its own op.
    Composite,
    /// Always the full check.
    Full,
}

/// One element (or component) rule compiled for the quick check: a plain record read in one
/// loop, with its codes packed in its [`Program`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Op {
    kind: Kind,
    required: bool,
    not_used: bool,
    min: u32,
    /// `u32::MAX` when the guide gives none.
    max: u32,
    /// Its code list in [`Program::codes`] (`codes_len` 0: none).
    codes_start: u32,
    codes_len: u32,
    /// A composite's component ops in [`Program::parts`].
    parts_start: u32,
    parts_len: u32,
    /// A composite: bit `j` when component `j + 1` is required.
    required_parts: u32,
}

/// A segment's element rules compiled once, at grammar load, into flat ops: the quick check
/// ([`check_compiled`]) clears the values that are plainly valid in one tight loop and hands
/// any other element to the full check ([`check_at`]), which then reports exactly what the
/// element-by-element path reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Program {
    ops: Vec<Op>,
    parts: Vec<Op>,
    /// Packed code values (see [`super::pack`]), each list sorted.
    codes: Vec<u64>,
    /// Position of the last required element (0 when none).
    last_required: usize,
    /// Bit `i`: element `i + 1` is required (for the first 32 elements).
    required_bits: u32,
    /// Bit `i`: element `i + 1` is not used.
    not_used_bits: u32,
    /// Bit `i`: element `i + 1` is a composite the quick check reads.
    composite_bits: u32,
    /// Format and value positions of a date whose format a qualifier names (DTP, DMG).
    dated: Option<(usize, usize)>,
}

impl Program {
    /// Compiles the rules of segment `id`.
    pub fn new(id: &str, rules: &[Rule]) -> Program {
        let mut p = Program {
            dated: dated(id.as_bytes()),
            last_required: rules
                .iter()
                .rposition(|r| r.usage == Usage::R)
                .map_or(0, |i| i + 1),
            ..Program::default()
        };
        p.ops = rules.iter().map(|r| p.op(r)).collect();
        for (i, op) in p.ops.iter().enumerate().take(32) {
            p.required_bits |= u32::from(op.required) << i;
            p.not_used_bits |= u32::from(op.not_used) << i;
            p.composite_bits |= u32::from(op.kind == Kind::Composite) << i;
        }
        p
    }

    fn op(&mut self, rule: &Rule) -> Op {
        let mut op = Op {
            kind: match rule.data_type {
                DataType::Text => Kind::Text,
                DataType::Decimal => Kind::Decimal,
                DataType::Integer => Kind::Integer,
                DataType::Date => Kind::Date,
                DataType::Time => Kind::Time,
            },
            required: rule.usage == Usage::R,
            not_used: rule.usage == Usage::N,
            min: rule.min_len,
            max: if rule.max_len > 0 {
                rule.max_len
            } else {
                u32::MAX
            },
            codes_start: 0,
            codes_len: 0,
            parts_start: 0,
            parts_len: 0,
            required_parts: 0,
        };
        if let Some(codes) = &rule.codes {
            op.codes_start = self.codes.len() as u32;
            op.codes_len = codes.packed.len() as u32;
            self.codes.extend_from_slice(&codes.packed);
            if codes.packed.is_empty() {
                // Only codes longer than packing holds: the full check compares them.
                op.kind = Kind::Full;
            }
        }
        if let Some(components) = &rule.components {
            op.kind = Kind::Composite;
            let simple = |c: &Rule| c.components.is_none();
            if components.len() >= 32 || !components.iter().all(simple) {
                op.kind = Kind::Full;
                return op;
            }
            let parts: Vec<Op> = components.iter().map(|c| self.op(c)).collect();
            op.parts_start = self.parts.len() as u32;
            op.parts_len = parts.len() as u32;
            op.required_parts = components
                .iter()
                .enumerate()
                .filter(|(_, c)| c.usage == Usage::R)
                .fold(0, |m, (j, _)| m | 1 << j);
            self.parts.extend(parts);
        }
        op
    }

    /// Whether the simple value `bytes[start..end]` (not empty, no separator) passes `op` for
    /// sure.
    #[inline(always)]
    fn value_ok(&self, bytes: &[u8], start: usize, end: usize, op: &Op) -> bool {
        let len = if op.kind == Kind::Text {
            end.wrapping_sub(start)
        } else {
            match bytes.get(start..end).and_then(|v| typed_len(v, op.kind)) {
                Some(n) => n,
                None => return false,
            }
        };
        if len < op.min as usize || len > op.max as usize {
            return false;
        }
        op.codes_len == 0 || self.has_code(pack_in(bytes, start, end), op)
    }

    /// Whether the packed value `p` is in `op`'s code list.
    #[inline]
    fn has_code(&self, p: Option<u64>, op: &Op) -> bool {
        let (start, end) = (
            op.codes_start as usize,
            op.codes_start as usize + op.codes_len as usize,
        );
        match (p, self.codes.get(start..end)) {
            (Some(p), Some([code])) => *code == p,
            (Some(p), Some(codes)) if codes.len() <= 8 => codes.contains(&p),
            (Some(p), Some(codes)) => codes.binary_search(&p).is_ok(),
            _ => false,
        }
    }

    /// Whether the composite value `v` (not empty, no repetition separator) passes `op` for sure.
    #[inline(never)]
    fn composite_ok(&self, v: &[u8], op: &Op, component: u8) -> bool {
        let first = op.parts_start as usize;
        let Some(parts) = self.parts.get(first..first + op.parts_len as usize) else {
            return false;
        };
        let mut count = 0usize;
        let mut start = 0usize;
        for part in v.split(|&b| b == component) {
            let Some(pop) = parts.get(count) else {
                return false;
            };
            count += 1;
            let end = start + part.len();
            let ok = if part.is_empty() {
                !pop.required
            } else {
                !pop.not_used && self.value_ok(v, start, end, pop)
            };
            if !ok {
                return false;
            }
            start = end + 1;
        }
        // `count` is at least 1 and below 32 here.
        op.required_parts >> count == 0
    }
}

/// The length [`check_value`] compares for a typed (not text) value, when the value is valid
/// for its type (a six-digit date is left to the full check).
#[inline(never)]
fn typed_len(v: &[u8], kind: Kind) -> Option<usize> {
    match kind {
        Kind::Decimal => decimal_digits(v),
        Kind::Integer => integer_digits(v),
        Kind::Date if v.len() == 8 && valid_date(v) => Some(8),
        Kind::Time if valid_time(v) => Some(v.len()),
        _ => None,
    }
}

/// The qualifier and value positions of a date in a qualifier-named format.
fn dated(id: &[u8]) -> Option<(usize, usize)> {
    match id {
        b"DTP" => Some((2, 3)),
        b"DMG" => Some((1, 2)),
        _ => None,
    }
}

// `check_compiled` keeps one bit per held element in a `u32`.
const _: () = assert!(Split::MAX <= 32);

/// [`check_split`] with the segment's compiled [`Program`]: the same errors, in the same order.
pub fn check_compiled(
    seg: &Segment<'_>,
    split: &Split<'_>,
    program: &Program,
    rules: &[Rule],
    out: &mut Vec<ElementError>,
) {
    if split.truncated() {
        return check_split(seg, split, rules, out);
    }
    let component = seg.delimiters().component;
    let (bytes, ends) = (split.bytes(), split.ends());
    // Bit `i`: element `i + 1` is not empty; needs the full check (`Split::MAX` ≤ 32 here).
    let (mut present, mut unclear) = (0u32, 0u32);
    let mut start = 0usize;
    for (i, (&end, op)) in ends.iter().zip(&program.ops).enumerate() {
        let (at, end) = (start, end as usize);
        start = end + 1;
        if end == at {
            continue;
        }
        present |= 1 << i;
        let ok = match op.kind {
            Kind::Text if op.codes_len == 0 => {
                let len = end.wrapping_sub(at);
                len >= op.min as usize && len <= op.max as usize
            }
            Kind::Composite => bytes
                .get(at..end)
                .is_some_and(|v| program.composite_ok(v, op, component)),
            _ => program.value_ok(bytes, at, end, op),
        };
        unclear |= u32::from(!ok) << i;
    }
    // Elements past the rules: any value is an error.
    for i in program.ops.len()..ends.len() {
        let start = if i == 0 { 0 } else { ends[i - 1] as usize + 1 };
        unclear |= u32::from(ends[i] as usize != start) << i;
    }
    // Required but empty; not used but present; a repetition or a stray component separator.
    let held = (1u64 << ends.len()).wrapping_sub(1) as u32;
    unclear |= !present & held & program.required_bits
        | present & program.not_used_bits
        | split.repeated_bits()
        | split.composite_bits() & !program.composite_bits;
    while unclear != 0 {
        let i = unclear.trailing_zeros() as usize;
        unclear &= unclear - 1;
        full_check(seg, split, rules, i + 1, out);
    }
    if split.len() < program.last_required {
        missing_required(seg, rules, split.len(), out);
    }
    if let Some((f, v)) = program.dated {
        check_period(seg, split, rules, f, v, out);
    }
}

/// The full check of element `n`, for what the quick check did not clear.
#[cold]
#[inline(never)]
fn full_check(
    seg: &Segment<'_>,
    split: &Split<'_>,
    rules: &[Rule],
    n: usize,
    out: &mut Vec<ElementError>,
) {
    if let Some(value) = split.element(n) {
        check_at(seg, value, rules, n as u16, !split.compound(n), out);
    }
}

/// Required elements past the `present` ones.
#[cold]
fn missing_required(
    seg: &Segment<'_>,
    rules: &[Rule],
    present: usize,
    out: &mut Vec<ElementError>,
) {
    for (i, edef) in rules.iter().enumerate().skip(present) {
        if edef.usage == Usage::R {
            out.push(issue(seg, edef, (i + 1) as u16, None, None, "1", None));
        }
    }
}

/// A date in the format its qualifier (element `f`) names, in element `v` (unless `v` already
/// has an error).
#[inline]
fn check_period(
    seg: &Segment<'_>,
    split: &Split<'_>,
    rules: &[Rule],
    f: usize,
    v: usize,
    out: &mut Vec<ElementError>,
) {
    let (format, value) = (split.value(f), split.value(v));
    if value.is_empty() || valid_period(format, value) {
        return;
    }
    let already = out.iter().any(|e| e.element.element as usize == v);
    if !already {
        if let Some(edef) = rules.get(v - 1) {
            out.push(issue(seg, edef, v as u16, None, None, "8", copy(value)));
        }
    }
}

/// Checks every element of `seg` against its `rules` (by position), appending IK4 errors to `out`.
pub fn check_segment(seg: &Segment<'_>, rules: &[Rule], out: &mut Vec<ElementError>) {
    check_split(seg, &seg.split(), rules, out)
}

/// [`check_segment`] with the segment already split.
pub fn check_split(
    seg: &Segment<'_>,
    split: &Split<'_>,
    rules: &[Rule],
    out: &mut Vec<ElementError>,
) {
    check_with(seg, split, !split.truncated(), rules, out)
}

/// The element loop: by the split's offsets and separator flags (`fast`), or by the element
/// iterator, which handles any number of elements; both find the same errors.
fn check_with(
    seg: &Segment<'_>,
    split: &Split<'_>,
    fast: bool,
    rules: &[Rule],
    out: &mut Vec<ElementError>,
) {
    let present = if !fast {
        // Past what a split holds: the element iterator, one scan per element.
        let mut present = 0usize;
        for (i, value) in seg.elements().enumerate() {
            present = i + 1;
            check_at(seg, value, rules, (i + 1) as u16, false, out);
        }
        present
    } else {
        for n in 1..=split.len() {
            let Some(value) = split.element(n) else {
                continue;
            };
            check_at(seg, value, rules, n as u16, !split.compound(n), out);
        }
        split.len()
    };
    missing_required(seg, rules, present, out);
    // Dates whose format a qualifier names: DTP02 + DTP03, DMG01 + DMG02 (D8 / RD8).
    if let Some((f, v)) = dated(seg.id()) {
        check_period(seg, split, rules, f, v, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_by_type() {
        let def = |ty: &str, min: u32, max: u32| super::super::ElementDef {
            reference: "X01".into(),
            name: String::new(),
            data_ele: "1".into(),
            usage: Usage::R,
            data_type: Some(ty.into()),
            min_len: Some(min),
            max_len: Some(max),
            repeat: Some(1),
            codes: None,
            external_codes: None,
            pattern: None,
            components: None,
        };
        let rule = |ty: &str, min: u32, max: u32| Rule::new(&def(ty, min, max));
        assert_eq!(check_value(b"20260229", &rule("DT", 8, 8)), Some("8"));
        assert_eq!(check_value(b"20280229", &rule("DT", 8, 8)), None);
        assert_eq!(check_value(b"2360", &rule("TM", 4, 8)), Some("9"));
        assert_eq!(check_value(b"-12.50", &rule("R", 1, 18)), None);
        assert_eq!(check_value(b"1.2.3", &rule("R", 1, 18)), Some("6"));
        assert_eq!(check_value(b"12a", &rule("N0", 1, 15)), Some("6"));
        assert_eq!(check_value(b"A", &rule("AN", 2, 3)), Some("4"));
        assert_eq!(check_value(b"ABCD", &rule("AN", 2, 3)), Some("5"));
        let mut coded = def("ID", 2, 2);
        coded.codes = Some(vec!["85".into()]);
        assert_eq!(check_value(b"87", &Rule::new(&coded)), Some("7"));
        assert_eq!(check_value(b"85", &Rule::new(&coded)), None);
    }

    proptest::proptest! {
        /// The split's fast path finds exactly what the element-by-element path finds, for
        /// every segment of the 837P guide filled with arbitrary values and separators.
        #[test]
        fn fast_path_agrees_with_the_element_iterator(
            which in 0usize..1000,
            body in "[A-Z0-9*:^.\\-]{0,60}",
        ) {
            static G: std::sync::OnceLock<crate::grammar::Grammar> = std::sync::OnceLock::new();
            let g = G.get_or_init(|| {
                crate::grammar::Grammar::embedded("837P.json")
                    .expect("bundled")
                    .expect("loads")
            });
            let seg_def = &g.segments[which % g.segments.len()];
            let raw = format!("{}*{body}", seg_def.def.id);
            let d = crate::x12::Delimiters::STANDARD;
            let seg = Segment::parse(raw.as_bytes(), d).expect("id is valid");
            let split = seg.split();
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            check_with(&seg, &split, true, &seg_def.rules, &mut fast);
            check_with(&seg, &split, false, &seg_def.rules, &mut slow);
            proptest::prop_assert_eq!(fast, slow);
        }
    }

    /// A value for `def` picked by `how`: mostly a valid one (a listed code, or digits of a
    /// valid length and type), sometimes empty, free text, a typed value of any type, or one with
    /// stray separators.
    fn value_for(def: &super::super::ElementDef, how: u8, n: u16, text: &str) -> String {
        let codes = def.codes.as_deref().unwrap_or_default();
        let (min, max) = (def.min_len.unwrap_or(1), def.max_len.unwrap_or(9).max(1));
        let digits = |n: u16| -> String {
            let len = (min + u32::from(n) % (max - min.min(max) + 1)).clamp(1, 30);
            (0..len)
                .map(|i| char::from(b'1' + (i as u8).wrapping_mul(7).wrapping_add(n as u8) % 9))
                .collect()
        };
        let valid = |n: u16| -> String {
            if !codes.is_empty() {
                return codes[n as usize % codes.len()].clone();
            }
            match def.data_type.as_deref() {
                Some("DT") => "20250816".into(),
                Some("TM") => "1200".into(),
                Some("R") => ["12.5", "-3", "100"][n as usize % 3].into(),
                _ => digits(n),
            }
        };
        match how % 16 {
            0 => String::new(),
            12 => text.to_owned(),
            13 => [
                "20250816", "250816", "1200", "235960", "-12.50", "1.2.3", "7", "N",
            ][n as usize % 8]
                .to_owned(),
            14 => format!("{}^{}", valid(n), text),
            15 => format!("{}:{}", text, valid(n)),
            _ => valid(n),
        }
    }

    proptest::proptest! {
        /// The compiled check finds exactly what the element-by-element path finds, for every
        /// segment of both claim guides filled with mostly plausible values (codes from the
        /// guide, digits of a valid length, composites built part by part) and some that are not.
        #[test]
        fn compiled_check_agrees_with_the_element_iterator(
            which in 0usize..1000,
            guide in proptest::bool::ANY,
            picks in proptest::collection::vec(
                (proptest::num::u8::ANY, proptest::num::u16::ANY, "[A-Z0-9 .\\-]{0,10}"),
                0..28,
            ),
            parts in proptest::collection::vec((proptest::num::u8::ANY, proptest::num::u16::ANY), 0..6),
            noisy in proptest::bool::ANY,
        ) {
            // Without noise every element gets a valid value, or none when it is not required.
            let pick = |def: &super::super::ElementDef, how: u8| match def.usage {
                _ if noisy => how,
                Usage::N => 0,
                Usage::S if how % 3 == 0 => 0,
                _ => 1,
            };
            static G: std::sync::OnceLock<[crate::grammar::Grammar; 2]> = std::sync::OnceLock::new();
            let g = G.get_or_init(|| {
                ["837P.json", "837I.json"].map(|n| {
                    crate::grammar::Grammar::embedded(n).expect("bundled").expect("loads")
                })
            });
            let g = &g[usize::from(guide)];
            let seg_def = &g.segments[which % g.segments.len()];
            let mut raw = seg_def.def.id.clone();
            // Mostly no more elements than the guide has.
            let count = match which % 4 {
                0 => picks.len(),
                _ => picks.len().min(seg_def.def.elements.len()),
            };
            for (i, (how, n, text)) in picks.iter().enumerate().take(count) {
                raw.push('*');
                let Some(def) = seg_def.def.elements.get(i) else {
                    raw.push_str(&value_for(&seg_def.def.elements[0], *how, *n, text));
                    continue;
                };
                let how = pick(def, *how);
                match &def.components {
                    Some(components) if how % 16 != 12 && how != 0 => {
                        let values: Vec<String> = components
                            .iter()
                            .zip(parts.iter().chain(std::iter::repeat(&(1, 0))))
                            .map(|(c, (h, m))| value_for(c, pick(c, *h), *m, text))
                            .take(match noisy {
                                true => 1 + usize::from(how / 16) % (components.len() + 1),
                                false => components.len(),
                            })
                            .collect();
                        raw.push_str(values.join(":").trim_end_matches(':'));
                    }
                    _ => raw.push_str(&value_for(def, how, *n, text)),
                }
            }
            let d = crate::x12::Delimiters::STANDARD;
            let seg = Segment::parse(raw.as_bytes(), d).expect("id is valid");
            let split = seg.split();
            let (mut compiled, mut slow) = (Vec::new(), Vec::new());
            check_compiled(&seg, &split, &seg_def.program, &seg_def.rules, &mut compiled);
            check_with(&seg, &split, false, &seg_def.rules, &mut slow);
            proptest::prop_assert_eq!(compiled, slow, "{}", raw);
        }
    }

    #[test]
    fn compiled_check_clears_a_clean_claim() {
        let g = crate::grammar::Grammar::embedded("837P.json")
            .expect("bundled")
            .expect("loads");
        let clm = g.segments.iter().find(|s| s.def.id == "CLM").expect("CLM");
        let raw = b"CLM*S003P00000001*2526***24:B:1*Y*A*Y*Y";
        let seg = Segment::parse(raw, crate::x12::Delimiters::STANDARD).expect("id");
        let mut out = Vec::new();
        check_compiled(&seg, &seg.split(), &clm.program, &clm.rules, &mut out);
        assert!(out.is_empty(), "{out:?}");
        let bad = b"CLM*S003P00000001*25.2.6***99:B:1*Y*A*Y*Y*X*Y";
        let seg = Segment::parse(bad, crate::x12::Delimiters::STANDARD).expect("id");
        check_compiled(&seg, &seg.split(), &clm.program, &clm.rules, &mut out);
        let mut slow = Vec::new();
        check_segment(&seg, &clm.rules, &mut slow);
        assert!(!out.is_empty());
        assert_eq!(out, slow);
    }

    proptest::proptest! {
        /// The eight-at-once digit test agrees with a byte-by-byte reading of CCYYMMDD.
        #[test]
        fn valid_date_agrees_with_a_plain_reading(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => b'0'..=b'9',
                    1 => proptest::num::u8::ANY,
                ],
                0..10,
            ),
        ) {
            let plain = bytes.len() == 8 && bytes.iter().all(u8::is_ascii_digit) && {
                let n = |r: std::ops::Range<usize>| {
                    std::str::from_utf8(&bytes[r]).ok().and_then(|t| t.parse::<u32>().ok())
                };
                match (n(0..4), n(4..6), n(6..8)) {
                    (Some(y), Some(m), Some(d)) => {
                        (1..=12).contains(&m)
                            && d >= 1
                            && d <= crate::x12::isa::days_in_month(y, m)
                    }
                    _ => false,
                }
            };
            proptest::prop_assert_eq!(valid_date(&bytes), plain, "{:?}", bytes);
        }
    }

    #[test]
    fn periods() {
        assert!(valid_period(b"D8", b"20261101"));
        assert!(!valid_period(b"D8", b"20261131"));
        assert!(valid_period(b"RD8", b"20261101-20261105"));
        assert!(!valid_period(b"RD8", b"20261105-20261101"));
        assert!(!valid_period(b"RD8", b"20261101"));
    }
}
