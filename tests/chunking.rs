//! Differential: 1-byte, 7-byte and 64 KiB reads give identical segments, problems and acknowledgment bytes.

mod common;

use common::{corpus_files, envelope_fixtures, gen837, scrub_bytes, Chunked};
use scrub837::x12::{Framer, Limits};

fn frames(bytes: &[u8], chunk: usize) -> Vec<(Vec<u8>, u64, u64, String)> {
    let limits = Limits {
        read_size: chunk,
        ..Limits::default()
    };
    let mut f = Framer::with_limits(
        Chunked {
            inner: bytes,
            chunk,
        },
        limits,
    );
    let mut out = Vec::new();
    while let Some(fr) = f.next().unwrap() {
        out.push((
            fr.bytes.to_vec(),
            fr.offset,
            fr.ordinal,
            format!("{:?}", fr.kind),
        ));
    }
    out
}

fn inputs() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = envelope_fixtures()
        .into_iter()
        .chain(corpus_files())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    v.push((
        "gen837 P".into(),
        gen837(
            "P",
            60,
            5,
            &["--claims-per-st", "25", "--error-rate", "0.3"],
        ),
    ));
    v.push((
        "gen837 I newlines".into(),
        gen837("I", 40, 6, &["--newlines", "--claims-per-st", "15"]),
    ));
    v
}

#[test]
fn chunk_size_does_not_change_frames() {
    for (name, bytes) in inputs() {
        let reference = frames(&bytes, 64 << 10);
        assert!(!reference.is_empty(), "{name}");
        for chunk in [1, 7] {
            assert_eq!(
                frames(&bytes, chunk),
                reference,
                "{name}: {chunk}-byte reads"
            );
        }
    }
}

#[test]
fn chunk_size_does_not_change_problems_or_acknowledgments() {
    for (name, bytes) in inputs() {
        let (big, big_lines) = scrub_bytes(&bytes, 64 << 10);
        for chunk in [1, 7] {
            let (small, lines) = scrub_bytes(&bytes, chunk);
            assert_eq!(lines, big_lines, "{name}: {chunk}-byte reads");
            assert_eq!(
                small.ack999, big.ack999,
                "{name}: 999 with {chunk}-byte reads"
            );
            assert_eq!(small.ta1, big.ta1, "{name}: TA1 with {chunk}-byte reads");
            assert_eq!(small.totals, big.totals, "{name}");
            assert_eq!(small.bytes, bytes.len() as u64, "{name}: every byte read");
        }
    }
}
