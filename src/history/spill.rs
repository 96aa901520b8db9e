//! The cold side of the member history: members the index has not used lately, moved out of
//! memory into a private temporary SQLite database (deleted when it is closed), behind a Bloom
//! filter of their keys so that a member never spilled costs no look-up.

use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};

use super::index::{Code, Entry, MemberKey, Record, Side};
use crate::claim::Date;

/// The overflow store failed (the temporary directory is full or unwritable, say).
#[derive(Debug, thiserror::Error)]
#[error("member history overflow store: {0}")]
pub struct SpillError(pub String);

impl From<rusqlite::Error> for SpillError {
    fn from(e: rusqlite::Error) -> Self {
        SpillError(e.to_string())
    }
}

/// Bloom filter bits: 2^25 (4 MiB), fixed, so memory stays bounded however many members
/// spill; with 4 probes that is under 0.5 % false positives at 2 million spilled members and
/// about 3 % at 4.4 million (a false positive only costs a look-up that finds nothing).
const BLOOM_BITS: u64 = 1 << 25;
const BLOOM_PROBES: u64 = 4;

/// A Bloom filter over member keys.
struct Bloom {
    words: Vec<u64>,
}

impl Bloom {
    fn new() -> Self {
        Bloom {
            words: vec![0; (BLOOM_BITS / 64) as usize],
        }
    }

    fn probes(key: &MemberKey) -> impl Iterator<Item = usize> {
        let h = mix(super::fnv1a(&[
            key.payer.as_bytes(),
            key.member.as_bytes(),
            &key.patient.to_le_bytes(),
        ]));
        let (a, b) = (h & 0xffff_ffff, (h >> 32) | 1);
        (0..BLOOM_PROBES).map(move |i| (a.wrapping_add(i.wrapping_mul(b)) % BLOOM_BITS) as usize)
    }

    fn insert(&mut self, key: &MemberKey) {
        for bit in Self::probes(key) {
            if let Some(w) = self.words.get_mut(bit / 64) {
                *w |= 1 << (bit % 64);
            }
        }
    }

    fn may_hold(&self, key: &MemberKey) -> bool {
        Self::probes(key).all(|bit| {
            self.words
                .get(bit / 64)
                .is_some_and(|w| w & (1 << (bit % 64)) != 0)
        })
    }
}

/// SplitMix64's finaliser: spreads FNV's weak low bits over the whole word.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The cold store.
pub struct Spill {
    conn: Connection,
    bloom: Bloom,
    /// Members it holds.
    held: u64,
}

impl std::fmt::Debug for Spill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spill").field("held", &self.held).finish()
    }
}

impl Spill {
    /// A new, empty store in a private temporary database.
    pub fn new() -> Result<Self, SpillError> {
        // An empty name: SQLite's private temporary database, kept in its page cache until
        // that fills, then in a file of the temporary directory that goes with the connection.
        let conn = Connection::open("")?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -2048;
             CREATE TABLE cold (member TEXT NOT NULL, payer TEXT NOT NULL,
                 patient INTEGER NOT NULL, entry BLOB NOT NULL,
                 PRIMARY KEY (member, payer, patient)) WITHOUT ROWID;",
        )?;
        Ok(Spill {
            conn,
            bloom: Bloom::new(),
            held: 0,
        })
    }

    /// Members held.
    pub fn held(&self) -> u64 {
        self.held
    }

    /// Moves members in (one transaction).
    pub fn put(&mut self, mut members: Vec<(MemberKey, Entry)>) -> Result<(), SpillError> {
        // In the table's key order: neighbours share leaf pages, so each page is read and
        // written once per batch rather than once per member.
        members.sort_unstable_by(|a, b| {
            (&a.0.member, &a.0.payer, a.0.patient as i64).cmp(&(
                &b.0.member,
                &b.0.payer,
                b.0.patient as i64,
            ))
        });
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO cold (member, payer, patient, entry) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut buf = Vec::new();
            for (key, entry) in &members {
                buf.clear();
                encode(entry, &mut buf);
                insert.execute(params![&*key.member, &*key.payer, key.patient as i64, &buf])?;
                self.bloom.insert(key);
            }
        }
        tx.commit()?;
        self.held += members.len() as u64;
        Ok(())
    }

    /// Takes a member out, when it holds it.
    pub fn take(&mut self, key: &MemberKey) -> Result<Option<Entry>, SpillError> {
        if !self.bloom.may_hold(key) {
            return Ok(None);
        }
        let mut stmt = self.conn.prepare_cached(
            "DELETE FROM cold WHERE member = ?1 AND payer = ?2 AND patient = ?3 RETURNING entry",
        )?;
        let blob: Option<Vec<u8>> = stmt
            .query_row(
                params![&*key.member, &*key.payer, key.patient as i64],
                |r| r.get(0),
            )
            .optional()?;
        match blob {
            Some(b) => {
                self.held = self.held.saturating_sub(1);
                decode(&b).map(Some)
            }
            None => Ok(None),
        }
    }

    /// Visits every member held, in key order (member, payer, patient).
    pub fn visit<E: From<SpillError>>(
        &self,
        mut f: impl FnMut(&str, &str, u64, Entry) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT member, payer, patient, entry FROM cold ORDER BY member, payer, patient",
            )
            .map_err(SpillError::from)?;
        let mut rows = stmt.query([]).map_err(SpillError::from)?;
        while let Some(row) = rows.next().map_err(SpillError::from)? {
            let text = |i: usize| -> Result<&str, SpillError> {
                row.get_ref(i)?
                    .as_str()
                    .map_err(|_| SpillError("a key is not text".to_owned()))
            };
            let patient: i64 = row.get(2).map_err(SpillError::from)?;
            let blob = row
                .get_ref(3)
                .map_err(SpillError::from)?
                .as_blob()
                .map_err(|_| SpillError("an entry is not a blob".to_owned()))?;
            let entry = decode(blob)?;
            f(text(0)?, text(1)?, patient as u64, entry)?;
        }
        Ok(())
    }
}

// The entry layout: claim ids first (each record names its claim by index), then the removed
// claims, then the records. Integers little-endian.

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The index of a claim id in `claims`, added when new.
fn index_of<'a>(c: &'a Arc<str>, claims: &mut Vec<&'a Arc<str>>) -> u32 {
    // A member has a claim or two: a scan beats a map.
    match claims
        .iter()
        .rposition(|k| Arc::ptr_eq(k, c) || ***k == **c)
    {
        Some(i) => i as u32,
        None => {
            claims.push(c);
            (claims.len() - 1) as u32
        }
    }
}

/// Writes an entry.
pub fn encode(e: &Entry, out: &mut Vec<u8>) {
    let mut claims: Vec<&Arc<str>> = Vec::new();
    let rec_claims: Vec<u32> = e
        .recs
        .iter()
        .map(|r| index_of(&r.claim, &mut claims))
        .collect();
    let removed: Vec<u32> = e.removed.iter().map(|c| index_of(c, &mut claims)).collect();
    out.extend_from_slice(&e.used.to_le_bytes());
    out.extend_from_slice(&(claims.len() as u32).to_le_bytes());
    for c in &claims {
        put_str(out, c);
    }
    out.extend_from_slice(&(removed.len() as u32).to_le_bytes());
    for i in removed {
        out.extend_from_slice(&i.to_le_bytes());
    }
    out.extend_from_slice(&(e.recs.len() as u32).to_le_bytes());
    for (r, c) in e.recs.iter().zip(rec_claims) {
        out.extend_from_slice(&c.to_le_bytes());
        let code = r.code.as_bytes();
        out.push(code.len() as u8);
        out.extend_from_slice(code);
        out.extend_from_slice(&r.region.to_le_bytes());
        out.push(r.side as u8);
        out.extend_from_slice(&r.date.year.to_le_bytes());
        out.push(r.date.month);
        out.push(r.date.day);
        out.extend_from_slice(&r.seq.to_le_bytes());
        out.push(u8::from(r.counted) | u8::from(r.stored) << 1 | u8::from(r.dirty) << 2);
        out.extend_from_slice(&r.units.to_le_bytes());
        out.extend_from_slice(&r.provider.to_le_bytes());
        out.extend_from_slice(&r.stamp.to_le_bytes());
    }
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
    let mut claims: Vec<Arc<str>> = Vec::with_capacity(n.min(b.len()));
    for _ in 0..n {
        claims.push(Arc::from(r.str()?));
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
