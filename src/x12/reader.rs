//! The read loop: frames from a [`Framer`] fed to an [`EnvelopeChecker`] until the input ends.

use std::io::{self, Read};

use super::envelope::{EnvelopeChecker, EnvelopeSink, StreamTotals};
use super::framer::Framer;

/// Reads a whole input through the envelope checker, streaming events to `sink`.
///
/// Memory does not grow with the input: the framer's buffer is bounded by its
/// limits and the checker keeps only control numbers of the open structures.
pub fn check_stream<R: Read>(
    framer: &mut Framer<R>,
    checker: &mut EnvelopeChecker,
    sink: &mut impl EnvelopeSink,
) -> io::Result<StreamTotals> {
    loop {
        framer.drain_buffered(|bytes, offset, ordinal, delims| {
            checker.feed_segment(bytes, offset, ordinal, delims, sink)
        });
        match framer.next()? {
            Some(frame) => checker.feed(&frame, sink),
            None => return Ok(checker.finish(framer.offset(), framer.segments(), sink)),
        }
    }
}
