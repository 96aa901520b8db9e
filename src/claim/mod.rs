//! The claim model: batches of whole claims (owned bytes) and typed, borrowed views of them.

pub mod batch;
pub mod values;
pub mod view;

pub use batch::{BatchBuilder, ClaimBatch, ClaimRec, Kind, Spares};
pub use values::{Date, DateRange, Money};
pub use view::{ClaimView, Diagnosis, LineView, Payer, Person, Procedure, Provider};
