//! The X12 layer: delimiters, the ISA, segment framing, envelopes and the writer.
//!
//! It knows nothing of what an 837 is. Bytes go in through [`Framer`]; the
//! [`EnvelopeChecker`] turns frames into envelope events for an [`EnvelopeSink`].

pub mod delims;
pub mod envelope;
pub mod framer;
pub mod isa;
pub mod position;
pub mod reader;
pub mod segment;
pub mod writer;

pub use delims::Delimiters;
pub use envelope::{
    AckStatus, ElementError, EnvelopeChecker, EnvelopeConfig, EnvelopeSink, GroupHeader,
    GroupOutcome, InterchangeOutcome, Level, Problem, SegmentError, StreamTotals,
    TransactionHeader, TransactionOutcome,
};
pub use framer::{Frame, FrameKind, Framer, Limits};
pub use isa::IsaHeader;
pub use position::{ElementRef, Position};
pub use reader::check_stream;
pub use segment::{Element, Segment, Split, SplitTable};
pub use writer::{ControlNumbers, InterchangeEnvelope, X12Writer};
