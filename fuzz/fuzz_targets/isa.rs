//! The ISA parser: `parse_isa` on arbitrary bytes (with and without more to come), then
//! every accessor and `check()` on what it returns.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scrub837::x12::isa::{parse_isa, IsaError, ISA_SCAN_LIMIT};

fuzz_target!(|data: &[u8]| {
    let at_eof = parse_isa(data, true);
    // With nothing more to come the parser must decide.
    assert_ne!(at_eof, Err(IsaError::Incomplete), "Incomplete at end of file");
    let streaming = parse_isa(data, false);
    if let Ok(h) = &streaming {
        // More bytes cannot change a header already read whole.
        assert_eq!(at_eof.as_ref().ok(), Some(h), "at_eof changes a complete header");
    }
    for h in [at_eof.as_ref(), streaming.as_ref()].into_iter().flatten() {
        assert!(h.len <= data.len().min(ISA_SCAN_LIMIT), "len {} past input", h.len);
        assert_eq!(h.fields[15].chars().count(), 1, "ISA16 is one byte");
        let _ = (h.control(), h.version(), h.ack_requested());
        let _ = (h.sender(), h.receiver());
        for f in h.check() {
            assert_eq!(f.code.len(), 3, "TA105 code {:?}", f.code);
            assert!(f.element <= 16, "element {}", f.element);
        }
    }
});
