//! No input panics the program or grows memory without bound: arbitrary bytes, mutated
//! fixtures, a lone ISA, an empty input, and a 1 GiB segment.

mod common;

use std::io::{self, Read};

use common::{envelope_fixtures, grammars, scrub_bytes, settings, Chunked};
use proptest::prelude::*;
use scrub837::claim::{ClaimBatch, ClaimView};
use scrub837::x12::{check_stream, EnvelopeChecker, EnvelopeConfig, FrameKind, Framer, Limits};

const ISA: &[u8] = b"ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *251215*1200*^*00501*000000001*0*T*:~";

/// Drives the framer over `bytes` and returns its peak buffer size.
fn peak_buffer(bytes: &[u8], limits: Limits) -> usize {
    let mut framer = Framer::with_limits(
        Chunked {
            inner: bytes,
            chunk: 13,
        },
        limits,
    );
    let mut checker = EnvelopeChecker::new(EnvelopeConfig::default());
    check_stream(&mut framer, &mut checker, &mut ()).unwrap();
    framer.buffer_capacity()
}

fn mutate(mut bytes: Vec<u8>, edits: &[(u8, usize, u8)]) -> Vec<u8> {
    for &(op, at, value) in edits {
        if bytes.is_empty() {
            bytes.push(value);
            continue;
        }
        let i = at % bytes.len();
        match op % 5 {
            0 => bytes[i] = value,
            1 => {
                bytes.remove(i);
            }
            2 => bytes.insert(i, value),
            3 => bytes.truncate(i),
            _ => {
                let j = (i + value as usize).min(bytes.len());
                let copy = bytes[i..j].to_vec();
                bytes.splice(i..i, copy);
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let (s, _) = scrub_bytes(&bytes, 7);
        prop_assert_eq!(s.bytes, bytes.len() as u64);
    }

    #[test]
    fn arbitrary_bytes_after_an_isa_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut bytes = ISA.to_vec();
        bytes.extend(tail);
        let (s, _) = scrub_bytes(&bytes, 64);
        prop_assert_eq!(s.bytes, bytes.len() as u64);
        prop_assert_eq!(s.totals.interchanges, 1);
    }

    #[test]
    fn mutated_fixtures_never_panic_and_stay_bounded(
        which in 0usize..64,
        edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..8),
    ) {
        let fixtures = envelope_fixtures();
        let original = std::fs::read(&fixtures[which % fixtures.len()]).unwrap();
        let bytes = mutate(original, &edits);
        let (s, _) = scrub_bytes(&bytes, 7);
        prop_assert_eq!(s.bytes, bytes.len() as u64);
        // A 999 or TA1 we write always reads back with a sound envelope and reconciled counts.
        // (Its content is checked against the 999 guide only for realistic inputs, in the golden
        // tests: AK1/AK2 echo the sender's GS06/GS08/ST02, which mutation can make invalid.)
        for ack in [&s.ack999, &s.ta1] {
            if !ack.is_empty() {
                let back = scrub837::ack::read::read_acks(ack);
                let envelope: Vec<_> = back
                    .problems
                    .iter()
                    .filter(|p| p.level != scrub837::x12::Level::Segment)
                    .collect();
                prop_assert!(envelope.is_empty(), "{:?}", envelope);
                for a in &back.acks {
                    prop_assert!(a.reconcile().is_ok(), "{:?}", a.reconcile());
                }
            }
        }
        let limits = Limits { max_segment: 1024, read_size: 64 };
        prop_assert!(peak_buffer(&bytes, limits) <= 1024 + 2 * 64 + 4096);
    }
}

/// Every fixture with claims in it: the IG mutation fixtures and the accessor fixtures.
fn claim_fixtures() -> Vec<Vec<u8>> {
    common::fixtures_in("ig", 30)
        .into_iter()
        .chain(common::fixtures_in("claims", 2))
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// Reads `bytes` through the walker into claim batches and calls every view accessor on every
/// claim and line; returns the claims seen.
fn touch_every_accessor(bytes: &[u8]) -> u64 {
    let mut s = settings(7);
    s.grammars = grammars();
    let mut numbers = scrub837::x12::ControlNumbers::starting_at(1);
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
                let _ = (
                    l.diagnosis_pointers(),
                    l.service_dates(),
                    l.reference(b"6R"),
                );
                let _ = l.rendering_provider();
            }
        }
        Some(b)
    };
    let scrubbed = scrub837::pipeline::scrub_reader_with_claims(
        Chunked {
            inner: bytes,
            chunk: 7,
        },
        &s,
        &mut numbers,
        &mut |_| {},
        Some(&mut on_batch),
    )
    .unwrap();
    assert_eq!(scrubbed.claims.read, seen);
    seen
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn mutated_claims_never_panic_the_walker_or_the_views(
        which in 0usize..64,
        edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..6),
    ) {
        let fixtures = claim_fixtures();
        let bytes = mutate(fixtures[which % fixtures.len()].clone(), &edits);
        touch_every_accessor(&bytes);
    }
}

/// The edit fixtures: realistic claims of every shape the edits look at.
fn edit_fixtures() -> Vec<Vec<u8>> {
    common::fixtures_in("edits", 60)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    /// Mutated claims through the whole pipeline, edits included: nothing panics, every claim
    /// read gets exactly one claims.jsonl line that re-reads, and the bytes do not depend on
    /// the read size or on the edit stage having a thread of its own.
    #[test]
    fn mutated_claims_are_each_answered_once(
        which in 0usize..128,
        edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..6),
    ) {
        let fixtures = edit_fixtures();
        let bytes = mutate(fixtures[which % fixtures.len()].clone(), &edits);
        let (s, _) = scrub_bytes(&bytes, 7);
        let lines = scrub837::report::claims_jsonl::read_claims(&s.claims_jsonl[..]);
        prop_assert!(lines.is_ok(), "{:?}", lines.err());
        let lines = lines.unwrap();
        prop_assert_eq!(lines.len() as u64, s.claims.read);
        // Structurally rejected claims are rejected in claims.jsonl too.
        let rejected = lines.iter().filter(|c| c.status == "rejected").count() as u64;
        prop_assert!(rejected >= s.claims.rejected, "{} < {}", rejected, s.claims.rejected);
        // The 277CA re-reads against its guide, reconciles, and answers exactly the claims
        // whose transaction set, group and interchange were accepted.
        let checked = common::check_277(&s.ack277, &lines);
        prop_assert!(checked.is_ok(), "{:?}", checked.err());
        // Read 64 KiB at a time with the stage on a thread of its own (two threads).
        let (big, _) = common::scrub_bytes_with(&bytes, common::settings_threads(64 << 10, 2));
        prop_assert_eq!(&big.claims_jsonl, &s.claims_jsonl);
        prop_assert_eq!(&big.ack277, &s.ack277);
        // Settling each claim as soon as the walker closes it (one-claim batches, nothing
        // held) answers every claim once too; the bytes are the same unless a transaction set
        // rejected at its SE made the rejections of its settled claims come late.
        let mut settle = settings(7);
        settle.hold_bytes = 0;
        settle.batch_claims = 1;
        let (settled, _) = common::scrub_bytes_with(&bytes, settle);
        let back = scrub837::report::claims_jsonl::read_claims(&settled.claims_jsonl[..]);
        prop_assert!(back.is_ok(), "{:?}", back.err());
        let back = back.unwrap();
        prop_assert_eq!(back.len(), lines.len());
        let checked = common::check_277(&settled.ack277, &back);
        prop_assert!(checked.is_ok(), "{:?}", checked.err());
        let statuses = |l: &[scrub837::report::claims_jsonl::ClaimLine]| {
            l.iter().map(|c| (c.claim.clone(), c.status.clone())).collect::<Vec<_>>()
        };
        prop_assert_eq!(statuses(&back), statuses(&lines));
        if !lines.iter().any(common::rejected_with_envelope) {
            prop_assert_eq!(&settled.claims_jsonl, &s.claims_jsonl);
            prop_assert_eq!(&settled.ack277, &s.ack277);
        }
    }
}

#[test]
fn every_claim_fixture_reads_through_the_views() {
    for bytes in claim_fixtures() {
        assert!(touch_every_accessor(&bytes) >= 1);
    }
}

#[test]
fn empty_lone_isa_and_garbage_inputs_are_reported() {
    let (s, lines) = scrub_bytes(b"", 7);
    assert_eq!(s.totals.interchanges, 0);
    assert_eq!(lines, ["input: not an interchange: the input is empty"]);

    let (s, lines) = scrub_bytes(ISA, 7);
    assert_eq!(s.totals.interchanges_rejected, 1);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("IEA missing: premature end of file [TA1 023]")),
        "{lines:?}"
    );
    let ta1 = String::from_utf8(s.ta1).unwrap();
    assert!(ta1.contains("TA1*000000001*251215*1200*R*023~"), "{ta1}");

    let garbage: Vec<u8> = (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let (s, lines) = scrub_bytes(&garbage, 7);
    assert_eq!(s.totals.interchanges, 0);
    assert!(
        lines.last().unwrap().contains("no ISA segment found"),
        "{lines:?}"
    );
}

/// An ISA, then `NTE*` and `len` bytes of `A` with no terminator, then a terminator and an IEA.
struct HugeSegment {
    prefix: Vec<u8>,
    remaining: u64,
    suffix: Vec<u8>,
    stage: u8,
    pos: usize,
}

impl Read for HugeSegment {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let part: &[u8] = match self.stage {
                0 => &self.prefix,
                2 => &self.suffix,
                1 => {
                    if self.remaining == 0 {
                        self.stage = 2;
                        continue;
                    }
                    let n = buf.len().min(self.remaining as usize);
                    buf[..n].fill(b'A');
                    self.remaining -= n as u64;
                    return Ok(n);
                }
                _ => return Ok(0),
            };
            if self.pos == part.len() {
                self.stage += 1;
                self.pos = 0;
                continue;
            }
            let n = buf.len().min(part.len() - self.pos);
            buf[..n].copy_from_slice(&part[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
    }
}

#[test]
fn a_one_gib_segment_is_skipped_in_bounded_memory() {
    let gib: u64 = 1 << 30;
    let mut prefix = ISA.to_vec();
    prefix.extend_from_slice(b"NTE*");
    let src = HugeSegment {
        prefix,
        remaining: gib,
        suffix: b"~IEA*0*000000001~".to_vec(),
        stage: 0,
        pos: 0,
    };
    let mut framer = Framer::new(src);
    let mut kinds = Vec::new();
    while let Some(frame) = framer.next().unwrap() {
        kinds.push(frame.kind.clone());
    }
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    assert_eq!(kinds[1], FrameKind::Oversize { len: gib + 4 });
    assert_eq!(kinds[2], FrameKind::Segment);
    let limits = Limits::default();
    assert!(framer.buffer_capacity() <= limits.max_segment + 2 * limits.read_size);
}
