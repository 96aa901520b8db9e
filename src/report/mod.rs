//! Claim-level outputs for machines and people: `NAME.claims.jsonl` (one line per claim read).

pub mod claims_jsonl;
pub mod html;
pub mod summary;
