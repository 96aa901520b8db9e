//! Element rules of one segment: required, not used, repetitions, components, length, data
//! type (dates, times, numbers) and code values, reported with 999 IK4 codes.

use super::{DataType, Rule, Usage};
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
    if b.len() != 8 || !digits(b) {
        return false;
    }
    let n = |r: std::ops::Range<usize>| {
        b[r].iter()
            .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'))
    };
    let (y, m, d) = (n(0..4), n(4..6), n(6..8));
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
    for (i, edef) in rules.iter().enumerate().skip(present) {
        if edef.usage == Usage::R {
            out.push(issue(seg, edef, (i + 1) as u16, None, None, "1", None));
        }
    }
    // Dates whose format a qualifier names: DTP02 + DTP03, DMG01 + DMG02 (D8 / RD8).
    let dated = match seg.id() {
        b"DTP" => Some((2, 3)),
        b"DMG" => Some((1, 2)),
        _ => None,
    };
    if let Some((f, v)) = dated {
        let (format, value) = (split.value(f), split.value(v));
        let already = out.iter().any(|e| e.element.element as usize == v);
        if !value.is_empty() && !already && !valid_period(format, value) {
            if let Some(edef) = rules.get(v - 1) {
                out.push(issue(seg, edef, v as u16, None, None, "8", copy(value)));
            }
        }
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

    #[test]
    fn periods() {
        assert!(valid_period(b"D8", b"20261101"));
        assert!(!valid_period(b"D8", b"20261131"));
        assert!(valid_period(b"RD8", b"20261101-20261105"));
        assert!(!valid_period(b"RD8", b"20261105-20261101"));
        assert!(!valid_period(b"RD8", b"20261101"));
    }
}
