//! scrub837: a streaming ASC X12 837P/837I claim scrubber.
//!
//! Data flows one way: bytes → segments ([`x12::Framer`]) → envelopes
//! ([`x12::EnvelopeChecker`]) → acknowledgments ([`ack`]). See `ARCHITECTURE.md`.

pub mod x12;
