//! The segment reader/framer and the envelope checker: `check_stream` over arbitrary bytes,
//! read whole and 7 bytes at a time (same totals, same frames), and once more with a tiny
//! segment limit (memory stays bounded).

#![no_main]

use libfuzzer_sys::fuzz_target;
use scrub837::x12::{check_stream, EnvelopeChecker, EnvelopeConfig, Framer, Limits};

#[path = "common.rs"]
mod common;
use common::Chunked;

fn frames(data: &[u8], chunk: usize) -> Vec<(Vec<u8>, u64, u64, String)> {
    let limits = Limits {
        read_size: chunk,
        ..Limits::default()
    };
    let mut f = Framer::with_limits(Chunked { inner: data, chunk }, limits);
    let mut out = Vec::new();
    while let Some(fr) = f.next().expect("reading memory cannot fail") {
        out.push((fr.bytes.to_vec(), fr.offset, fr.ordinal, format!("{:?}", fr.kind)));
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // The documented call: whole input, default limits.
    let mut framer = Framer::new(data);
    let mut checker = EnvelopeChecker::new(EnvelopeConfig::default());
    let whole = check_stream(&mut framer, &mut checker, &mut ()).expect("reading memory cannot fail");
    assert_eq!(framer.offset(), data.len() as u64, "not every byte read");

    // 7-byte reads: the same totals.
    let limits = Limits {
        read_size: 7,
        ..Limits::default()
    };
    let mut framer = Framer::with_limits(Chunked { inner: data, chunk: 7 }, limits);
    let mut checker = EnvelopeChecker::new(EnvelopeConfig::default());
    let small = check_stream(&mut framer, &mut checker, &mut ()).expect("reading memory cannot fail");
    assert_eq!(whole, small, "totals depend on the read size");

    // Frame by frame: the same frames for 1-, 7- and 64 KiB reads.
    let reference = frames(data, 64 << 10);
    assert_eq!(reference, frames(data, 7), "frames differ for 7-byte reads");
    assert_eq!(reference, frames(data, 1), "frames differ for 1-byte reads");

    // A 32-byte segment limit: long segments are skipped, the buffer stays bounded.
    let limits = Limits {
        max_segment: 32,
        read_size: 13,
    };
    let mut framer = Framer::with_limits(Chunked { inner: data, chunk: 13 }, limits);
    let mut checker = EnvelopeChecker::new(EnvelopeConfig::default());
    check_stream(&mut framer, &mut checker, &mut ()).expect("reading memory cannot fail");
    assert_eq!(framer.offset(), data.len() as u64, "not every byte read (small limit)");
    assert!(
        framer.buffer_capacity() <= 32 + 2 * 13 + 4096,
        "framer buffer grew to {}",
        framer.buffer_capacity()
    );
});
