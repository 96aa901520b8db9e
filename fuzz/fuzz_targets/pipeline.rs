//! The whole pipeline, edit engine included (bundled rule pack, on the reading thread), with
//! the invariants the robustness tests hold it to.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scrub837::pipeline::scrub_reader;
use scrub837::x12::{ControlNumbers, Level};

#[path = "common.rs"]
mod common;
use common::{settings, Chunked};

fn scrub(data: &[u8], chunk: usize) -> scrub837::pipeline::Scrubbed {
    let mut s = settings(chunk, true);
    // Inputs of odd length settle each claim as soon as the walker closes it (one-claim
    // batches, nothing held to the SE), so that path is fuzzed too.
    if data.len() % 2 == 1 {
        s.hold_bytes = 0;
        s.batch_claims = 1;
    }
    scrub_reader(
        Chunked { inner: data, chunk },
        &s,
        &mut ControlNumbers::starting_at(1),
        &mut |_| {},
    )
    .expect("reading memory cannot fail")
}

fuzz_target!(|data: &[u8]| {
    let s = scrub(data, 7);
    assert_eq!(s.bytes, data.len() as u64, "not every byte read");

    // claims.jsonl re-reads, one line per claim read, structural rejections carried over.
    let lines = scrub837::report::claims_jsonl::read_claims(&s.claims_jsonl[..])
        .unwrap_or_else(|e| panic!("claims.jsonl does not re-read: {e}"));
    assert_eq!(lines.len() as u64, s.claims.read, "claims.jsonl lines vs claims read");
    let rejected = lines.iter().filter(|c| c.status == "rejected").count() as u64;
    assert!(
        rejected >= s.claims.rejected,
        "{rejected} rejected lines < {} structurally rejected claims",
        s.claims.rejected
    );

    // Every 999 / TA1 written re-reads with a sound envelope and AK9 reconciled. (Segment-level
    // problems are allowed: AK1/AK2 echo the sender's GS06/GS08/ST02, which may be invalid.)
    for (name, ack) in [("999", &s.ack999), ("TA1", &s.ta1)] {
        if ack.is_empty() {
            continue;
        }
        let back = scrub837::ack::read::read_acks(ack);
        let envelope: Vec<_> = back
            .problems
            .iter()
            .filter(|p| p.level != Level::Segment)
            .collect();
        assert!(envelope.is_empty(), "{name} re-read: {envelope:?}");
        for a in &back.acks {
            if let Err(e) = a.reconcile() {
                panic!("{name} AK9 does not reconcile: {e}");
            }
        }
        if name == "TA1" {
            assert!(!back.ta1s.is_empty(), "TA1 output without a TA1");
        }
    }

    // The same bytes whatever the read size.
    let big = scrub(data, 64 << 10);
    assert!(big.claims_jsonl == s.claims_jsonl, "claims.jsonl depends on the read size");
    assert!(big.ack999 == s.ack999, "999 depends on the read size");
    assert!(big.ta1 == s.ta1, "TA1 depends on the read size");
});
