//! The four delimiters of one interchange, as its ISA declares them.

use std::fmt;

/// Element, repetition, component and segment delimiters.
///
/// They come from the ISA of each interchange (element separator = byte 3,
/// repetition separator = ISA11, component separator = ISA16, segment
/// terminator = the byte after ISA16); nothing in the crate assumes `*`, `^`,
/// `:` or `~` except [`Delimiters::STANDARD`], which the acknowledgment writers
/// use by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Delimiters {
    /// Separates elements (`*` in most files).
    pub element: u8,
    /// Separates repetitions of one element (`^`); `None` before 5010 (ISA11 was a standards id).
    pub repetition: Option<u8>,
    /// Separates components of a composite element (`:`).
    pub component: u8,
    /// Ends a segment (`~`).
    pub segment: u8,
}

/// Which delimiter is unusable, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DelimiterFault {
    /// The element separator is a letter, a digit or a space.
    Element,
    /// The component separator is a letter, a digit, a space, or equal to another delimiter.
    Component,
    /// The repetition separator is a letter, a digit, a space, or equal to another delimiter.
    Repetition,
    /// The segment terminator is a letter, a digit, a space, or equal to another delimiter.
    Segment,
}

impl Delimiters {
    /// `*`, `^`, `:` and `~`: what the acknowledgment writers use unless told otherwise.
    pub const STANDARD: Delimiters = Delimiters {
        element: b'*',
        repetition: Some(b'^'),
        component: b':',
        segment: b'~',
    };

    /// Checks that each delimiter can delimit: not alphanumeric, not a space,
    /// and distinct from the others. The first fault found is returned.
    pub fn check(&self) -> Result<(), DelimiterFault> {
        let unusable = |b: u8| b.is_ascii_alphanumeric() || b == b' ';
        if unusable(self.element) || self.element == b'\r' || self.element == b'\n' {
            return Err(DelimiterFault::Element);
        }
        if unusable(self.segment) || self.segment == self.element {
            return Err(DelimiterFault::Segment);
        }
        if unusable(self.component)
            || self.component == self.element
            || self.component == self.segment
            || self.component == b'\r'
            || self.component == b'\n'
        {
            return Err(DelimiterFault::Component);
        }
        if let Some(r) = self.repetition {
            if unusable(r)
                || r == self.element
                || r == self.segment
                || r == self.component
                || r == b'\r'
                || r == b'\n'
            {
                return Err(DelimiterFault::Repetition);
            }
        }
        Ok(())
    }

    /// True when `b` is one of the four delimiters.
    pub fn is_delimiter(&self, b: u8) -> bool {
        b == self.element || b == self.component || b == self.segment || Some(b) == self.repetition
    }
}

impl fmt::Display for DelimiterFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DelimiterFault::Element => "invalid element separator",
            DelimiterFault::Component => "invalid component separator (ISA16)",
            DelimiterFault::Repetition => "invalid repetition separator (ISA11)",
            DelimiterFault::Segment => "invalid segment terminator",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_delimiters_are_usable() {
        assert_eq!(Delimiters::STANDARD.check(), Ok(()));
    }

    #[test]
    fn alphanumeric_or_clashing_delimiters_are_refused() {
        let mut d = Delimiters::STANDARD;
        d.element = b'A';
        assert_eq!(d.check(), Err(DelimiterFault::Element));
        let mut d = Delimiters::STANDARD;
        d.component = b'*';
        assert_eq!(d.check(), Err(DelimiterFault::Component));
        let mut d = Delimiters::STANDARD;
        d.segment = b'*';
        assert_eq!(d.check(), Err(DelimiterFault::Segment));
        let mut d = Delimiters::STANDARD;
        d.repetition = Some(b':');
        assert_eq!(d.check(), Err(DelimiterFault::Repetition));
        let mut d = Delimiters::STANDARD;
        d.segment = b'\n';
        assert_eq!(d.check(), Ok(()), "a newline terminator is legal");
    }
}
