//! The cold side of the member history: members the index has not used lately, moved out of
//! memory into an anonymous temporary file, behind a Bloom filter of their keys so that a
//! member never spilled costs no look-up.
//!
//! The file is a log split by key hash into partitions: spilling appends (each partition
//! gathers its members in a small buffer and writes it out as one chunk), so it costs about the
//! same whatever the size of the store; finding a spilled member reads its partition's chunks;
//! a member taken back is marked dead in a bitmap rather than rewritten. (A B-tree here, in
//! SQLite, was tried first: with a page cache far smaller than the tree, every spilled member
//! cost a page read and write, about 5 µs.)

use super::index::{Code, Entry, MemberKey, Record, Side};
use super::small::SmallStr;
use crate::claim::Date;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

/// Member history could not be moved out of or back into memory: the overflow store failed
/// (the temporary directory is full or unwritable, say), or the history database could not be
/// read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SpillError(pub String);

impl From<std::io::Error> for SpillError {
    fn from(e: std::io::Error) -> Self {
        SpillError(format!(
            "member history overflow store (a temporary file): {e}"
        ))
    }
}

/// Bloom filter bits: 2^25 (4 MiB), fixed, so memory stays bounded however many members
/// spill. The filter is blocked: a key's probes all fall in one 512-bit block (one cache line),
/// so a look-up or insert costs one cache miss instead of four; with 4 probes that is about
/// 0.25 % false positives at 2 million spilled members and about 3 % at 4.4 million, a little
/// over an unblocked filter's 0.2 % and 2.8 % (a false positive only costs a look-up that finds
/// nothing).
const BLOOM_BITS: u64 = 1 << 25;
const BLOOM_PROBES: u32 = 4;
/// Bits of a block (a cache line), and 64-bit words in it.
const BLOCK_BITS: u64 = 512;
const BLOCK_WORDS: usize = (BLOCK_BITS / 64) as usize;

/// Partitions of the log: a look-up reads one of them, 1/1024 of the store.
const PARTS: usize = 1 << PART_BITS;
const PART_BITS: u32 = 10;

/// A partition's buffer is written out before it would grow past this (so about 2 MiB of
/// buffers in all).
const CHUNK: usize = 2048;

/// A Bloom filter over member keys (their [`hash`]).
pub(crate) struct Bloom {
    /// The bits, zeroed by the allocator (untouched pages cost nothing), with a block's worth
    /// of slack so that blocks can start on a cache line.
    words: Vec<u64>,
    /// The word where the first block starts (on a 64-byte boundary).
    start: usize,
}

impl Bloom {
    pub(crate) fn new() -> Self {
        let words = vec![0u64; (BLOOM_BITS / 64) as usize + BLOCK_WORDS];
        let misaligned = (words.as_ptr() as usize % 64) / 8;
        Bloom {
            start: (BLOCK_WORDS - misaligned) % BLOCK_WORDS,
            words,
        }
    }

    /// The words of `h`'s block and the word and mask of each probe in it (9 bits each). The
    /// block comes from the hash's high bits; the partition and the probes take low ones.
    fn probes(h: u64) -> (usize, impl Iterator<Item = (usize, u64)>) {
        let block = ((h >> 40) % (BLOOM_BITS / BLOCK_BITS)) as usize;
        let bits = (0..BLOOM_PROBES).map(move |i| {
            let bit = (h >> (9 * i)) % BLOCK_BITS;
            ((bit / 64) as usize, 1u64 << (bit % 64))
        });
        (block * BLOCK_WORDS, bits)
    }

    fn block_mut(&mut self, at: usize) -> Option<&mut [u64]> {
        self.words
            .get_mut(self.start + at..self.start + at + BLOCK_WORDS)
    }

    fn block(&self, at: usize) -> Option<&[u64]> {
        self.words
            .get(self.start + at..self.start + at + BLOCK_WORDS)
    }

    pub(crate) fn insert(&mut self, h: u64) {
        let (at, bits) = Self::probes(h);
        if let Some(b) = self.block_mut(at) {
            for (w, m) in bits {
                if let Some(word) = b.get_mut(w) {
                    *word |= m;
                }
            }
        }
    }

    pub(crate) fn may_hold(&self, h: u64) -> bool {
        let (at, mut bits) = Self::probes(h);
        self.block(at)
            .is_some_and(|b| bits.all(|(w, m)| b.get(w).is_some_and(|word| word & m != 0)))
    }
}

/// A member key's hash: the spill's partition and filters, and the history database's row id
/// ([`super::store`], schema version 4), so it is **stored**: it must never change (a test
/// pins it). Its top bits are the member id's alone ([`member_prefix`]) and its low
/// [`KEY_BITS`] bits come from the whole key, so one member id's rows, whatever the payer and
/// patient, sit in one range of row ids (`history show --member` reads that range). A word at
/// a time, then SplitMix64's finaliser.
pub(crate) fn hash(key: &MemberKey) -> u64 {
    hash_bytes(key.payer.as_bytes(), key.member.as_bytes(), key.patient)
}

/// Low bits of [`hash`] taken from the whole key (payer, member id, patient); the rest come
/// from the member id alone.
pub(crate) const KEY_BITS: u32 = 20;

/// The bits of [`hash`] under [`KEY_BITS`].
pub(crate) const KEY_MASK: u64 = (1 << KEY_BITS) - 1;

/// [`hash`] of a key given by its parts.
pub(crate) fn hash_parts(payer: &str, member: &str, patient: u64) -> u64 {
    hash_bytes(payer.as_bytes(), member.as_bytes(), patient)
}

/// What every [`hash`] of a key with this member id has above [`KEY_BITS`] (its low bits
/// zero).
pub(crate) fn member_prefix(member: &[u8]) -> u64 {
    // Unit tests make members whose id starts with `#collide` share one hash (below).
    #[cfg(test)]
    let member = if member.starts_with(b"#collide") {
        &b"#collide"[..]
    } else {
        member
    };
    // A seed of its own, so the prefix is not the whole key's hash of an empty payer.
    finalise(mix_text(0x6d65_6d62_6572_6964, member)) & !KEY_MASK
}

/// One step of [`hash_bytes`].
fn mix_word(h: u64, word: u64) -> u64 {
    (h.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// A text's words into `h`, then its tail with its length (so that texts differing only by
/// trailing zeros, or split differently between payer and member, differ).
fn mix_text(mut h: u64, bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut a = [0; 8];
        a.copy_from_slice(w);
        h = mix_word(h, u64::from_le_bytes(a));
    }
    let rest = words.remainder();
    let mut a = [0; 8];
    a[..rest.len()].copy_from_slice(rest);
    mix_word(h, u64::from_le_bytes(a) ^ (bytes.len() as u64) << 59)
}

/// SplitMix64's finaliser.
fn finalise(h: u64) -> u64 {
    let mut z = (h ^ (h >> 31)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 29;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hash_bytes(payer: &[u8], member: &[u8], patient: u64) -> u64 {
    // Unit tests make members whose id starts with `#collide` share one hash, to exercise
    // what a collision of row ids does.
    #[cfg(test)]
    if member.starts_with(b"#collide") {
        return member_prefix(member) | 7;
    }
    let whole = finalise(mix_word(mix_text(mix_text(0, payer), member), patient));
    member_prefix(member) | whole & KEY_MASK
}

/// The partition of a hash: its top bits, so that partitions in order hold ascending hashes.
fn part_of(h: u64) -> usize {
    (h >> (64 - PART_BITS)) as usize
}

/// One partition: the chunks written and what waits to be. A chunk is its offset in the file
/// shifted left 16 bits, or'd with its length; a chunk of 64 KiB or more (one member with a
/// long history) has length 0 there and starts with its length as a `u32`. (8 bytes a chunk:
/// at 2 KiB a chunk, 4 MB for 4 million members spilled.)
#[derive(Default)]
struct Part {
    chunks: Vec<u64>,
    buf: Vec<u8>,
}

/// The cold store.
pub struct Spill {
    file: File,
    /// Bytes written to the file.
    len: u64,
    parts: Vec<Part>,
    bloom: Bloom,
    /// One bit per member ever spilled (by its number): set once taken back.
    dead: Vec<u64>,
    /// Members spilled so far (the next one's number).
    next: u64,
    /// Members it holds.
    held: u64,
}

impl std::fmt::Debug for Spill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spill")
            .field("held", &self.held)
            .field("bytes", &self.len)
            .finish()
    }
}

/// A spilled member as the log holds it.
struct Logged<'a> {
    number: u64,
    payer: &'a str,
    member: &'a str,
    patient: u64,
    entry: &'a [u8],
}

/// Reads the members logged in `bytes` (a chunk or a buffer).
fn logged(mut bytes: &[u8]) -> impl Iterator<Item = Result<Logged<'_>, SpillError>> {
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let mut r = Reader(bytes);
        let item = (|| {
            let number = r.u64()?;
            let payer = r.str()?;
            let member = r.str()?;
            let patient = r.u64()?;
            let n = r.u32()? as usize;
            let entry = r.take(n)?;
            Ok(Logged {
                number,
                payer,
                member,
                patient,
                entry,
            })
        })();
        bytes = if item.is_ok() { r.0 } else { &[] };
        Some(item)
    })
}

/// Appends `bytes` as a chunk at `at`, the end of the file: returns the chunk as
/// [`Part::chunks`] names it and the bytes written.
fn write_chunk(file: &mut File, at: u64, bytes: &[u8]) -> Result<(u64, u64), SpillError> {
    file.seek(SeekFrom::Start(at))?;
    let n = bytes.len();
    let packed = if n < 1 << 16 {
        n as u64
    } else {
        file.write_all(&(n as u32).to_le_bytes())?;
        0
    };
    file.write_all(bytes)?;
    Ok((
        at << 16 | packed,
        (n + if packed == 0 { 4 } else { 0 }) as u64,
    ))
}

/// Reads a chunk (as [`Part::chunks`] names it) into `buf`.
fn read_chunk(mut file: &File, chunk: u64, buf: &mut Vec<u8>) -> Result<(), SpillError> {
    let (mut at, mut n) = (chunk >> 16, (chunk & 0xffff) as usize);
    file.seek(SeekFrom::Start(at))?;
    if n == 0 {
        let mut len = [0; 4];
        file.read_exact(&mut len)?;
        n = u32::from_le_bytes(len) as usize;
        at += 4;
        file.seek(SeekFrom::Start(at))?;
    }
    buf.resize(n, 0);
    file.read_exact(buf)?;
    Ok(())
}

impl Spill {
    /// A new, empty store in an anonymous temporary file.
    pub fn new() -> Result<Self, SpillError> {
        Ok(Spill {
            file: tempfile::tempfile()?,
            len: 0,
            parts: (0..PARTS).map(|_| Part::default()).collect(),
            bloom: Bloom::new(),
            dead: Vec::new(),
            next: 0,
            held: 0,
        })
    }

    /// Members held.
    pub fn held(&self) -> u64 {
        self.held
    }

    fn is_dead(&self, n: u64) -> bool {
        self.dead
            .get((n / 64) as usize)
            .is_some_and(|w| w & (1 << (n % 64)) != 0)
    }

    fn kill(&mut self, n: u64) {
        let i = (n / 64) as usize;
        if self.dead.len() <= i {
            self.dead.resize(i + 1, 0);
        }
        self.dead[i] |= 1 << (n % 64);
    }

    /// Moves members in.
    pub fn put(&mut self, members: Vec<(MemberKey, Entry)>) -> Result<(), SpillError> {
        for (key, entry) in &members {
            let h = hash(key);
            self.bloom.insert(h);
            let part = part_of(h);
            let Some(p) = self.parts.get_mut(part) else {
                continue;
            };
            if p.buf.capacity() == 0 {
                p.buf.reserve_exact(CHUNK);
            }
            // Logged straight into the buffer; what was there before goes out first when this
            // member takes it past its chunk, so buffers mostly keep their first allocation.
            let at = p.buf.len();
            p.buf.extend_from_slice(&self.next.to_le_bytes());
            put_str(&mut p.buf, key.payer.as_bytes());
            put_str(&mut p.buf, key.member.as_bytes());
            p.buf.extend_from_slice(&key.patient.to_le_bytes());
            let len_at = p.buf.len();
            p.buf.extend_from_slice(&[0; 4]);
            encode(entry, &mut p.buf);
            let n = (p.buf.len() - len_at - 4) as u32;
            p.buf[len_at..len_at + 4].copy_from_slice(&n.to_le_bytes());
            if at > 0 && p.buf.len() > CHUNK {
                let chunk = write_chunk(&mut self.file, self.len, &p.buf[..at])?;
                p.chunks.push(chunk.0);
                self.len += chunk.1;
                p.buf.copy_within(at.., 0);
                p.buf.truncate(p.buf.len() - at);
            }
            self.next += 1;
            self.held += 1;
        }
        Ok(())
    }

    /// The live members of a partition, their entries' bytes copied out.
    fn live(&self, part: usize) -> Result<Vec<(u64, MemberKey, Vec<u8>)>, SpillError> {
        let Some(p) = self.parts.get(part) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut chunk = Vec::new();
        let scan = |bytes: &[u8], out: &mut Vec<(u64, MemberKey, Vec<u8>)>| {
            for l in logged(bytes) {
                let l = l?;
                if !self.is_dead(l.number) {
                    let key = MemberKey {
                        payer: l.payer.into(),
                        member: l.member.into(),
                        patient: l.patient,
                    };
                    out.push((l.number, key, l.entry.to_vec()));
                }
            }
            Ok::<(), SpillError>(())
        };
        for &c in &p.chunks {
            read_chunk(&self.file, c, &mut chunk)?;
            scan(&chunk, &mut out)?;
        }
        scan(&p.buf, &mut out)?;
        Ok(out)
    }

    /// Takes a member out, when it holds it.
    pub fn take(&mut self, key: &MemberKey) -> Result<Option<Entry>, SpillError> {
        self.take_hashed(key, hash(key))
    }

    /// [`Spill::take`] with the key's [`hash`] known.
    pub(crate) fn take_hashed(
        &mut self,
        key: &MemberKey,
        h: u64,
    ) -> Result<Option<Entry>, SpillError> {
        if !self.bloom.may_hold(h) {
            return Ok(None);
        }
        let part = part_of(h);
        let mut found: Option<(u64, Vec<u8>)> = None;
        let mut chunk = Vec::new();
        let chunks = self
            .parts
            .get(part)
            .map(|p| p.chunks.clone())
            .unwrap_or_default();
        let mut look = |bytes: &[u8], dead: &dyn Fn(u64) -> bool| -> Result<(), SpillError> {
            for l in logged(bytes) {
                let l = l?;
                if l.patient == key.patient
                    && l.member.as_bytes() == key.member.as_bytes()
                    && l.payer.as_bytes() == key.payer.as_bytes()
                    && !dead(l.number)
                {
                    found = Some((l.number, l.entry.to_vec()));
                }
            }
            Ok(())
        };
        for c in chunks {
            read_chunk(&self.file, c, &mut chunk)?;
            look(&chunk, &|n| self.is_dead(n))?;
        }
        if let Some(p) = self.parts.get(part) {
            look(&p.buf, &|n| self.is_dead(n))?;
        }
        match found {
            Some((n, bytes)) => {
                self.kill(n);
                self.held = self.held.saturating_sub(1);
                decode(&bytes).map(Some)
            }
            None => Ok(None),
        }
    }

    /// Visits every member held with its [`hash`], in ascending order of hash (partition by
    /// partition, each sorted; equal hashes by key): one partition at a time is in memory.
    pub fn visit<E: From<SpillError>>(
        &mut self,
        mut f: impl FnMut(u64, &MemberKey, Entry) -> Result<(), E>,
    ) -> Result<(), E> {
        for part in 0..PARTS {
            let mut live: Vec<(u64, MemberKey, Vec<u8>)> = self
                .live(part)?
                .into_iter()
                .map(|(_, key, bytes)| (hash(&key), key, bytes))
                .collect();
            live.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            for (h, key, bytes) in live {
                f(h, &key, decode(&bytes)?)?;
            }
        }
        Ok(())
    }
}

// The entry layout: claim ids first (each record names its claim by index), then the removed
// claims, then the records. Integers little-endian.

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    // Claim ids, payer keys and member ids are short; u32 lengths keep the reader simple.
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s);
}

/// The index of a claim id in `claims` (the distinct ids, in order of first use).
fn index_of(c: &SmallStr, claims: &[&SmallStr]) -> u32 {
    // A member has a claim or two: a scan beats a map.
    claims.iter().rposition(|k| *k == c).unwrap_or(0) as u32
}

/// Writes an entry.
pub fn encode(e: &Entry, out: &mut Vec<u8>) {
    // Most members have one claim: one id, no list.
    let first = e.recs.first().map(|r| &r.claim).or(e.removed.first());
    let more = e
        .recs
        .iter()
        .map(|r| &r.claim)
        .chain(&e.removed)
        .any(|c| Some(c) != first);
    let mut claims: Vec<&SmallStr> = Vec::new();
    if more {
        for c in e.recs.iter().map(|r| &r.claim).chain(&e.removed) {
            if !claims.contains(&c) {
                claims.push(c);
            }
        }
    }
    let one;
    let claims: &[&SmallStr] = match first {
        Some(c) if !more => {
            one = [c];
            &one
        }
        _ => &claims,
    };
    out.extend_from_slice(&e.used.to_le_bytes());
    out.extend_from_slice(&(claims.len() as u32).to_le_bytes());
    for c in claims {
        put_str(out, c.as_bytes());
    }
    out.extend_from_slice(&(e.removed.len() as u32).to_le_bytes());
    for c in &e.removed {
        out.extend_from_slice(&index_of(c, claims).to_le_bytes());
    }
    out.extend_from_slice(&(e.recs.len() as u32).to_le_bytes());
    for r in &e.recs {
        // One claim: every record's is the first.
        let claim = if more { index_of(&r.claim, claims) } else { 0 };
        encode_record(r, claim, out);
    }
}

/// Bytes of an encoded record at most (a seven-byte code).
const RECORD_MAX: usize = 48;

/// Writes a record (its claim by index), gathered on the stack and appended at once.
fn encode_record(r: &Record, claim: u32, out: &mut Vec<u8>) {
    let mut buf = [0u8; RECORD_MAX];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        if let Some(slot) = buf.get_mut(at..at + bytes.len()) {
            slot.copy_from_slice(bytes);
        }
        at += bytes.len();
    };
    let code = r.code.as_bytes();
    put(&claim.to_le_bytes());
    put(&[code.len() as u8]);
    put(code);
    put(&r.region.to_le_bytes());
    put(&[r.side as u8]);
    put(&r.date.year.to_le_bytes());
    put(&[r.date.month, r.date.day]);
    put(&r.seq.to_le_bytes());
    put(&[u8::from(r.counted) | u8::from(r.stored) << 1 | u8::from(r.dirty) << 2]);
    put(&r.units.to_le_bytes());
    put(&r.provider.to_le_bytes());
    put(&r.stamp.to_le_bytes());
    put(&r.recorded.to_le_bytes());
    out.extend_from_slice(buf.get(..at).unwrap_or(&buf));
}

/// A bounds-checked reader over an entry.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SpillError> {
        if self.0.len() < n {
            return Err(SpillError("an entry is truncated".to_owned()));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], SpillError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, SpillError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, SpillError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, SpillError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, SpillError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn str(&mut self) -> Result<&'a str, SpillError> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).map_err(|_| SpillError("a claim id is not text".into()))
    }
}

/// Reads an entry.
pub fn decode(b: &[u8]) -> Result<Entry, SpillError> {
    let bad = |what: &str| SpillError(format!("an entry has a bad {what}"));
    let mut r = Reader(b);
    let used = r.u64()?;
    let n = r.u32()? as usize;
    let mut claims: Vec<SmallStr> = Vec::with_capacity(n.min(b.len()));
    for _ in 0..n {
        claims.push(r.str()?.into());
    }
    let claim = |i: u32| {
        claims
            .get(i as usize)
            .cloned()
            .ok_or_else(|| bad("claim index"))
    };
    let n = r.u32()? as usize;
    let mut removed = Vec::with_capacity(n.min(b.len()));
    for _ in 0..n {
        removed.push(claim(r.u32()?)?);
    }
    let n = r.u32()? as usize;
    let mut recs = Vec::with_capacity(n.min(b.len()));
    for _ in 0..n {
        let c = claim(r.u32()?)?;
        let len = usize::from(r.u8()?);
        let code = std::str::from_utf8(r.take(len)?).map_err(|_| bad("code"))?;
        let region = r.u16()?;
        let side = match r.u8()? {
            0 => Side::Unknown,
            1 => Side::Right,
            2 => Side::Left,
            3 => Side::Both,
            _ => return Err(bad("side")),
        };
        let date = Date {
            year: r.u16()?,
            month: r.u8()?,
            day: r.u8()?,
        };
        let seq = r.u64()?;
        let flags = r.u8()?;
        recs.push(Record {
            claim: c,
            code: Code::from(code),
            region,
            side,
            date,
            seq,
            counted: flags & 1 != 0,
            stored: flags & 2 != 0,
            dirty: flags & 4 != 0,
            units: r.u32()?,
            provider: r.u64()?,
            stamp: r.u32()?,
            recorded: r.u32()?,
        });
    }
    if !r.0.is_empty() {
        return Err(bad("length"));
    }
    Ok(Entry {
        recs,
        removed,
        used,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(i: u64) -> (MemberKey, Entry) {
        // Some claim ids too long to be inline.
        let claim = SmallStr::from(match i % 5 {
            0 => format!("CLAIM{i}-{}", "X".repeat(30)),
            _ => format!("CLAIM{i}"),
        });
        let rec = Record {
            claim: claim.clone(),
            code: Code::from(["64635", "64636", "64493"][(i % 3) as usize]),
            region: (i % 2) as u16,
            side: Side::Left,
            date: Date {
                year: 2025,
                month: 1 + (i % 12) as u8,
                day: 1 + (i % 28) as u8,
            },
            seq: i,
            counted: i % 5 != 0,
            units: 100 * (1 + (i % 3) as u32),
            provider: i.wrapping_mul(0x9e37_79b9),
            stamp: i as u32,
            recorded: (i as u32) >> 1,
            stored: i % 3 == 0,
            dirty: i % 4 == 0,
        };
        let key = MemberKey {
            payer: (if i % 2 == 0 { "medicare" } else { "aetna" }).into(),
            member: format!("M{i:08}").into(),
            patient: i % 3,
        };
        let entry = Entry {
            recs: vec![rec.clone(), Record { seq: i + 1, ..rec }],
            removed: if i % 9 == 0 { vec![claim] } else { Vec::new() },
            used: i,
        };
        (key, entry)
    }

    proptest::proptest! {
        /// A key put in the filter is always found; a filter of a few keys finds few others.
        #[test]
        fn the_bloom_filter_has_no_false_negatives(
            keys in proptest::collection::vec(proptest::num::u64::ANY, 1..200),
            others in proptest::collection::vec(proptest::num::u64::ANY, 200),
        ) {
            let mut b = Bloom::new();
            for &k in &keys {
                b.insert(k);
            }
            proptest::prop_assert!(keys.iter().all(|&k| b.may_hold(k)));
            let false_positives = others
                .iter()
                .filter(|&&o| !keys.contains(&o) && b.may_hold(o))
                .count();
            proptest::prop_assert!(false_positives <= 1, "{false_positives}");
        }
    }

    proptest::proptest! {
        /// Any entry reads back as itself, whatever its codes, numbers and flags.
        #[test]
        fn an_entry_decodes_to_itself(
            recs in proptest::collection::vec(
                (
                    0usize..3,
                    "[0-9A-Z]{0,7}",
                    proptest::num::u16::ANY,
                    0u8..4,
                    (proptest::num::u16::ANY, proptest::num::u8::ANY, proptest::num::u8::ANY),
                    (proptest::num::u64::ANY, 0u8..8, proptest::num::u32::ANY),
                    (proptest::num::u64::ANY, proptest::num::u32::ANY),
                ),
                0..6,
            ),
            removed in proptest::collection::vec(0usize..3, 0..3),
            used in proptest::num::u64::ANY,
        ) {
            let claims = ["A1", "CLAIM-WITH-A-LONG-ID-0123456789", ""];
            let sides = [Side::Unknown, Side::Right, Side::Left, Side::Both];
            let recs: Vec<Record> = recs
                .into_iter()
                .map(|(c, code, region, side, (year, month, day), (seq, flags, units), (provider, stamp))| Record {
                    claim: claims[c].into(),
                    code: Code::from(code.as_str()),
                    region,
                    side: sides[usize::from(side)],
                    date: Date { year, month, day },
                    seq,
                    counted: flags & 1 != 0,
                    stored: flags & 2 != 0,
                    dirty: flags & 4 != 0,
                    units,
                    provider,
                    stamp,
                    recorded: stamp.rotate_left(7),
                })
                .collect();
            let e = Entry {
                recs,
                removed: removed.into_iter().map(|c| claims[c].into()).collect(),
                used,
            };
            let mut bytes = Vec::new();
            encode(&e, &mut bytes);
            proptest::prop_assert_eq!(decode(&bytes).unwrap(), e);
        }
    }

    #[test]
    fn members_spilled_come_back_once_and_the_rest_visit_in_order_of_hash() {
        let n = 30_000;
        let mut s = Spill::new().unwrap();
        // A member with a long history: its chunk is over 64 KiB (length kept in the file).
        let (big_key, mut big) = member(n + 7);
        big.recs = (0..3000)
            .map(|i| Record {
                seq: i,
                ..big.recs[0].clone()
            })
            .collect();
        s.put(vec![(big_key.clone(), big.clone())]).unwrap();
        s.put((0..n).map(member).collect()).unwrap();
        assert!(
            s.parts
                .iter()
                .flat_map(|p| &p.chunks)
                .any(|c| c & 0xffff == 0),
            "a long chunk was written"
        );
        assert_eq!(s.take(&big_key).unwrap(), Some(big));
        assert!(s.len > 0, "chunks reached the file");
        assert_eq!(s.held(), n);

        for i in (0..n).step_by(7) {
            let (k, e) = member(i);
            assert_eq!(s.take(&k).unwrap(), Some(e), "member {i}");
            assert_eq!(s.take(&k).unwrap(), None, "taken once");
        }
        // Taken, changed and spilled again: the new entry is the live one.
        let (k, mut e) = member(14);
        e.used = 99;
        s.put(vec![(k.clone(), e.clone())]).unwrap();
        let never = member(n + 1).0;
        assert_eq!(s.take(&never).unwrap(), None);
        let mut seen = Vec::new();
        s.visit(|h, k, e| -> Result<(), SpillError> {
            assert_eq!(h, hash(k));
            seen.push((k.clone(), e));
            Ok(())
        })
        .unwrap();
        let mut want: Vec<(MemberKey, Entry)> = (0..n).filter(|i| i % 7 != 0).map(member).collect();
        want.push((k, e));
        assert_eq!(seen.len(), want.len());
        let mut sorted = seen.clone();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        want.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(sorted, want);
        // In ascending order of hash, across partitions too.
        for w in seen.windows(2) {
            assert!(hash(&w[0].0) <= hash(&w[1].0));
        }
    }

    /// [`hash_parts`] of the three keys below, as schema version 4 stores them.
    const PINNED: [u64; 3] = [
        0xc223_c6b7_7410_11db,
        0x1999_3c9c_9f35_b0c1,
        0x7a23_8a2d_7090_0000,
    ];

    #[test]
    fn the_stored_hash_never_changes() {
        // The history database keys its rows by this hash: a change loses every member.
        let got = [
            hash_parts("medicare", "M1", 0xabc),
            hash_parts("payer:X", "W123456789", u64::MAX),
            hash_parts("", "", 0),
        ];
        assert_eq!(got, PINNED, "{got:#x?}");
    }

    proptest::proptest! {
        /// Above its low bits a key's hash is its member id's prefix alone, so one member
        /// id's rows share a range of row ids; the low bits still tell payers apart.
        #[test]
        fn a_member_ids_keys_share_its_prefix(
            member in "[A-Z0-9]{0,20}",
            payers in proptest::collection::vec("[a-z:0-9]{0,12}", 1..4),
            patient in proptest::num::u64::ANY,
        ) {
            let prefix = member_prefix(member.as_bytes());
            proptest::prop_assert_eq!(prefix & KEY_MASK, 0);
            for p in &payers {
                proptest::prop_assert_eq!(hash_parts(p, &member, patient) & !KEY_MASK, prefix);
            }
        }
    }
}
