//! The persistent history (`--history FILE`): a SQLite database (rusqlite, bundled) with a
//! schema version, read before a run and written after it in the same transaction, which is
//! held (`BEGIN IMMEDIATE`) for the whole run so two runs cannot lose each other's updates.
//!
//! Schema version 4 keeps one row per member with its services in one blob ([`super::blob`])
//! and the highest sequence number among them, keyed by the rowid: the 64-bit hash of the
//! member key ([`super::spill::hash`]), with the key itself in the row and checked on every
//! read. A member whose hash's row holds another key (a collision: about one in 10^7 runs of
//! millions of members) is kept in `collided` by its key instead. Each run's `--now` is a row
//! of `stamps`, which the services name. Versions 1 and 2 (a row per service, all text) and 3
//! (a row per member keyed by its three texts) are converted in the run's transaction.

use std::cell::Cell;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, ErrorCode, OpenFlags};

use super::blob;
use super::index::{HistoryIndex, MemberKey, Record, Side};
use super::small::SmallStr;
use super::spill::{hash, hash_parts, member_prefix, Bloom, SpillError, KEY_MASK};
use crate::claim::Date;

/// The schema this build reads and writes.
pub const SCHEMA_VERSION: i64 = 4;

/// A history database that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("history database {path}: {message}")]
pub struct HistoryError {
    /// The database file.
    pub path: PathBuf,
    /// What is wrong, in plain words.
    pub message: String,
}

/// An open history database, its write lock held until [`HistoryStore::save`] or drop.
pub struct HistoryStore {
    path: PathBuf,
    conn: Connection,
    /// Whether the database as committed already has this build's schema (this run neither
    /// created nor upgraded it): only then can a second connection read it during the run.
    current: bool,
    /// Whether `collided` may hold a row: only then does a member missing from its row need
    /// a second look.
    collided: Cell<bool>,
}

fn explain(e: &rusqlite::Error) -> String {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
            "it is locked by another process (is another scrub837 run using it?)".to_owned()
        }
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
            "it is not a scrub837 history database, or it is corrupt".to_owned()
        }
        Some(ErrorCode::ReadOnly)
        | Some(ErrorCode::CannotOpen)
        | Some(ErrorCode::PermissionDenied) => {
            format!("it cannot be opened for writing ({e})")
        }
        _ => e.to_string(),
    }
}

fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let mut d8 = [0u8; 8];
    d8[..4].copy_from_slice(&b[0..4]);
    d8[4..6].copy_from_slice(&b[5..7]);
    d8[6..].copy_from_slice(&b[8..10]);
    Date::parse_d8(&d8)
}

impl From<SpillError> for HistoryError {
    fn from(e: SpillError) -> Self {
        HistoryError {
            path: PathBuf::from("(temporary)"),
            message: e.to_string(),
        }
    }
}

/// The stamps table (versions 3 and 4).
const STAMPS: &str = "CREATE TABLE stamps (id INTEGER PRIMARY KEY, recorded TEXT NOT NULL UNIQUE);";

/// The member tables of schema version 4.
const MEMBERS: &str = "CREATE TABLE members (
         id INTEGER PRIMARY KEY, member TEXT NOT NULL, payer TEXT NOT NULL,
         patient INTEGER NOT NULL, max_seq INTEGER NOT NULL, services BLOB NOT NULL);
     CREATE TABLE collided (
         member TEXT NOT NULL, payer TEXT NOT NULL, patient INTEGER NOT NULL,
         max_seq INTEGER NOT NULL, services BLOB NOT NULL,
         PRIMARY KEY (member, payer, patient)) WITHOUT ROWID;";

/// The row id of a member key's hash: the hash with its top bit flipped, so that ascending
/// hashes are ascending (signed) row ids.
fn row_id(h: u64) -> i64 {
    as_i64(h ^ (1 << 63))
}

/// The hash whose row id is `id`.
fn id_hash(id: i64) -> u64 {
    as_u64(id) ^ (1 << 63)
}

/// A patient (or provider) key as SQLite keeps an integer: the same 64 bits.
fn as_i64(n: u64) -> i64 {
    i64::from_ne_bytes(n.to_ne_bytes())
}

fn as_u64(n: i64) -> u64 {
    u64::from_ne_bytes(n.to_ne_bytes())
}

impl HistoryStore {
    fn err(&self, e: &rusqlite::Error) -> HistoryError {
        HistoryError {
            path: self.path.clone(),
            message: explain(e),
        }
    }

    fn fail(&self, message: String) -> HistoryError {
        HistoryError {
            path: self.path.clone(),
            message,
        }
    }

    /// Column `i` of `row` as text; one that is not text is the error `bad()`.
    fn text_col<'r>(
        &self,
        row: &'r rusqlite::Row<'_>,
        i: usize,
        bad: impl FnOnce() -> HistoryError,
    ) -> Result<&'r str, HistoryError> {
        row.get_ref(i)
            .map_err(|e| self.err(&e))?
            .as_str()
            .map_err(|_| bad())
    }

    /// Opens (creating on first use) the database and takes its write lock.
    pub fn open(path: &Path) -> Result<Self, HistoryError> {
        // A database this run creates is written once, by its first save: its pages are new,
        // so a rollback journal holds nothing of them, where the WAL would hold every page
        // before a checkpoint copied it over. The next run that opens it turns on the WAL.
        let new = std::fs::metadata(path).map_or(true, |m| m.len() == 0);
        let conn = Connection::open(path).map_err(|e| HistoryError {
            path: path.to_owned(),
            message: explain(&e),
        })?;
        let mut store = HistoryStore {
            path: path.to_owned(),
            conn,
            current: false,
            collided: Cell::new(false),
        };
        // Fail at once rather than wait when another run holds the lock.
        store
            .conn
            .busy_timeout(std::time::Duration::from_millis(0))
            .map_err(|e| store.err(&e))?;
        // WAL: a commit appends to the log instead of rewriting pages twice, and the run's
        // second connection reads while this one writes; NORMAL sync is still durable across
        // a crash of the process (the database stays consistent).
        if !new {
            store
                .conn
                .execute_batch("PRAGMA journal_mode = WAL;")
                .map_err(|e| store.err(&e))?;
        }
        store
            .conn
            .execute_batch(
                "PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE;
                 CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
            )
            .map_err(|e| store.err(&e))?;
        let version: Option<String> = store
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .map_err(|e| store.err(&e))?;
        match version.as_deref() {
            None => {
                store
                    .conn
                    .execute_batch(&format!("{STAMPS}{MEMBERS}"))
                    .map_err(|e| store.err(&e))?;
                store
                    .conn
                    .execute(
                        "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                        [SCHEMA_VERSION.to_string()],
                    )
                    .map_err(|e| store.err(&e))?;
            }
            Some(v) if v == SCHEMA_VERSION.to_string() => store.current = true,
            // Version 1 had no units (each service counted as one) and no billing provider
            // (unknown: its units are summed with no other claim's); version 2 a row per
            // service. Upgraded in the run's transaction, so it lands only with the run's own
            // changes.
            Some("1") => {
                store
                    .conn
                    .execute_batch(
                        "ALTER TABLE services ADD COLUMN units INTEGER NOT NULL DEFAULT 100;
                         ALTER TABLE services ADD COLUMN provider TEXT NOT NULL
                             DEFAULT '0000000000000000';",
                    )
                    .map_err(|e| store.err(&e))?;
                store.upgrade_2()?;
            }
            Some("2") => store.upgrade_2()?,
            Some("3") => store.upgrade_3()?,
            Some(v) => {
                return Err(store.fail(format!(
                    "schema version {v}; this scrub837 reads version {SCHEMA_VERSION}"
                )))
            }
        }
        let collided: bool = store
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM collided)", [], |r| r.get(0))
            .map_err(|e| store.err(&e))?;
        store.collided.set(collided);
        Ok(store)
    }

    /// Converts version 3's rows (keyed by member, payer and patient) into version 4's
    /// (keyed by the key's hash).
    fn upgrade_3(&self) -> Result<(), HistoryError> {
        self.conn
            .execute_batch(&format!(
                "ALTER TABLE members RENAME TO members_v3;{MEMBERS}"
            ))
            .map_err(|e| self.err(&e))?;
        {
            let mut stmt = self
                .conn
                .prepare("SELECT member, payer, patient, max_seq, services FROM members_v3")
                .map_err(|e| self.err(&e))?;
            let mut rows = stmt.query([]).map_err(|e| self.err(&e))?;
            let mut n = 0u64;
            while let Some(row) = rows.next().map_err(|e| self.err(&e))? {
                n += 1;
                let bad = |what: &str| self.fail(format!("member row {n}: bad {what}"));
                let text = |i: usize, what: &str| self.text_col(row, i, || bad(what));
                let key = MemberKey {
                    member: text(0, "member")?.into(),
                    payer: text(1, "payer")?.into(),
                    patient: as_u64(row.get::<_, i64>(2).map_err(|_| bad("patient key"))?),
                };
                let max_seq = row.get::<_, i64>(3).map_err(|_| bad("sequence"))?;
                let services = row
                    .get_ref(4)
                    .map_err(|e| self.err(&e))?
                    .as_blob()
                    .map_err(|_| bad("services"))?;
                self.put_row(hash(&key), &key, max_seq, services)?;
            }
        }
        self.conn
            .execute_batch(
                "DROP TABLE members_v3; UPDATE meta SET value = '4' WHERE key = 'schema_version';",
            )
            .map_err(|e| self.err(&e))
    }

    /// Writes a member's row (its key's hash `h`), wherever it is kept: in `collided` when it
    /// is there, else in the row of its hash, else (that row holds another key) in `collided`.
    fn put_row(
        &self,
        h: u64,
        key: &MemberKey,
        max_seq: i64,
        services: &[u8],
    ) -> Result<(), HistoryError> {
        let (member, payer, patient) =
            (key.member.as_str(), key.payer.as_str(), as_i64(key.patient));
        if self.collided.get() {
            let mut update = self
                .conn
                .prepare_cached(
                    "UPDATE collided SET max_seq = ?4, services = ?5
                     WHERE member = ?1 AND payer = ?2 AND patient = ?3",
                )
                .map_err(|e| self.err(&e))?;
            let n = update
                .execute(params![member, payer, patient, max_seq, services])
                .map_err(|e| self.err(&e))?;
            if n > 0 {
                return Ok(());
            }
        }
        let mut upsert = self
            .conn
            .prepare_cached(&upsert_sql(1))
            .map_err(|e| self.err(&e))?;
        let n = upsert
            .execute(params![
                row_id(h),
                member,
                payer,
                patient,
                max_seq,
                services
            ])
            .map_err(|e| self.err(&e))?;
        if n == 0 {
            let mut insert = self
                .conn
                .prepare_cached(
                    "INSERT INTO collided (member, payer, patient, max_seq, services)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(|e| self.err(&e))?;
            insert
                .execute(params![member, payer, patient, max_seq, services])
                .map_err(|e| self.err(&e))?;
            self.collided.set(true);
        }
        Ok(())
    }

    /// Deletes a member's row (its key's hash `h`), wherever it is kept.
    fn delete_row(&self, h: u64, key: &MemberKey) -> Result<(), HistoryError> {
        let (member, payer, patient) =
            (key.member.as_str(), key.payer.as_str(), as_i64(key.patient));
        let mut delete = self
            .conn
            .prepare_cached(
                "DELETE FROM members
                 WHERE id = ?1 AND member = ?2 AND payer = ?3 AND patient = ?4",
            )
            .map_err(|e| self.err(&e))?;
        let n = delete
            .execute(params![row_id(h), member, payer, patient])
            .map_err(|e| self.err(&e))?;
        if n == 0 && self.collided.get() {
            let mut delete = self
                .conn
                .prepare_cached(
                    "DELETE FROM collided WHERE member = ?1 AND payer = ?2 AND patient = ?3",
                )
                .map_err(|e| self.err(&e))?;
            delete
                .execute(params![member, payer, patient])
                .map_err(|e| self.err(&e))?;
        }
        Ok(())
    }

    /// Converts version 2's rows (one per service) into version 4's (one per member).
    fn upgrade_2(&self) -> Result<(), HistoryError> {
        self.conn
            .execute_batch(&format!("{STAMPS}{MEMBERS}"))
            .map_err(|e| self.err(&e))?;
        let mut stamps: Vec<String> = Vec::new();
        let mut regions: Vec<String> = Vec::new();
        {
            let mut rows_stmt = self
                .conn
                .prepare(
                    "SELECT member, payer, patient, claim, code, region, side, dos, seq, counted,
                     units, provider, recorded FROM services
                     ORDER BY member, payer, patient, claim, code, side, dos",
                )
                .map_err(|e| self.err(&e))?;
            let mut rows = rows_stmt.query([]).map_err(|e| self.err(&e))?;
            let mut key: Option<MemberKey> = None;
            let mut recs: Vec<Record> = Vec::new();
            let mut blob_buf = Vec::new();
            let mut flush = |key: &MemberKey, recs: &mut Vec<Record>, regions: &[String]| {
                let refs: Vec<&Record> = recs.iter().collect();
                blob_buf.clear();
                blob::encode(&refs, regions, |r| u64::from(r.recorded), &mut blob_buf);
                let top = max_seq(&refs);
                recs.clear();
                self.put_row(hash(key), key, top, &blob_buf)
            };
            let mut n = 0u64;
            while let Some(row) = rows.next().map_err(|e| self.err(&e))? {
                n += 1;
                let bad = |what: &str| self.fail(format!("row {n}: bad {what}"));
                let text = |i: usize, what: &str| self.text_col(row, i, || bad(what));
                let int = |i: usize, what: &str| -> Result<i64, HistoryError> {
                    row.get::<_, i64>(i).map_err(|_| bad(what))
                };
                let this = MemberKey {
                    member: text(0, "member")?.into(),
                    payer: text(1, "payer")?.into(),
                    patient: u64::from_str_radix(text(2, "patient key")?, 16)
                        .map_err(|_| bad("patient key"))?,
                };
                if key.as_ref().is_some_and(|k| *k != this) {
                    if let Some(k) = &key {
                        flush(k, &mut recs, &regions)?;
                    }
                }
                key = Some(this);
                let region_name = text(5, "region")?;
                let region = match regions.iter().position(|r| r == region_name) {
                    Some(i) => i,
                    None => {
                        regions.push(region_name.to_owned());
                        regions.len() - 1
                    }
                };
                let recorded = text(12, "recorded")?;
                let stamp = match stamps.iter().position(|s| s == recorded) {
                    Some(i) => i + 1,
                    None => {
                        stamps.push(recorded.to_owned());
                        stamps.len()
                    }
                };
                recs.push(Record {
                    claim: text(3, "claim")?.into(),
                    code: text(4, "code")?.into(),
                    region: u16::try_from(region).map_err(|_| bad("region"))?,
                    side: Side::parse(text(6, "side")?).ok_or_else(|| bad("side"))?,
                    date: parse_date(text(7, "date of service")?)
                        .ok_or_else(|| bad("date of service"))?,
                    seq: u64::try_from(int(8, "sequence")?).map_err(|_| bad("sequence"))?,
                    counted: int(9, "counted")? != 0,
                    units: u32::try_from(int(10, "units")?).map_err(|_| bad("units"))?,
                    provider: u64::from_str_radix(text(11, "provider key")?, 16)
                        .map_err(|_| bad("provider key"))?,
                    stamp: 0,
                    recorded: u32::try_from(stamp).map_err(|_| bad("recorded"))?,
                    stored: true,
                    dirty: false,
                });
            }
            if let Some(k) = &key {
                flush(k, &mut recs, &regions)?;
            }
        }
        for (i, s) in stamps.iter().enumerate() {
            self.conn
                .execute(
                    "INSERT INTO stamps (id, recorded) VALUES (?1, ?2)",
                    params![i as i64 + 1, s],
                )
                .map_err(|e| self.err(&e))?;
        }
        self.conn
            .execute_batch(
                "DROP TABLE services; UPDATE meta SET value = '4' WHERE key = 'schema_version';",
            )
            .map_err(|e| self.err(&e))
    }

    /// Reads every stored service into `index` now (members past its memory budget spill).
    pub fn load(&self, index: &mut HistoryIndex) -> Result<u64, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT member, payer, patient, services FROM members UNION ALL
                 SELECT member, payer, patient, services FROM collided
                 ORDER BY member, payer, patient",
            )
            .map_err(|e| self.err(&e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(&e))?;
        let mut n = 0;
        let mut m = 0;
        let mut recs = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.err(&e))? {
            m += 1;
            let bad = |what: &str| self.fail(format!("member row {m}: bad {what}"));
            let text = |i: usize, what: &str| self.text_col(row, i, || bad(what));
            let patient = as_u64(row.get::<_, i64>(2).map_err(|_| bad("patient key"))?);
            let services = row
                .get_ref(3)
                .map_err(|e| self.err(&e))?
                .as_blob()
                .map_err(|_| bad("services"))?;
            recs.clear();
            blob::decode(services, &mut index.regions, &mut recs).map_err(|what| bad(&what))?;
            let (payer, member) = (text(1, "payer")?, text(0, "member")?);
            for record in recs.drain(..) {
                index
                    .load(payer, member, patient, record)
                    .map_err(|e| self.fail(e.to_string()))?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Gives `index` the database to read members from as their claims come, instead of
    /// reading every service now, so memory stays bounded however large the history: the
    /// members' keys go into a Bloom filter now (one scan of the table), their services are
    /// read when first needed. Reads everything now ([`HistoryStore::load`]) when this run
    /// created or upgraded the database, since a second connection sees it only as committed.
    /// Returns the services read now.
    pub fn attach(&self, index: &mut HistoryIndex) -> Result<u64, HistoryError> {
        if !self.current {
            return self.load(index);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| self.err(&e))?;
        let mut bloom = Bloom::new();
        let mut max_seq = 0u64;
        {
            // The row ids are the keys' hashes: the texts are read only for the few collided.
            let bad = || self.fail("a stored member key is not valid".to_owned());
            let mut stmt = conn
                .prepare("SELECT id, max_seq FROM members")
                .map_err(|e| self.err(&e))?;
            let mut rows = stmt.query([]).map_err(|e| self.err(&e))?;
            while let Some(row) = rows.next().map_err(|e| self.err(&e))? {
                let id: i64 = row.get(0).map_err(|_| bad())?;
                bloom.insert(id_hash(id));
                let seq: i64 = row.get(1).map_err(|e| self.err(&e))?;
                max_seq = max_seq.max(u64::try_from(seq).map_err(|_| bad())?);
            }
            let mut stmt = conn
                .prepare("SELECT member, payer, patient, max_seq FROM collided")
                .map_err(|e| self.err(&e))?;
            let mut rows = stmt.query([]).map_err(|e| self.err(&e))?;
            while let Some(row) = rows.next().map_err(|e| self.err(&e))? {
                let text = |i: usize| self.text_col(row, i, bad);
                let patient = as_u64(row.get::<_, i64>(2).map_err(|_| bad())?);
                bloom.insert(hash_parts(text(1)?, text(0)?, patient));
                let seq: i64 = row.get(3).map_err(|e| self.err(&e))?;
                max_seq = max_seq.max(u64::try_from(seq).map_err(|_| bad())?);
            }
        }
        // One read transaction for every member read from now on, not one per look-up (the
        // database cannot change under it: this run holds the write lock).
        conn.execute_batch("BEGIN").map_err(|e| self.err(&e))?;
        let prefetch = std::sync::Arc::new(Prefetcher {
            path: self.path.clone(),
            bloom,
            collided: self.collided.get(),
            conns: std::sync::Mutex::new(Vec::new()),
        });
        index.attach(StoredReader { conn, prefetch }, max_seq);
        Ok(0)
    }

    /// The id of this run's stamp (`recorded`), added to `stamps` when new.
    fn stamp_id(&self, recorded: &str) -> Result<u64, HistoryError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO stamps (recorded) VALUES (?1)",
                [recorded],
            )
            .map_err(|e| self.err(&e))?;
        let id: i64 = self
            .conn
            .query_row(
                "SELECT id FROM stamps WHERE recorded = ?1",
                [recorded],
                |r| r.get(0),
            )
            .map_err(|e| self.err(&e))?;
        u64::try_from(id).map_err(|_| self.fail("a stamp id is not valid".to_owned()))
    }

    /// Writes what changed in `index` and commits; `recorded` stamps the services of the
    /// claims this run changed (`--now`).
    ///
    /// Each member with a change is written whole (one row: its services encoded), in
    /// ascending order of row id ([`HistoryIndex::visit_members`] gives the members so), so
    /// the table's B-tree is written front to back, a chunk of rows per statement, with no
    /// sort and no staging, in bounded memory. The members are visited and encoded on this
    /// thread while another writes the chunks already made (a few chunks in between). One
    /// transaction: a run killed before the commit leaves the history as it was. Returns the
    /// services written.
    pub fn save(self, index: &mut HistoryIndex, recorded: &str) -> Result<u64, HistoryError> {
        self.save_on(index, recorded, true)
    }

    /// [`HistoryStore::save`], writing on a thread of its own beside the one that visits and
    /// encodes the members when `two_threads`, else all on the calling thread (`--threads 1`).
    pub fn save_on(
        self,
        index: &mut HistoryIndex,
        recorded: &str,
        two_threads: bool,
    ) -> Result<u64, HistoryError> {
        if !index.touched() {
            // Nothing recorded that is not on record already: nothing to visit or write.
            self.conn
                .execute_batch("COMMIT")
                .map_err(|e| self.err(&e))?;
            return Ok(0);
        }
        let stamp = self.stamp_id(recorded)?;
        let regions = index.regions.clone();
        if !two_threads {
            let written = {
                let mut writer = ChunkWriter::new(&self)?;
                encode_changes(index, &regions, stamp, &mut |chunk| {
                    writer.write(&self, &chunk)
                })?
            };
            self.conn
                .execute_batch("COMMIT")
                .map_err(|e| self.err(&e))?;
            return Ok(written);
        }
        let path = self.path.clone();
        let (to_writer, chunks) = std::sync::mpsc::sync_channel::<Chunk>(4);
        let fail = |message: String| HistoryError {
            path: path.clone(),
            message,
        };
        let (written, store) = std::thread::scope(|scope| {
            let writer = std::thread::Builder::new()
                .name("scrub837-history".to_owned())
                .spawn_scoped(scope, move || self.write_chunks(chunks).map(|()| self))
                .map_err(|e| fail(format!("cannot start the thread that writes it: {e}")))?;
            let visited = encode_changes(index, &regions, stamp, &mut |chunk| {
                to_writer
                    .send(chunk)
                    .map_err(|_| fail("the thread that writes it stopped".to_owned()))
            });
            drop(to_writer);
            // The writer's error first: a visit stops when the writer has.
            let store = writer
                .join()
                .unwrap_or_else(|_| Err(fail("the thread that writes it failed".to_owned())))?;
            Ok::<_, HistoryError>((visited?, store))
        })?;
        store
            .conn
            .execute_batch("COMMIT")
            .map_err(|e| store.err(&e))?;
        Ok(written)
    }

    /// Writes the chunks of a save as they come (see [`HistoryStore::save`]).
    fn write_chunks(&self, chunks: std::sync::mpsc::Receiver<Chunk>) -> Result<(), HistoryError> {
        let mut writer = ChunkWriter::new(self)?;
        for chunk in chunks {
            writer.write(self, &chunk)?;
        }
        Ok(())
    }

    /// Writes the rows of `chunk`: with `bulk`, through `stmt` (an [`upsert_sql`] of as many
    /// rows), one row at a time ([`HistoryStore::put_row`]) when some row's id holds another
    /// key; else one row at a time.
    fn write_chunk(
        &self,
        stmt: &mut rusqlite::Statement<'_>,
        bulk: bool,
        chunk: &Chunk,
    ) -> Result<(), HistoryError> {
        let blob = |row: &MemberRow| chunk.bytes.get(row.blob.0..row.blob.1).unwrap_or_default();
        let mut done = false;
        if bulk {
            for (i, row) in chunk.rows.iter().enumerate() {
                bind_member(stmt, 1 + i * 6, row, blob(row)).map_err(|e| self.err(&e))?;
            }
            // A row whose id holds another key is left as it was (not counted): the chunk
            // is then written again a row at a time (the rows written are written alike).
            done = stmt.raw_execute().map_err(|e| self.err(&e))? == chunk.rows.len();
        }
        if !done {
            for row in &chunk.rows {
                self.put_row(row.hash, &row.key, row.max_seq, blob(row))?;
            }
        }
        Ok(())
    }

    /// Every stored member row, decoded: its key and services (region names in `regions`).
    fn each_member(
        &self,
        member: Option<&str>,
        regions: &mut Vec<String>,
        mut f: impl FnMut(MemberKey, i64, Vec<Record>) -> Result<(), HistoryError>,
    ) -> Result<(), HistoryError> {
        let sql = match member {
            // A member id's rows lie in one range of row ids (see `spill::hash`).
            Some(_) => {
                "SELECT member, payer, patient, services FROM members
                     WHERE id BETWEEN ?2 AND ?3 AND member = ?1 UNION ALL
                 SELECT member, payer, patient, services FROM collided WHERE member = ?1"
            }
            None => {
                "SELECT member, payer, patient, services FROM members UNION ALL
                 SELECT member, payer, patient, services FROM collided"
            }
        };
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(&e))?;
        let mut rows = match member {
            Some(m) => {
                let prefix = member_prefix(m.as_bytes());
                stmt.query(params![m, row_id(prefix), row_id(prefix | KEY_MASK)])
            }
            None => stmt.query([]),
        }
        .map_err(|e| self.err(&e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(&e))? {
            let bad = |what: &str| self.fail(format!("a stored member has a bad {what}"));
            let text =
                |i: usize, what: &str| self.text_col(row, i, || bad(what)).map(SmallStr::from);
            let patient: i64 = row.get(2).map_err(|_| bad("patient key"))?;
            let key = MemberKey {
                member: text(0, "member")?,
                payer: text(1, "payer")?,
                patient: as_u64(patient),
            };
            let services = row
                .get_ref(3)
                .map_err(|e| self.err(&e))?
                .as_blob()
                .map_err(|_| bad("services"))?;
            let mut recs = Vec::new();
            blob::decode(services, regions, &mut recs).map_err(|what| bad(&what))?;
            f(key, patient, recs)?;
        }
        Ok(())
    }

    /// Removes services dated before `before`; returns how many, committed.
    pub fn forget_before(self, before: Date) -> Result<u64, HistoryError> {
        let mut regions = Vec::new();
        let mut rewrites: Vec<(MemberKey, i64, Vec<Record>)> = Vec::new();
        let mut n = 0u64;
        self.each_member(None, &mut regions, |key, patient, mut recs| {
            let was = recs.len();
            recs.retain(|r| r.date >= before);
            if recs.len() != was {
                n += (was - recs.len()) as u64;
                rewrites.push((key, patient, recs));
            }
            Ok(())
        })?;
        let mut buf = Vec::new();
        for (key, _, recs) in &rewrites {
            if recs.is_empty() {
                self.delete_row(hash(key), key)?;
                continue;
            }
            let refs: Vec<&Record> = recs.iter().collect();
            buf.clear();
            blob::encode(&refs, &regions, |r| u64::from(r.recorded), &mut buf);
            self.put_row(hash(key), key, max_seq(&refs), &buf)?;
        }
        self.conn
            .execute_batch("COMMIT")
            .map_err(|e| self.err(&e))?;
        Ok(n)
    }

    /// The stored services of a member id (any payer, any patient under it), by date: payer,
    /// patient key, claim, code, region, side, units, date, status and the run that recorded
    /// it, as text.
    pub fn show(&self, member: &str) -> Result<Vec<Vec<String>>, HistoryError> {
        self.rows(Some(member))
    }

    /// [`HistoryStore::show`] of `member`, or of every member (each row then led by its
    /// member id), in order.
    pub fn rows(&self, member: Option<&str>) -> Result<Vec<Vec<String>>, HistoryError> {
        let mut stamps: Vec<(u64, String)> = Vec::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT id, recorded FROM stamps")
                .map_err(|e| self.err(&e))?;
            let mut rows = stmt.query([]).map_err(|e| self.err(&e))?;
            while let Some(r) = rows.next().map_err(|e| self.err(&e))? {
                let id: i64 = r.get(0).map_err(|e| self.err(&e))?;
                stamps.push((as_u64(id), r.get(1).map_err(|e| self.err(&e))?));
            }
        }
        let mut regions = Vec::new();
        let mut all: Vec<(MemberKey, Record)> = Vec::new();
        self.each_member(member, &mut regions, |key, _, recs| {
            all.extend(recs.into_iter().map(|r| (key.clone(), r)));
            Ok(())
        })?;
        all.sort_by(|(ka, a), (kb, b)| {
            (
                (&ka.member, &ka.payer, ka.patient),
                (a.date.year, a.date.month, a.date.day),
                a.claim.as_str(),
                a.code.as_str(),
                a.side.as_str(),
            )
                .cmp(&(
                    (&kb.member, &kb.payer, kb.patient),
                    (b.date.year, b.date.month, b.date.day),
                    b.claim.as_str(),
                    b.code.as_str(),
                    b.side.as_str(),
                ))
        });
        all.into_iter()
            .map(|(key, r)| {
                let recorded = stamps
                    .iter()
                    .find(|s| s.0 == u64::from(r.recorded))
                    .map(|s| s.1.clone())
                    .ok_or_else(|| self.fail("a service names no stamp".to_owned()))?;
                let mut row = Vec::with_capacity(11);
                if member.is_none() {
                    row.push(key.member.to_string());
                }
                row.extend([
                    key.payer.to_string(),
                    ascii(&hex16(key.patient)).to_owned(),
                    r.claim.to_string(),
                    r.code.to_string(),
                    regions
                        .get(usize::from(r.region))
                        .cloned()
                        .unwrap_or_default(),
                    r.side.as_str().to_owned(),
                    crate::edit::checks::units(Some(crate::claim::Money {
                        cents: i64::from(r.units),
                    })),
                    ascii(&iso_date(r.date)).to_owned(),
                    if r.counted { "counted" } else { "rejected" }.to_owned(),
                    recorded,
                ]);
                if member.is_none() {
                    row.extend([r.seq.to_string(), ascii(&hex16(r.provider)).to_owned()]);
                }
                Ok(row)
            })
            .collect()
    }
}

/// The highest sequence number of a member's services, as its row keeps it (0 for none;
/// sequence numbers count claims, far below `i64::MAX`).
fn max_seq(recs: &[&Record]) -> i64 {
    let top = recs.iter().map(|r| r.seq).max().unwrap_or(0);
    i64::try_from(top).unwrap_or(i64::MAX)
}

/// The head of an upsert of member rows.
const UPSERT_HEAD: &str =
    "INSERT INTO members (id, member, payer, patient, max_seq, services) VALUES ";

/// The tail of an upsert of member rows: a row of the same key is updated; a row of another
/// key (a collision of hashes) is left as it is, and the statement counts one row less.
const UPSERT_TAIL: &str = " ON CONFLICT (id) DO UPDATE SET
    max_seq = excluded.max_seq, services = excluded.services
    WHERE member = excluded.member AND payer = excluded.payer AND patient = excluded.patient";

/// Rows per statement of a save: one statement per row spends most of a save on statement
/// overhead.
const CHUNK: usize = 64;

/// An upsert of `n` member rows of six parameters: `(?,?,?,?,?,?),…`.
fn upsert_sql(n: usize) -> String {
    let mut sql = UPSERT_HEAD.to_owned();
    for i in 0..n {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?)");
    }
    sql.push_str(UPSERT_TAIL);
    sql
}

/// A member row a save writes: its services are a range of [`Chunk::bytes`].
struct MemberRow {
    /// Its key's hash.
    hash: u64,
    key: MemberKey,
    max_seq: i64,
    blob: (usize, usize),
}

/// Member rows gathered for one statement of a save, and members left with no service.
#[derive(Default)]
struct Chunk {
    rows: Vec<MemberRow>,
    bytes: Vec<u8>,
    /// Members to delete (their hash and key).
    gone: Vec<(u64, MemberKey)>,
}

/// The save's writer: a chunk's deletions, then its rows (see [`HistoryStore::write_chunk`]),
/// through one statement prepared for a full chunk.
struct ChunkWriter<'c> {
    /// With no collided member on record, a member's row is the row of its hash, and the rows
    /// go in by the chunk; else each row looks in `collided` first.
    bulk: bool,
    full: rusqlite::Statement<'c>,
}

impl<'c> ChunkWriter<'c> {
    fn new(store: &'c HistoryStore) -> Result<Self, HistoryError> {
        Ok(ChunkWriter {
            bulk: !store.collided.get(),
            full: store
                .conn
                .prepare(&upsert_sql(CHUNK))
                .map_err(|e| store.err(&e))?,
        })
    }

    fn write(&mut self, store: &HistoryStore, chunk: &Chunk) -> Result<(), HistoryError> {
        for (h, key) in &chunk.gone {
            store.delete_row(*h, key)?;
        }
        if chunk.rows.len() == CHUNK {
            store.write_chunk(&mut self.full, self.bulk, chunk)?;
        } else if !chunk.rows.is_empty() {
            let mut tail = store
                .conn
                .prepare(&upsert_sql(chunk.rows.len()))
                .map_err(|e| store.err(&e))?;
            store.write_chunk(&mut tail, self.bulk, chunk)?;
        }
        Ok(())
    }
}

/// Visits the members of `index` and hands each one with a change, encoded, to `write` (the
/// save's writer), a [`Chunk`] at a time, in the order visited; `stamp` is this run's.
/// Returns the services handed on; stops at the writer's first error.
fn encode_changes(
    index: &mut HistoryIndex,
    regions: &[String],
    stamp: u64,
    write: &mut dyn FnMut(Chunk) -> Result<(), HistoryError>,
) -> Result<u64, HistoryError> {
    let mut chunk = Chunk::default();
    let mut written = 0u64;
    index.visit_members(|h, key, entry| -> Result<(), HistoryError> {
        if chunk.rows.len() == CHUNK || chunk.gone.len() == CHUNK {
            let full = std::mem::replace(
                &mut chunk,
                Chunk {
                    rows: Vec::with_capacity(CHUNK),
                    ..Chunk::default()
                },
            );
            write(full)?;
        }
        let mut changed: Vec<&SmallStr> = Vec::new();
        for r in entry.recs.iter().filter(|r| r.dirty) {
            if !changed.contains(&&r.claim) {
                changed.push(&r.claim);
            }
        }
        if changed.is_empty() && entry.removed.is_empty() {
            return Ok(());
        }
        let mut recs: Vec<&Record> = entry.recs.iter().collect();
        written += recs.len() as u64;
        if recs.is_empty() {
            chunk.gone.push((h, key.clone()));
            return Ok(());
        }
        recs.sort_unstable_by(|a, b| blob::cmp_stored(a, b));
        let start = chunk.bytes.len();
        blob::encode(
            &recs,
            regions,
            |r| {
                if changed.contains(&&r.claim) {
                    stamp
                } else {
                    u64::from(r.recorded)
                }
            },
            &mut chunk.bytes,
        );
        chunk.rows.push(MemberRow {
            hash: h,
            key: key.clone(),
            max_seq: max_seq(&recs),
            blob: (start, chunk.bytes.len()),
        });
        Ok(())
    })?;
    if !chunk.rows.is_empty() || !chunk.gone.is_empty() {
        write(chunk)?;
    }
    Ok(written)
}

/// Binds a member row's six columns from parameter `at` on (1-based).
fn bind_member(
    stmt: &mut rusqlite::Statement<'_>,
    at: usize,
    row: &MemberRow,
    blob: &[u8],
) -> rusqlite::Result<()> {
    stmt.raw_bind_parameter(at, row_id(row.hash))?;
    stmt.raw_bind_parameter(at + 1, row.key.member.as_str())?;
    stmt.raw_bind_parameter(at + 2, row.key.payer.as_str())?;
    stmt.raw_bind_parameter(at + 3, as_i64(row.key.patient))?;
    stmt.raw_bind_parameter(at + 4, row.max_seq)?;
    stmt.raw_bind_parameter(at + 5, blob)
}

/// Bytes of ASCII (as written here) as text.
fn ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

/// Reads a member's stored services during a run ([`HistoryStore::attach`]).
#[derive(Debug)]
pub struct StoredReader {
    conn: Connection,
    /// Reads members ahead of the stage, on the edit threads; holds the database's path, the
    /// filter of its keys and whether `collided` may hold a row, for this reader too.
    prefetch: std::sync::Arc<Prefetcher>,
}

/// A member's stored rows as read and not yet decoded: its row's services, then any of its
/// rows in `collided`.
#[derive(Debug, Default)]
pub struct StoredRaw(Vec<Vec<u8>>);

/// Reads members' stored rows ahead of the ordered stage, on whichever thread edits their
/// claims, through read-only connections of its own (one per thread at a time, pooled). The
/// database cannot change during the run (it holds the write lock and commits only after),
/// so a row read early is the row the stage would read.
pub struct Prefetcher {
    path: PathBuf,
    bloom: Bloom,
    collided: bool,
    conns: std::sync::Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for Prefetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefetcher")
            .field("path", &self.path)
            .finish()
    }
}

impl Prefetcher {
    /// The stored rows of `key`'s member; `None` when the database cannot hold it (its filter
    /// says so) or the read failed (the stage then reads it itself and reports any error).
    pub fn fetch(&self, key: &MemberKey) -> Option<StoredRaw> {
        let h = hash(key);
        if !self.bloom.may_hold(h) {
            return None;
        }
        let pooled = self.conns.lock().ok()?.pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .ok()?;
                // A small page cache (the system's holds the file anyway: this one only keeps
                // the memory bound), and one read transaction for the connection's life
                // rather than one per look-up.
                c.execute_batch("PRAGMA cache_size = -256; BEGIN").ok()?;
                c
            }
        };
        let raw = read_raw(&conn, key, h, self.collided).ok();
        if let Ok(mut conns) = self.conns.lock() {
            conns.push(conn);
        }
        raw
    }
}

/// Why a member's stored rows could not be read.
enum RawError {
    Sql(rusqlite::Error),
    /// A services column that is not a blob.
    BadServices,
}

impl From<rusqlite::Error> for RawError {
    fn from(e: rusqlite::Error) -> Self {
        RawError::Sql(e)
    }
}

/// A member's stored rows (see [`StoredRaw`]) through `conn`; `h` is its key's hash.
fn read_raw(
    conn: &Connection,
    key: &MemberKey,
    h: u64,
    collided: bool,
) -> Result<StoredRaw, RawError> {
    let mut out = StoredRaw::default();
    let mut stmt =
        conn.prepare_cached("SELECT member, payer, patient, services FROM members WHERE id = ?1")?;
    let mut rows = stmt.query([row_id(h)])?;
    if let Some(row) = rows.next()? {
        let ours = row.get_ref(2)?.as_i64().ok() == Some(as_i64(key.patient))
            && row.get_ref(0)?.as_bytes().ok() == Some(key.member.as_bytes())
            && row.get_ref(1)?.as_bytes().ok() == Some(key.payer.as_bytes());
        if ours {
            out.0.push(blob_of(row.get_ref(3)?)?);
            return Ok(out);
        }
    }
    if collided {
        let mut stmt = conn.prepare_cached(
            "SELECT services FROM collided WHERE member = ?1 AND payer = ?2 AND patient = ?3",
        )?;
        let mut rows = stmt.query(params![&*key.member, &*key.payer, as_i64(key.patient)])?;
        while let Some(row) = rows.next()? {
            out.0.push(blob_of(row.get_ref(0)?)?);
        }
    }
    Ok(out)
}

/// A services column's bytes (a column of another type is an error).
fn blob_of(v: rusqlite::types::ValueRef<'_>) -> Result<Vec<u8>, RawError> {
    v.as_blob()
        .map(<[u8]>::to_vec)
        .map_err(|_| RawError::BadServices)
}

impl StoredReader {
    /// Whether the database may hold services of `key`.
    pub fn may_hold(&self, key: &MemberKey) -> bool {
        self.may_hold_hashed(hash(key))
    }

    /// [`StoredReader::may_hold`] with the key's hash known.
    pub(crate) fn may_hold_hashed(&self, h: u64) -> bool {
        self.prefetch.bloom.may_hold(h)
    }

    /// The stored services of a member; region names are looked up in (or added to)
    /// `regions`.
    pub fn member(
        &self,
        key: &MemberKey,
        regions: &mut Vec<String>,
    ) -> Result<Vec<Record>, SpillError> {
        let raw = read_raw(&self.conn, key, hash(key), self.prefetch.collided).map_err(|e| {
            self.fail(match e {
                RawError::Sql(e) => explain(&e),
                RawError::BadServices => "a stored member has bad services".to_owned(),
            })
        })?;
        self.decode(&raw, regions)
    }

    /// The services of rows read ahead ([`Prefetcher::fetch`]), as [`StoredReader::member`]
    /// gives them.
    pub fn decode(
        &self,
        raw: &StoredRaw,
        regions: &mut Vec<String>,
    ) -> Result<Vec<Record>, SpillError> {
        let mut out = Vec::new();
        for services in &raw.0 {
            blob::decode(services, regions, &mut out)
                .map_err(|what| self.fail(format!("a stored member has a bad {what}")))?;
        }
        Ok(out)
    }

    /// What reads members ahead of the stage, on the edit threads.
    pub fn prefetcher(&self) -> std::sync::Arc<Prefetcher> {
        self.prefetch.clone()
    }

    fn fail(&self, m: String) -> SpillError {
        SpillError(
            HistoryError {
                path: self.prefetch.path.clone(),
                message: m,
            }
            .to_string(),
        )
    }
}

/// `n` as 16 lower-case hex digits, as version 2 kept patient and provider keys.
fn hex16(n: u64) -> [u8; 16] {
    let mut out = [b'0'; 16];
    for (i, slot) in out.iter_mut().enumerate() {
        let nibble = (n >> (60 - 4 * i)) & 0xf;
        *slot = b"0123456789abcdef"[nibble as usize];
    }
    out
}

/// CCYY-MM-DD, as version 2 kept dates and `history show` prints them.
fn iso_date(d: Date) -> [u8; 10] {
    let mut out = *b"0000-00-00";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, u32::from(d.year));
    put(5, 2, u32::from(d.month));
    put(8, 2, u32::from(d.day));
    out
}

#[cfg(test)]
mod tests {
    use super::super::index::{Frequency, HistClaim, MemberKey, Service};
    use super::*;

    fn claim(id: &str, date: &str) -> HistClaim {
        HistClaim {
            key: MemberKey {
                payer: "medicare".into(),
                member: "M1".into(),
                patient: 0xabc,
            },
            claim: id.into(),
            frequency: Frequency::Original,
            provider: 7,
            services: vec![Service {
                code: "64635".into(),
                region: 0,
                side: Side::Left,
                date: Date::parse_d8(date.as_bytes()).unwrap(),
                line: 1,
                segment: 1,
                byte: 1,
                units: 100,
            }]
            .into(),
            rules: Default::default(),
            day_units: Vec::new(),
        }
    }

    #[test]
    fn what_is_saved_loads_back_and_nothing_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
        ix.persistent = true;
        let store = HistoryStore::open(&path).unwrap();
        assert_eq!(store.load(&mut ix).unwrap(), 0);
        ix.record(&claim("A", "20250101"), false).unwrap();
        ix.record(&claim("B", "20250301"), true).unwrap();
        assert_eq!(store.save(&mut ix, "2026-11-27T12:00:00Z").unwrap(), 2);
        for _ in 0..2 {
            let mut back = HistoryIndex::new(Vec::new());
            back.persistent = true;
            let store = HistoryStore::open(&path).unwrap();
            assert_eq!(store.load(&mut back).unwrap(), 2);
            type Row = (String, String, Date, u64, bool, u32, u64);
            let strip = |i: &HistoryIndex| -> Vec<Row> {
                i.members()
                    .iter()
                    .flat_map(|(_, recs)| recs.iter())
                    .map(|r| {
                        (
                            r.claim.to_string(),
                            r.code.to_string(),
                            r.date,
                            r.seq,
                            r.counted,
                            r.units,
                            r.provider,
                        )
                    })
                    .collect()
            };
            assert_eq!(strip(&back), strip(&ix));
            // Recording the same claims again changes nothing; a changed verdict is written.
            back.record(&claim("A", "20250101"), false).unwrap();
            back.record(&claim("B", "20250301"), true).unwrap();
            assert!(back.changed().unwrap().is_empty());
            back.record(&claim("B", "20250301"), false).unwrap();
            back.record(&claim("B", "20250301"), true).unwrap();
            // The member's row is rewritten whole: both its services.
            assert_eq!(store.save(&mut back, "2026-11-28T12:00:00Z").unwrap(), 2);
        }
        let store = HistoryStore::open(&path).unwrap();
        let rows = store.show("M1").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][6], "1", "units");
        assert_eq!(rows[0][7], "2025-01-01");
        assert_eq!(rows[1][8], "rejected");
        assert_eq!(
            store
                .forget_before(Date::parse_d8(b"20250201").unwrap())
                .unwrap(),
            1
        );
    }

    /// A run's claims from `seed`: a few members and claim ids, so later runs replace, void and
    /// re-record what earlier ones saved.
    fn run_of(seed: u64, n: usize) -> Vec<(HistClaim, bool)> {
        let mut x = seed | 1;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        (0..n)
            .map(|_| {
                let date = format!("2025{:02}{:02}", 1 + next(12), 1 + next(28));
                let mut c = claim(&format!("C{}", next(12)), &date);
                // A third of the members share one row id (see `spill::hash_bytes`).
                c.key.member = match next(3) {
                    0 => format!("#collide{}", next(4)),
                    _ => format!("M{}", next(9)),
                }
                .into();
                c.key.patient = next(2);
                c.services[0].code = ["64635", "64636", "64493"][next(3) as usize].into();
                c.services[0].side = [Side::Left, Side::Right, Side::Unknown][next(3) as usize];
                c.frequency = match next(8) {
                    0 => Frequency::Replacement,
                    1 => Frequency::Void,
                    _ => Frequency::Original,
                };
                (c, next(5) == 0)
            })
            .collect()
    }

    #[test]
    fn keys_and_dates_are_written_as_format_would() {
        for n in [0, 1, 0xdead_beef, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(hex16(n), *format!("{n:016x}").as_bytes());
        }
        for d in ["20250101", "19991231", "00010203"] {
            let d = Date::parse_d8(d.as_bytes()).unwrap();
            assert_eq!(iso_date(d), *d.to_string().as_bytes());
        }
    }

    #[test]
    fn a_version_1_database_is_upgraded_with_one_unit_and_no_provider_per_service() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.sqlite");
        {
            // The version 1 layout, as scrub837 2026.11 wrote it.
            let c = rusqlite::Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 INSERT INTO meta VALUES ('schema_version', '1');
                 CREATE TABLE services (
                     member TEXT NOT NULL, payer TEXT NOT NULL, patient TEXT NOT NULL,
                     claim TEXT NOT NULL, code TEXT NOT NULL, side TEXT NOT NULL,
                     dos TEXT NOT NULL, region TEXT NOT NULL, seq INTEGER NOT NULL,
                     counted INTEGER NOT NULL, recorded TEXT NOT NULL,
                     PRIMARY KEY (member, payer, patient, claim, code, side, dos))
                     WITHOUT ROWID;
                 INSERT INTO services VALUES ('M1', 'medicare', '0000000000000001', 'OLD',
                     '64636', 'LT', '2025-01-01', 'lumbar', 1, 1, '2026-11-01T00:00:00Z');",
            )
            .unwrap();
        }
        let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
        ix.persistent = true;
        let store = HistoryStore::open(&path).unwrap();
        assert_eq!(store.load(&mut ix).unwrap(), 1);
        let recs: Vec<&Record> = ix.members().iter().flat_map(|m| m.1.iter()).collect();
        assert_eq!((recs[0].units, recs[0].provider), (100, 0));
        ix.record(&claim("NEW", "20250301"), false).unwrap();
        assert_eq!(store.save(&mut ix, "2026-11-27T12:00:00Z").unwrap(), 1);
        let store = HistoryStore::open(&path).unwrap();
        let version: String = store
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(version, "4");
        let rows = store.show("M1").unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0][2], "OLD");
        assert_eq!(rows[0][6], "1", "one unit");
        assert_eq!(rows[0][9], "2026-11-01T00:00:00Z", "its own stamp kept");
        assert_eq!(rows[1][9], "2026-11-27T12:00:00Z");
    }

    #[test]
    fn a_version_2_database_is_upgraded_in_the_run_keeping_every_service() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.sqlite");
        let v2 = |path: &Path| {
            // The version 2 layout, as scrub837 wrote it before this one.
            let c = rusqlite::Connection::open(path).unwrap();
            c.execute_batch(
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 INSERT INTO meta VALUES ('schema_version', '2');
                 CREATE TABLE services (
                     member TEXT NOT NULL, payer TEXT NOT NULL, patient TEXT NOT NULL,
                     claim TEXT NOT NULL, code TEXT NOT NULL, side TEXT NOT NULL,
                     dos TEXT NOT NULL, region TEXT NOT NULL, seq INTEGER NOT NULL,
                     counted INTEGER NOT NULL, recorded TEXT NOT NULL,
                     units INTEGER NOT NULL DEFAULT 100,
                     provider TEXT NOT NULL DEFAULT '0000000000000000',
                     PRIMARY KEY (member, payer, patient, claim, code, side, dos))
                     WITHOUT ROWID;
                 INSERT INTO services VALUES
                     ('M1', 'medicare', '0000000000000abc', 'B', '64635', 'RT', '2025-02-01',
                      'lumbar', 2, 0, '2026-11-02T00:00:00Z', 100, '0000000000000007'),
                     ('M1', 'medicare', '0000000000000abc', 'A', '64636', 'LT', '2025-01-01',
                      'lumbar', 1, 1, '2026-11-01T00:00:00Z', 100, '0000000000000007'),
                     ('M1', 'medicare', '0000000000000abc', 'A', '64635', 'LT', '2025-01-01',
                      'lumbar', 1, 1, '2026-11-01T00:00:00Z', 150, '0000000000000007'),
                     ('M1', 'payer:X', 'ffffffffffffffff', 'C', '64490', '-', '2024-12-31',
                      'cervical', 5, 1, '2026-11-02T00:00:00Z', 100, '0000000000000000');",
            )
            .unwrap();
        };
        v2(&path);
        let units = |c: i64| crate::edit::checks::units(Some(crate::claim::Money { cents: c }));
        let row = |v: [&str; 10]| v.map(str::to_owned).to_vec();
        let before = vec![
            row([
                "medicare",
                "0000000000000abc",
                "A",
                "64635",
                "lumbar",
                "LT",
                &units(150),
                "2025-01-01",
                "counted",
                "2026-11-01T00:00:00Z",
            ]),
            row([
                "medicare",
                "0000000000000abc",
                "A",
                "64636",
                "lumbar",
                "LT",
                &units(100),
                "2025-01-01",
                "counted",
                "2026-11-01T00:00:00Z",
            ]),
            row([
                "medicare",
                "0000000000000abc",
                "B",
                "64635",
                "lumbar",
                "RT",
                &units(100),
                "2025-02-01",
                "rejected",
                "2026-11-02T00:00:00Z",
            ]),
            row([
                "payer:X",
                "ffffffffffffffff",
                "C",
                "64490",
                "cervical",
                "-",
                &units(100),
                "2024-12-31",
                "counted",
                "2026-11-02T00:00:00Z",
            ]),
        ];
        // A run that fails (dropped unsaved) leaves the version 2 database as it was.
        let tables = |path: &Path| -> Vec<String> {
            let c = Connection::open(path).unwrap();
            let mut s = c
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                .unwrap();
            let names = s.query_map([], |r| r.get(0)).unwrap();
            names.collect::<rusqlite::Result<_>>().unwrap()
        };
        {
            let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
            let store = HistoryStore::open(&path).unwrap();
            assert_eq!(store.attach(&mut ix).unwrap(), 4);
            assert_eq!(store.show("M1").unwrap(), before);
        }
        assert_eq!(tables(&path), ["meta", "services"]);
        // A run that saves: upgraded, every service kept with its own stamp, sequence
        // numbers carry on after the highest stored.
        let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
        ix.persistent = true;
        let store = HistoryStore::open(&path).unwrap();
        assert_eq!(store.attach(&mut ix).unwrap(), 4);
        assert_eq!(store.save(&mut ix, "2026-11-27T12:00:00Z").unwrap(), 0);
        assert_eq!(tables(&path), ["collided", "members", "meta", "stamps"]);
        let store = HistoryStore::open(&path).unwrap();
        assert_eq!(store.show("M1").unwrap(), before);
        let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
        ix.persistent = true;
        assert_eq!(store.attach(&mut ix).unwrap(), 0, "read as needed now");
        let mut c = claim("NEW", "20250301");
        c.key.patient = 0xabc;
        ix.recall(&c.key).unwrap();
        ix.record(&c, false).unwrap();
        assert_eq!(store.save(&mut ix, "2026-11-28T12:00:00Z").unwrap(), 4);
        let store = HistoryStore::open(&path).unwrap();
        let all = store.rows(None).unwrap();
        assert_eq!(all.len(), 5);
        let new = all.iter().find(|r| r[3] == "NEW").unwrap();
        assert_eq!(
            (new[10].as_str(), new[11].as_str()),
            ("2026-11-28T12:00:00Z", "6")
        );
        let mut shown = store.show("M1").unwrap();
        shown.retain(|r| r[2] != "NEW");
        assert_eq!(shown, before, "the other services untouched");

        // Forgetting rewrites what it keeps, and drops a member left with nothing.
        assert_eq!(
            store
                .forget_before(Date::parse_d8(b"20250115").unwrap())
                .unwrap(),
            3
        );
        let store = HistoryStore::open(&path).unwrap();
        let left: Vec<String> = store
            .rows(None)
            .unwrap()
            .into_iter()
            .map(|r| r[3].clone())
            .collect();
        assert_eq!(left, ["B", "NEW"]);
        assert!(store.show("M1").unwrap().iter().all(|r| r[0] == "medicare"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]
        /// What the database holds after each run, read back, is what an index that saw
        /// every run's claims (and was never saved) holds: nothing lost, nothing twice, with
        /// members whose row ids collide among them.
        #[test]
        fn the_database_reads_back_what_the_runs_recorded(seed in proptest::num::u64::ANY) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("h.sqlite");
            let mut model = HistoryIndex::new(vec!["lumbar".into()]);
            model.persistent = true;
            for (run, budget) in [(0u64, usize::MAX), (1, 0), (2, 4096), (3, usize::MAX)] {
                let work = run_of(seed ^ run, 60);
                let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
                ix.set_budget(budget);
                let store = HistoryStore::open(&path).unwrap();
                store.attach(&mut ix).unwrap();
                ix.persistent = true;
                for (c, rejected) in &work {
                    ix.recall(&c.key).unwrap();
                    ix.record(c, *rejected).unwrap();
                    model.recall(&c.key).unwrap();
                    model.record(c, *rejected).unwrap();
                }
                // Written on two threads and on one, by turns: the same rows either way.
                store
                    .save_on(&mut ix, &format!("2026-11-2{run}T12:00:00Z"), run % 2 == 0)
                    .unwrap();
                let mut stored: Vec<Vec<String>> = HistoryStore::open(&path)
                    .unwrap()
                    .rows(None)
                    .unwrap()
                    .into_iter()
                    .map(|mut r| {
                        r.drain(10..12);
                        r
                    })
                    .collect();
                let mut want: Vec<Vec<String>> = model
                    .members()
                    .into_iter()
                    .flat_map(|(k, recs)| recs.iter().map(move |r| (k, r)))
                    .map(|(k, r)| {
                        vec![
                            k.member.to_string(),
                            k.payer.to_string(),
                            format!("{:016x}", k.patient),
                            r.claim.to_string(),
                            r.code.to_string(),
                            "lumbar".to_owned(),
                            r.side.as_str().to_owned(),
                            crate::edit::checks::units(Some(crate::claim::Money {
                                cents: i64::from(r.units),
                            })),
                            r.date.to_string(),
                            if r.counted { "counted" } else { "rejected" }.to_owned(),
                            format!("{:016x}", r.provider),
                        ]
                    })
                    .collect();
                stored.sort();
                want.sort();
                proptest::prop_assert_eq!(&stored, &want);
                // `show` of each member id (a range of row ids and the collided table) gives
                // that member's rows of the whole listing.
                let reader = HistoryStore::open(&path).unwrap();
                let ids: std::collections::BTreeSet<&String> = want.iter().map(|r| &r[0]).collect();
                for id in ids {
                    let mut shown: Vec<Vec<String>> = reader
                        .show(id)
                        .unwrap()
                        .into_iter()
                        .map(|mut r| {
                            r.truncate(9);
                            r
                        })
                        .collect();
                    shown.sort();
                    let mut of_id: Vec<Vec<String>> =
                        want.iter().filter(|r| &r[0] == id).map(|r| r[1..10].to_vec()).collect();
                    of_id.sort();
                    proptest::prop_assert_eq!(shown, of_id, "show {}", id);
                }
                drop(reader);
                // Members read ahead (on the edit threads) come back as the stage's own reads.
                let keys: Vec<MemberKey> =
                    model.members().into_iter().map(|(k, _)| k.clone()).collect();
                let recalled = |ahead: bool| {
                    let store = HistoryStore::open(&path).unwrap();
                    let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
                    store.attach(&mut ix).unwrap();
                    let pf = ix.prefetcher().expect("a committed database is read a member at a time");
                    let mut read_ahead = 0;
                    for k in &keys {
                        let raw = if ahead { pf.fetch(k) } else { None };
                        read_ahead += usize::from(raw.is_some());
                        ix.recall_with(k, raw.as_ref()).unwrap();
                    }
                    // Every member on record is read ahead (the filter has no false negative).
                    let on_record = model.members().iter().filter(|(_, r)| !r.is_empty()).count();
                    assert!(!ahead || read_ahead >= on_record, "{read_ahead} < {on_record}");
                    // In key order.
                    ix.members()
                        .into_iter()
                        .map(|(k, recs)| (k.clone(), recs.to_vec()))
                        .collect::<Vec<(MemberKey, Vec<Record>)>>()
                };
                proptest::prop_assert_eq!(recalled(false), recalled(true));
                // Of the members that share a row id, one at most has the row.
                let colliding = model
                    .members()
                    .iter()
                    .filter(|(k, recs)| k.member.starts_with("#collide") && !recs.is_empty())
                    .count();
                let collided: usize = Connection::open(&path)
                    .unwrap()
                    .query_row("SELECT count(*) FROM collided", [], |r| r.get(0))
                    .unwrap();
                proptest::prop_assert!(
                    (colliding.saturating_sub(1)..=colliding).contains(&collided),
                    "{} colliding members, {} in collided", colliding, collided
                );
            }
        }
    }

    #[test]
    fn many_members_written_then_voided_leave_no_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let mode = |path: &Path| -> String {
            Connection::open(path)
                .unwrap()
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap()
        };
        let work = |void: bool| -> Vec<HistClaim> {
            (0..300)
                .map(|i| {
                    let mut c = claim(&format!("C{i}"), "20250101");
                    c.key.member = format!("M{i}").into();
                    if void {
                        c.frequency = Frequency::Void;
                    }
                    c
                })
                .collect()
        };
        for (run, void) in [(0, false), (1, true)] {
            let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
            // Some members in memory, the others spilled: chunks of rows and of deletions.
            ix.set_budget(16 << 10);
            let store = HistoryStore::open(&path).unwrap();
            store.attach(&mut ix).unwrap();
            ix.persistent = true;
            for c in work(void) {
                ix.recall(&c.key).unwrap();
                ix.record(&c, false).unwrap();
            }
            assert_eq!(
                store
                    .save(&mut ix, &format!("2026-11-2{run}T12:00:00Z"))
                    .unwrap(),
                if void { 0 } else { 300 }
            );
            // Created without the WAL (written once), which the next run turns on.
            assert_eq!(mode(&path), if void { "wal" } else { "delete" });
            let rows = HistoryStore::open(&path).unwrap().rows(None).unwrap();
            assert_eq!(rows.len(), if void { 0 } else { 300 });
        }
    }

    #[test]
    fn a_version_3_database_is_upgraded_in_the_run_keeping_every_service() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v3.sqlite");
        let regions: Vec<String> = vec!["lumbar".into(), "cervical".into()];
        let rec = |claim: &str, code: &str, date: &[u8], seq: u64, recorded: u32| Record {
            claim: claim.into(),
            code: code.into(),
            region: 0,
            side: Side::Left,
            date: Date::parse_d8(date).unwrap(),
            seq,
            counted: seq % 2 == 1,
            units: 150,
            provider: 7,
            stamp: 0,
            recorded,
            stored: true,
            dirty: false,
        };
        let members: Vec<(&str, &str, u64, Vec<Record>)> = vec![
            (
                "M1",
                "medicare",
                0xabc,
                vec![
                    rec("A", "64635", b"20250101", 1, 1),
                    rec("B", "64636", b"20250201", 2, 2),
                ],
            ),
            (
                "M2",
                "payer:X",
                u64::MAX,
                vec![rec("C", "64490", b"20241231", 3, 1)],
            ),
            // Two members whose row ids collide in version 4.
            (
                "#collideA",
                "medicare",
                1,
                vec![rec("D", "64635", b"20250301", 4, 2)],
            ),
            (
                "#collideB",
                "medicare",
                1,
                vec![rec("E", "64635", b"20250401", 5, 2)],
            ),
        ];
        {
            // The version 3 layout, as scrub837 wrote it before this one.
            let c = rusqlite::Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 INSERT INTO meta VALUES ('schema_version', '3');
                 CREATE TABLE stamps (id INTEGER PRIMARY KEY, recorded TEXT NOT NULL UNIQUE);
                 INSERT INTO stamps VALUES (1, '2026-11-01T00:00:00Z'),
                     (2, '2026-11-02T00:00:00Z');
                 CREATE TABLE members (
                     member TEXT NOT NULL, payer TEXT NOT NULL, patient INTEGER NOT NULL,
                     max_seq INTEGER NOT NULL, services BLOB NOT NULL,
                     PRIMARY KEY (member, payer, patient)) WITHOUT ROWID;",
            )
            .unwrap();
            for (member, payer, patient, recs) in &members {
                let refs: Vec<&Record> = recs.iter().collect();
                let mut b = Vec::new();
                blob::encode(&refs, &regions, |r| u64::from(r.recorded), &mut b);
                let max_seq = recs.iter().map(|r| r.seq).max().unwrap() as i64;
                c.execute(
                    "INSERT INTO members VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![member, payer, as_i64(*patient), max_seq, b],
                )
                .unwrap();
            }
        }
        let tables = |path: &Path| -> Vec<String> {
            let c = Connection::open(path).unwrap();
            let mut s = c
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                .unwrap();
            let names = s.query_map([], |r| r.get(0)).unwrap();
            names.collect::<rusqlite::Result<_>>().unwrap()
        };
        // A run that fails (dropped unsaved) leaves the version 3 database as it was.
        let before = {
            let mut ix = HistoryIndex::new(regions.clone());
            let store = HistoryStore::open(&path).unwrap();
            assert_eq!(store.attach(&mut ix).unwrap(), 5);
            store.rows(None).unwrap()
        };
        assert_eq!(tables(&path), ["members", "meta", "stamps"]);
        assert_eq!(before.len(), 5);
        let claims: Vec<&str> = before.iter().map(|r| r[3].as_str()).collect();
        assert_eq!(claims, ["D", "E", "A", "B", "C"]);
        assert_eq!(before[3][10], "2026-11-02T00:00:00Z", "B keeps its stamp");
        assert_eq!(before[4][2], "ffffffffffffffff", "M2's patient key");
        // A run that saves: upgraded, every service kept.
        let mut ix = HistoryIndex::new(regions.clone());
        ix.persistent = true;
        let store = HistoryStore::open(&path).unwrap();
        assert_eq!(store.attach(&mut ix).unwrap(), 5);
        let mut c = claim("NEW", "20250501");
        c.key.patient = 0xabc;
        ix.recall(&c.key).unwrap();
        ix.record(&c, false).unwrap();
        assert_eq!(store.save(&mut ix, "2026-11-27T12:00:00Z").unwrap(), 3);
        assert_eq!(tables(&path), ["collided", "members", "meta", "stamps"]);
        let store = HistoryStore::open(&path).unwrap();
        let mut after = store.rows(None).unwrap();
        let new = after.iter().position(|r| r[3] == "NEW").unwrap();
        assert_eq!(after.remove(new)[11], "6", "sequence numbers carry on");
        assert_eq!(after, before);
        let collided: i64 = store
            .conn
            .query_row("SELECT count(*) FROM collided", [], |r| r.get(0))
            .unwrap();
        assert_eq!(collided, 1, "one of the two colliding members");
        // Read a member at a time now, both colliding members included.
        let mut ix = HistoryIndex::new(regions.clone());
        ix.persistent = true;
        assert_eq!(store.attach(&mut ix).unwrap(), 0, "read as needed now");
        for (member, payer, patient, recs) in &members {
            let key = MemberKey {
                member: (*member).into(),
                payer: (*payer).into(),
                patient: *patient,
            };
            ix.recall(&key).unwrap();
            let extra = usize::from(*member == "M1");
            assert_eq!(ix.records(&key).len(), recs.len() + extra, "{member}");
        }
    }

    #[test]
    fn a_locked_a_corrupt_and_a_newer_database_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let held = HistoryStore::open(&path).unwrap();
        let e = HistoryStore::open(&path).err().expect("locked");
        assert!(e.to_string().contains("locked by another process"), "{e}");
        drop(held);
        assert!(
            HistoryStore::open(&path).is_ok(),
            "the lock goes with the run"
        );

        let junk = dir.path().join("junk.sqlite");
        std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
        let e = HistoryStore::open(&junk).err().expect("corrupt");
        assert!(
            e.to_string().contains("not a scrub837 history database"),
            "{e}"
        );
        assert_eq!(
            std::fs::read(&junk).unwrap(),
            vec![b'x'; 4096],
            "left as it was"
        );

        let newer = dir.path().join("newer.sqlite");
        let s = HistoryStore::open(&newer).unwrap();
        s.conn
            .execute(
                "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
                [],
            )
            .unwrap();
        s.conn.execute_batch("COMMIT").unwrap();
        drop(s);
        let e = HistoryStore::open(&newer).err().expect("newer schema");
        assert!(e.to_string().contains("schema version 99"), "{e}");
    }
}
