//! Where a 277CA is written: a writer that can also say how much it holds, overwrite bytes it
//! wrote, cut itself back and copy a range out, so an interchange goes straight to its file
//! and its envelope (whose control numbers are known only at the IEA) is patched in place.

use std::io::{self, Write};
use std::ops::Range;

/// A writer whose bytes can be patched, cut back and read again.
pub trait Rewrite: Write + Send {
    /// Bytes written so far (including any still buffered).
    fn written(&self) -> u64;

    /// Overwrites `bytes.len()` bytes at `at`; they must all have been written before.
    fn patch(&mut self, at: u64, bytes: &[u8]) -> io::Result<()>;

    /// Cuts it back to its first `len` bytes (more writes follow from there).
    fn cut(&mut self, len: u64) -> io::Result<()>;

    /// Copies the bytes `range` (written before) to `out`.
    fn copy_out(&mut self, range: Range<u64>, out: &mut dyn Write) -> io::Result<()>;
}

/// The bytes `range` of `len` as a `usize` range, or an error when it reaches past `len`.
pub fn within(range: Range<u64>, len: u64) -> io::Result<Range<usize>> {
    if range.start > range.end || range.end > len {
        return Err(io::Error::other("range past what was written"));
    }
    let start = usize::try_from(range.start).map_err(io::Error::other)?;
    let end = usize::try_from(range.end).map_err(io::Error::other)?;
    Ok(start..end)
}

impl Rewrite for Vec<u8> {
    fn written(&self) -> u64 {
        self.len() as u64
    }

    fn patch(&mut self, at: u64, bytes: &[u8]) -> io::Result<()> {
        let r = within(at..at + bytes.len() as u64, self.len() as u64)?;
        if let Some(slot) = self.get_mut(r) {
            slot.copy_from_slice(bytes);
        }
        Ok(())
    }

    fn cut(&mut self, len: u64) -> io::Result<()> {
        let r = within(0..len, self.len() as u64)?;
        self.truncate(r.end);
        Ok(())
    }

    fn copy_out(&mut self, range: Range<u64>, out: &mut dyn Write) -> io::Result<()> {
        let r = within(range, self.len() as u64)?;
        out.write_all(self.get(r).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writeback::WritebackFile;
    use proptest::prelude::*;
    use std::io::Read;

    proptest! {
        /// A patchable file holds what a patched Vec holds, whatever the writes, patches and
        /// cuts (and its buffer's state when they come).
        #[test]
        fn a_file_rewrites_like_a_vec(
            ops in proptest::collection::vec((0u8..4, proptest::collection::vec(any::<u8>(), 0..300), any::<u16>()), 1..40),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("out");
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .unwrap();
            let mut f = io::BufWriter::with_capacity(64, WritebackFile::new(file));
            let mut v: Vec<u8> = Vec::new();
            for (op, bytes, n) in ops {
                let len = v.len() as u64;
                match op {
                    0 | 1 => {
                        f.write_all(&bytes).unwrap();
                        v.write_all(&bytes).unwrap();
                    }
                    2 => {
                        let at = u64::from(n) % (len + 1);
                        let take = bytes.len().min((len - at) as usize);
                        f.patch(at, &bytes[..take]).unwrap();
                        v.patch(at, &bytes[..take]).unwrap();
                    }
                    _ => {
                        let cut = u64::from(n) % (len + 1);
                        f.cut(cut).unwrap();
                        v.cut(cut).unwrap();
                    }
                }
                prop_assert_eq!(f.written(), v.written());
                let len = v.len() as u64;
                let at = u64::from(n) % (len + 1);
                let (mut a, mut b) = (Vec::new(), Vec::new());
                f.copy_out(at..len, &mut a).unwrap();
                v.copy_out(at..len, &mut b).unwrap();
                prop_assert_eq!(a, b);
                prop_assert!(f.copy_out(0..len + 1, &mut Vec::new()).is_err());
                prop_assert!(v.patch(len, b"x").is_err());
            }
            f.flush().unwrap();
            drop(f);
            let mut back = Vec::new();
            std::fs::File::open(&path).unwrap().read_to_end(&mut back).unwrap();
            prop_assert_eq!(back, v);
        }
    }
}
