//! scrub837: a streaming ASC X12 837P/837I claim scrubber.
//!
//! Data flows one way: bytes → segments ([`x12::Framer`]) → envelopes
//! ([`x12::EnvelopeChecker`]) → acknowledgments ([`ack`]). See `ARCHITECTURE.md`.
//!
//! ```
//! use scrub837::x12::{check_stream, EnvelopeChecker, EnvelopeConfig, Framer};
//! use scrub837::ack::read::read_acks;
//!
//! let file = b"ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *251215*1200*^*00501*000000001*0*T*:~\
//! GS*HC*SUB*REC*20251215*1200*1*X*005010X222A1~ST*837*0001*005010X222A1~BHT*0019*00*1*20251215*1200*CH~\
//! SE*3*0001~GE*1*1~IEA*1*000000001~";
//! let mut framer = Framer::new(&file[..]);
//! let mut checker = EnvelopeChecker::new(EnvelopeConfig::default());
//! let totals = check_stream(&mut framer, &mut checker, &mut ()).unwrap();
//! assert_eq!((totals.interchanges, totals.groups, totals.transactions), (1, 1, 1));
//! assert_eq!(totals.transactions_rejected, 0);
//! # let _ = read_acks;
//! ```

pub mod ack;
pub mod benchmark;
pub mod claim;
pub mod cli;
pub mod clock;
pub mod digits;
pub mod edit;
pub mod error;
pub mod gen;
pub mod grammar;
pub mod history;
pub mod input;
pub mod memory;
pub mod pipeline;
pub mod report;
pub mod writeback;
pub mod x12;
