//! The edit engine: rule packs (data) and check kinds (code) applied to claims on the
//! parallel stage, producing findings with catalogue ids and 277CA codes.

pub mod checks;
pub mod cms;
pub mod codes;
pub mod engine;
pub mod explain;
pub mod facts;
mod fields;
pub mod finding;
pub mod payer;
pub mod rules;
pub mod settler;
pub mod stage;

pub use engine::{Edited, Engine};
pub use finding::{Finding, Severity};
pub use rules::{RuleError, RuleSet};
