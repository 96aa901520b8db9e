//! Throughput of segment framing: a bare `memchr` terminator split versus `Framer` + envelope
//! checking (`check_stream`) over the same in-memory 837P inputs (1k and 200k claims).

mod common;

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use memchr::memchr;
use scrub837::x12::{check_stream, EnvelopeChecker, EnvelopeConfig, Framer, StreamTotals};

/// Offset of the segment terminator: the byte after ISA16 in the fixed-width ISA.
const TERMINATOR_AT: usize = 105;

/// Counts terminators with a plain `memchr` loop: the floor any framer can reach.
fn memchr_split(data: &[u8], terminator: u8) -> u64 {
    let mut segments = 0u64;
    let mut pos = 0;
    while let Some(i) = memchr(terminator, &data[pos..]) {
        segments += 1;
        pos += i + 1;
    }
    segments
}

/// Framing plus envelope checking with the default limits, as the scrubber reads a file.
fn framer_envelope(data: &[u8]) -> StreamTotals {
    let mut framer = Framer::new(data);
    let mut checker = EnvelopeChecker::new(EnvelopeConfig::default());
    check_stream(&mut framer, &mut checker, &mut ()).expect("reading a slice cannot fail")
}

fn framing(c: &mut Criterion) {
    // `cargo test --benches` runs each bench once; skip the 200k input there.
    let inputs: &[(&str, u64)] = if common::bench_mode() {
        &[("1k", 1_000), ("200k", 200_000)]
    } else {
        &[("1k", 1_000)]
    };

    let mut group = c.benchmark_group("framing");
    group.sample_size(10).warm_up_time(Duration::from_secs(2));

    for &(label, claims) in inputs {
        let path = common::gen_837p(claims, 7);
        let data =
            std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        assert!(
            data.len() > TERMINATOR_AT && data.starts_with(b"ISA"),
            "{} does not start with an ISA",
            path.display()
        );
        let terminator = data[TERMINATOR_AT];

        let split = memchr_split(&data, terminator);
        let totals = framer_envelope(&data);
        eprintln!(
            "input {label}: {} claims, {} bytes ({:.2} MB), {} segments \
             (memchr terminators {split}), {} interchanges, {} transactions, terminator {:?}",
            claims,
            data.len(),
            data.len() as f64 / 1e6,
            totals.segments,
            totals.interchanges,
            totals.transactions,
            terminator as char,
        );

        group
            .measurement_time(Duration::from_secs(if claims >= 100_000 { 12 } else { 5 }))
            .throughput(Throughput::Bytes(data.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("memchr_split", label),
            &data[..],
            |b, d| b.iter(|| memchr_split(black_box(d), terminator)),
        );
        group.bench_with_input(
            BenchmarkId::new("framer_envelope", label),
            &data[..],
            |b, d| b.iter(|| black_box(framer_envelope(black_box(d))).segments),
        );
    }
    group.finish();
}

criterion_group!(benches, framing);
criterion_main!(benches);
