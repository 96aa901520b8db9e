//! The persistent history (`--history FILE`): a SQLite database (rusqlite, bundled) with a
//! schema version, read before a run and written after it in the same transaction, which is
//! held (`BEGIN IMMEDIATE`) for the whole run so two runs cannot lose each other's updates.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, ErrorCode, OpenFlags};

use super::index::{Code, HistoryIndex, MemberKey, Record, Side};
use super::small::SmallStr;
use super::spill::{hash, hash_parts, Bloom, SpillError};
use crate::claim::Date;

/// The schema this build reads and writes.
pub const SCHEMA_VERSION: i64 = 2;

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
    // CCYYMMDD on the stack: this runs for every stored service read.
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

    /// Opens (creating on first use) the database and takes its write lock.
    pub fn open(path: &Path) -> Result<Self, HistoryError> {
        let conn = Connection::open(path).map_err(|e| HistoryError {
            path: path.to_owned(),
            message: explain(&e),
        })?;
        let mut store = HistoryStore {
            path: path.to_owned(),
            conn,
            current: false,
        };
        // Fail at once rather than wait when another run holds the lock.
        store
            .conn
            .busy_timeout(std::time::Duration::from_millis(0))
            .map_err(|e| store.err(&e))?;
        // WAL: a commit appends to the log instead of rewriting pages twice; NORMAL sync is
        // still durable across a crash of the process (the database stays consistent).
        store
            .conn
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE",
            )
            .map_err(|e| store.err(&e))?;
        store
            .conn
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS services (
                     member TEXT NOT NULL, payer TEXT NOT NULL, patient TEXT NOT NULL,
                     claim TEXT NOT NULL, code TEXT NOT NULL, side TEXT NOT NULL,
                     dos TEXT NOT NULL, region TEXT NOT NULL, seq INTEGER NOT NULL,
                     counted INTEGER NOT NULL, recorded TEXT NOT NULL,
                     units INTEGER NOT NULL DEFAULT 100,
                     provider TEXT NOT NULL DEFAULT '0000000000000000',
                     PRIMARY KEY (member, payer, patient, claim, code, side, dos))
                     WITHOUT ROWID;",
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
                    .execute(
                        "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                        [SCHEMA_VERSION.to_string()],
                    )
                    .map_err(|e| store.err(&e))?;
            }
            Some(v) if v == SCHEMA_VERSION.to_string() => store.current = true,
            // Version 1 had no units (each service counted as one) and no billing provider
            // (unknown: its units are summed with no other claim's). Upgraded in the run's
            // transaction, so it lands only with the run's own changes.
            Some("1") => {
                store
                    .conn
                    .execute_batch(
                        "ALTER TABLE services ADD COLUMN units INTEGER NOT NULL DEFAULT 100;
                         ALTER TABLE services ADD COLUMN provider TEXT NOT NULL
                             DEFAULT '0000000000000000';
                         UPDATE meta SET value = '2' WHERE key = 'schema_version';",
                    )
                    .map_err(|e| store.err(&e))?;
            }
            Some(v) => {
                return Err(store.fail(format!(
                    "schema version {v}; this scrub837 reads version {SCHEMA_VERSION}"
                )))
            }
        }
        Ok(store)
    }

    /// Reads every stored service into `index` now (members past its memory budget spill).
    pub fn load(&self, index: &mut HistoryIndex) -> Result<u64, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT payer, member, patient, claim, code, region, side, dos, seq, counted, units,
                 provider FROM services ORDER BY member, payer, patient, claim, code, side, dos",
            )
            .map_err(|e| self.err(&e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(&e))?;
        let mut n = 0;
        // In key order (a plain scan of the table). (Judging does not depend on the order of
        // a member's records.)
        while let Some(row) = rows.next().map_err(|e| self.err(&e))? {
            let bad = |what: &str| self.fail(format!("row {}: bad {what}", n + 1));
            let text = |i: usize, what: &str| -> Result<&str, HistoryError> {
                row.get_ref(i)
                    .map_err(|e| self.err(&e))?
                    .as_str()
                    .map_err(|_| bad(what))
            };
            let patient =
                u64::from_str_radix(text(2, "patient key")?, 16).map_err(|_| bad("patient key"))?;
            let record = record_at(row, 3, &mut index.regions).map_err(|what| bad(&what))?;
            index
                .load(text(0, "payer")?, text(1, "member")?, patient, record)
                .map_err(|e| self.fail(e.to_string()))?;
            n += 1;
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
            let mut stmt = conn
                .prepare("SELECT member, payer, patient, max(seq) FROM services GROUP BY member, payer, patient")
                .map_err(|e| self.err(&e))?;
            let mut rows = stmt.query([]).map_err(|e| self.err(&e))?;
            while let Some(row) = rows.next().map_err(|e| self.err(&e))? {
                let bad = || self.fail("a stored member key is not valid".to_owned());
                let text = |i: usize| -> Result<&str, HistoryError> {
                    row.get_ref(i)
                        .map_err(|e| self.err(&e))?
                        .as_str()
                        .map_err(|_| bad())
                };
                let patient = u64::from_str_radix(text(2)?, 16).map_err(|_| bad())?;
                bloom.insert(hash_parts(text(1)?, text(0)?, patient));
                let seq: i64 = row.get(3).map_err(|e| self.err(&e))?;
                max_seq = max_seq.max(u64::try_from(seq).map_err(|_| bad())?);
            }
        }
        // One read transaction for every member read from now on, not one per look-up (the
        // database cannot change under it: this run holds the write lock).
        conn.execute_batch("BEGIN").map_err(|e| self.err(&e))?;
        index.attach(
            StoredReader {
                path: self.path.clone(),
                conn,
                bloom,
            },
            max_seq,
        );
        Ok(0)
    }

    /// Writes what changed in `index` and commits; `recorded` stamps the new rows (`--now`).
    ///
    /// The changes are gathered and put in the table's key order in memory when they fit
    /// [`SORT_BYTES`], then written straight into the table (a claim's stored rows deleted just
    /// before its new ones), so the B-tree is written front to back. More changes than that are
    /// staged in SQLite instead ([`HistoryStore::save_staged`]), in bounded memory. Either way
    /// one transaction: a run killed before the commit leaves the history as it was.
    pub fn save(self, index: &mut HistoryIndex, recorded: &str) -> Result<u64, HistoryError> {
        self.save_within(index, recorded, SORT_BYTES)
    }

    /// [`HistoryStore::save`], sorting in memory up to `limit` bytes of changes.
    fn save_within(
        self,
        index: &mut HistoryIndex,
        recorded: &str,
        limit: usize,
    ) -> Result<u64, HistoryError> {
        match Changes::gather(index, limit)? {
            Some(mut changes) => {
                changes.sort();
                let written = self.write_sorted(&changes, &index.regions, recorded)?;
                self.conn
                    .execute_batch("COMMIT")
                    .map_err(|e| self.err(&e))?;
                Ok(written)
            }
            None => self.save_staged(index, recorded),
        }
    }

    /// Writes `changes` (in key order) into the table: each stored claim's rows deleted, then
    /// its records inserted, several rows a statement. Returns the rows written.
    fn write_sorted(
        &self,
        changes: &Changes,
        regions: &[String],
        recorded: &str,
    ) -> Result<u64, HistoryError> {
        let mut delete = self.conn.prepare(DELETE_CLAIM).map_err(|e| self.err(&e))?;
        let mut full = self
            .conn
            .prepare(&insert_sql(CHUNK))
            .map_err(|e| self.err(&e))?;
        let mut pending: Vec<(&MemberKey, &SmallStr, &Row)> = Vec::with_capacity(CHUNK);
        let mut written = 0u64;
        for c in &changes.claims {
            let Some(key) = changes.keys.get(c.key as usize) else {
                continue;
            };
            let patient = hex16(key.patient);
            let patient = std::str::from_utf8(&patient).unwrap_or_default();
            if c.stored {
                delete
                    .execute(params![&*key.member, &*key.payer, patient, &*c.claim])
                    .map_err(|e| self.err(&e))?;
            }
            let rows = changes.rows.get(c.rows.0..c.rows.1).unwrap_or_default();
            for r in rows {
                pending.push((key, &c.claim, r));
                if pending.len() == CHUNK {
                    self.insert_rows(&mut full, &pending, regions, recorded)?;
                    written += pending.len() as u64;
                    pending.clear();
                }
            }
        }
        if !pending.is_empty() {
            let mut tail = self
                .conn
                .prepare(&insert_sql(pending.len()))
                .map_err(|e| self.err(&e))?;
            self.insert_rows(&mut tail, &pending, regions, recorded)?;
            written += pending.len() as u64;
        }
        Ok(written)
    }

    /// Runs an [`insert_sql`] statement of `rows.len()` rows.
    fn insert_rows(
        &self,
        stmt: &mut rusqlite::Statement<'_>,
        rows: &[(&MemberKey, &SmallStr, &Row)],
        regions: &[String],
        recorded: &str,
    ) -> Result<(), HistoryError> {
        for (i, &row) in rows.iter().enumerate() {
            let region = regions
                .get(usize::from(row.2.region))
                .map_or("?", String::as_str);
            bind_row(stmt, 1 + i * 13, row, region, recorded).map_err(|e| self.err(&e))?;
        }
        stmt.raw_execute().map_err(|e| self.err(&e))?;
        Ok(())
    }

    /// [`HistoryStore::save`] through temporary tables: the changes are staged there first
    /// (appends, in whatever order the index gives them: spilled members come back by
    /// partition), then applied in the table's key order, deletions first, so SQLite's
    /// sorter, not the B-tree's page cache, absorbs the disorder, in bounded memory.
    fn save_staged(self, index: &mut HistoryIndex, recorded: &str) -> Result<u64, HistoryError> {
        self.conn
            .execute_batch(
                "CREATE TEMP TABLE save_rows (member TEXT, payer TEXT, patient TEXT, claim TEXT,
                     code TEXT, side TEXT, dos TEXT, region TEXT, seq INTEGER, counted INTEGER,
                     units INTEGER, provider TEXT);
                 CREATE TEMP TABLE save_deletes (member TEXT, payer TEXT, patient TEXT,
                     claim TEXT);",
            )
            .map_err(|e| self.err(&e))?;
        let values = |n: usize| {
            rows_sql(
                "INSERT INTO temp.save_rows (payer, member, patient, claim, code, region, \
                 side, dos, seq, counted, units, provider) VALUES ",
                12,
                n,
            )
        };
        /// One row to write: shared texts, and the short ones it needs of its own inline (no
        /// allocation per row).
        struct Row {
            payer: SmallStr,
            member: SmallStr,
            patient: [u8; 16],
            claim: SmallStr,
            code: Code,
            region: u16,
            side: &'static str,
            dos: [u8; 10],
            seq: i64,
            counted: i64,
            units: i64,
            provider: [u8; 16],
        }
        let regions = index.regions.clone();
        // A full chunk's statement is prepared once and kept: a cached statement given back
        // to the cache after each chunk has its hundreds of bindings cleared.
        let mut full = self
            .conn
            .prepare(&values(CHUNK))
            .map_err(|e| self.err(&e))?;
        let insert = |stmt: &mut rusqlite::Statement<'_>,
                      rows: &[Row]|
         -> Result<(), HistoryError> {
            // The inline texts as `str`s (ASCII by construction).
            let inline: Vec<[&str; 8]> = rows
                .iter()
                .map(|r| {
                    let region = regions
                        .get(usize::from(r.region))
                        .map_or("?", String::as_str);
                    let [patient, dos, provider] = [&r.patient[..], &r.dos[..], &r.provider[..]]
                        .map(|b| std::str::from_utf8(b).unwrap_or_default());
                    [
                        patient,
                        dos,
                        provider,
                        r.code.as_str(),
                        region,
                        r.payer.as_str(),
                        r.member.as_str(),
                        r.claim.as_str(),
                    ]
                })
                .collect();
            let mut args: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(rows.len() * 12);
            for (r, [patient, dos, provider, code, region, payer, member, claim]) in
                rows.iter().zip(&inline)
            {
                args.extend([
                    payer as &dyn rusqlite::ToSql,
                    member,
                    patient,
                    claim,
                    code,
                    region,
                    &r.side,
                    dos,
                    &r.seq,
                    &r.counted,
                    &r.units,
                    provider,
                ]);
            }
            stmt.execute(args.as_slice()).map_err(|e| self.err(&e))?;
            Ok(())
        };
        let mut rows: Vec<Row> = Vec::with_capacity(CHUNK);
        let mut written = 0u64;
        {
            let mut delete = self
                .conn
                .prepare_cached(
                    "INSERT INTO temp.save_deletes (payer, member, patient, claim) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(|e| self.err(&e))?;
            // In key order (member first), so the B-tree is written front to back.
            index.visit_members(|key, entry| -> Result<(), HistoryError> {
                let patient = hex16(key.patient);
                for (claim, stored, records) in entry.changes() {
                    if stored {
                        delete
                            .execute(params![
                                &*key.payer,
                                &*key.member,
                                std::str::from_utf8(&patient).unwrap_or_default(),
                                &**claim
                            ])
                            .map_err(|e| self.err(&e))?;
                    }
                    for r in records {
                        rows.push(Row {
                            payer: key.payer.clone(),
                            member: key.member.clone(),
                            patient,
                            claim: claim.clone(),
                            code: r.code,
                            region: r.region,
                            side: r.side.as_str(),
                            dos: iso_date(r.date),
                            seq: r.seq as i64,
                            counted: i64::from(r.counted),
                            units: i64::from(r.units),
                            provider: hex16(r.provider),
                        });
                        if rows.len() == CHUNK {
                            insert(&mut full, &rows)?;
                            written += rows.len() as u64;
                            rows.clear();
                        }
                    }
                }
                Ok(())
            })?;
        }
        if !rows.is_empty() {
            let mut tail = self
                .conn
                .prepare(&values(rows.len()))
                .map_err(|e| self.err(&e))?;
            insert(&mut tail, &rows)?;
            written += rows.len() as u64;
        }
        drop(full);
        {
            let mut delete = self.conn.prepare(DELETE_CLAIM).map_err(|e| self.err(&e))?;
            let mut gone = self
                .conn
                .prepare(
                    "SELECT DISTINCT member, payer, patient, claim FROM temp.save_deletes
                     ORDER BY member, payer, patient, claim",
                )
                .map_err(|e| self.err(&e))?;
            let mut keys = gone.query([]).map_err(|e| self.err(&e))?;
            while let Some(k) = keys.next().map_err(|e| self.err(&e))? {
                let key = |i: usize| -> Result<&str, HistoryError> {
                    k.get_ref(i)
                        .map_err(|e| self.err(&e))?
                        .as_str()
                        .map_err(|_| self.fail("a staged key is not text".to_owned()))
                };
                delete
                    .execute(params![key(0)?, key(1)?, key(2)?, key(3)?])
                    .map_err(|e| self.err(&e))?;
            }
        }
        // The run's stamp is the same on every row: bound once here, not staged per row.
        self.conn
            .execute(
                "INSERT OR REPLACE INTO services (member, payer, patient, claim, code, side, dos,
                     region, seq, counted, recorded, units, provider)
                 SELECT member, payer, patient, claim, code, side, dos, region, seq, counted,
                     ?1, units, provider FROM temp.save_rows
                 ORDER BY member, payer, patient, claim, code, side, dos",
                [recorded],
            )
            .map_err(|e| self.err(&e))?;
        self.conn
            .execute_batch("DROP TABLE temp.save_rows; DROP TABLE temp.save_deletes; COMMIT")
            .map_err(|e| self.err(&e))?;
        Ok(written)
    }

    /// Removes services dated before `before`; returns how many, committed.
    pub fn forget_before(self, before: Date) -> Result<u64, HistoryError> {
        let n = self
            .conn
            .execute("DELETE FROM services WHERE dos < ?1", [before.to_string()])
            .map_err(|e| self.err(&e))?;
        self.conn
            .execute_batch("COMMIT")
            .map_err(|e| self.err(&e))?;
        Ok(n as u64)
    }

    /// The stored services of a member id (any payer, any patient under it), by date.
    pub fn show(&self, member: &str) -> Result<Vec<Vec<String>>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT payer, patient, claim, code, region, side, units, dos, counted, recorded
                 FROM services WHERE member = ?1 ORDER BY payer, patient, dos, claim, code",
            )
            .map_err(|e| self.err(&e))?;
        let rows = stmt
            .query_map([member], |r| {
                Ok(vec![
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    crate::edit::checks::units(Some(crate::claim::Money {
                        cents: r.get::<_, i64>(6)?,
                    })),
                    r.get::<_, String>(7)?,
                    if r.get::<_, i64>(8)? != 0 {
                        "counted".to_owned()
                    } else {
                        "rejected".to_owned()
                    },
                    r.get::<_, String>(9)?,
                ])
            })
            .map_err(|e| self.err(&e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(&e))
    }
}

/// Bytes of changes [`HistoryStore::save`] sorts in memory (about 150 bytes a row with its
/// share of claim and key: some 110 thousand rows) before it stages them in SQLite instead,
/// well inside the run's memory bound. Sorting in chunks instead is no way out: each chunk
/// after the first lands all over the B-tree, and a 200k-claim save took five times as long.
const SORT_BYTES: usize = 16 << 20;

/// Deletes one claim's stored rows (member, payer, patient, claim).
const DELETE_CLAIM: &str =
    "DELETE FROM services WHERE member = ?1 AND payer = ?2 AND patient = ?3 AND claim = ?4";

/// Rows per INSERT statement of a save: one statement per row spends most of a save on
/// statement overhead.
const CHUNK: usize = 64;

/// An INSERT into the table of `n` rows of the columns [`bind_row`] binds.
fn insert_sql(n: usize) -> String {
    rows_sql(
        "INSERT OR REPLACE INTO services (member, payer, patient, claim, code, side, dos, \
         region, seq, counted, units, provider, recorded) VALUES ",
        13,
        n,
    )
}

/// `head` followed by `n` rows of `width` parameters: `(?,?,…),(?,?,…)…`.
fn rows_sql(head: &str, width: usize, n: usize) -> String {
    let row = format!("({})", vec!["?"; width].join(","));
    let mut sql = head.to_owned();
    for i in 0..n {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&row);
    }
    sql
}

/// A record to write, as its claim's change keeps it.
struct Row {
    code: Code,
    region: u16,
    side: Side,
    date: Date,
    seq: u64,
    counted: bool,
    units: u32,
    provider: u64,
}

/// A claim whose rows a save rewrites: its member (index into [`Changes::keys`]), whether the
/// database held it, and its rows (a range of [`Changes::rows`]).
struct ClaimChange {
    key: u32,
    claim: SmallStr,
    stored: bool,
    rows: (usize, usize),
}

/// What a save writes, gathered from the index.
struct Changes {
    keys: Vec<MemberKey>,
    claims: Vec<ClaimChange>,
    rows: Vec<Row>,
}

impl Changes {
    /// The index's changes, or `None` once they would take more than `limit` bytes here.
    fn gather(index: &mut HistoryIndex, limit: usize) -> Result<Option<Changes>, HistoryError> {
        /// Stops the visit: the changes outgrew the limit.
        struct Full;
        enum Stop {
            Full(Full),
            Failed(HistoryError),
        }
        impl From<SpillError> for Stop {
            fn from(e: SpillError) -> Self {
                Stop::Failed(e.into())
            }
        }
        let mut out = Changes {
            keys: Vec::new(),
            claims: Vec::new(),
            rows: Vec::new(),
        };
        let visited = index.visit_members(|key, entry| -> Result<(), Stop> {
            let changes = entry.changes();
            if changes.is_empty() {
                return Ok(());
            }
            let k = out.keys.len() as u32;
            out.keys.push(key.clone());
            for (claim, stored, records) in changes {
                let start = out.rows.len();
                out.rows.extend(records.iter().map(|r| Row {
                    code: r.code,
                    region: r.region,
                    side: r.side,
                    date: r.date,
                    seq: r.seq,
                    counted: r.counted,
                    units: r.units,
                    provider: r.provider,
                }));
                out.claims.push(ClaimChange {
                    key: k,
                    claim: claim.clone(),
                    stored,
                    rows: (start, out.rows.len()),
                });
            }
            if out.bytes() > limit {
                return Err(Stop::Full(Full));
            }
            Ok(())
        });
        match visited {
            Ok(()) => Ok(Some(out)),
            Err(Stop::Full(Full)) => Ok(None),
            Err(Stop::Failed(e)) => Err(e),
        }
    }

    /// About the bytes it takes.
    fn bytes(&self) -> usize {
        use std::mem::size_of;
        self.keys.capacity() * size_of::<MemberKey>()
            + self.claims.capacity() * size_of::<ClaimChange>()
            + self.rows.capacity() * size_of::<Row>()
    }

    /// Puts the claims in the table's key order (member, payer, patient, claim) and each
    /// claim's rows in it too (code, side, date).
    fn sort(&mut self) {
        let keys = &self.keys;
        let order = |c: &ClaimChange| keys.get(c.key as usize).map(key_order);
        self.claims
            .sort_unstable_by(|a, b| (order(a), &a.claim).cmp(&(order(b), &b.claim)));
        for c in &self.claims {
            if let Some(rows) = self.rows.get_mut(c.rows.0..c.rows.1) {
                rows.sort_unstable_by(|a, b| {
                    (a.code, a.side.as_str(), a.date).cmp(&(b.code, b.side.as_str(), b.date))
                });
            }
        }
    }
}

/// A member key's place in the table's order (member, payer, patient).
fn key_order(k: &MemberKey) -> (&SmallStr, &SmallStr, u64) {
    (&k.member, &k.payer, k.patient)
}

/// Bytes of ASCII (as written here) as text.
fn ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

/// Binds a row's columns, as [`insert_sql`] names them, from parameter `at` on (1-based).
fn bind_row(
    stmt: &mut rusqlite::Statement<'_>,
    at: usize,
    (key, claim, r): (&MemberKey, &SmallStr, &Row),
    region: &str,
    recorded: &str,
) -> rusqlite::Result<()> {
    let (patient, dos, provider) = (hex16(key.patient), iso_date(r.date), hex16(r.provider));
    stmt.raw_bind_parameter(at, key.member.as_str())?;
    stmt.raw_bind_parameter(at + 1, key.payer.as_str())?;
    stmt.raw_bind_parameter(at + 2, ascii(&patient))?;
    stmt.raw_bind_parameter(at + 3, claim.as_str())?;
    stmt.raw_bind_parameter(at + 4, r.code.as_str())?;
    stmt.raw_bind_parameter(at + 5, r.side.as_str())?;
    stmt.raw_bind_parameter(at + 6, ascii(&dos))?;
    stmt.raw_bind_parameter(at + 7, region)?;
    // Sequence numbers count claims: far below `i64::MAX`.
    stmt.raw_bind_parameter(at + 8, i64::try_from(r.seq).unwrap_or(i64::MAX))?;
    stmt.raw_bind_parameter(at + 9, i64::from(r.counted))?;
    stmt.raw_bind_parameter(at + 10, i64::from(r.units))?;
    stmt.raw_bind_parameter(at + 11, ascii(&provider))?;
    stmt.raw_bind_parameter(at + 12, recorded)
}

/// Reads a member's stored services during a run ([`HistoryStore::attach`]).
pub struct StoredReader {
    path: PathBuf,
    conn: Connection,
    bloom: Bloom,
}

impl std::fmt::Debug for StoredReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredReader")
            .field("path", &self.path)
            .finish()
    }
}

impl StoredReader {
    /// Whether the database may hold services of `key`.
    pub fn may_hold(&self, key: &MemberKey) -> bool {
        self.may_hold_hashed(hash(key))
    }

    /// [`StoredReader::may_hold`] with the key's hash known.
    pub(crate) fn may_hold_hashed(&self, h: u64) -> bool {
        self.bloom.may_hold(h)
    }

    /// The stored services of a member; region names are looked up in (or added to)
    /// `regions`.
    pub fn member(
        &self,
        key: &MemberKey,
        regions: &mut Vec<String>,
    ) -> Result<Vec<Record>, SpillError> {
        let fail = |m: String| {
            SpillError(
                HistoryError {
                    path: self.path.clone(),
                    message: m,
                }
                .to_string(),
            )
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT claim, code, region, side, dos, seq, counted, units, provider FROM services
                 WHERE member = ?1 AND payer = ?2 AND patient = ?3 ORDER BY claim, code, side, dos",
            )
            .map_err(|e| fail(explain(&e)))?;
        let patient = hex16(key.patient);
        let mut rows = stmt
            .query(params![
                &*key.member,
                &*key.payer,
                std::str::from_utf8(&patient).unwrap_or_default()
            ])
            .map_err(|e| fail(explain(&e)))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| fail(explain(&e)))? {
            let r = record_at(row, 0, regions)
                .map_err(|what| fail(format!("a stored service has a bad {what}")))?;
            out.push(r);
        }
        Ok(out)
    }
}

/// A stored service from the columns claim, code, region, side, dos, seq, counted, units and
/// provider, from column `at` on. The error names the column that is bad.
fn record_at(
    row: &rusqlite::Row<'_>,
    at: usize,
    regions: &mut Vec<String>,
) -> Result<Record, String> {
    // Texts borrowed from the row: no allocation per column.
    let text = |i: usize, what: &str| -> Result<&str, String> {
        row.get_ref(at + i)
            .ok()
            .and_then(|v| v.as_str().ok())
            .ok_or_else(|| what.to_owned())
    };
    let int = |i: usize, what: &str| -> Result<i64, String> {
        row.get::<_, i64>(at + i).map_err(|_| what.to_owned())
    };
    let claim: SmallStr = text(0, "claim")?.into();
    let region_name = text(2, "region")?;
    let region = match regions.iter().position(|r| r == region_name) {
        Some(i) => i as u16,
        None => {
            regions.push(region_name.to_owned());
            (regions.len() - 1) as u16
        }
    };
    Ok(Record {
        claim,
        code: text(1, "code")?.into(),
        region,
        side: Side::parse(text(3, "side")?).ok_or("side")?,
        date: parse_date(text(4, "date of service")?).ok_or("date of service")?,
        seq: u64::try_from(int(5, "sequence")?).map_err(|_| "sequence")?,
        counted: int(6, "counted")? != 0,
        units: u32::try_from(int(7, "units")?).map_err(|_| "units")?,
        provider: u64::from_str_radix(text(8, "provider key")?, 16).map_err(|_| "provider key")?,
        stamp: 0,
        stored: true,
        dirty: false,
    })
}

/// `n` as 16 lower-case hex digits, as the database keeps patient and provider keys.
fn hex16(n: u64) -> [u8; 16] {
    let mut out = [b'0'; 16];
    for (i, slot) in out.iter_mut().enumerate() {
        let nibble = (n >> (60 - 4 * i)) & 0xf;
        *slot = b"0123456789abcdef"[nibble as usize];
    }
    out
}

/// CCYY-MM-DD, as the database keeps dates.
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
            assert_eq!(store.save(&mut back, "2026-11-28T12:00:00Z").unwrap(), 1);
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

    /// Every row of a database, in key order.
    fn dump(path: &Path) -> Vec<Vec<String>> {
        let c = Connection::open(path).unwrap();
        let mut stmt = c
            .prepare(
                "SELECT member, payer, patient, claim, code, side, dos, region, seq, counted,
                 recorded, units, provider FROM services ORDER BY 1, 2, 3, 4, 5, 6, 7",
            )
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                (0..13)
                    .map(|i| Ok(format!("{:?}", r.get_ref(i)?)))
                    .collect::<rusqlite::Result<Vec<String>>>()
            })
            .unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
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
                c.key.member = format!("M{}", next(9)).into();
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]
        /// A save sorted in memory leaves the database exactly as one staged in SQLite does,
        /// run after run (new members, replaced, voided and re-judged claims, spilled or not).
        #[test]
        fn a_sorted_save_writes_what_a_staged_one_does(seed in proptest::num::u64::ANY) {
            let dir = tempfile::tempdir().unwrap();
            let paths = [dir.path().join("sorted.sqlite"), dir.path().join("staged.sqlite")];
            for (run, budget) in [(0u64, usize::MAX), (1, 0), (2, 4096)] {
                let work = run_of(seed ^ run, 60);
                for (path, limit) in paths.iter().zip([usize::MAX, 0]) {
                    let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
                    ix.set_budget(budget);
                    let store = HistoryStore::open(path).unwrap();
                    store.attach(&mut ix).unwrap();
                    ix.persistent = true;
                    for (c, rejected) in &work {
                        ix.recall(&c.key).unwrap();
                        ix.record(c, *rejected).unwrap();
                    }
                    let stamp = format!("2026-11-2{run}T12:00:00Z");
                    store.save_within(&mut ix, &stamp, limit).unwrap();
                }
                proptest::prop_assert_eq!(dump(&paths[0]), dump(&paths[1]));
            }
        }
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
        assert_eq!(version, "2");
        let rows = store.show("M1").unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0][2], "OLD");
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
