//! Shared by the fuzz targets: a chunked reader and the run settings, built once per process.

#![allow(dead_code)]

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use scrub837::clock::Timestamp;
use scrub837::edit::{Engine, RuleSet};
use scrub837::grammar::validate::Grammars;
use scrub837::pipeline::Settings;
use scrub837::x12::{Delimiters, EnvelopeConfig, Limits};

/// The fixed clock (the one the integration tests use).
pub const NOW: &str = "2026-11-27T12:00:00Z";

/// A reader that hands out at most `chunk` bytes per read, so segment and ISA
/// boundaries fall across reads.
pub struct Chunked<'a> {
    pub inner: &'a [u8],
    pub chunk: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.chunk);
        self.inner.read(&mut buf[..n])
    }
}

pub fn grammars() -> Arc<Grammars> {
    static G: OnceLock<Arc<Grammars>> = OnceLock::new();
    G.get_or_init(|| Arc::new(Grammars::embedded().expect("embedded grammars load")))
        .clone()
}

pub fn engine() -> Arc<Engine> {
    static E: OnceLock<Arc<Engine>> = OnceLock::new();
    E.get_or_init(|| {
        let rules = RuleSet::bundled().expect("bundled rules load");
        let today = scrub837::claim::Date::parse_d8(b"20261127").expect("date");
        Arc::new(Engine::new(Arc::new(rules), today))
    })
    .clone()
}

/// Settings for an in-memory run reading `read_size` bytes at a time; with `edits`, the
/// bundled rule pack runs on the reading thread (no pool).
pub fn settings(read_size: usize, edits: bool) -> Settings {
    Settings {
        out_dir: PathBuf::from("unused"),
        now: Timestamp::parse_rfc3339(NOW).expect("clock"),
        limits: Limits {
            read_size,
            ..Limits::default()
        },
        envelope: EnvelopeConfig::default(),
        ack_delimiters: Delimiters::STANDARD,
        ack_eol: b"\n",
        grammars: grammars(),
        engine: edits.then(engine),
        pool: None,
        log_phi: false,
        progress: None,
        html: false,
        redact: false,
        history: None,
        hold_bytes: scrub837::edit::stage::HOLD_BYTES,
        batch_claims: scrub837::pipeline::BATCH_CLAIMS,
    }
}
