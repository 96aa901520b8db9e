//! Throughput of the claim path, single thread: framing + envelope checking alone, side by side
//! with framing + loop walker + implementation-guide validation + claim batches + claim views
//! (every claim's id, charge, payer and lines read), on a 200k-claim 837P and a 100k-claim 837I.

mod common;

use std::sync::Arc;
use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use scrub837::claim::{ClaimBatch, ClaimView};
use scrub837::clock::Timestamp;
use scrub837::grammar::validate::Grammars;
use scrub837::pipeline::{scrub_reader_with_claims, Settings};
use scrub837::x12::{
    check_stream, ControlNumbers, Delimiters, EnvelopeChecker, EnvelopeConfig, Framer, Limits,
};

fn settings(grammars: Arc<Grammars>) -> Settings {
    Settings {
        out_dir: "unused".into(),
        now: Timestamp::parse_rfc3339("2026-11-27T12:00:00Z").expect("clock"),
        limits: Limits::default(),
        envelope: EnvelopeConfig::default(),
        ack_delimiters: Delimiters::STANDARD,
        ack_eol: b"\n",
        grammars,
        engine: None,
        pool: None,
        stage_thread: false,
        log_phi: false,
        progress: None,
        html: false,
        redact: false,
        history: None,
        hold_bytes: scrub837::edit::stage::HOLD_BYTES,
        batch_claims: scrub837::pipeline::BATCH_CLAIMS,
    }
}

fn framing(data: &[u8]) -> u64 {
    let mut framer = Framer::new(data);
    let mut checker = EnvelopeChecker::new(EnvelopeConfig::default());
    check_stream(&mut framer, &mut checker, &mut ())
        .expect("reading a slice cannot fail")
        .segments
}

/// Reads every claim through the views; returns (claims, a checksum so nothing is optimised away).
fn claims(data: &[u8], s: &Settings) -> (u64, i64) {
    let mut numbers = ControlNumbers::starting_at(1);
    let mut count = 0u64;
    let mut sum = 0i64;
    let mut on_batch = |b: ClaimBatch| {
        for c in ClaimView::all(&b) {
            count += 1;
            sum += c.charge().map_or(0, |m| m.cents) + c.id().len() as i64;
            sum += c.payer().map_or(0, |p| p.id.len() as i64);
            for line in c.lines() {
                sum += line.charge().map_or(0, |m| m.cents);
                sum += line.procedure().map_or(0, |p| p.modifiers.len() as i64);
            }
        }
        // Handed back for reuse, as the edit stage does.
        Some(b)
    };
    let scrubbed =
        scrub_reader_with_claims(data, s, &mut numbers, &mut |_| {}, Some(&mut on_batch))
            .expect("reading a slice cannot fail");
    assert_eq!(scrubbed.claims.read, count);
    (count, sum)
}

fn walk(c: &mut Criterion) {
    let grammars = Arc::new(Grammars::embedded().expect("grammars"));
    let s = settings(grammars);
    let inputs: Vec<(&str, std::path::PathBuf)> = if common::bench_mode() {
        vec![
            ("837P-200k", common::gen_837p(200_000, 7)),
            ("837I-100k", common::gen_837i(100_000, 7)),
        ]
    } else {
        vec![
            ("837P-1k", common::gen_837p(1_000, 7)),
            ("837I-1k", common::gen_837i(1_000, 7)),
        ]
    };
    let mut group = c.benchmark_group("walk");
    group.sample_size(10).warm_up_time(Duration::from_secs(2));
    for (label, path) in &inputs {
        let data =
            std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let segments = framing(&data);
        let (n, _) = claims(&data, &s);
        eprintln!(
            "input {label}: {} bytes ({:.2} MB), {segments} segments, {n} claims",
            data.len(),
            data.len() as f64 / 1e6
        );
        group
            .measurement_time(Duration::from_secs(12))
            .throughput(Throughput::Bytes(data.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("framing_envelope", label),
            &data[..],
            |b, d| b.iter(|| framing(black_box(d))),
        );
        group.bench_with_input(
            BenchmarkId::new("walk_validate_views", label),
            &data[..],
            |b, d| b.iter(|| claims(black_box(d), &s)),
        );
    }
    group.finish();
}

criterion_group!(benches, walk);
criterion_main!(benches);
