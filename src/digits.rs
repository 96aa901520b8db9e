//! Decimal digit pairs for the writers that format numbers without `fmt` (the 277CA's and the
//! generator's).

/// `00` to `99`, two bytes each: the pair of `n` starts at `2 * n`.
pub const PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};
