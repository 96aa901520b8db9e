//! Tokenize then write with the same delimiters gives the identical bytes back.

mod common;

use common::{corpus_files, envelope_fixtures, gen837};
use scrub837::x12::{FrameKind, Framer, Segment, X12Writer};

/// Re-writes every segment of `bytes` from its tokens; returns the bytes without the
/// whitespace between segments (which the framer drops).
fn rewrite(bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut framer = Framer::new(bytes);
    let mut original = Vec::new();
    let mut written = Vec::new();
    while let Some(frame) = framer.next().unwrap() {
        if frame.kind != FrameKind::Segment && !matches!(frame.kind, FrameKind::Isa(_)) {
            continue;
        }
        let d = frame.delimiters.expect("delimiters");
        // A segment without a valid id (one fixture has one on purpose) has no tokens to write.
        let Ok(seg) = Segment::parse(frame.bytes, d) else {
            continue;
        };
        original.extend_from_slice(frame.bytes);
        original.push(d.segment);
        let mut w = X12Writer::new(Vec::new(), d, b"").keep_trailing_empties();
        w.tokens(seg.id(), &seg.tokens()).unwrap();
        written.extend(w.into_inner().unwrap());
    }
    (original, written)
}

#[test]
fn tokens_write_back_to_the_same_bytes() {
    let mut inputs: Vec<(String, Vec<u8>)> = envelope_fixtures()
        .into_iter()
        .chain(
            corpus_files()
                .into_iter()
                .filter(|p| !p.to_string_lossy().contains("expected997")),
        )
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    inputs.push(("gen837 P".into(), gen837("P", 50, 9, &[])));
    inputs.push(("gen837 I".into(), gen837("I", 50, 9, &["--newlines"])));
    for (name, bytes) in inputs {
        let (original, written) = rewrite(&bytes);
        assert!(!original.is_empty(), "{name}");
        assert_eq!(
            String::from_utf8_lossy(&written),
            String::from_utf8_lossy(&original),
            "{name}"
        );
    }
}

#[test]
fn fixtures_without_line_breaks_round_trip_whole() {
    let bytes = std::fs::read(common::fixture("envelope/clean.x12")).unwrap();
    let (original, written) = rewrite(&bytes);
    assert_eq!(original, bytes);
    assert_eq!(written, bytes);
}
