//! A byte spool that stays in memory while small and spills to an anonymous temporary file
//! when large, so holding an interchange's 277CA until its IEA is read keeps memory bounded.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;

/// Bytes held in memory before the spool moves to a temporary file (and, once there, the
/// size of the write buffer in front of it). 1 MiB: at 8 MiB the buffer's doubling made it the
/// largest single allocation of a run (12 MB at peak, massif), against the 64 MiB budget.
pub const SPILL_AT: usize = 1 << 20;

/// An append-only buffer that can be cut back and read in ranges.
#[derive(Debug)]
pub struct Spool {
    mem: Vec<u8>,
    /// The temporary file and how many bytes of the spool it holds (the rest are in `mem`).
    file: Option<(File, u64)>,
    spill_at: usize,
}

impl Default for Spool {
    fn default() -> Self {
        Spool::new(SPILL_AT)
    }
}

impl Spool {
    /// A spool that moves to a file past `spill_at` bytes.
    pub fn new(spill_at: usize) -> Self {
        Spool {
            mem: Vec::new(),
            file: None,
            spill_at: spill_at.max(1),
        }
    }

    /// Bytes held.
    pub fn len(&self) -> u64 {
        self.file.as_ref().map_or(0, |f| f.1) + self.mem.len() as u64
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends bytes.
    pub fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.mem.extend_from_slice(bytes);
        if self.mem.len() >= self.spill_at {
            self.flush_mem()?;
        }
        Ok(())
    }

    fn flush_mem(&mut self) -> io::Result<()> {
        if self.file.is_none() {
            self.file = Some((tempfile::tempfile()?, 0));
        }
        if let Some((f, len)) = self.file.as_mut() {
            f.seek(SeekFrom::Start(*len))?;
            f.write_all(&self.mem)?;
            *len += self.mem.len() as u64;
            self.mem.clear();
        }
        Ok(())
    }

    /// Cuts the spool back to its first `len` bytes.
    pub fn truncate(&mut self, len: u64) -> io::Result<()> {
        let on_disk = self.file.as_ref().map_or(0, |f| f.1);
        if len >= on_disk {
            self.mem.truncate((len - on_disk) as usize);
        } else if let Some((f, l)) = self.file.as_mut() {
            f.set_len(len)?;
            *l = len;
            self.mem.clear();
        }
        Ok(())
    }

    /// Copies bytes `range` to `out`.
    pub fn copy_to(&mut self, range: Range<u64>, out: &mut dyn Write) -> io::Result<()> {
        if range.end > self.len() || range.start > range.end {
            return Err(io::Error::other("spool range out of bounds"));
        }
        if self.file.is_some() && !self.mem.is_empty() {
            self.flush_mem()?;
        }
        match self.file.as_mut() {
            None => out.write_all(&self.mem[range.start as usize..range.end as usize]),
            Some((f, _)) => {
                f.seek(SeekFrom::Start(range.start))?;
                copy_exact(f, range.end - range.start, out)
            }
        }
    }

    /// Empties the spool (and drops its file).
    pub fn clear(&mut self) {
        self.mem.clear();
        self.file = None;
    }
}

/// Copies the next `len` bytes of `f` to `out` in large pieces (a writer's buffer is bypassed
/// for pieces this size, so each byte is copied once on the way).
fn copy_exact(f: &mut File, len: u64, out: &mut dyn Write) -> io::Result<()> {
    let mut buf = vec![0u8; (len.min(COPY_PIECE as u64)) as usize];
    let mut left = len;
    while left > 0 {
        let want = (left.min(buf.len() as u64)) as usize;
        let piece = buf.get_mut(..want).unwrap_or_default();
        let n = match f.read(piece) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Err(io::Error::other("spool file shorter than written"));
        }
        out.write_all(piece.get(..n).unwrap_or_default())?;
        left -= n as u64;
    }
    Ok(())
}

/// The piece [`copy_exact`] reads and writes at a time.
const COPY_PIECE: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the spill size, a spool reads back what a Vec would hold.
        #[test]
        fn a_spool_behaves_like_a_vec(
            ops in proptest::collection::vec((0u8..3, proptest::collection::vec(any::<u8>(), 0..40), any::<u16>()), 1..40),
            spill in 1usize..64,
        ) {
            let mut s = Spool::new(spill);
            let mut v: Vec<u8> = Vec::new();
            for (op, bytes, n) in ops {
                match op {
                    0 | 1 => {
                        s.append(&bytes).unwrap();
                        v.extend_from_slice(&bytes);
                    }
                    _ => {
                        let cut = u64::from(n) % (v.len() as u64 + 1);
                        s.truncate(cut).unwrap();
                        v.truncate(cut as usize);
                    }
                }
                prop_assert_eq!(s.len(), v.len() as u64);
            }
            let mut out = Vec::new();
            let mid = v.len() as u64 / 2;
            s.copy_to(mid..v.len() as u64, &mut out).unwrap();
            s.copy_to(0..mid, &mut out).unwrap();
            let mut want = v[mid as usize..].to_vec();
            want.extend_from_slice(&v[..mid as usize]);
            prop_assert_eq!(out, want);
            prop_assert!(s.copy_to(0..v.len() as u64 + 1, &mut Vec::new()).is_err());
        }
    }
}
