//! The loop walker (grammar validation) and the claim batcher: the pipeline without the edit
//! engine, every claim handed out in batches and read through every accessor.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scrub837::claim::{ClaimBatch, ClaimView};
use scrub837::pipeline::scrub_reader_with_claims;
use scrub837::x12::ControlNumbers;

#[path = "common.rs"]
mod common;
use common::{settings, Chunked};

fuzz_target!(|data: &[u8]| {
    let s = settings(64, false);
    let mut seen = 0u64;
    let mut on_batch = |b: ClaimBatch| {
        for c in ClaimView::all(&b) {
            seen += 1;
            let _ = (c.id(), c.charge(), c.facility_code(), c.frequency_code());
            let _ = (c.place_of_service(), c.type_of_bill(), c.reference(b"G1"));
            let _ = (c.diagnoses(), c.statement_dates(), c.billing_provider());
            let _ = (c.provider(b"82"), c.subscriber(), c.patient(), c.payer());
            for l in c.lines() {
                let _ = (l.number(), l.procedure(), l.revenue_code(), l.charge());
                let _ = (l.unit_basis(), l.units(), l.place_of_service());
                let _ = (l.diagnosis_pointers(), l.service_dates(), l.reference(b"6R"));
                let _ = l.rendering_provider();
            }
        }
        Some(b)
    };
    let scrubbed = scrub_reader_with_claims(
        Chunked { inner: data, chunk: 64 },
        &s,
        &mut ControlNumbers::starting_at(1),
        &mut |_| {},
        Some(&mut on_batch),
    )
    .expect("reading memory cannot fail");
    assert_eq!(scrubbed.bytes, data.len() as u64, "not every byte read");
    assert_eq!(scrubbed.claims.read, seen, "claims read vs claims handed out");
    assert!(scrubbed.claims.rejected <= scrubbed.claims.read);
});
