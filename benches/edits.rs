//! Edit-stage throughput (claims/s, edits and their claims.jsonl lines) on one thread and on a
//! pool of two, and
//! end to end (parse + walk + edits + claims.jsonl) for one and two threads, on a generated
//! 837P with 20 % defects. `cargo bench --bench edits`.

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rayon::prelude::*;
use scrub837::claim::{ClaimBatch, Date};
use scrub837::clock::Timestamp;
use scrub837::edit::{Engine, RuleSet};
use scrub837::grammar::validate::Grammars;
use scrub837::pipeline::{scrub_reader, scrub_reader_with_claims, Settings};
use scrub837::x12::{ControlNumbers, Delimiters, EnvelopeConfig, Limits};

fn settings(engine: Option<Arc<Engine>>, threads: usize) -> Settings {
    Settings {
        out_dir: "unused".into(),
        now: Timestamp::parse_rfc3339("2026-11-27T12:00:00Z").expect("clock"),
        limits: Limits::default(),
        envelope: EnvelopeConfig::default(),
        ack_delimiters: Delimiters::STANDARD,
        ack_eol: b"\n",
        grammars: Arc::new(Grammars::embedded().expect("grammars")),
        engine,
        // Threads in all, as `scrub --threads` counts them.
        pool: scrub837::cli::edit_pool(threads).expect("pool"),
        stage_thread: scrub837::cli::stage_thread(threads),
        log_phi: false,
        progress: None,
        html: false,
        redact: false,
        history: None,
        hold_bytes: scrub837::edit::stage::HOLD_BYTES,
        batch_claims: scrub837::pipeline::BATCH_CLAIMS,
    }
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool")
}

fn batches(data: &[u8], s: &Settings) -> Vec<ClaimBatch> {
    let mut out = Vec::new();
    let mut numbers = ControlNumbers::starting_at(1);
    scrub_reader_with_claims(
        data,
        s,
        &mut numbers,
        &mut |_| {},
        Some(&mut |b| {
            out.push(b);
            None
        }),
    )
    .expect("reading a slice cannot fail");
    out
}

/// Edits one batch and writes its claims.jsonl lines, as a worker of the edit stage does.
fn edit(engine: &Engine, batch: &ClaimBatch) -> usize {
    let mut lines = Vec::with_capacity(batch.claims.len() * 512);
    let mut out = Vec::with_capacity(batch.claims.len());
    engine.edit_batch_lines(batch, "bench", Some(&mut lines), None, None, &mut out);
    lines.len()
}

fn edits(c: &mut Criterion) {
    let rules = Arc::new(RuleSet::bundled().expect("bundled rules"));
    let engine = Arc::new(Engine::new(
        rules,
        Date::parse_d8(b"20261127").expect("date"),
    ));
    let (label, path) = if common::bench_mode() {
        ("837P-200k-e20", common::gen_837p_defects(200_000, 7))
    } else {
        ("837P-2k-e20", common::gen_837p_defects(2_000, 7))
    };
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let plain = settings(None, 1);
    let batches = batches(&data, &plain);
    let claims: usize = batches.iter().map(|b| b.claims.len()).sum();
    eprintln!(
        "input {label}: {} bytes, {claims} claims in {} batches",
        data.len(),
        batches.len()
    );
    let two = pool(2);

    let mut g = c.benchmark_group("edit_stage");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(claims as u64));
    g.bench_function(BenchmarkId::new("threads_1", label), |b| {
        b.iter(|| {
            batches
                .iter()
                .map(|x| edit(&engine, black_box(x)))
                .sum::<usize>()
        })
    });
    g.bench_function(BenchmarkId::new("threads_2", label), |b| {
        b.iter(|| {
            two.install(|| {
                batches
                    .par_iter()
                    .map(|x| edit(&engine, black_box(x)))
                    .sum::<usize>()
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("end_to_end");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function(BenchmarkId::new("structural_only", label), |b| {
        b.iter(|| {
            let mut n = ControlNumbers::starting_at(1);
            scrub_reader(black_box(&data[..]), &plain, &mut n, &mut |_| {})
                .expect("memory")
                .claims
                .read
        })
    });
    for threads in [1, 2] {
        let s = settings(Some(engine.clone()), threads);
        g.bench_function(BenchmarkId::new(format!("threads_{threads}"), label), |b| {
            b.iter(|| {
                let mut n = ControlNumbers::starting_at(1);
                scrub_reader(black_box(&data[..]), &s, &mut n, &mut |_| {})
                    .expect("memory")
                    .claims_jsonl
                    .len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, edits);
criterion_main!(benches);
