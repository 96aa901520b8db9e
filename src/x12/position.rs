//! Where a problem sits: byte offset, segment ordinal, position inside ST…SE, element.

use std::fmt;

/// The location of a segment (and optionally one element of it) in an input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Position {
    /// Absolute byte offset of the segment's first byte in the input.
    pub byte: u64,
    /// 1-based ordinal of the segment in the input (ISA of the first interchange = 1).
    pub segment: u64,
    /// 1-based position inside ST…SE, counted as SE01 counts (ST = 1); `None` outside a transaction set.
    pub in_transaction: Option<u32>,
    /// The element (and component, repetition) the problem is about, when there is one.
    pub element: Option<ElementRef>,
}

/// A segment id of two or three characters, stored inline (so positions are `Copy`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SegmentId([u8; 3]);

impl SegmentId {
    /// The id from text; only the first three bytes are kept.
    pub fn new(id: &str) -> Self {
        let mut b = [0u8; 3];
        for (slot, byte) in b.iter_mut().zip(id.bytes()) {
            *slot = byte;
        }
        SegmentId(b)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(3);
        std::str::from_utf8(&self.0[..len]).unwrap_or("???")
    }
}

impl fmt::Debug for SegmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for SegmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An element reference such as `SE01`, `CLM05-2` or `HI01-2` in the third repetition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ElementRef {
    /// Segment id, e.g. `SE`.
    pub segment_id: SegmentId,
    /// 1-based element position.
    pub element: u16,
    /// 1-based component position inside a composite.
    pub component: Option<u16>,
    /// 1-based repetition number.
    pub repetition: Option<u16>,
}

impl ElementRef {
    /// A reference to element `element` of segment `segment_id`.
    pub fn new(segment_id: &str, element: u16) -> Self {
        ElementRef {
            segment_id: SegmentId::new(segment_id),
            element,
            component: None,
            repetition: None,
        }
    }

    /// The same reference narrowed to one component.
    pub fn component(mut self, component: u16) -> Self {
        self.component = Some(component);
        self
    }
}

impl fmt::Display for ElementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:02}", self.segment_id, self.element)?;
        if let Some(c) = self.component {
            write!(f, "-{c}")?;
        }
        if let Some(r) = self.repetition {
            write!(f, " repetition {r}")?;
        }
        Ok(())
    }
}

impl Position {
    /// A position with no element.
    pub fn at(byte: u64, segment: u64, in_transaction: Option<u32>) -> Self {
        Position {
            byte,
            segment,
            in_transaction,
            element: None,
        }
    }

    /// The same position, narrowed to one element.
    pub fn with_element(&self, element: ElementRef) -> Self {
        Position {
            element: Some(element),
            ..*self
        }
    }
}

impl fmt::Display for Position {
    /// `segment 1234 (byte 56789, SE01)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "segment {} (byte {}", self.segment, self.byte)?;
        if let Some(e) = &self.element {
            write!(f, ", {e}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_the_error_lines() {
        let p = Position::at(56789, 1234, Some(40)).with_element(ElementRef::new("SE", 1));
        assert_eq!(p.to_string(), "segment 1234 (byte 56789, SE01)");
        let e = ElementRef::new("CLM", 5).component(2);
        assert_eq!(e.to_string(), "CLM05-2");
        assert_eq!(Position::at(0, 1, None).to_string(), "segment 1 (byte 0)");
    }
}
