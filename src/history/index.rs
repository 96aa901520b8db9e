//! The in-memory history index: per member, the services (RFA sessions and facet blocks) of
//! every claim seen, with the order they were first seen in; and the frequency checks judged
//! against it.
//!
//! A claim already in the index (the same file scrubbed again) is judged against the history
//! as it stood when the claim was first recorded, so scrubbing a file twice gives the same
//! answer twice; a new claim is judged against everything recorded.

use std::collections::HashMap;
use std::sync::Arc;

use super::day_number;
use super::small::{SmallList, SmallStr};
use super::spill::{Spill, SpillError};
use super::store::StoredReader;
use crate::claim::Date;
use crate::edit::codes::CodeSet;
use crate::edit::finding::{Finding, Severity};

/// The side a service was on, from its modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// No side modifier.
    Unknown,
    /// RT.
    Right,
    /// LT.
    Left,
    /// 50 (bilateral).
    Both,
}

impl Side {
    /// From a line's modifiers.
    pub fn of(modifiers: &[&[u8]]) -> Side {
        let has = |m: &[u8]| modifiers.contains(&m);
        match (has(b"50"), has(b"RT"), has(b"LT")) {
            (true, _, _) | (false, true, true) => Side::Both,
            (false, true, false) => Side::Right,
            (false, false, true) => Side::Left,
            _ => Side::Unknown,
        }
    }

    /// Whether two services may have been on the same side (an unknown side may be either).
    pub fn overlaps(self, other: Side) -> bool {
        match (self, other) {
            (Side::Unknown, _) | (_, Side::Unknown) | (Side::Both, _) | (_, Side::Both) => true,
            (a, b) => a == b,
        }
    }

    /// `RT`, `LT`, `50` or `-` (as stored).
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Unknown => "-",
            Side::Right => "RT",
            Side::Left => "LT",
            Side::Both => "50",
        }
    }

    /// Parses [`Side::as_str`].
    pub fn parse(s: &str) -> Option<Side> {
        Some(match s {
            "-" => Side::Unknown,
            "RT" => Side::Right,
            "LT" => Side::Left,
            "50" => Side::Both,
            _ => return None,
        })
    }
}

/// A procedure code held inline (HCPCS/CPT codes are five characters; at most seven are kept).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code([u8; 7], u8);

impl Code {
    /// The code's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0[..usize::from(self.1).min(7)]
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

impl From<&str> for Code {
    fn from(s: &str) -> Code {
        Code::packed(s.as_bytes())
    }
}

impl Code {
    /// A code from its bytes: as `From<&str>` of them when they are text, else empty.
    pub fn of_bytes(b: &[u8]) -> Code {
        if b.is_ascii() || std::str::from_utf8(b).is_ok() {
            Code::packed(b)
        } else {
            Code::default()
        }
    }

    /// The first seven bytes of `b`, held inline.
    fn packed(b: &[u8]) -> Code {
        let mut c = Code::default();
        for (slot, &x) in c.0.iter_mut().zip(b) {
            *slot = x;
        }
        c.1 = b.len().min(7) as u8;
        c
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whose history: payer profile (or payer id), member id, and which patient under it (a hash
/// of the patient's name and birth date, since dependents share the subscriber's member id).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MemberKey {
    /// Payer profile id (`medicare`, …) or `payer:ID` for a payer with no profile (shared
    /// by every member of the payer in the index).
    pub payer: SmallStr,
    /// 2010BA NM109.
    pub member: SmallStr,
    /// FNV-1a of the patient's last name, first name and birth date.
    pub patient: u64,
}

impl std::hash::Hash for MemberKey {
    /// The member id and patient key pick the bucket; the payer (a handful of values) is left
    /// to equality.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(self.member.as_bytes());
        state.write_u64(self.patient);
    }
}

/// One service line of a claim that history keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    /// The procedure code.
    pub code: Code,
    /// Spinal region (index into [`HistoryIndex::regions`]).
    pub region: u16,
    /// Side.
    pub side: Side,
    /// Date of service.
    pub date: Date,
    /// LX01 of its line.
    pub line: u32,
    /// Where its SV1/SV2 is: segment ordinal and byte.
    pub segment: u64,
    /// Byte offset.
    pub byte: u64,
    /// Units billed, in hundredths (one unit is 100).
    pub units: u32,
}

/// A filler for unused inline room (no code, region 0, no date).
impl Default for Service {
    fn default() -> Self {
        Service {
            code: Code::default(),
            region: 0,
            side: Side::Unknown,
            date: Date {
                year: 0,
                month: 0,
                day: 0,
            },
            line: 0,
            segment: 0,
            byte: 0,
            units: 0,
        }
    }
}

/// Units in hundredths as a record keeps them (negative as none, past `u32` saturated).
pub fn hundredths(units: i64) -> u32 {
    u32::try_from(units.max(0)).unwrap_or(u32::MAX)
}

/// What a claim is to history (CLM05-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frequency {
    /// Original (or anything but 7 and 8).
    Original,
    /// 7: replaces the earlier claim with its id.
    Replacement,
    /// 8: voids it.
    Void,
}

/// A claim as history sees it, read by a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistClaim {
    /// Whose history.
    pub key: MemberKey,
    /// CLM01.
    pub claim: SmallStr,
    /// Original, replacement or void.
    pub frequency: Frequency,
    /// Its billing provider: FNV-1a of the 2010AA NPI (0 when it has none).
    pub provider: u64,
    /// Its services in regions history tracks.
    pub services: Services,
    /// The history rules in force for it (indices into the rule list).
    pub rules: InForce,
    /// Per-date-of-service unit limits on its codes, to be judged with the member's other
    /// claims of the same date (E-25/E-26 with an MUE of MAI 2 or 3, or a daily limit).
    pub day_units: Vec<DayUnits>,
}

/// The history rules in force for a claim, in the rule set's order (inline: the bundled pack
/// has at most three in force for a claim).
pub type InForce = SmallList<u16, 6>;

/// A claim's services history keeps (inline: most claims have one or two).
pub type Services = SmallList<Service, 2>;

/// A per-date-of-service unit limit on one of a claim's codes, with the edit rule that
/// applies it (see `edit::checks::DayLimit`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayUnits {
    /// The code.
    pub code: Code,
    /// The date of service.
    pub date: Date,
    /// The claim's own units of the code on that date, in hundredths.
    pub units: i64,
    /// Units allowed per date of service.
    pub limit: u32,
    /// The MUE adjudication indicator, when the limit is an MUE.
    pub mai: Option<u8>,
    /// The edit rule (index into the engine's rule set).
    pub rule: u32,
    /// LX01 of the code's first line that date.
    pub line: u32,
    /// Where that line is: segment ordinal.
    pub segment: u64,
    /// Byte offset.
    pub byte: u64,
    /// The finding variant (the rule's STC choice for a sum over lines).
    pub variant: Option<&'static str>,
    /// The CMS table, named with its edition and file, when the limit comes from one.
    pub table: Option<Arc<str>>,
}

/// A kind of history check, with its parameters (rule data).
#[derive(Clone, Debug)]
pub enum HistoryCheck {
    /// E-37: more than `max_sessions` sessions (distinct dates with a `codes` line) in one
    /// region within any `window_days` days.
    Sessions {
        /// Codes that make a session.
        codes: CodeSet,
        /// Window length in days.
        window_days: i64,
        /// Sessions allowed in a window.
        max_sessions: usize,
    },
    /// E-38: a session in the same region on a side that may be the same, less than
    /// `min_days` before this one.
    Interval {
        /// Codes that make a session.
        codes: CodeSet,
        /// Minimum days between sessions.
        min_days: i64,
    },
    /// E-39: the first session in a region without `min_blocks` earlier dates of `blocks`.
    PriorBlocks {
        /// Codes that make a session.
        codes: CodeSet,
        /// Diagnostic block codes.
        blocks: CodeSet,
        /// Block dates required before the first session.
        min_blocks: usize,
    },
}

/// One history rule in force: what to report when its check fires.
#[derive(Clone, Debug)]
pub struct HistoryRule {
    /// Catalogue id.
    pub edit: Arc<str>,
    /// Reject or warn.
    pub severity: Severity,
    /// 277CA code.
    pub stc: Option<Arc<str>>,
    /// Further 277CA codes.
    pub stc_extra: Vec<Arc<str>>,
    /// The check.
    pub check: HistoryCheck,
    /// Where the rule came from.
    pub origin: Arc<str>,
}

/// One remembered service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// CLM01 of its claim.
    pub claim: SmallStr,
    /// Procedure code.
    pub code: Code,
    /// Region index.
    pub region: u16,
    /// Side.
    pub side: Side,
    /// Date of service.
    pub date: Date,
    /// When its claim was first recorded (increasing).
    pub seq: u64,
    /// Whether it counts (its claim was not rejected).
    pub counted: bool,
    /// Units billed, in hundredths (summed over the claim's lines of this code, side and
    /// date).
    pub units: u32,
    /// Its claim's billing provider ([`HistClaim::provider`]; 0 when unknown).
    pub provider: u64,
    /// When this run recorded it (0: read from the database); late rejections find the
    /// records of their group or interchange by it.
    pub stamp: u32,
    /// The database's stamp of the run that recorded it (a row of its `stamps` table; 0 when
    /// this run did).
    pub recorded: u32,
    /// Whether the database holds its claim.
    pub stored: bool,
    /// Whether this run changed it (to be written back).
    pub dirty: bool,
}

impl Record {
    /// Day number of its date.
    pub fn day(&self) -> i64 {
        day_number(self.date)
    }
}

/// FNV-1a as a `Hasher` for the member map: keys are short strings of our own data, where
/// SipHash's resistance to crafted keys buys nothing and costs time on the ordered stage.
#[derive(Clone, Copy, Debug)]
pub struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> Self {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
    }
}

/// The member map's hasher: a word at a time (FNV's byte loop was most of a look-up), then
/// mixed so that the table's bucket bits (low) and tag bits (high) both vary. It is never
/// stored, so it may change between builds.
#[derive(Clone, Copy, Debug, Default)]
pub struct MapHasher(u64);

impl MapHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for MapHasher {
    fn finish(&self) -> u64 {
        let z = (self.0 ^ (self.0 >> 31)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut a = [0; 8];
            a.copy_from_slice(w);
            self.add(u64::from_le_bytes(a));
        }
        let rest = words.remainder();
        let mut a = [0; 8];
        a[..rest.len()].copy_from_slice(rest);
        // The length, so that texts differing only by trailing zeros differ.
        self.add(u64::from_le_bytes(a) ^ (bytes.len() as u64) << 59);
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
}

type Members = HashMap<MemberKey, Entry, std::hash::BuildHasherDefault<MapHasher>>;

/// What the index keeps of a member.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// Its services.
    pub recs: Vec<Record>,
    /// Claims the database held that this run removed every service of (voids).
    pub removed: Vec<SmallStr>,
    /// When the index last used it (its clock), for choosing which members to spill.
    pub used: u64,
}

impl Entry {
    /// Claims whose records this run changed, by claim id: whether the database held the
    /// claim, and its current records.
    pub fn changes(&self) -> Vec<(&SmallStr, bool, Vec<&Record>)> {
        let mut claims: Vec<&SmallStr> = self
            .recs
            .iter()
            .filter(|r| r.dirty)
            .map(|r| &r.claim)
            .collect();
        // A voided claim's stored rows go, even when a later claim with its id came back.
        claims.extend(&self.removed);
        claims.sort_unstable();
        claims.dedup();
        claims
            .into_iter()
            .map(|c| {
                let mine: Vec<&Record> = self.recs.iter().filter(|r| r.claim == *c).collect();
                let stored = self.removed.contains(c) || mine.iter().any(|r| r.stored);
                (c, stored, mine)
            })
            .collect()
    }

    /// About the bytes it takes in memory with its key, allocator overheads included: the map
    /// slot (with the table's slack), texts too long to be inline, and each record with its
    /// share of allocator and table overheads. A member of one claim and one service counts
    /// about 400 bytes, as measured before ids went inline; counting it at 260 (its fields and
    /// slot) let peak memory at the default budget grow by 8 MB, so this is kept.
    fn cost(&self, key: &MemberKey) -> usize {
        240 + key.payer.heap_bytes()
            + key.member.heap_bytes()
            + self.recs.capacity() * (std::mem::size_of::<Record>() + 32)
            + self.recs.len() * 48
            + self.removed.len() * 64
    }
}

/// Bytes of member history [`HistoryIndex::new`] keeps in memory before it spills the members
/// it used least recently (see [`HistoryIndex::set_budget`]).
pub const DEFAULT_BUDGET: usize = 6 << 20;

/// The index.
#[derive(Debug, Default)]
pub struct HistoryIndex {
    /// Region names, as the rule data names them.
    pub regions: Vec<String>,
    /// Whether it is backed by a database (`--history`): only then can the absence of earlier
    /// services mean something, so only then does E-39 (first session without blocks) run.
    pub persistent: bool,
    members: Members,
    next_seq: u64,
    next_stamp: u32,
    /// Bytes of members to keep in memory before spilling some.
    budget: usize,
    /// About the bytes the members in memory take ([`Entry::cost`]).
    hot_bytes: usize,
    /// Ticks on every use of a member.
    clock: u64,
    /// Members spilled out of memory, once any are.
    cold: Option<Spill>,
    /// The history database, read a member at a time (`--history` on a database that exists).
    stored: Option<StoredReader>,
    /// Stamp ranges uncounted since members were first spilled: applied to a spilled member's
    /// records when it comes back (a handful: one per group or interchange rejected late).
    uncounted: Vec<(u32, u32)>,
    /// Whether anything may have changed since the index was created (a record written, a
    /// stored claim removed, claims uncounted): without, a save has nothing to write.
    touched: bool,
    /// The member [`HistoryIndex::recall`] last found nowhere, until anything is recorded or
    /// loaded: recording it right after judging it needs no second look in the spill and the
    /// database.
    absent: Option<MemberKey>,
}

fn fmt_date(d: Date) -> String {
    d.to_string()
}

impl HistoryIndex {
    /// An empty index over these regions.
    pub fn new(regions: Vec<String>) -> Self {
        HistoryIndex {
            regions,
            next_seq: 1,
            next_stamp: 1,
            budget: DEFAULT_BUDGET,
            ..HistoryIndex::default()
        }
    }

    /// Keeps about `bytes` of members in memory: past that, the half used least recently
    /// move to a temporary database on disk (and come back when used again), so memory stays
    /// bounded however many members a run sees. 0 spills every member after each use.
    pub fn set_budget(&mut self, bytes: usize) {
        self.budget = bytes;
    }

    /// Members spilled to disk and not used since.
    pub fn spilled(&self) -> u64 {
        self.cold.as_ref().map_or(0, Spill::held)
    }

    /// Records held in memory.
    pub fn len(&self) -> usize {
        self.members.values().map(|e| e.recs.len()).sum()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.spilled() == 0
    }

    /// Brings a member's records back into memory when they were spilled; call before
    /// [`HistoryIndex::judge`] and [`HistoryIndex::units_on`], which see only what is in
    /// memory.
    pub fn recall(&mut self, key: &MemberKey) -> Result<(), SpillError> {
        self.recall_with(key, None)
    }

    /// [`HistoryIndex::recall`], with the member's stored rows when they were read ahead
    /// ([`super::store::Prefetcher`]): used only if the database is where the member comes
    /// from, so the result is the same as without them.
    pub fn recall_with(
        &mut self,
        key: &MemberKey,
        ahead: Option<&super::store::StoredRaw>,
    ) -> Result<(), SpillError> {
        self.clock += 1;
        // Found nowhere a moment ago (so not in memory either): judging a new member and
        // recording it probe the map once between them.
        if self.is_absent(key) {
            return Ok(());
        }
        if let Some(e) = self.members.get_mut(key) {
            e.used = self.clock;
            return Ok(());
        }
        if self.cold.is_none() && self.stored.is_none() {
            self.absent = Some(key.clone());
            return Ok(());
        }
        // One hash for the spill's and the database's filters.
        let h = super::spill::hash(key);
        let mut e = match &mut self.cold {
            Some(cold) => cold.take_hashed(key, h)?,
            None => None,
        };
        if let Some(e) = &mut e {
            uncount(&self.uncounted, e);
        } else if let Some(stored) = self.stored.as_ref().filter(|s| s.may_hold_hashed(h)) {
            // Neither in memory nor spilled: never seen this run, so the database has the
            // member as it stands.
            let recs = match ahead {
                Some(raw) => stored.decode(raw, &mut self.regions)?,
                None => stored.member(key, &mut self.regions)?,
            };
            if !recs.is_empty() {
                e = Some(Entry {
                    recs,
                    ..Entry::default()
                });
            }
        }
        let Some(mut e) = e else {
            self.absent = Some(key.clone());
            return Ok(());
        };
        e.used = self.clock;
        self.hot_bytes += e.cost(key);
        self.members.insert(key.clone(), e);
        Ok(())
    }

    /// What reads members of the history database ahead of the stage, when one is attached.
    pub fn prefetcher(&self) -> Option<std::sync::Arc<super::store::Prefetcher>> {
        self.stored
            .as_ref()
            .map(super::store::StoredReader::prefetcher)
    }

    /// Reads the history database a member at a time from now on (see
    /// [`super::HistoryStore::attach`]); `max_seq` is the highest sequence number it holds.
    pub fn attach(&mut self, stored: StoredReader, max_seq: u64) {
        self.next_seq = self.next_seq.max(max_seq + 1);
        self.stored = Some(stored);
        self.absent = None;
    }

    /// Spills the members used least recently while those in memory take more than the budget.
    pub fn trim(&mut self) -> Result<(), SpillError> {
        if self.hot_bytes <= self.budget || self.members.is_empty() {
            return Ok(());
        }
        let mut used: Vec<u64> = self.members.values().map(|e| e.used).collect();
        let half = used.len() / 2;
        let cut = if self.budget == 0 {
            u64::MAX
        } else {
            *used.select_nth_unstable(half).1
        };
        // One pass: keys are copied (inline texts), entries moved out.
        let mut out = Vec::with_capacity(half + 1);
        let mut freed = 0;
        self.members.retain(|k, e| {
            if e.used > cut {
                return true;
            }
            freed += e.cost(k);
            out.push((k.clone(), std::mem::take(e)));
            false
        });
        self.hot_bytes = self.hot_bytes.saturating_sub(freed);
        if self.members.is_empty() {
            self.hot_bytes = 0;
        }
        let cold = match &mut self.cold {
            Some(c) => c,
            None => self.cold.insert(Spill::new()?),
        };
        cold.put(out)
    }

    /// Visits every member with its key's hash ([`super::spill::hash`], the history
    /// database's row id), in ascending order of hash: those in memory merged with those
    /// spilled, which are read back one partition of the store at a time, so memory stays
    /// bounded and the database's table is written front to back.
    pub fn visit_members<E: From<SpillError>>(
        &mut self,
        mut f: impl FnMut(u64, &MemberKey, &Entry) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut members: Vec<(u64, &MemberKey, &Entry)> = self
            .members
            .iter()
            .map(|(k, e)| (super::spill::hash(k), k, e))
            .collect();
        members.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut hot = members.into_iter().peekable();
        if let Some(cold) = &mut self.cold {
            let uncounted = &self.uncounted;
            cold.visit(|h, key, mut e| {
                while let Some((hh, k, he)) = hot.next_if(|m| (m.0, m.1) < (h, key)) {
                    f(hh, k, he)?;
                }
                uncount(uncounted, &mut e);
                f(h, key, &e)
            })?;
        }
        for (h, k, e) in hot {
            f(h, k, e)?;
        }
        Ok(())
    }

    /// The region index of a name, added when new.
    pub fn region(&mut self, name: &str) -> u16 {
        match self.regions.iter().position(|r| r == name) {
            Some(i) => i as u16,
            None => {
                self.regions.push(name.to_owned());
                (self.regions.len() - 1) as u16
            }
        }
    }

    /// A record read from the store, for the member `member` of `payer` (patient key
    /// `patient`).
    pub fn load(
        &mut self,
        payer: &str,
        member: &str,
        patient: u64,
        record: Record,
    ) -> Result<(), SpillError> {
        self.next_seq = self.next_seq.max(record.seq + 1);
        self.absent = None;
        let key = MemberKey {
            payer: payer.into(),
            member: member.into(),
            patient,
        };
        self.recall(&key)?;
        let clock = self.clock;
        let cost = |e: &Entry, k: &MemberKey| e.cost(k);
        let (before, after) = match self.members.get_mut(&key) {
            Some(e) => {
                let before = cost(e, &key);
                e.recs.push(record);
                (before, cost(e, &key))
            }
            None => {
                let e = Entry {
                    recs: vec![record],
                    removed: Vec::new(),
                    used: clock,
                };
                let after = cost(&e, &key);
                self.members.insert(key, e);
                (0, after)
            }
        };
        self.hot_bytes = (self.hot_bytes + after).saturating_sub(before);
        self.trim()
    }

    /// The records of a member, as far as they are in memory (see [`HistoryIndex::recall`]).
    pub fn records(&self, key: &MemberKey) -> &[Record] {
        if self.is_absent(key) {
            return &[];
        }
        self.members.get(key).map_or(&[], |e| e.recs.as_slice())
    }

    /// Whether [`HistoryIndex::recall`] last found `key` nowhere, with nothing recorded or
    /// loaded since: then it is not in memory.
    fn is_absent(&self, key: &MemberKey) -> bool {
        // The patient hash first: it tells most other members apart without a byte compared.
        self.absent.as_ref().is_some_and(|a| {
            a.patient == key.patient && a.member == key.member && a.payer == key.payer
        })
    }

    /// Every member in memory with its records, in key order (for tests).
    pub fn members(&self) -> Vec<(&MemberKey, &[Record])> {
        let mut v: Vec<_> = self
            .members
            .iter()
            .map(|(k, e)| (k, e.recs.as_slice()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// The claims whose records this run changed (what a save writes or deletes), in the
    /// order [`HistoryIndex::visit_members`] gives.
    pub fn changed(&mut self) -> Result<Vec<(MemberKey, SmallStr)>, SpillError> {
        let mut out = Vec::new();
        self.visit_members(|_, k, e| -> Result<(), SpillError> {
            out.extend(e.changes().into_iter().map(|c| (k.clone(), c.0.clone())));
            Ok(())
        })?;
        Ok(out)
    }

    /// The records a claim is judged against: the member's, less the claim's own, and, for a
    /// claim recorded before, only those recorded before it.
    fn view<'a>(&'a self, c: &'a HistClaim) -> impl Iterator<Item = &'a Record> + 'a {
        let recs = self.records(&c.key);
        let own = recs
            .iter()
            .filter(|r| r.claim == c.claim)
            .map(|r| r.seq)
            .min()
            .unwrap_or(u64::MAX);
        recs.iter()
            .filter(move |r| r.counted && r.claim != c.claim && r.seq < own)
    }

    /// Units of `code` on `date` that the member's other counted claims from the same billing
    /// provider billed (in hundredths), as [`HistoryIndex::judge`] sees them. A claim whose
    /// provider is unknown shares with no one.
    pub fn units_on(&self, c: &HistClaim, code: Code, date: Date) -> i64 {
        if c.provider == 0 {
            return 0;
        }
        self.view(c)
            .filter(|r| r.provider == c.provider && r.code == code && r.date == date)
            .map(|r| i64::from(r.units))
            .sum()
    }

    /// Judges a claim against history with the rules in force for it.
    pub fn judge(&self, c: &HistClaim, rules: &[HistoryRule]) -> Vec<Finding> {
        let mut out = Vec::new();
        // Most claims are a member's first: only E-39 can say anything about them.
        let others = self.records(&c.key).iter().any(|r| r.claim != c.claim);
        if !others && !self.persistent {
            return out;
        }
        for &i in &c.rules {
            let Some(rule) = rules.get(i as usize) else {
                continue;
            };
            match &rule.check {
                HistoryCheck::Sessions {
                    codes,
                    window_days,
                    max_sessions,
                } => {
                    if others {
                        self.sessions(c, rule, codes, *window_days, *max_sessions, &mut out)
                    }
                }
                HistoryCheck::Interval { codes, min_days } => {
                    if others {
                        self.interval(c, rule, codes, *min_days, &mut out)
                    }
                }
                HistoryCheck::PriorBlocks {
                    codes,
                    blocks,
                    min_blocks,
                } => {
                    if self.persistent {
                        self.prior_blocks(c, rule, codes, blocks, *min_blocks, &mut out)
                    }
                }
            }
        }
        out
    }

    /// The claim's sessions: the first service of each (region, date) with a `codes` line.
    fn sessions_of<'c>(c: &'c HistClaim, codes: &CodeSet) -> Vec<&'c Service> {
        let mut seen = Vec::<(u16, Date)>::new();
        let mut out = Vec::new();
        for s in &c.services {
            if codes.contains(s.code.as_bytes()) && !seen.contains(&(s.region, s.date)) {
                seen.push((s.region, s.date));
                out.push(s);
            }
        }
        out
    }

    fn region_name(&self, r: u16) -> &str {
        self.regions.get(r as usize).map_or("?", String::as_str)
    }

    fn sessions(
        &self,
        c: &HistClaim,
        rule: &HistoryRule,
        codes: &CodeSet,
        window: i64,
        max: usize,
        out: &mut Vec<Finding>,
    ) {
        for s in Self::sessions_of(c, codes) {
            let d = day_number(s.date);
            let mut others: Vec<(i64, Date)> = self
                .view(c)
                .filter(|r| {
                    r.region == s.region
                        && r.day() != d
                        && (r.day() - d).abs() < window
                        && codes.contains(r.code.as_bytes())
                })
                .map(|r| (r.day(), r.date))
                .collect();
            others.sort_unstable();
            others.dedup();
            // The most other sessions in one window of `window` days that holds this date.
            let mut best: Vec<Date> = Vec::new();
            // A window's count only changes where a date enters or leaves it.
            let starts = [d - window + 1, d]
                .into_iter()
                .chain(others.iter().flat_map(|o| [o.0, o.0 - window + 1]));
            for start in starts {
                if start > d || start + window - 1 < d {
                    continue;
                }
                let inside: Vec<Date> = others
                    .iter()
                    .filter(|o| o.0 >= start && o.0 < start + window)
                    .map(|o| o.1)
                    .collect();
                if inside.len() > best.len() {
                    best = inside;
                }
            }
            if best.len() + 1 > max {
                let dates: Vec<String> = best.iter().map(|x| fmt_date(*x)).collect();
                out.push(finding(
                    rule,
                    s,
                    format!(
                        "{} on {} makes {} sessions in the {} region within {window} days (at most {max}); other sessions: {}",
                        s.code,
                        fmt_date(s.date),
                        best.len() + 1,
                        self.region_name(s.region),
                        dates.join(", ")
                    ),
                ));
            }
        }
    }

    fn interval(
        &self,
        c: &HistClaim,
        rule: &HistoryRule,
        codes: &CodeSet,
        min_days: i64,
        out: &mut Vec<Finding>,
    ) {
        for s in c
            .services
            .iter()
            .filter(|s| codes.contains(s.code.as_bytes()))
        {
            let d = day_number(s.date);
            let prior = self
                .view(c)
                .filter(|r| {
                    r.region == s.region
                        && r.side.overlaps(s.side)
                        && r.day() < d
                        && d - r.day() < min_days
                        && codes.contains(r.code.as_bytes())
                })
                // The latest; among same-day records the same one whatever their order.
                .max_by_key(|r| (r.day(), r.seq, r.code, r.side));
            if let Some(p) = prior {
                out.push(finding(
                    rule,
                    s,
                    format!(
                        "{} ({}) on {}: a session in the {} region ({} on {}, {}) was {} days before, under {min_days}",
                        s.code,
                        s.side.as_str(),
                        fmt_date(s.date),
                        self.region_name(s.region),
                        p.code,
                        fmt_date(p.date),
                        p.side.as_str(),
                        d - p.day()
                    ),
                ));
                // One finding per claim and rule is enough to act on.
                return;
            }
        }
    }

    fn prior_blocks(
        &self,
        c: &HistClaim,
        rule: &HistoryRule,
        codes: &CodeSet,
        blocks: &CodeSet,
        min_blocks: usize,
        out: &mut Vec<Finding>,
    ) {
        for s in Self::sessions_of(c, codes) {
            let d = day_number(s.date);
            let earlier_session = self
                .view(c)
                .any(|r| r.region == s.region && r.day() < d && codes.contains(r.code.as_bytes()));
            if earlier_session {
                continue;
            }
            let mut dates: Vec<i64> = self
                .view(c)
                .filter(|r| {
                    r.region == s.region && r.day() < d && blocks.contains(r.code.as_bytes())
                })
                .map(|r| r.day())
                .chain(
                    c.services
                        .iter()
                        .filter(|x| {
                            x.region == s.region
                                && blocks.contains(x.code.as_bytes())
                                && day_number(x.date) < d
                        })
                        .map(|x| day_number(x.date)),
                )
                .collect();
            dates.sort_unstable();
            dates.dedup();
            if dates.len() < min_blocks {
                out.push(finding(
                    rule,
                    s,
                    format!(
                        "{} on {} is the first session in the {} region with {} earlier diagnostic block date(s) on record (expected {min_blocks})",
                        s.code,
                        fmt_date(s.date),
                        self.region_name(s.region),
                        dates.len()
                    ),
                ));
            }
        }
    }

    /// Where the run stands (see [`HistoryIndex::uncount_since`]).
    pub fn mark(&self) -> u32 {
        self.next_stamp
    }

    /// Claims recorded since `mark` were rejected after all (with their group or
    /// interchange): their services stop counting. Rare, so a scan of the index will do.
    pub fn uncount_since(&mut self, mark: u32) {
        self.touched = true;
        let range = (mark, self.next_stamp);
        for e in self.members.values_mut() {
            uncount(&[range], e);
        }
        if self.cold.is_some() {
            self.uncounted.push(range);
        }
    }

    /// Records a judged claim: a void removes the claim's services, a replacement replaces them,
    /// an original (re)records them, counted unless the claim was rejected.
    pub fn record(&mut self, c: &HistClaim, rejected: bool) -> Result<(), SpillError> {
        self.recall(&c.key)?;
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        self.absent = None;
        let persistent = self.persistent;
        let used = self.clock;
        // A new member's entry counts whole: its slot and key too.
        let (entry, new) = match self.members.entry(c.key.clone()) {
            std::collections::hash_map::Entry::Occupied(o) => (o.into_mut(), false),
            std::collections::hash_map::Entry::Vacant(v) => (
                v.insert(Entry {
                    used,
                    ..Entry::default()
                }),
                true,
            ),
        };
        let before = if new { 0 } else { entry.cost(&c.key) };
        let recs = &mut entry.recs;
        let mut old: Vec<Record> = Vec::new();
        let mut i = 0;
        while i < recs.len() {
            if recs[i].claim == c.claim {
                old.push(recs.swap_remove(i));
            } else {
                i += 1;
            }
        }
        let own_seq = old.iter().map(|r| r.seq).min();
        let stored = old.iter().any(|r| r.stored);
        let claim = old
            .first()
            .map_or_else(|| c.claim.clone(), |r| r.claim.clone());
        let seq = match (c.frequency, own_seq) {
            (Frequency::Void, _) => 0,
            (Frequency::Original, Some(s)) => s,
            _ => {
                let s = self.next_seq;
                self.next_seq += 1;
                s
            }
        };
        let at = recs.len();
        if c.frequency != Frequency::Void {
            // Most members have a claim or two: no room to spare per member.
            recs.reserve_exact(c.services.len());
            for s in &c.services {
                let dup = recs[at..].iter_mut().find(|r| {
                    r.code == s.code && r.region == s.region && r.side == s.side && r.date == s.date
                });
                if let Some(r) = dup {
                    r.units = r.units.saturating_add(s.units);
                } else {
                    recs.push(Record {
                        claim: claim.clone(),
                        code: s.code,
                        region: s.region,
                        side: s.side,
                        date: s.date,
                        seq,
                        counted: !rejected,
                        units: s.units,
                        provider: c.provider,
                        stamp,
                        recorded: 0,
                        stored,
                        dirty: true,
                    });
                }
            }
        }
        // Recording a claim as it already stands changes nothing to persist.
        let fresh = &mut recs[at..];
        let twin = |n: &Record| {
            old.iter().find(|o| {
                o.code == n.code
                    && o.region == n.region
                    && o.side == n.side
                    && o.date == n.date
                    && o.seq == n.seq
                    && o.counted == n.counted
                    && o.units == n.units
                    && o.provider == n.provider
            })
        };
        let same = old.len() == fresh.len() && fresh.iter().all(|n| twin(n).is_some());
        if same {
            let was_dirty = old.iter().any(|o| o.dirty);
            for n in fresh.iter_mut() {
                n.dirty = was_dirty;
                // Unchanged, it keeps the stamp of the run that stored it.
                n.recorded = twin(n).map_or(0, |o| o.recorded);
            }
        }
        let mut touched = recs[at..].iter().any(|r| r.dirty);
        if persistent && stored && at == recs.len() && !entry.removed.contains(&claim) {
            entry.removed.push(claim);
            touched = true;
        }
        let after = entry.cost(&c.key);
        self.touched |= touched;
        self.hot_bytes = (self.hot_bytes + after).saturating_sub(before);
        self.trim()
    }

    /// Whether a save may have anything to write: false when every claim recorded was
    /// recorded as it already stood (a file scrubbed again), so the save visits nothing.
    pub fn touched(&self) -> bool {
        self.touched
    }
}

/// Stops counting the records of an entry stamped within any of `ranges` (late rejections).
fn uncount(ranges: &[(u32, u32)], e: &mut Entry) {
    for r in e.recs.iter_mut().filter(|r| r.counted) {
        if ranges
            .iter()
            .any(|&(from, to)| r.stamp >= from && r.stamp < to)
        {
            r.counted = false;
            r.dirty = true;
        }
    }
}

fn finding(rule: &HistoryRule, s: &Service, message: String) -> Finding {
    Finding {
        edit: rule.edit.clone(),
        severity: rule.severity,
        stc: rule.stc.clone(),
        stc_extra: rule.stc_extra.clone(),
        line: Some(s.line),
        message,
        segment: s.segment,
        byte: s.byte,
        ack: None,
        rule: Some(rule.origin.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The map's hasher gives equal keys equal hashes, and keys that differ in a byte past
        /// the first word (or only in length) different ones, as far as a test can tell.
        #[test]
        fn the_map_hasher_tells_texts_apart(
            a in proptest::collection::vec(proptest::num::u8::ANY, 0..30),
            b in proptest::collection::vec(proptest::num::u8::ANY, 0..30),
        ) {
            use std::hash::Hasher;
            let h = |x: &[u8]| {
                let mut m = MapHasher::default();
                m.write(x);
                m.finish()
            };
            proptest::prop_assert_eq!(h(&a) == h(&b), a == b);
        }
    }

    fn d(s: &str) -> Date {
        Date::parse_d8(s.as_bytes()).unwrap()
    }

    fn codes(list: &[&str]) -> CodeSet {
        let mut c = CodeSet::default();
        for x in list {
            c.insert(x);
        }
        c
    }

    fn rules() -> Vec<HistoryRule> {
        let rule = |edit: &str, severity, check| HistoryRule {
            edit: Arc::from(edit),
            severity,
            stc: Some(Arc::from("A8:779")),
            stc_extra: Vec::new(),
            check,
            origin: Arc::from("test"),
        };
        vec![
            rule(
                "E-37",
                Severity::Reject,
                HistoryCheck::Sessions {
                    codes: codes(&["64635"]),
                    window_days: 365,
                    max_sessions: 2,
                },
            ),
            rule(
                "E-38",
                Severity::Warn,
                HistoryCheck::Interval {
                    codes: codes(&["64635"]),
                    min_days: 183,
                },
            ),
            rule(
                "E-39",
                Severity::Warn,
                HistoryCheck::PriorBlocks {
                    codes: codes(&["64635"]),
                    blocks: codes(&["64493", "64494"]),
                    min_blocks: 2,
                },
            ),
        ]
    }

    fn claim(id: &str, code: &str, side: Side, date: &str, rules: &[u16]) -> HistClaim {
        HistClaim {
            key: MemberKey {
                payer: "medicare".into(),
                member: "M1".into(),
                patient: 7,
            },
            claim: id.into(),
            frequency: Frequency::Original,
            provider: 1,
            services: vec![Service {
                code: code.into(),
                region: 0,
                side,
                date: d(date),
                line: 1,
                segment: 10,
                byte: 100,
                units: 100,
            }]
            .into(),
            rules: rules.iter().copied().collect(),
            day_units: Vec::new(),
        }
    }

    #[test]
    fn units_on_a_date_sum_the_same_providers_counted_claims_only() {
        let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
        let code: Code = "64636".into();
        let mut a = claim("A", "64636", Side::Left, "20250610", &[]);
        a.services[0].units = 200;
        a.services.push(Service {
            side: Side::Right,
            ..a.services[0]
        });
        ix.record(&a, false).unwrap();
        let mut other_provider = claim("P", "64636", Side::Left, "20250610", &[]);
        other_provider.provider = 2;
        ix.record(&other_provider, false).unwrap();
        ix.record(&claim("R", "64636", Side::Left, "20250610", &[]), true)
            .unwrap();
        ix.record(&claim("D", "64636", Side::Left, "20250611", &[]), false)
            .unwrap();
        let b = claim("B", "64636", Side::Left, "20250610", &[]);
        assert_eq!(ix.units_on(&b, code, d("20250610")), 400);
        // The claim's own units are not "other claims'"; an unknown provider shares nothing.
        assert_eq!(ix.units_on(&a, code, d("20250610")), 0);
        let unknown = HistClaim {
            provider: 0,
            ..b.clone()
        };
        assert_eq!(ix.units_on(&unknown, code, d("20250610")), 0);
        // Two lines of one code, side and date are one record with their units summed.
        let mut twice = claim("T", "64636", Side::Left, "20250612", &[]);
        twice.services.push(twice.services[0]);
        ix.record(&twice, false).unwrap();
        assert_eq!(ix.units_on(&b, code, d("20250612")), 200);
    }

    /// Judges and records claims in order; returns the edit ids found per claim.
    fn run(index: &mut HistoryIndex, claims: &[HistClaim]) -> Vec<Vec<String>> {
        let rules = rules();
        claims
            .iter()
            .map(|c| {
                index.recall(&c.key).unwrap();
                let f = index.judge(c, &rules);
                let rejected = f.iter().any(|f| f.severity == Severity::Reject);
                index.record(c, rejected).unwrap();
                f.iter().map(|f| f.edit.to_string()).collect()
            })
            .collect()
    }

    #[test]
    fn a_third_session_within_a_year_fires_and_a_rejected_one_does_not_count() {
        let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
        let got = run(
            &mut ix,
            &[
                claim("A", "64635", Side::Right, "20250101", &[0]),
                claim("B", "64635", Side::Right, "20250601", &[0]),
                claim("C", "64635", Side::Right, "20251201", &[0]),
                // C was rejected, so D is only the third counted session outside C's window.
                claim("D", "64635", Side::Right, "20260115", &[0]),
                claim("E", "64635", Side::Right, "20260301", &[0]),
            ],
        );
        assert_eq!(got[0], Vec::<String>::new());
        assert_eq!(got[1], Vec::<String>::new());
        assert_eq!(got[2], vec!["E-37"]);
        // 2025-06-01 and 2026-01-15 are within 365 days; 2025-01-01 is not.
        assert_eq!(got[3], Vec::<String>::new());
        assert_eq!(got[4], vec!["E-37"]);
    }

    #[test]
    fn windows_look_both_ways_and_same_day_claims_are_one_session() {
        let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
        let got = run(
            &mut ix,
            &[
                claim("A", "64635", Side::Right, "20250601", &[0]),
                claim("A2", "64635", Side::Left, "20250601", &[0]),
                claim("B", "64635", Side::Right, "20250901", &[0]),
                // Filed late with an earlier date: A and B fall in a window with it.
                claim("C", "64635", Side::Right, "20250301", &[0]),
            ],
        );
        assert_eq!(got, vec![vec![], vec![], vec![], vec!["E-37".to_owned()]]);
    }

    #[test]
    fn repeats_on_the_same_side_under_six_months_warn_the_other_side_does_not() {
        let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
        let got = run(
            &mut ix,
            &[
                claim("A", "64635", Side::Right, "20250101", &[1]),
                claim("B", "64635", Side::Left, "20250301", &[1]),
                claim("C", "64635", Side::Right, "20250501", &[1]),
                claim("D", "64635", Side::Right, "20251201", &[1]),
                claim("E", "64635", Side::Unknown, "20260101", &[1]),
            ],
        );
        assert_eq!(got[1], Vec::<String>::new(), "other side");
        assert_eq!(got[2], vec!["E-38"], "same side, 120 days");
        assert_eq!(got[3], Vec::<String>::new(), "same side, 214 days");
        assert_eq!(got[4], vec!["E-38"], "unknown side may be either");
    }

    #[test]
    fn the_interval_finding_does_not_depend_on_the_order_of_a_members_records() {
        // Two services of one earlier claim on the same day: loaded in either order (the
        // database scans in key order, a run records in line order), the finding is the same.
        let messages = |first: Side, second: Side| {
            let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
            let mut a = claim("A", "64635", first, "20250101", &[1]);
            a.services.push(Service {
                side: second,
                ..a.services[0]
            });
            ix.record(&a, false).unwrap();
            let b = claim("B", "64635", Side::Right, "20250301", &[1]);
            ix.judge(&b, &rules())
                .into_iter()
                .map(|f| f.message)
                .collect::<Vec<_>>()
        };
        let one = messages(Side::Right, Side::Both);
        assert_eq!(one.len(), 1, "{one:?}");
        assert_eq!(one, messages(Side::Both, Side::Right));
    }

    #[test]
    fn a_first_session_needs_two_prior_blocks() {
        let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
        let c = claim("X", "64635", Side::Right, "20250101", &[2]);
        assert!(ix.judge(&c, &rules()).is_empty(), "only with a database");
        ix.persistent = true;
        let got = run(
            &mut ix,
            &[
                claim("X", "64635", Side::Right, "20250101", &[2]),
                claim("M1", "64493", Side::Right, "20250201", &[2]),
                claim("M2", "64493", Side::Right, "20250215", &[2]),
                claim("Y", "64635", Side::Right, "20250301", &[2]),
            ],
        );
        // X is a first session with no blocks; Y is not a first session (X was counted).
        assert_eq!(got[0], vec!["E-39"]);
        assert_eq!(got[3], Vec::<String>::new());
        let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
        ix.persistent = true;
        let got = run(
            &mut ix,
            &[
                claim("M1", "64493", Side::Right, "20250201", &[2]),
                claim("Y", "64635", Side::Right, "20250301", &[2]),
            ],
        );
        assert_eq!(got[1], vec!["E-39"], "one block is not enough");
    }

    #[test]
    fn the_same_claims_again_get_the_same_answers() {
        let claims = [
            claim("A", "64635", Side::Right, "20250601", &[0, 1]),
            claim("B", "64635", Side::Right, "20250701", &[0, 1]),
            claim("C", "64635", Side::Right, "20250301", &[0, 1]),
            claim("D", "64635", Side::Left, "20250801", &[0, 1]),
        ];
        let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
        let first = run(&mut ix, &claims);
        let second = run(&mut ix, &claims);
        assert_eq!(first, second);
        assert!(first.iter().any(|f| f.contains(&"E-37".to_owned())));
        assert_eq!(ix.len(), 4, "nothing counted twice");
    }

    #[test]
    fn replacements_replace_voids_remove_and_late_rejections_uncount() {
        let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
        ix.persistent = true;
        run(
            &mut ix,
            &[
                claim("A", "64635", Side::Right, "20250101", &[0]),
                claim("B", "64635", Side::Right, "20250201", &[0]),
            ],
        );
        let mut repl = claim("B", "64635", Side::Right, "20240201", &[0]);
        repl.frequency = Frequency::Replacement;
        let mut void = claim("A", "64635", Side::Right, "20250101", &[0]);
        void.frequency = Frequency::Void;
        run(&mut ix, &[repl, void]);
        let key = claim("A", "64635", Side::Right, "20250101", &[]).key;
        let recs = ix.records(&key);
        assert_eq!(recs.len(), 1);
        assert_eq!(&*recs[0].claim, "B");
        assert_eq!(recs[0].date, d("20240201"));
        let mark = ix.mark();
        run(
            &mut ix,
            &[claim("C", "64635", Side::Right, "20250301", &[0])],
        );
        ix.uncount_since(mark);
        assert!(ix
            .records(&key)
            .iter()
            .filter(|r| &*r.claim == "C")
            .all(|r| !r.counted));
        // B and C to write; A was voided before the database ever held it.
        let changed = ix.changed().unwrap();
        let changed: Vec<&str> = changed.iter().map(|c| &*c.1).collect();
        assert_eq!(changed, vec!["B", "C"]);
    }

    /// A run of claims over a few members (originals, replacements, voids, rejections and
    /// late rejections), as the history stage drives the index.
    fn workload() -> Vec<(HistClaim, bool)> {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut out = Vec::new();
        for i in 0..400 {
            let code = ["64635", "64636", "64493", "64494"][next(4) as usize];
            let side = [Side::Left, Side::Right, Side::Both, Side::Unknown][next(4) as usize];
            let date = format!("2025{:02}{:02}", 1 + next(12), 1 + next(28));
            let id = format!("C{}", next(150));
            let mut c = claim(&id, code, side, &date, &[0, 1, 2]);
            c.key.member = format!("M{}", next(12)).into();
            c.key.patient = next(2);
            c.provider = 1 + next(2);
            c.frequency = match next(10) {
                0 => Frequency::Replacement,
                1 => Frequency::Void,
                _ => Frequency::Original,
            };
            out.push((c, i % 37 == 5));
        }
        out
    }

    /// Drives `ix` through the workload: findings per claim, with a late rejection of the
    /// last 20 claims every 100.
    fn drive(ix: &mut HistoryIndex, work: &[(HistClaim, bool)]) -> Vec<Vec<String>> {
        let rules = rules();
        let mut mark = ix.mark();
        let mut out = Vec::new();
        for (i, (c, rejected)) in work.iter().enumerate() {
            if i % 100 == 80 {
                mark = ix.mark();
            }
            if i % 100 == 99 {
                ix.uncount_since(mark);
            }
            ix.recall(&c.key).unwrap();
            let f = ix.judge(c, &rules);
            let units = ix.units_on(c, "64635".into(), d("20250601"));
            ix.record(
                c,
                *rejected || f.iter().any(|f| f.severity == Severity::Reject),
            )
            .unwrap();
            let mut got: Vec<String> = f.iter().map(|f| f.message.clone()).collect();
            got.push(units.to_string());
            out.push(got);
        }
        out
    }

    #[test]
    fn spilling_every_member_changes_no_answer_and_no_change_to_save() {
        let work = workload();
        for persistent in [false, true] {
            let mut memory = HistoryIndex::new(vec!["lumbar".into()]);
            memory.persistent = persistent;
            let mut disk = HistoryIndex::new(vec!["lumbar".into()]);
            disk.persistent = persistent;
            disk.set_budget(0);
            let a = drive(&mut memory, &work);
            assert!(disk.spilled() == 0 && disk.is_empty());
            let b = drive(&mut disk, &work);
            assert!(disk.spilled() > 0, "members went to disk");
            assert!(
                a.iter().any(|f| f.len() > 1),
                "the workload finds something"
            );
            assert_eq!(a, b);
            // The same members, records and changes to save.
            let all = |ix: &mut HistoryIndex| {
                let mut v = Vec::new();
                ix.visit_members(|_, k, e| -> Result<(), SpillError> {
                    let mut recs: Vec<Record> = e
                        .recs
                        .iter()
                        .map(|r| Record {
                            stamp: 0,
                            recorded: 0,
                            ..r.clone()
                        })
                        .collect();
                    recs.sort_by_key(|r| (r.claim.clone(), r.code, r.side, r.date));
                    let changes: Vec<(String, bool, usize)> = e
                        .changes()
                        .iter()
                        .map(|c| (c.0.to_string(), c.1, c.2.len()))
                        .collect();
                    v.push((k.clone(), recs, e.removed.clone(), changes));
                    Ok(())
                })
                .unwrap();
                // In the same order (ascending hash) whether they were spilled or not.
                v
            };
            let (x, y) = (all(&mut memory), all(&mut disk));
            assert_eq!(x.len(), y.len());
            assert_eq!(x, y);
        }
    }

    #[test]
    fn a_spilled_entry_reads_back_as_written() {
        let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
        ix.persistent = true;
        drive(&mut ix, &workload());
        let mut n = 0;
        ix.visit_members(|_, _, e| -> Result<(), SpillError> {
            let mut buf = Vec::new();
            super::super::spill::encode(e, &mut buf);
            assert_eq!(&super::super::spill::decode(&buf)?, e);
            for cut in [0, 1, buf.len() / 2, buf.len() - 1] {
                assert!(super::super::spill::decode(&buf[..cut]).is_err());
            }
            n += 1;
            Ok(())
        })
        .unwrap();
        assert!(n > 10);
    }

    #[test]
    fn a_database_read_a_member_at_a_time_answers_as_one_read_whole() {
        use super::super::HistoryStore;
        let dir = tempfile::tempdir().unwrap();
        let work = workload();
        let (first, second) = work.split_at(200);
        let base = dir.path().join("base.sqlite");
        {
            let store = HistoryStore::open(&base).unwrap();
            let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
            ix.persistent = true;
            store.attach(&mut ix).unwrap();
            drive(&mut ix, first);
            store.save(&mut ix, "2026-11-28T00:00:00Z").unwrap();
        }
        let mut results = Vec::new();
        for (mode, budget) in [
            ("whole", DEFAULT_BUDGET),
            ("lazy", DEFAULT_BUDGET),
            ("lazy", 0),
        ] {
            let path = dir.path().join(format!("{mode}{budget}.sqlite"));
            std::fs::copy(&base, &path).unwrap();
            let store = HistoryStore::open(&path).unwrap();
            let mut ix = HistoryIndex::new(vec!["lumbar".into()]);
            ix.persistent = true;
            ix.set_budget(budget);
            if mode == "whole" {
                assert!(store.load(&mut ix).unwrap() > 0);
                assert!(!ix.is_empty());
            } else {
                assert_eq!(store.attach(&mut ix).unwrap(), 0);
                assert_eq!(ix.len(), 0, "nothing read yet");
            }
            let found = drive(&mut ix, second);
            store.save(&mut ix, "2026-11-28T01:00:00Z").unwrap();
            // Every service as the store reads it back (stamp and sequence included).
            let rows = HistoryStore::open(&path).unwrap().rows(None).unwrap();
            assert!(!rows.is_empty());
            assert!(found.iter().any(|f| f.len() > 1));
            results.push((found, rows));
        }
        assert_eq!(results[0], results[1]);
        assert_eq!(results[0], results[2]);
    }
}
