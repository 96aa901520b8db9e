//! Segment framing: a rolling buffer over any `Read`, split on the terminator with `memchr`.
//!
//! The framer is the one place that handles "need more input": everything above
//! it sees whole segments. It keeps the bytes from the start of the current
//! segment to the end of the last read, carries the tail forward on refill,
//! and tracks the absolute byte offset and segment ordinal. Memory is bounded
//! by [`Limits`]: a segment longer than `max_segment` is skipped (and reported),
//! never buffered whole.

use std::io::{self, Read};

use memchr::memchr;
use memchr::memmem;

use super::delims::Delimiters;
use super::isa::{parse_isa, IsaHeader, ISA_SCAN_LIMIT};

/// Bounds on the framer's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest segment kept whole, terminator excluded; longer ones are skipped and reported.
    pub max_segment: usize,
    /// Bytes asked of the source per read.
    pub read_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_segment: 1 << 20,
            read_size: 64 << 10,
        }
    }
}

/// What a frame is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// A segment ended by the terminator.
    Segment,
    /// An ISA header, read (possibly with faults) and now in force.
    Isa(Box<IsaHeader>),
    /// Bytes starting with `ISA` that cannot be read as a header; framing resumes at the next `ISA`.
    BadIsa,
    /// The input ended inside this segment: no terminator followed it.
    Unterminated,
    /// A segment longer than [`Limits::max_segment`]; `bytes` holds only its start.
    Oversize {
        /// Its full length in bytes, terminator excluded.
        len: u64,
    },
    /// Bytes that are not part of any interchange (before the first ISA, or after an unreadable one).
    Junk {
        /// How many bytes were skipped.
        len: u64,
    },
}

/// One framed piece of input, borrowed from the framer's buffer until the next call.
#[derive(Debug)]
pub struct Frame<'a> {
    /// The segment without its terminator (for `Oversize`, its first bytes; for `Junk`, empty).
    pub bytes: &'a [u8],
    /// Absolute byte offset of the first byte.
    pub offset: u64,
    /// 1-based segment ordinal (for `Junk`, the ordinal the next segment will get).
    pub ordinal: u64,
    /// What the frame is.
    pub kind: FrameKind,
    /// Delimiters in force for this frame (`None` only for `Junk` and `BadIsa`).
    pub delimiters: Option<Delimiters>,
}

/// Finds the segment terminator with memchr's searcher for this CPU, chosen once per call of
/// [`Framer::drain_buffered`] instead of once per segment (segments average ~25 bytes, so the
/// per-call dispatch of `memchr::memchr` is a visible share of the work).
#[derive(Clone, Copy)]
enum Finder {
    #[cfg(target_arch = "x86_64")]
    Avx2(memchr::arch::x86_64::avx2::memchr::One),
    Any(u8),
}

impl Finder {
    #[inline]
    fn new(byte: u8) -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(one) = memchr::arch::x86_64::avx2::memchr::One::new(byte) {
            return Finder::Avx2(one);
        }
        Finder::Any(byte)
    }

    #[inline]
    fn find(&self, haystack: &[u8]) -> Option<usize> {
        match self {
            #[cfg(target_arch = "x86_64")]
            Finder::Avx2(one) => one.find(haystack),
            Finder::Any(byte) => memchr(*byte, haystack),
        }
    }
}

/// Bytes kept of an oversize segment so its id can still be reported.
const PREVIEW: usize = 64;

/// Splits a byte stream into segments.
pub struct Framer<R> {
    src: R,
    buf: Vec<u8>,
    /// First byte not yet handed out.
    start: usize,
    /// End of the valid bytes in `buf`.
    end: usize,
    /// The terminator search has covered `buf[start..scanned]` already.
    scanned: usize,
    /// Absolute offset of `buf[0]`.
    base: u64,
    /// Bytes of the previous frame still to be consumed.
    pending: usize,
    eof: bool,
    delims: Option<Delimiters>,
    ordinal: u64,
    limits: Limits,
    preview: Vec<u8>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b'\r' | b'\n' | b' ' | b'\t')
}

impl<R: Read> Framer<R> {
    /// A framer with the default [`Limits`].
    pub fn new(src: R) -> Self {
        Self::with_limits(src, Limits::default())
    }

    /// A framer with explicit limits (`read_size` at least 1, `max_segment` at least [`ISA_SCAN_LIMIT`]).
    pub fn with_limits(src: R, limits: Limits) -> Self {
        let limits = Limits {
            max_segment: limits.max_segment.max(ISA_SCAN_LIMIT),
            read_size: limits.read_size.max(1),
        };
        let initial = (2 * limits.read_size)
            .max(4096)
            .min(limits.max_segment + 2 * limits.read_size);
        Framer {
            src,
            buf: vec![0; initial],
            start: 0,
            end: 0,
            scanned: 0,
            base: 0,
            pending: 0,
            eof: false,
            delims: None,
            ordinal: 0,
            limits,
            preview: Vec::with_capacity(PREVIEW),
        }
    }

    /// Size of the buffer: never more than `max_segment + 2 * read_size`.
    pub fn buffer_capacity(&self) -> usize {
        self.buf.len()
    }

    /// Absolute offset of the next unread byte (after the last frame handed out).
    pub fn offset(&self) -> u64 {
        self.base + (self.start + self.pending) as u64
    }

    /// Segments handed out so far.
    pub fn segments(&self) -> u64 {
        self.ordinal
    }

    /// Reads more bytes, compacting or growing the buffer first. Returns `false` at end of input.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 && self.buf.len() - self.end < self.limits.read_size {
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            self.end -= self.start;
            self.scanned -= self.start.min(self.scanned);
            self.start = 0;
        }
        if self.buf.len() - self.end < self.limits.read_size {
            let cap = self.limits.max_segment + 2 * self.limits.read_size;
            let want = (self.buf.len() * 2)
                .max(self.end + self.limits.read_size)
                .min(cap);
            if want > self.buf.len() {
                self.buf.resize(want, 0);
            }
        }
        let room = (self.buf.len() - self.end).min(self.limits.read_size);
        if room == 0 {
            return Ok(true);
        }
        loop {
            match self.src.read(&mut self.buf[self.end..self.end + room]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Drops every buffered byte before `start`, so a long skip holds no memory.
    fn discard_consumed(&mut self) {
        self.base += self.start as u64;
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.scanned = self.scanned.saturating_sub(self.start);
        self.start = 0;
    }

    fn abs(&self, i: usize) -> u64 {
        self.base + i as u64
    }

    /// The next frame, or `None` at the end of input.
    #[allow(clippy::should_implement_trait)]
    #[inline]
    pub fn next(&mut self) -> io::Result<Option<Frame<'_>>> {
        self.start += self.pending;
        self.pending = 0;
        loop {
            while self.start < self.end && is_space(self.buf[self.start]) {
                self.start += 1;
            }
            if self.start == self.end {
                if self.fill()? {
                    continue;
                }
                return Ok(None);
            }
            if self.end - self.start < 3 && !self.eof {
                self.fill()?;
                continue;
            }
            if self.buf[self.start..self.end].starts_with(b"ISA") {
                return self.frame_isa();
            }
            match self.delims {
                None => return self.frame_junk(),
                Some(d) => return self.frame_segment(d),
            }
        }
    }

    /// Hands every ordinary segment already buffered to `f(bytes, offset, ordinal, delimiters)`,
    /// without reading. Stops before an ISA, an incomplete segment, or when no delimiters are
    /// known; [`Framer::next`] takes over from there. This is the hot loop: no frame is built.
    #[inline]
    pub fn drain_buffered(&mut self, mut f: impl FnMut(&[u8], u64, u64, Delimiters)) {
        let Some(d) = self.delims else { return };
        // Locals, so the loop keeps its state in registers while `f` runs.
        let buf = &self.buf[..self.end];
        let base = self.base;
        let mut start = self.start + self.pending;
        let mut scanned = self.scanned.max(start);
        let mut ordinal = self.ordinal;
        let finder = Finder::new(d.segment);
        loop {
            while start < buf.len() && is_space(buf[start]) {
                start += 1;
            }
            let rest = &buf[start..];
            if rest.len() < 3 || rest.starts_with(b"ISA") {
                break;
            }
            let from = scanned.max(start);
            let Some(i) = finder.find(&buf[from..]) else {
                scanned = buf.len();
                break;
            };
            let stop = from + i;
            ordinal += 1;
            f(&buf[start..stop], base + start as u64, ordinal, d);
            start = stop + 1;
            scanned = start;
        }
        self.start = start;
        self.pending = 0;
        self.scanned = scanned;
        self.ordinal = ordinal;
    }

    fn frame_isa(&mut self) -> io::Result<Option<Frame<'_>>> {
        while self.end - self.start < ISA_SCAN_LIMIT && self.fill()? {}
        let window = &self.buf[self.start..self.end];
        match parse_isa(window, self.eof) {
            Ok(isa) => {
                let len = isa.len;
                let d = isa.delimiters;
                // Framing needs a usable element separator and terminator; without them the
                // interchange cannot be split, and the bytes up to the next ISA are skipped.
                let framable = d.element != d.segment
                    && !d.element.is_ascii_alphanumeric()
                    && !d.segment.is_ascii_alphanumeric()
                    && d.element != b' '
                    && d.segment != b' ';
                self.delims = framable.then_some(d);
                self.ordinal += 1;
                self.pending = len;
                let start = self.start;
                Ok(Some(Frame {
                    bytes: &self.buf[start..start + len - 1],
                    offset: self.abs(start),
                    ordinal: self.ordinal,
                    kind: FrameKind::Isa(Box::new(isa)),
                    delimiters: Some(d),
                }))
            }
            Err(_) => {
                self.delims = None;
                self.ordinal += 1;
                self.pending = 3;
                let start = self.start;
                let shown = (self.end - start).min(106);
                Ok(Some(Frame {
                    bytes: &self.buf[start..start + shown],
                    offset: self.abs(start),
                    ordinal: self.ordinal,
                    kind: FrameKind::BadIsa,
                    delimiters: None,
                }))
            }
        }
    }

    fn frame_junk(&mut self) -> io::Result<Option<Frame<'_>>> {
        let offset = self.abs(self.start);
        let mut len: u64 = 0;
        loop {
            let window = &self.buf[self.start..self.end];
            if let Some(i) = memmem::find(window, b"ISA") {
                len += i as u64;
                self.start += i;
                break;
            }
            if self.eof {
                len += window.len() as u64;
                self.start = self.end;
                break;
            }
            // Keep two bytes: they may be the start of "ISA".
            let keep = window.len().min(2);
            let skip = window.len() - keep;
            len += skip as u64;
            self.start += skip;
            self.discard_consumed();
            self.fill()?;
        }
        Ok(Some(Frame {
            bytes: &[],
            offset,
            ordinal: self.ordinal + 1,
            kind: FrameKind::Junk { len },
            delimiters: None,
        }))
    }

    fn frame_segment(&mut self, d: Delimiters) -> io::Result<Option<Frame<'_>>> {
        self.scanned = self.scanned.max(self.start);
        loop {
            if let Some(i) = memchr(d.segment, &self.buf[self.scanned..self.end]) {
                let stop = self.scanned + i;
                self.ordinal += 1;
                self.pending = stop + 1 - self.start;
                self.scanned = stop + 1;
                let start = self.start;
                return Ok(Some(Frame {
                    bytes: &self.buf[start..stop],
                    offset: self.abs(start),
                    ordinal: self.ordinal,
                    kind: FrameKind::Segment,
                    delimiters: Some(d),
                }));
            }
            self.scanned = self.end;
            if self.end - self.start > self.limits.max_segment {
                return self.skip_oversize(d);
            }
            if !self.fill()? {
                self.ordinal += 1;
                self.pending = self.end - self.start;
                let start = self.start;
                return Ok(Some(Frame {
                    bytes: &self.buf[start..self.end],
                    offset: self.abs(start),
                    ordinal: self.ordinal,
                    kind: FrameKind::Unterminated,
                    delimiters: Some(d),
                }));
            }
        }
    }

    /// Skips a segment longer than the limit, keeping only its first bytes.
    fn skip_oversize(&mut self, d: Delimiters) -> io::Result<Option<Frame<'_>>> {
        let offset = self.abs(self.start);
        self.preview.clear();
        let head = (self.end - self.start).min(PREVIEW);
        self.preview
            .extend_from_slice(&self.buf[self.start..self.start + head]);
        let mut len: u64 = 0;
        let terminated = loop {
            if let Some(i) = memchr(d.segment, &self.buf[self.start..self.end]) {
                len += i as u64;
                self.start += i + 1;
                break true;
            }
            len += (self.end - self.start) as u64;
            self.start = self.end;
            self.discard_consumed();
            if !self.fill()? {
                break false;
            }
        };
        self.scanned = self.start;
        self.ordinal += 1;
        let _ = terminated;
        Ok(Some(Frame {
            bytes: &self.preview,
            offset,
            ordinal: self.ordinal,
            kind: FrameKind::Oversize { len },
            delimiters: Some(d),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISA: &str = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *251215*1200*^*00501*000000001*0*T*:~";

    fn frames(input: &[u8], limits: Limits) -> Vec<(Vec<u8>, u64, u64, FrameKind)> {
        let mut f = Framer::with_limits(input, limits);
        let mut out = Vec::new();
        while let Some(fr) = f.next().expect("no io error") {
            out.push((fr.bytes.to_vec(), fr.offset, fr.ordinal, fr.kind));
        }
        out
    }

    #[test]
    fn the_cpu_finder_agrees_with_memchr() {
        let hay: Vec<u8> = (0..5000u32).map(|i| (i * 7919 % 97) as u8).collect();
        for needle in [0u8, 5, 42, 96, 200] {
            for start in [0, 1, 31, 32, 33, 1000, 4990, 5000] {
                let expected = memchr(needle, &hay[start..]);
                assert_eq!(Finder::new(needle).find(&hay[start..]), expected);
                assert_eq!(Finder::Any(needle).find(&hay[start..]), expected);
            }
        }
    }

    #[test]
    fn splits_segments_and_tolerates_line_ends() {
        let input = format!("{ISA}\r\nGS*HC~\nST*837*0001~\r\n");
        let got = frames(input.as_bytes(), Limits::default());
        assert_eq!(got.len(), 3);
        assert!(matches!(got[0].3, FrameKind::Isa(_)));
        assert_eq!(got[1].0, b"GS*HC");
        assert_eq!(got[1].1, 108);
        assert_eq!(got[2].0, b"ST*837*0001");
        assert_eq!(got[2].2, 3);
    }

    #[test]
    fn tiny_reads_give_the_same_frames() {
        let input = format!("{ISA}GS*HC~ST*837*0001~SE*2*0001~");
        let big = frames(input.as_bytes(), Limits::default());
        for read_size in [1, 2, 7, 64] {
            let limits = Limits {
                read_size,
                ..Limits::default()
            };
            assert_eq!(
                frames(input.as_bytes(), limits),
                big,
                "read size {read_size}"
            );
        }
    }

    #[test]
    fn junk_before_the_isa_is_one_frame() {
        let input = format!("garbage{ISA}IEA*0*000000001~");
        let got = frames(input.as_bytes(), Limits::default());
        assert_eq!(got[0].3, FrameKind::Junk { len: 7 });
        assert!(matches!(got[1].3, FrameKind::Isa(_)));
        assert_eq!(got[1].1, 7);
    }

    #[test]
    fn oversize_segments_are_skipped_in_bounded_memory() {
        let limits = Limits {
            max_segment: 1024,
            read_size: 100,
        };
        let mut input = ISA.as_bytes().to_vec();
        input.extend(b"NTE*");
        input.extend(std::iter::repeat_n(b'x', 100_000));
        input.extend(b"~SE*1*1~");
        let mut f = Framer::with_limits(&input[..], limits);
        let mut kinds = Vec::new();
        while let Some(fr) = f.next().unwrap() {
            kinds.push(fr.kind.clone());
            if let FrameKind::Oversize { .. } = fr.kind {
                assert!(fr.bytes.starts_with(b"NTE*"));
            }
        }
        assert_eq!(kinds[1], FrameKind::Oversize { len: 100_004 });
        assert_eq!(kinds[2], FrameKind::Segment);
        assert!(f.buffer_capacity() <= 1024 + 200 + 4096);
    }

    #[test]
    fn unterminated_tail_is_reported() {
        let input = format!("{ISA}IEA*0*000000001");
        let got = frames(input.as_bytes(), Limits::default());
        assert_eq!(got[1].3, FrameKind::Unterminated);
        assert_eq!(got[1].0, b"IEA*0*000000001");
    }
}
