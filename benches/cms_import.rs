//! CMS table import: reading a generated NCCI PTP table in the practitioner layout (500 000
//! edit rows, about 38 MB, like one CMS part file) from disk into an indexed rule set, and
//! parsing it from memory. `cargo bench --bench cms_import`.

#[allow(dead_code)] // the shared helpers also generate 837 files, unused here
mod common;

use std::hint::black_box;
use std::io::Write;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use scrub837::edit::cms::{self, Provenance, Setting, Table};
use scrub837::edit::RuleSet;

fn cms_import(c: &mut Criterion) {
    let rows: usize = if common::bench_mode() {
        500_000
    } else {
        20_000
    };
    let label = format!("ptp-{rows}");
    // The file name makes it a practitioner table of version 99.9r0.
    let path = common::cached(&format!("ccipra-v999r0-synthetic-{rows}.txt"), |mut f| {
        f.write_all(&cms::synthetic_ptp(rows, 7))
            .expect("write the synthetic table")
    });
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    eprintln!("input {label}: {} bytes, {rows} rows", bytes.len());
    let rules = RuleSet::bundled().expect("bundled rules");

    let mut g = c.benchmark_group("cms_import");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(rows as u64));
    // What `RuleSet::attach_cms` does for one file: read, parse, merge and index, reselect.
    g.bench_function(BenchmarkId::new("attach_from_file", &label), |b| {
        b.iter(|| {
            let mut rs = rules.clone();
            rs.attach_cms(std::slice::from_ref(&path), &[])
                .expect("the synthetic table loads");
            rs.tables()
                .ptp(Provenance::Cms, Setting::Practitioner)
                .map_or(0, |s| s.len())
        })
    });
    g.bench_function(BenchmarkId::new("parse_from_memory", &label), |b| {
        b.iter(
            || match Table::parse("ccipra-v999r0-synthetic.txt", black_box(&bytes)) {
                Ok(Table::Ptp(t)) => t.rows().len(),
                _ => panic!("the synthetic table parses"),
            },
        )
    });
    g.finish();
}

criterion_group!(benches, cms_import);
criterion_main!(benches);
