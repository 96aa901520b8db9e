//! Output files that start their writeback as they grow, so the fsync before the rename waits
//! only for the last few megabytes instead of the whole file (90 MB for 200k claims).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;

use crate::ack::rewrite::{within, Rewrite};

/// Bytes written between two writeback starts.
pub const EVERY: u64 = 8 << 20;

/// A file that asks the kernel to start writing back what it holds every [`EVERY`] bytes
/// (Linux `sync_file_range(SYNC_FILE_RANGE_WRITE)`, which does not wait; elsewhere nothing).
/// It promises nothing about durability: the fsync before the rename still does.
#[derive(Debug)]
pub struct WritebackFile {
    file: File,
    /// Bytes the file holds (where the next write goes).
    len: u64,
    /// Bytes written since the last writeback start.
    pending: u64,
    /// Writeback starts asked for (for tests).
    started: u64,
}

impl WritebackFile {
    /// Wraps `file`.
    pub fn new(file: File) -> Self {
        WritebackFile {
            file,
            len: 0,
            pending: 0,
            started: 0,
        }
    }

    /// The file back.
    pub fn into_inner(self) -> File {
        self.file
    }

    /// How many times writeback was started.
    pub fn started(&self) -> u64 {
        self.started
    }

    fn note(&mut self, n: usize) {
        self.pending += n as u64;
        if self.pending >= EVERY {
            self.pending = 0;
            self.started += 1;
            start_writeback(&self.file);
        }
    }
}

impl Write for WritebackFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.len += n as u64;
        self.note(n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// A 277CA's temporary file (opened for reading too), patched through its buffer: every
/// operation but writing flushes the buffer first, then works on the file and puts its cursor
/// back at the end.
impl Rewrite for io::BufWriter<WritebackFile> {
    fn written(&self) -> u64 {
        self.get_ref().len + self.buffer().len() as u64
    }

    fn patch(&mut self, at: u64, bytes: &[u8]) -> io::Result<()> {
        self.flush()?;
        let w = self.get_mut();
        within(at..at + bytes.len() as u64, w.len)?;
        w.file.seek(SeekFrom::Start(at))?;
        w.file.write_all(bytes)?;
        w.file.seek(SeekFrom::Start(w.len)).map(drop)
    }

    fn cut(&mut self, len: u64) -> io::Result<()> {
        self.flush()?;
        let w = self.get_mut();
        within(0..len, w.len)?;
        w.file.set_len(len)?;
        w.len = len;
        w.file.seek(SeekFrom::Start(len)).map(drop)
    }

    fn copy_out(&mut self, range: Range<u64>, out: &mut dyn Write) -> io::Result<()> {
        self.flush()?;
        let w = self.get_mut();
        within(range.clone(), w.len)?;
        w.file.seek(SeekFrom::Start(range.start))?;
        let want = range.end - range.start;
        let copied = io::copy(&mut (&mut w.file).take(want), out)?;
        w.file.seek(SeekFrom::Start(w.len))?;
        if copied == want {
            Ok(())
        } else {
            Err(io::Error::other("file shorter than written"))
        }
    }
}

/// Starts writeback of the file's dirty pages without waiting for it. Best effort: an error
/// (a file system that does not support it) changes nothing, the fsync still syncs.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn start_writeback(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: sync_file_range only reads the descriptor, which `file` keeps open for the call;
    // offset 0 and length 0 mean the whole file.
    let _ = unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn start_writeback(_file: &File) {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn writes_every_byte_and_starts_writeback_every_so_often() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("out");
        let mut w = WritebackFile::new(File::create(&path).expect("created"));
        let chunk: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
        let chunks = 2 * (EVERY >> 20) + 3;
        for _ in 0..chunks {
            w.write_all(&chunk).expect("written");
        }
        assert_eq!(w.started(), 2);
        w.flush().expect("flushed");
        drop(w.into_inner());
        let mut back = Vec::new();
        File::open(&path)
            .expect("opened")
            .read_to_end(&mut back)
            .expect("read");
        assert_eq!(back.len() as u64, chunks << 20);
        assert!(back.chunks(1 << 20).all(|c| c == chunk.as_slice()));
    }
}
