//! CMS quarterly rule data: NCCI procedure-to-procedure (PTP) and MUE tables read in their published layouts (domain §9.1, §9.2), indexed for look-up by code pair and by code.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rayon::slice::ParallelSliceMut;

use crate::claim::{Date, Kind};

/// A table file that cannot be used: file, line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct TableError {
    /// The file, as given.
    pub file: String,
    /// 1-based line (0 when the problem is with the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The setting a table is published for; 837P claims use the practitioner tables, 837I claims
/// the hospital outpatient ones (domain §9.1, §9.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Setting {
    /// Practitioner (`ccipra…`, `MCR_MUE_PractitionerServices…`).
    Practitioner,
    /// Hospital outpatient (`ccioph…`, `MCR_MUE_OutpatientHospitalServices…`).
    OutpatientHospital,
}

impl Setting {
    /// The tables a claim kind uses.
    pub fn of(kind: Kind) -> Setting {
        match kind {
            Kind::Professional => Setting::Practitioner,
            Kind::Institutional => Setting::OutpatientHospital,
        }
    }

    /// The claim kind that uses these tables.
    pub fn kind(self) -> Kind {
        match self {
            Setting::Practitioner => Kind::Professional,
            Setting::OutpatientHospital => Kind::Institutional,
        }
    }

    fn index(self) -> usize {
        match self {
            Setting::Practitioner => 0,
            Setting::OutpatientHospital => 1,
        }
    }

    /// `practitioner` or `hospital outpatient`.
    pub fn as_str(self) -> &'static str {
        match self {
            Setting::Practitioner => "practitioner",
            Setting::OutpatientHospital => "hospital outpatient",
        }
    }
}

/// Where a table's rows come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Provenance {
    /// A CMS quarterly file supplied by the user.
    Cms,
    /// The curated excerpt shipped with the rule pack (`excerpt-…` files): not confirmed
    /// against the CMS files, so rules reading it warn.
    Excerpt,
}

/// What a table holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TableKind {
    /// NCCI procedure-to-procedure edits.
    Ptp,
    /// Medically Unlikely Edits.
    Mue,
}

/// An NCCI version as the file name gives it: `v323r0` is 32.3, revision 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major number (32).
    pub major: u32,
    /// Quarter digit (3).
    pub minor: u32,
    /// Revision (0).
    pub revision: u32,
}

impl fmt::Display for Version {
    /// `32.3r0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}r{}", self.major, self.minor, self.revision)
    }
}

impl Version {
    /// The first `v<digits>r<digits>` in a file name (`ccipra-v323r0-f1.txt` → 32.3r0).
    pub fn from_file_name(name: &str) -> Option<Version> {
        let b = name.as_bytes();
        (0..b.len()).find_map(|i| {
            let starts =
                matches!(b[i], b'v' | b'V') && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
            if !starts {
                return None;
            }
            let rest = &b[i + 1..];
            let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
            if n < 2 || !matches!(rest.get(n), Some(b'r' | b'R')) {
                return None;
            }
            let after = &rest[n + 1..];
            let m = after.iter().take_while(|c| c.is_ascii_digit()).count();
            if m == 0 {
                return None;
            }
            Some(Version {
                major: number(&rest[..n - 1])?,
                minor: number(&rest[n - 1..n])?,
                revision: number(&after[..m])?,
            })
        })
    }
}

fn number(digits: &[u8]) -> Option<u32> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A procedure code (HCPCS/CPT: 1 to 8 letters or digits), upper case, packed into a number
/// so that rows compare and sort without touching text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Code(u64);

impl Code {
    /// A code from its text (surrounding blanks ignored); `None` unless 1 to 8 ASCII letters
    /// or digits.
    pub fn new(text: &[u8]) -> Option<Code> {
        let t = text.trim_ascii();
        if t.is_empty() || t.len() > 8 {
            return None;
        }
        let mut b = [0u8; 8];
        for (d, &s) in b.iter_mut().zip(t) {
            if !s.is_ascii_alphanumeric() {
                return None;
            }
            *d = s.to_ascii_uppercase();
        }
        Some(Code(u64::from_be_bytes(b)))
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.0.to_be_bytes().iter().take_while(|&&b| b != 0) {
            write!(f, "{}", char::from(b))?;
        }
        Ok(())
    }
}

/// Whether an edit is in force on a date of service: its effective date is on or before the
/// date and it has no deletion date or the date is before it (the deletion date is the first
/// day the edit no longer applies: exclusive, as public importers read it; domain §9.1 marks
/// this UNVERIFIED, so it is decided here only). Without a date of service, an edit is in
/// force when it has not been deleted.
pub fn active_on(effective: Date, deletion: Option<Date>, dos: Option<Date>) -> bool {
    match dos {
        Some(d) => effective <= d && deletion.is_none_or(|x| d < x),
        None => deletion.is_none(),
    }
}

/// What is known about one loaded table file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableInfo {
    /// The file as given (path, or the name of an embedded file).
    pub path: String,
    /// Its file name.
    pub file: String,
    /// PTP or MUE.
    pub kind: TableKind,
    /// Practitioner or hospital outpatient.
    pub setting: Setting,
    /// CMS file or curated excerpt.
    pub provenance: Provenance,
    /// NCCI version from the file name (PTP).
    pub version: Option<Version>,
    /// Edition effective date from the file name (MUE).
    pub edition: Option<Date>,
    /// Data rows read.
    pub rows: usize,
    /// Whether it is embedded in the binary.
    pub embedded: bool,
    /// How findings name it, e.g. `CMS NCCI PTP practitioner v32.3r0`.
    pub label: Arc<str>,
    /// The label with the file, e.g. `CMS NCCI PTP practitioner v32.3r0 (ccipra-v323r0-f1.txt)`.
    pub cite: Arc<str>,
}

impl TableInfo {
    fn new(path: &str, kind: TableKind, setting: Setting, provenance: Provenance) -> TableInfo {
        let file = file_name(path).to_owned();
        let version = match kind {
            TableKind::Ptp => Version::from_file_name(&file),
            TableKind::Mue => None,
        };
        let mut info = TableInfo {
            path: path.to_owned(),
            file,
            kind,
            setting,
            provenance,
            version,
            edition: None,
            rows: 0,
            embedded: false,
            label: Arc::from(""),
            cite: Arc::from(""),
        };
        info.name_it();
        info
    }

    fn name_it(&mut self) {
        let label = match (self.provenance, self.kind) {
            (Provenance::Excerpt, _) => "curated excerpt (unverified)".to_owned(),
            (Provenance::Cms, TableKind::Ptp) => match self.version {
                Some(v) => format!("CMS NCCI PTP {} v{v}", self.setting.as_str()),
                None => format!(
                    "CMS NCCI PTP {} (version not in the file name)",
                    self.setting.as_str()
                ),
            },
            (Provenance::Cms, TableKind::Mue) => {
                let setting = match self.setting {
                    Setting::Practitioner => "practitioner services",
                    Setting::OutpatientHospital => "outpatient hospital services",
                };
                match self.edition {
                    Some(d) => format!("CMS MUE {setting} effective {d}"),
                    None => format!("CMS MUE {setting}"),
                }
            }
        };
        self.cite = Arc::from(format!("{label} ({})", self.file));
        self.label = Arc::from(label);
    }
}

fn file_name(path: &str) -> &str {
    Path::new(path)
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or(path)
}

/// Whether a file name is that of a table this module reads: `ccipra…`, `ccioph…`,
/// `MCR_MUE_…`, each optionally after `excerpt-` (the curated excerpt).
pub fn is_table_name(file: &str) -> bool {
    let lower = file.to_ascii_lowercase();
    let bare = lower.strip_prefix("excerpt-").unwrap_or(&lower);
    ["ccipra", "ccioph", "mcr_mue_"]
        .iter()
        .any(|p| bare.starts_with(p))
}

/// What a table file is, from its name: provenance, kind and setting.
pub fn identify(file: &str) -> Result<(Provenance, TableKind, Setting), String> {
    let lower = file.to_ascii_lowercase();
    let (provenance, bare) = match lower.strip_prefix("excerpt-") {
        Some(b) => (Provenance::Excerpt, b),
        None => (Provenance::Cms, lower.as_str()),
    };
    if bare.starts_with("ccipra") {
        return Ok((provenance, TableKind::Ptp, Setting::Practitioner));
    }
    if bare.starts_with("ccioph") {
        return Ok((provenance, TableKind::Ptp, Setting::OutpatientHospital));
    }
    if bare.starts_with("mcr_mue_") {
        if bare.contains("practitionerservices") {
            return Ok((provenance, TableKind::Mue, Setting::Practitioner));
        }
        if bare.contains("outpatienthospitalservices") {
            return Ok((provenance, TableKind::Mue, Setting::OutpatientHospital));
        }
        if bare.contains("dmesupplierservices") {
            return Err(
                "a DME supplier MUE table: 837P/837I claims use the practitioner and \
                        outpatient hospital tables"
                    .into(),
            );
        }
        return Err("an MUE file name must say PractitionerServices or \
                    OutpatientHospitalServices (MCR_MUE_PractitionerServices_Eff_MM-DD-YYYY.csv)"
            .into());
    }
    Err(
        "not a CMS table file name: expected ccipra… (NCCI PTP, practitioner), ccioph… \
         (NCCI PTP, hospital outpatient) or MCR_MUE_PractitionerServices_Eff_MM-DD-YYYY.csv / \
         MCR_MUE_OutpatientHospitalServices_Eff_MM-DD-YYYY.csv"
            .into(),
    )
}

/// The edition date of an MUE file name (`…_Eff_10-01-2026.csv` → 2026-10-01).
pub fn edition_from_file_name(file: &str) -> Option<Date> {
    let lower = file.to_ascii_lowercase();
    let at = lower.find("_eff_")? + 5;
    let d = lower.as_bytes().get(at..at + 10)?;
    if d[2] != b'-' || d[5] != b'-' {
        return None;
    }
    let mut ymd = [0u8; 8];
    ymd[..4].copy_from_slice(&d[6..10]);
    ymd[4..6].copy_from_slice(&d[0..2]);
    ymd[6..].copy_from_slice(&d[3..5]);
    Date::parse_d8(&ymd)
}

/// Text of a cell: UTF-8 when it is valid UTF-8, else Latin-1 (every byte one character).
fn text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => b.iter().map(|&c| char::from(c)).collect(),
    }
}

/// Header text for matching: lower case, runs of white space (line breaks too) as one space.
fn folded(b: &[u8]) -> String {
    text(b)
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Rationale texts, stored once each. Tables use a few dozen texts: they are found by a scan
/// from the last one used (rows often repeat it); a hash map takes over past 64 texts.
#[derive(Clone, Debug, Default)]
struct Pool {
    texts: Vec<Box<str>>,
    raws: Vec<Box<[u8]>>,
    index: HashMap<Box<[u8]>, u32>,
    last: usize,
}

impl Pool {
    const SCAN: usize = 64;

    fn intern(&mut self, raw: &[u8]) -> u32 {
        let n = self.raws.len();
        if n <= Self::SCAN {
            for k in 0..n {
                let i = (self.last + k) % n;
                if *self.raws[i] == *raw {
                    self.last = i;
                    return i as u32;
                }
            }
        } else if let Some(&i) = self.index.get(raw) {
            return i;
        }
        let i = n;
        self.texts.push(text(raw).into_boxed_str());
        self.raws.push(raw.into());
        if n == Self::SCAN {
            for (j, r) in self.raws.iter().enumerate() {
                self.index.insert(r.clone(), j as u32);
            }
        } else if n > Self::SCAN {
            self.index.insert(raw.into(), i as u32);
        }
        self.last = i;
        i as u32
    }

    fn done(mut self) -> Vec<Box<str>> {
        self.texts.shrink_to_fit();
        self.texts
    }
}

// ---- NCCI PTP --------------------------------------------------------------------------

/// One PTP edit row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PtpRow {
    /// Column 1 code (stays payable).
    pub column1: Code,
    /// Column 2 code (denied unless bypassed).
    pub column2: Code,
    /// First date of service it applies to.
    pub effective: Date,
    /// First date of service it no longer applies to (`*` in the file: none).
    pub deletion: Option<Date>,
    /// Modifier indicator: 0 never bypassed, 1 bypassed by an NCCI-associated modifier, 9 no edit.
    pub indicator: u8,
    /// The edit existed before 1996 (informational).
    pub pre1996: bool,
    rationale: u32,
    table: u32,
}

impl PtpRow {
    /// Whether the row is in force on a date of service (see [`active_on`]).
    pub fn active_on(&self, dos: Option<Date>) -> bool {
        active_on(self.effective, self.deletion, dos)
    }
}

/// One PTP table file as read.
#[derive(Clone, Debug)]
pub struct PtpTable {
    /// What it is.
    pub info: TableInfo,
    rows: Vec<PtpRow>,
    rationales: Vec<Box<str>>,
}

impl PtpTable {
    /// Its rows, in file order.
    pub fn rows(&self) -> &[PtpRow] {
        &self.rows
    }

    /// The rationale text of one of its rows.
    pub fn rationale(&self, row: &PtpRow) -> &str {
        self.rationales
            .get(row.rationale as usize)
            .map_or("", |s| s)
    }
}

/// Columns of a PTP table, by position.
struct PtpColumns {
    column1: usize,
    column2: usize,
    effective: usize,
    deletion: usize,
    modifier: usize,
    pre1996: Option<usize>,
    rationale: Option<usize>,
}

/// Splits a line into its tab-separated cells (short cells: a plain byte scan beats memchr).
fn tab_cells<'a>(line: &'a [u8], out: &mut Vec<&'a [u8]>) {
    out.clear();
    out.extend(line.split(|&b| b == b'\t'));
}

fn cell<'a>(cells: &[&'a [u8]], i: usize) -> &'a [u8] {
    cells.get(i).map_or(&[][..], |c| c.trim_ascii())
}

fn is_column_title(c: &[u8], n: u8) -> bool {
    let t: Vec<u8> = c
        .iter()
        .filter(|b| !b.is_ascii_whitespace())
        .map(u8::to_ascii_lowercase)
        .collect();
    t.len() == 7 && t.starts_with(b"column") && t[6] == n
}

/// Lines of a file: (1-based number, bytes without the line end).
fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut start = 0;
    let mut n = 0;
    let mut ends = memchr::memchr_iter(b'\n', bytes);
    std::iter::from_fn(move || {
        if start > bytes.len() || (start == bytes.len() && n > 0) {
            return None;
        }
        let end = ends.next().unwrap_or(bytes.len());
        let mut line = &bytes[start..end];
        if let Some(l) = line.strip_suffix(b"\r") {
            line = l;
        }
        if n == 0 {
            if let Some(l) = line.strip_prefix(b"\xEF\xBB\xBF") {
                line = l;
            }
        }
        start = end + 1;
        n += 1;
        Some((n, line))
    })
}

fn looks_like_archive(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

const ARCHIVE: &str = "a ZIP archive (or a spreadsheet): unzip the CMS download and give the \
                       tab-delimited .txt (PTP) or the .csv (MUE) file inside";

/// Reads an NCCI PTP table in the CMS tab-delimited layout (domain §9.1): any preamble, a
/// header found by its cells `Column 1` and `Column 2` (legend rows may follow it), then one
/// row per edit. `path` names the file in errors and gives its setting and version.
pub fn read_ptp(path: &str, bytes: &[u8]) -> Result<PtpTable, TableError> {
    let fail = |line: usize, message: String| TableError {
        file: path.to_owned(),
        line,
        message,
    };
    let (provenance, kind, setting) = identify(file_name(path)).map_err(|m| fail(0, m))?;
    if kind != TableKind::Ptp {
        return Err(fail(0, "an MUE table, not an NCCI PTP table".into()));
    }
    if looks_like_archive(bytes) {
        return Err(fail(0, ARCHIVE.into()));
    }
    let mut info = TableInfo::new(path, kind, setting, provenance);
    let mut cells: Vec<&[u8]> = Vec::with_capacity(16);
    let mut lines = lines(bytes);

    // The header row.
    let mut header: Option<(usize, usize, usize, Vec<String>)> = None;
    for (n, line) in lines.by_ref() {
        tab_cells(line, &mut cells);
        let c1 = cells.iter().position(|c| is_column_title(c, b'1'));
        let c2 = cells.iter().position(|c| is_column_title(c, b'2'));
        if let (Some(c1), Some(c2)) = (c1, c2) {
            header = Some((n, c1, c2, cells.iter().map(|c| folded(c)).collect()));
            break;
        }
    }
    let Some((header_line, column1, column2, mut titles)) = header else {
        return Err(fail(
            0,
            "unrecognized layout: no header row with the cells \"Column 1\" and \"Column 2\" \
             (is this a tab-delimited NCCI PTP table?)"
                .into(),
        ));
    };

    // Legend rows under the header (up to the first edit row) extend the column titles.
    let mut columns: Option<PtpColumns> = None;
    let mut pool = Pool::default();
    let mut rows = Vec::new();
    for (n, line) in lines {
        tab_cells(line, &mut cells);
        if cells.iter().all(|c| c.trim_ascii().is_empty()) {
            continue;
        }
        if columns.is_none() {
            let data = Code::new(cell(&cells, column1)).is_some()
                && Code::new(cell(&cells, column2)).is_some();
            if !data {
                for (i, c) in cells.iter().enumerate() {
                    let t = folded(c);
                    if t.is_empty() {
                        continue;
                    }
                    if titles.len() <= i {
                        titles.resize(i + 1, String::new());
                    }
                    titles[i].push(' ');
                    titles[i].push_str(&t);
                }
                continue;
            }
            columns = Some(
                ptp_columns(&titles, column1, column2)
                    .map_err(|m| fail(header_line, format!("unrecognized layout: {m}")))?,
            );
        }
        let Some(cols) = &columns else { continue };
        rows.push(ptp_row(&cells, cols, &mut pool).map_err(|m| fail(n, m))?);
    }
    if rows.is_empty() {
        return Err(fail(
            header_line,
            "no edit rows after the header (an NCCI PTP table lists at least one pair)".into(),
        ));
    }
    info.rows = rows.len();
    Ok(PtpTable {
        info,
        rows,
        rationales: pool.done(),
    })
}

fn ptp_columns(titles: &[String], column1: usize, column2: usize) -> Result<PtpColumns, String> {
    let find = |what: &str, f: &dyn Fn(&str) -> bool| -> Result<usize, String> {
        titles
            .iter()
            .enumerate()
            .position(|(i, t)| i != column1 && i != column2 && f(t))
            .ok_or_else(|| format!("no \"{what}\" column in the header"))
    };
    let find_opt = |f: &dyn Fn(&str) -> bool| {
        titles
            .iter()
            .enumerate()
            .position(|(i, t)| i != column1 && i != column2 && f(t))
    };
    let effective = find("Effective Date", &|t| t.contains("effective"))?;
    let deletion = find("Deletion Date", &|t| t.contains("deletion"))?;
    let modifier = find("Modifier", &|t| {
        t.contains("modifier") || t.contains("0=not allowed")
    })?;
    let pre1996 = find_opt(&|t| t.contains("1996"));
    let rationale = find_opt(&|t| t.contains("rationale"));
    let mut seen = vec![column1, column2, effective, deletion, modifier];
    seen.extend(pre1996);
    seen.extend(rationale);
    seen.sort_unstable();
    if seen.windows(2).any(|w| w[0] == w[1]) {
        return Err("two of the columns share one header cell".into());
    }
    Ok(PtpColumns {
        column1,
        column2,
        effective,
        deletion,
        modifier,
        pre1996,
        rationale,
    })
}

fn shown(b: &[u8]) -> String {
    let t = text(b);
    if t.chars().count() > 40 {
        format!("{}…", t.chars().take(40).collect::<String>())
    } else {
        t
    }
}

fn ptp_row(cells: &[&[u8]], c: &PtpColumns, pool: &mut Pool) -> Result<PtpRow, String> {
    let need = [c.column1, c.column2, c.effective, c.deletion, c.modifier]
        .into_iter()
        .max()
        .unwrap_or(0)
        + 1;
    if cells.len() < need {
        return Err(format!(
            "expected at least {need} tab-separated cells, found {}",
            cells.len()
        ));
    }
    let code = |i: usize, what: &str| {
        let v = cell(cells, i);
        Code::new(v).ok_or_else(|| format!("{what} `{}` is not a HCPCS/CPT code", shown(v)))
    };
    let column1 = code(c.column1, "column 1")?;
    let column2 = code(c.column2, "column 2")?;
    let v = cell(cells, c.effective);
    let effective = Date::parse_d8(v)
        .ok_or_else(|| format!("effective date `{}` is not a YYYYMMDD date", shown(v)))?;
    let v = cell(cells, c.deletion);
    let deletion = match v {
        b"*" | b"" => None,
        _ => Some(Date::parse_d8(v).ok_or_else(|| {
            format!(
                "deletion date `{}` is neither a YYYYMMDD date nor `*`",
                shown(v)
            )
        })?),
    };
    let v = cell(cells, c.modifier);
    let indicator = match v {
        b"0" => 0,
        b"1" => 1,
        b"9" => 9,
        _ => {
            return Err(format!(
                "modifier indicator `{}` is not 0, 1 or 9",
                shown(v)
            ))
        }
    };
    let pre1996 = match c.pre1996.map(|i| cell(cells, i)) {
        None | Some(b"") => false,
        Some(b"*") => true,
        Some(v) => {
            return Err(format!(
                "pre-1996 flag `{}` is neither `*` nor blank",
                shown(v)
            ))
        }
    };
    let rationale = pool.intern(c.rationale.map_or(&[][..], |i| cell(cells, i)));
    Ok(PtpRow {
        column1,
        column2,
        effective,
        deletion,
        indicator,
        pre1996,
        rationale,
        table: 0,
    })
}

/// The PTP tables of one setting and provenance, merged and sorted by (column 1, column 2,
/// effective date) for look-up by pair or by column 1 code. When the same pair is in tables
/// of different NCCI versions, only the rows of the newest version are kept (each quarter's
/// files repeat the earlier edits with their current dates and indicators).
#[derive(Clone, Default)]
pub struct PtpSet {
    tables: Vec<(TableInfo, Vec<Box<str>>)>,
    rows: Vec<PtpRow>,
}

impl fmt::Debug for PtpSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PtpSet")
            .field(
                "tables",
                &self.tables.iter().map(|t| &t.0.cite).collect::<Vec<_>>(),
            )
            .field("rows", &self.rows.len())
            .finish()
    }
}

impl PtpSet {
    /// Builds a set from table files (of one setting and provenance).
    pub fn new(tables: Vec<PtpTable>) -> PtpSet {
        PtpSet::default().with(tables)
    }

    /// This set with more tables added.
    pub fn with(mut self, tables: Vec<PtpTable>) -> PtpSet {
        for t in tables {
            let ix = self.tables.len() as u32;
            self.rows.extend(t.rows.into_iter().map(|mut r| {
                r.table = ix;
                r
            }));
            self.tables.push((t.info, t.rationales));
        }
        // Part files come sorted by column 1; a parallel sort settles the rest.
        self.rows
            .par_sort_unstable_by_key(|r| (r.column1, r.column2, r.effective, r.table));
        let versions: Vec<Option<Version>> = self.tables.iter().map(|t| t.0.version).collect();
        if versions.windows(2).any(|w| w[0] != w[1]) {
            let version = |r: &PtpRow| versions.get(r.table as usize).copied().flatten();
            let mut kept = Vec::with_capacity(self.rows.len());
            for group in self
                .rows
                .chunk_by(|a, b| a.column1 == b.column1 && a.column2 == b.column2)
            {
                let newest = group.iter().map(version).max().flatten();
                kept.extend(group.iter().filter(|r| version(r) == newest));
            }
            self.rows = kept;
        }
        self.rows.shrink_to_fit();
        self
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table files it was built from.
    pub fn tables(&self) -> impl Iterator<Item = &TableInfo> {
        self.tables.iter().map(|t| &t.0)
    }

    /// Every row of a pair, oldest effective date first.
    pub fn pair(&self, column1: &[u8], column2: &[u8]) -> &[PtpRow] {
        match (Code::new(column1), Code::new(column2)) {
            (Some(a), Some(b)) => self.pair_of(a, b),
            _ => &[],
        }
    }

    /// Like [`PtpSet::pair`], for codes already packed.
    pub fn pair_of(&self, column1: Code, column2: Code) -> &[PtpRow] {
        let key = (column1, column2);
        let lo = self.rows.partition_point(|r| (r.column1, r.column2) < key);
        let rest = self.rows.get(lo..).unwrap_or(&[]);
        let n = rest
            .iter()
            .take_while(|r| (r.column1, r.column2) == key)
            .count();
        &rest[..n]
    }

    /// Every row with this code in column 1, by column 2 code.
    pub fn column1(&self, code: &[u8]) -> &[PtpRow] {
        let Some(a) = Code::new(code) else {
            return &[];
        };
        let lo = self.rows.partition_point(|r| r.column1 < a);
        let hi = self.rows.partition_point(|r| r.column1 <= a);
        self.rows.get(lo..hi).unwrap_or(&[])
    }

    /// The row of a pair in force on a date of service (indicator 9 rows included: they say
    /// the edit was deleted), the latest effective one when several are.
    pub fn in_force(&self, column1: &[u8], column2: &[u8], dos: Option<Date>) -> Option<&PtpRow> {
        match (Code::new(column1), Code::new(column2)) {
            (Some(a), Some(b)) => self.in_force_of(a, b, dos),
            _ => None,
        }
    }

    /// Like [`PtpSet::in_force`], for codes already packed.
    pub fn in_force_of(&self, column1: Code, column2: Code, dos: Option<Date>) -> Option<&PtpRow> {
        self.pair_of(column1, column2)
            .iter()
            .rev()
            .find(|r| r.active_on(dos))
    }

    /// The table file a row comes from.
    pub fn table_of(&self, row: &PtpRow) -> Option<&TableInfo> {
        self.tables.get(row.table as usize).map(|t| &t.0)
    }

    /// The rationale text of a row.
    pub fn rationale(&self, row: &PtpRow) -> &str {
        self.tables
            .get(row.table as usize)
            .and_then(|t| t.1.get(row.rationale as usize))
            .map_or("", |s| s)
    }
}

// ---- MUE -------------------------------------------------------------------------------

/// One MUE row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MueRow {
    /// HCPCS/CPT code.
    pub code: Code,
    /// Maximum units: per line (MAI 1) or per date of service (MAI 2, 3).
    pub value: u32,
    /// MUE adjudication indicator: 1 line edit, 2 date of service (policy), 3 date of
    /// service (clinical).
    pub mai: u8,
    rationale: u32,
}

/// One MUE table (one edition of one setting), sorted by code.
#[derive(Clone)]
pub struct MueTable {
    /// What it is.
    pub info: TableInfo,
    rows: Vec<MueRow>,
    rationales: Vec<Box<str>>,
}

impl fmt::Debug for MueTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MueTable")
            .field("table", &self.info.cite)
            .field("rows", &self.rows.len())
            .finish()
    }
}

impl MueTable {
    /// The row of a code (`None`: no published MUE, never 0).
    pub fn get(&self, code: &[u8]) -> Option<&MueRow> {
        let c = Code::new(code)?;
        self.rows
            .binary_search_by_key(&c, |r| r.code)
            .ok()
            .and_then(|i| self.rows.get(i))
    }

    /// Its rows, by code.
    pub fn rows(&self) -> &[MueRow] {
        &self.rows
    }

    /// The rationale text of a row.
    pub fn rationale(&self, row: &MueRow) -> &str {
        self.rationales
            .get(row.rationale as usize)
            .map_or("", |s| s)
    }
}

/// A minimal CSV reader (RFC 4180: quoted cells with `""` and line breaks inside).
struct Csv<'a> {
    b: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Csv<'a> {
    fn new(b: &'a [u8]) -> Self {
        let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
        Csv { b, pos: 0, line: 1 }
    }

    /// The next record and the line it starts on.
    fn record(&mut self, cells: &mut Vec<Vec<u8>>) -> Result<Option<usize>, (usize, String)> {
        cells.clear();
        if self.pos >= self.b.len() {
            return Ok(None);
        }
        let start = self.line;
        loop {
            let mut value = Vec::new();
            if self.b.get(self.pos) == Some(&b'"') {
                self.pos += 1;
                loop {
                    let rest = self.b.get(self.pos..).unwrap_or(&[]);
                    let Some(q) = memchr::memchr(b'"', rest) else {
                        return Err((start, "a quoted cell is not closed".into()));
                    };
                    let chunk = &rest[..q];
                    self.line += memchr::memchr_iter(b'\n', chunk).count();
                    value.extend_from_slice(chunk);
                    self.pos += q + 1;
                    if self.b.get(self.pos) == Some(&b'"') {
                        value.push(b'"');
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
            }
            // Unquoted text (or text after a closing quote) up to the next separator.
            let rest = self.b.get(self.pos..).unwrap_or(&[]);
            let end = memchr::memchr2(b',', b'\n', rest).unwrap_or(rest.len());
            value.extend_from_slice(&rest[..end]);
            self.pos += end;
            match self.b.get(self.pos) {
                Some(b',') => {
                    self.pos += 1;
                    cells.push(value);
                }
                Some(_) => {
                    // Line end.
                    self.pos += 1;
                    self.line += 1;
                    if value.last() == Some(&b'\r') {
                        value.pop();
                    }
                    cells.push(value);
                    return Ok(Some(start));
                }
                None => {
                    if value.last() == Some(&b'\r') {
                        value.pop();
                    }
                    cells.push(value);
                    return Ok(Some(start));
                }
            }
        }
    }
}

struct MueColumns {
    code: usize,
    value: usize,
    mai: usize,
    rationale: Option<usize>,
}

fn mue_columns(cells: &[Vec<u8>]) -> Option<MueColumns> {
    if cells.len() < 3 {
        return None;
    }
    let titles: Vec<String> = cells.iter().map(|c| folded(c)).collect();
    let find = |f: &dyn Fn(&str) -> bool| titles.iter().position(|t| f(t));
    let code = find(&|t| (t.contains("hcpcs") || t.contains("cpt")) && !t.contains("mue"))?;
    let value = find(&|t| t.contains("mue value"))?;
    let mai = find(&|t| t.contains("adjudication"))?;
    let rationale = find(&|t| t.contains("rationale"));
    let mut seen = vec![code, value, mai];
    seen.extend(rationale);
    seen.sort_unstable();
    if seen.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    Some(MueColumns {
        code,
        value,
        mai,
        rationale,
    })
}

/// Reads an MUE table in the CMS CSV layout (domain §9.2): a preamble, one header row (its
/// first cell may hold a quoted line break), then one row per code. `path` names the file in
/// errors and gives its setting and edition date (`…_Eff_MM-DD-YYYY.csv`).
pub fn read_mue(path: &str, bytes: &[u8]) -> Result<MueTable, TableError> {
    let fail = |line: usize, message: String| TableError {
        file: path.to_owned(),
        line,
        message,
    };
    let name = file_name(path);
    let (provenance, kind, setting) = identify(name).map_err(|m| fail(0, m))?;
    if kind != TableKind::Mue {
        return Err(fail(0, "an NCCI PTP table, not an MUE table".into()));
    }
    let edition = edition_from_file_name(name).ok_or_else(|| {
        fail(
            0,
            "the file name must carry the edition date, as CMS names it \
             (MCR_MUE_…Services_Eff_MM-DD-YYYY.csv)"
                .into(),
        )
    })?;
    if looks_like_archive(bytes) {
        return Err(fail(0, ARCHIVE.into()));
    }
    let mut info = TableInfo::new(path, kind, setting, provenance);
    info.edition = Some(edition);
    info.name_it();

    let mut csv = Csv::new(bytes);
    let mut cells = Vec::new();
    let mut columns = None;
    let mut header_line = 0;
    while let Some(n) = csv.record(&mut cells).map_err(|(l, m)| fail(l, m))? {
        if let Some(c) = mue_columns(&cells) {
            columns = Some(c);
            header_line = n;
            break;
        }
    }
    let Some(cols) = columns else {
        return Err(fail(
            0,
            "unrecognized layout: no header row with the \"HCPCS/CPT Code\", \"… MUE Values\" \
             and \"MUE Adjudication Indicator\" cells (is this a CMS MUE CSV file?)"
                .into(),
        ));
    };
    let mut pool = Pool::default();
    let mut rows: Vec<(MueRow, usize)> = Vec::new();
    while let Some(n) = csv.record(&mut cells).map_err(|(l, m)| fail(l, m))? {
        if cells.iter().all(|c| c.trim_ascii().is_empty()) {
            continue;
        }
        let get = |i: usize| cells.get(i).map_or(&[][..], |c| c.trim_ascii());
        let need = cols.code.max(cols.value).max(cols.mai) + 1;
        if cells.len() < need {
            return Err(fail(
                n,
                format!(
                    "expected at least {need} comma-separated cells, found {}",
                    cells.len()
                ),
            ));
        }
        let v = get(cols.code);
        let code = Code::new(v)
            .ok_or_else(|| fail(n, format!("code `{}` is not a HCPCS/CPT code", shown(v))))?;
        let v = get(cols.value);
        let value = (!v.is_empty() && v.iter().all(u8::is_ascii_digit))
            .then(|| number(v))
            .flatten()
            .ok_or_else(|| {
                fail(
                    n,
                    format!("MUE value `{}` is not a whole number of units", shown(v)),
                )
            })?;
        let v = get(cols.mai);
        let mai = match v {
            [d @ b'1'..=b'3', rest @ ..] if rest.first().is_none_or(|c| !c.is_ascii_digit()) => {
                d - b'0'
            }
            _ => {
                return Err(fail(
                    n,
                    format!(
                        "MUE adjudication indicator `{}` does not start with 1, 2 or 3",
                        shown(v)
                    ),
                ))
            }
        };
        let rationale = pool.intern(cols.rationale.map_or(&[][..], get));
        rows.push((
            MueRow {
                code,
                value,
                mai,
                rationale,
            },
            n,
        ));
    }
    if rows.is_empty() {
        return Err(fail(header_line, "no code rows after the header".into()));
    }
    rows.sort_by_key(|r| (r.0.code, r.1));
    if let Some(w) = rows.windows(2).find(|w| w[0].0.code == w[1].0.code) {
        return Err(fail(
            w[1].1,
            format!(
                "code {} is listed twice (first at line {})",
                w[1].0.code, w[0].1
            ),
        ));
    }
    info.rows = rows.len();
    Ok(MueTable {
        info,
        rows: rows.into_iter().map(|r| r.0).collect(),
        rationales: pool.done(),
    })
}

/// The MUE editions of one setting, oldest first; a date of service uses the latest edition
/// in effect on it (domain §9.2: rows carry no dates of their own).
#[derive(Clone, Debug, Default)]
pub struct MueEditions {
    editions: Vec<MueTable>,
}

impl MueEditions {
    /// The edition in effect on a date of service (the latest one without a date).
    pub fn edition(&self, dos: Option<Date>) -> Option<&MueTable> {
        match dos {
            Some(d) => self
                .editions
                .iter()
                .rev()
                .find(|t| t.info.edition.is_some_and(|e| e <= d)),
            None => self.editions.last(),
        }
    }

    /// A code's MUE on a date of service, with its table.
    pub fn get(&self, code: &[u8], dos: Option<Date>) -> Option<(&MueRow, &MueTable)> {
        let t = self.edition(dos)?;
        t.get(code).map(|r| (r, t))
    }

    /// The editions, oldest first.
    pub fn editions(&self) -> &[MueTable] {
        &self.editions
    }
}

// ---- loading ---------------------------------------------------------------------------

/// One table file, read.
#[derive(Clone, Debug)]
pub enum Table {
    /// NCCI PTP.
    Ptp(PtpTable),
    /// MUE.
    Mue(MueTable),
}

impl Table {
    /// Reads a table from its bytes; its name says what it is (see [`identify`]).
    pub fn parse(path: &str, bytes: &[u8]) -> Result<Table, TableError> {
        let kind = identify(file_name(path))
            .map_err(|message| TableError {
                file: path.to_owned(),
                line: 0,
                message,
            })?
            .1;
        match kind {
            TableKind::Ptp => read_ptp(path, bytes).map(Table::Ptp),
            TableKind::Mue => read_mue(path, bytes).map(Table::Mue),
        }
    }

    /// Reads a table file.
    pub fn load(path: &Path) -> Result<Table, TableError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| TableError {
            file: shown.clone(),
            line: 0,
            message: format!("cannot read: {e}"),
        })?;
        Table::parse(&shown, &bytes)
    }

    /// What it is.
    pub fn info(&self) -> &TableInfo {
        match self {
            Table::Ptp(t) => &t.info,
            Table::Mue(t) => &t.info,
        }
    }

    /// Marks it as embedded in the binary.
    pub fn embedded(mut self) -> Table {
        match &mut self {
            Table::Ptp(t) => t.info.embedded = true,
            Table::Mue(t) => t.info.embedded = true,
        }
        self
    }
}

/// Every table a rule set carries: the CMS PTP and MUE tables and the curated excerpt, by
/// setting. Cheap to clone (the tables are shared).
#[derive(Clone, Debug, Default)]
pub struct Tables {
    ptp: [Option<Arc<PtpSet>>; 2],
    excerpt: [Option<Arc<PtpSet>>; 2],
    mue: [Option<Arc<MueEditions>>; 2],
    excerpt_mue: [Option<Arc<MueEditions>>; 2],
}

impl Tables {
    /// The PTP tables of a provenance for a setting.
    pub fn ptp(&self, provenance: Provenance, setting: Setting) -> Option<&PtpSet> {
        let sets = match provenance {
            Provenance::Cms => &self.ptp,
            Provenance::Excerpt => &self.excerpt,
        };
        sets[setting.index()].as_deref()
    }

    /// The MUE editions of a provenance for a setting.
    pub fn mue(&self, provenance: Provenance, setting: Setting) -> Option<&MueEditions> {
        let sets = match provenance {
            Provenance::Cms => &self.mue,
            Provenance::Excerpt => &self.excerpt_mue,
        };
        sets[setting.index()].as_deref()
    }

    /// Every table file loaded: CMS first, then the excerpt; PTP, then MUE.
    pub fn infos(&self) -> Vec<&TableInfo> {
        let mut out = Vec::new();
        for (ptp, mue) in [(&self.ptp, &self.mue), (&self.excerpt, &self.excerpt_mue)] {
            for s in ptp.iter().flatten() {
                out.extend(s.tables());
            }
            for s in mue.iter().flatten() {
                out.extend(s.editions.iter().map(|t| &t.info));
            }
        }
        out
    }

    /// Drops the curated excerpt (before loading another one).
    pub fn clear_excerpt(&mut self) {
        self.excerpt = Default::default();
        self.excerpt_mue = Default::default();
    }

    /// Adds tables. A file already loaded (same name and provenance) is skipped; two MUE
    /// tables of one setting and edition are refused.
    pub fn add(&mut self, tables: Vec<Table>) -> Result<(), TableError> {
        let mut ptp: [[Vec<PtpTable>; 2]; 2] = Default::default();
        let mut loaded: Vec<(Provenance, String)> = self
            .infos()
            .iter()
            .map(|i| (i.provenance, i.file.clone()))
            .collect();
        for t in tables {
            let info = t.info();
            let key = (info.provenance, info.file.clone());
            if loaded.contains(&key) {
                continue;
            }
            loaded.push(key);
            let p = usize::from(info.provenance == Provenance::Excerpt);
            let s = info.setting.index();
            match t {
                Table::Ptp(t) => ptp[p][s].push(t),
                Table::Mue(t) => {
                    let slot = if p == 0 {
                        &mut self.mue[s]
                    } else {
                        &mut self.excerpt_mue[s]
                    };
                    let mut eds = slot.as_deref().cloned().unwrap_or_default();
                    if let Some(o) = eds
                        .editions
                        .iter()
                        .find(|o| o.info.edition == t.info.edition)
                    {
                        return Err(TableError {
                            file: t.info.path.clone(),
                            line: 0,
                            message: format!(
                                "a second {} MUE table for edition {} (already loaded: {})",
                                t.info.setting.as_str(),
                                t.info.edition.map_or_else(String::new, |d| d.to_string()),
                                o.info.path
                            ),
                        });
                    }
                    eds.editions.push(t);
                    eds.editions.sort_by_key(|t| t.info.edition);
                    *slot = Some(Arc::new(eds));
                }
            }
        }
        for (p, by_setting) in ptp.into_iter().enumerate() {
            for (s, new) in by_setting.into_iter().enumerate() {
                if new.is_empty() {
                    continue;
                }
                let slot = if p == 0 {
                    &mut self.ptp[s]
                } else {
                    &mut self.excerpt[s]
                };
                let set = slot.take().map(Arc::unwrap_or_clone).unwrap_or_default();
                *slot = Some(Arc::new(set.with(new)));
            }
        }
        Ok(())
    }
}

/// A deterministic synthetic NCCI PTP table in the practitioner layout, `rows` edit rows long
/// (made-up codes, dates and rationales; for benchmarks and tests of large files).
pub fn synthetic_ptp(rows: usize, seed: u64) -> Vec<u8> {
    const RATIONALES: [&str; 6] = [
        "Synthetic rationale: more extensive procedure",
        "Synthetic rationale: standard of practice",
        "Synthetic rationale: mutually exclusive procedures",
        "Synthetic rationale: misuse of column two code with column one code",
        "Synthetic rationale: CPT manual instruction",
        "Synthetic rationale: HCPCS/CPT procedure code definition",
    ];
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = Vec::with_capacity(rows * 72 + 512);
    out.extend_from_slice(
        b"Synthetic NCCI PTP table generated by scrub837 (not CMS data)\r\n\
          Practitioner PTP Edits (synthetic)\r\n\
          Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date\tModifier\tPTP Edit Rationale\r\n\
          \t\t\t\t*=no data\t0=not allowed\t\r\n\
          \t\t\t\t\t1=allowed\t\r\n\
          \t\t\t\t\t9=not applicable\t\r\n",
    );
    let mut column1 = 10_000u64;
    for i in 0..rows {
        let r = next();
        if i % 40 == 0 {
            column1 += 1 + r % 3;
        }
        let column2 = 10_000 + (r >> 8) % 90_000;
        let year = 1996 + (r >> 24) % 30;
        let month = 1 + 3 * ((r >> 32) % 4);
        let deleted = (r >> 36) % 10 == 0;
        let indicator = match (r >> 40) % 10 {
            0..=5 => 1,
            6..=8 => 0,
            _ => 9,
        };
        let pre = if year == 1996 { "*" } else { "" };
        let deletion = if deleted {
            format!("{}{month:02}01", (year + 1 + (r >> 44) % 5).min(2030))
        } else {
            "*".to_owned()
        };
        let rationale = RATIONALES[((r >> 48) % RATIONALES.len() as u64) as usize];
        out.extend_from_slice(
            format!(
                "{column1:05}\t{column2:05}\t{pre}\t{year}{month:02}01\t{deletion}\t{indicator}\t{rationale}\r\n"
            )
            .as_bytes(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse_d8(s.as_bytes()).unwrap()
    }

    #[test]
    fn active_for_a_date_of_service() {
        let eff = d("20250101");
        // Effective date inclusive.
        assert!(active_on(eff, None, Some(d("20250101"))));
        assert!(!active_on(eff, None, Some(d("20241231"))));
        // Deletion date exclusive.
        let del = Some(d("20250701"));
        assert!(active_on(eff, del, Some(d("20250630"))));
        assert!(!active_on(eff, del, Some(d("20250701"))));
        assert!(!active_on(eff, del, Some(d("20260101"))));
        // Deleted on its effective date (indicator 9 rows): never in force.
        assert!(!active_on(eff, Some(eff), Some(eff)));
        // No date of service: in force unless deleted.
        assert!(active_on(eff, None, None));
        assert!(!active_on(eff, del, None));
    }

    #[test]
    fn names_give_kind_setting_version_and_edition() {
        assert_eq!(
            identify("ccipra-v323r0-f1.txt").unwrap(),
            (Provenance::Cms, TableKind::Ptp, Setting::Practitioner)
        );
        assert_eq!(
            identify("CCIOPH-v323r0-f2.TXT").unwrap(),
            (Provenance::Cms, TableKind::Ptp, Setting::OutpatientHospital)
        );
        assert_eq!(
            identify("excerpt-ccipra-64633-64636.txt").unwrap(),
            (Provenance::Excerpt, TableKind::Ptp, Setting::Practitioner)
        );
        assert_eq!(
            identify("MCR_MUE_OutpatientHospitalServices_Eff_10-01-2026.csv").unwrap(),
            (Provenance::Cms, TableKind::Mue, Setting::OutpatientHospital)
        );
        assert!(identify("MCR_MUE_DMESupplierServices_Eff_10-01-2026.csv")
            .unwrap_err()
            .contains("DME"));
        assert!(identify("ptp.txt").is_err());
        assert!(is_table_name("ccipra-v323r0-f1.txt") && !is_table_name("edits.toml"));
        assert_eq!(
            Version::from_file_name("ccipra-v323r0-f1.txt").map(|v| v.to_string()),
            Some("32.3r0".into())
        );
        assert_eq!(
            Version::from_file_name("ccioph-v1002r12.txt").map(|v| v.to_string()),
            Some("100.2r12".into())
        );
        assert_eq!(Version::from_file_name("ccipra-excerpt.txt"), None);
        assert_eq!(
            edition_from_file_name("MCR_MUE_PractitionerServices_Eff_10-01-2026.csv"),
            Some(d("20261001"))
        );
        assert_eq!(
            edition_from_file_name("MCR_MUE_PractitionerServices_Eff_13-01-2026.csv"),
            None
        );
        assert_eq!(
            edition_from_file_name("MCR_MUE_PractitionerServices_Eff_1"),
            None
        );
    }

    const HEADER: &str = "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date\tModifier\tPTP Edit Rationale\n\t\t\t\t*=no data\t0=not allowed\t\n\t\t\t\t\t1=allowed\t\n\t\t\t\t\t9=not applicable\t\n";

    fn ptp(preamble: &str, rows: &str) -> Result<PtpTable, TableError> {
        read_ptp(
            "dir/ccipra-v323r0-f1.txt",
            format!("{preamble}{HEADER}{rows}").as_bytes(),
        )
    }

    #[test]
    fn ptp_header_is_found_after_any_preamble() {
        let rows =
            "64635\t64493\t\t20120101\t*\t1\tMisuse of column two code with column one code\n";
        for preamble in [
            "",
            "CPT only copyright AMA\n",
            "line one\nline two\n\nline \"four\"\tmore\nColumn 3\tnot a header\n",
        ] {
            let t = ptp(preamble, rows).unwrap();
            assert_eq!(t.rows().len(), 1, "{preamble:?}");
            let r = t.rows()[0];
            assert_eq!(r.column1.to_string(), "64635");
            assert_eq!(r.column2.to_string(), "64493");
            assert_eq!(r.indicator, 1);
            assert_eq!(r.effective, d("20120101"));
            assert_eq!(r.deletion, None);
            assert!(!r.pre1996);
            assert_eq!(
                t.rationale(&r),
                "Misuse of column two code with column one code"
            );
            assert_eq!(t.info.version.map(|v| v.to_string()), Some("32.3r0".into()));
            assert_eq!(t.info.setting, Setting::Practitioner);
            assert_eq!(&*t.info.label, "CMS NCCI PTP practitioner v32.3r0");
        }
    }

    #[test]
    fn ptp_reads_latin1_crlf_and_columns_by_header() {
        // Columns in another order, CRLF line ends, a Latin-1 rationale, a BOM.
        let bytes = b"\xEF\xBB\xBFPreamble \xA9 AMA\r\nModifier\tColumn 2\tColumn 1\tDeletion Date\tEffective Date\tPTP Edit Rationale\r\n\
                      0=not allowed\t\t\t*=no data\t\t\r\n\
                      0\t77003\t64635\t20200101\t19960101\tProc\xE9dure incluse\r\n\r\n";
        let t = read_ptp("ccioph-v322r0-f1.txt", bytes).unwrap();
        let r = t.rows()[0];
        assert_eq!(
            (r.column1.to_string(), r.column2.to_string()),
            ("64635".into(), "77003".into())
        );
        assert_eq!(r.deletion, Some(d("20200101")));
        assert_eq!(r.effective, d("19960101"));
        assert_eq!(t.rationale(&r), "Procédure incluse");
        assert_eq!(t.info.setting, Setting::OutpatientHospital);
    }

    #[test]
    fn ptp_errors_name_file_and_line() {
        let e = ptp(
            "pre\n",
            "64635\t64493\t\t20120101\t*\t1\tok\n64635\t64494\t\t20121301\t*\t1\tbad date\n",
        )
        .unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("dir/ccipra-v323r0-f1.txt", 7));
        assert!(e.message.contains("20121301"), "{e}");
        let e = ptp("", "64635\t64493\t\t20120101\t*\t2\tx\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("dir/ccipra-v323r0-f1.txt:5: modifier indicator `2`"),
            "{e}"
        );
        let e = ptp("", "64635\t64493\t\t20120101\n").unwrap_err();
        assert!(e.message.contains("tab-separated cells"), "{e}");
        let e = ptp("", "64635\t64493\t?\t20120101\t*\t1\tx\n").unwrap_err();
        assert!(e.message.contains("pre-1996"), "{e}");
        let e = ptp("", "").unwrap_err();
        assert!(e.message.contains("no edit rows"), "{e}");
        // After the first edit row, a row that is not an edit is an error, not a legend.
        let e = ptp(
            "",
            "64635\t64493\t\t20120101\t*\t1\tx\n\tnot a code\t\t\t\t\t\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 6, "{e}");
    }

    #[test]
    fn unrecognized_ptp_layouts_are_errors_naming_the_file() {
        let e = read_ptp("x/ccipra-v323r0-f1.txt", b"a,b,c\n1,2,3\n").unwrap_err();
        assert_eq!(e.file, "x/ccipra-v323r0-f1.txt");
        assert!(e.message.contains("unrecognized layout"), "{e}");
        let e = read_ptp(
            "ccipra-v323r0-f1.txt",
            b"Column 1\tColumn 2\tSomething\n64635\t64493\tx\n",
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("unrecognized layout: no \"Effective Date\""),
            "{e}"
        );
        assert_eq!(e.line, 1);
        let e = read_ptp("ccipra-v323r0-f1.zip", b"PK\x03\x04rest").unwrap_err();
        assert!(e.message.contains("ZIP"), "{e}");
        let e = read_ptp("ptp.txt", HEADER.as_bytes()).unwrap_err();
        assert!(e.message.contains("not a CMS table file name"), "{e}");
    }

    const MUE: &str = "\"CPT codes, descriptions and other data only are copyright, preamble\"\n\
                       \n\
                       \"HCPCS/\nCPT Code\",\"Practitioner Services MUE Values\",\"MUE Adjudication Indicator\",\"MUE Rationale\"\n";

    fn mue(rows: &str) -> Result<MueTable, TableError> {
        read_mue(
            "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv",
            format!("{MUE}{rows}").as_bytes(),
        )
    }

    #[test]
    fn mue_header_with_a_quoted_line_break() {
        let t = mue("64635,1,2 Date of Service Edit: Policy,Anatomic Consideration\r\n64636,4,\"3 Date of Service Edit: Clinical\",\"Clinical: Data, more\"\r\n0001U,1,1 Line Edit,Code Descriptor\n").unwrap();
        assert_eq!(t.rows().len(), 3);
        let r = t.get(b"64636").unwrap();
        assert_eq!((r.value, r.mai), (4, 3));
        assert_eq!(t.rationale(r), "Clinical: Data, more");
        assert_eq!(t.get(b"0001u").map(|r| r.mai), Some(1));
        assert!(t.get(b"64633").is_none());
        assert_eq!(t.info.edition, Some(d("20261001")));
        assert_eq!(
            &*t.info.cite,
            "CMS MUE practitioner services effective 2026-10-01 (MCR_MUE_PractitionerServices_Eff_10-01-2026.csv)"
        );
    }

    #[test]
    fn mue_errors_name_file_and_line() {
        // The header's quoted line break counts: the header is lines 3-4, rows from line 5.
        let e =
            mue("64635,1,2 Date of Service Edit: Policy,x\n64636,four,3 Clinical,x\n").unwrap_err();
        assert_eq!(e.line, 6, "{e}");
        assert!(e.message.contains("`four`"), "{e}");
        let e = mue("64635,1,4 Something,x\n").unwrap_err();
        assert!(e.message.contains("does not start with 1, 2 or 3"), "{e}");
        let e = mue("64635,1,2 x,x\n64635,1,2 x,x\n").unwrap_err();
        assert!(e.message.contains("listed twice (first at line 5)"), "{e}");
        let e = mue("64635,1,\"2 x\n").unwrap_err();
        assert!(e.message.contains("not closed"), "{e}");
        assert_eq!(e.line, 5);
        let e = read_mue(
            "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv",
            b"just,some,text\n1,2,3\n",
        )
        .unwrap_err();
        assert!(e.message.contains("unrecognized layout"), "{e}");
        let e = read_mue("MCR_MUE_PractitionerServices.csv", MUE.as_bytes()).unwrap_err();
        assert!(e.message.contains("edition date"), "{e}");
    }

    #[test]
    fn mue_edition_by_date_of_service() {
        let a = read_mue(
            "MCR_MUE_PractitionerServices_Eff_01-01-2026.csv",
            format!("{MUE}64636,4,3 Clinical,x\n").as_bytes(),
        )
        .unwrap();
        let b = read_mue(
            "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv",
            format!("{MUE}64636,2,2 Policy,x\n").as_bytes(),
        )
        .unwrap();
        let mut t = Tables::default();
        t.add(vec![Table::Mue(b), Table::Mue(a)]).unwrap();
        let m = t.mue(Provenance::Cms, Setting::Practitioner).unwrap();
        assert!(m.get(b"64636", Some(d("20251231"))).is_none());
        assert_eq!(
            m.get(b"64636", Some(d("20260930"))).map(|r| r.0.value),
            Some(4)
        );
        assert_eq!(
            m.get(b"64636", Some(d("20261001"))).map(|r| r.0.value),
            Some(2)
        );
        assert_eq!(m.get(b"64636", None).map(|r| r.0.value), Some(2));
        assert!(t
            .mue(Provenance::Cms, Setting::OutpatientHospital)
            .is_none());
    }

    #[test]
    fn ptp_sets_merge_parts_and_keep_the_newest_version_of_a_pair() {
        let old = read_ptp(
            "ccipra-v322r0-f1.txt",
            format!("{HEADER}64635\t64493\t\t20120101\t*\t1\told\n64635\t64494\t\t20120101\t*\t1\tonly old\n").as_bytes(),
        )
        .unwrap();
        let new = read_ptp(
            "ccipra-v323r0-f1.txt",
            format!("{HEADER}64635\t64493\t\t20120101\t20120101\t9\tnew\n").as_bytes(),
        )
        .unwrap();
        let part2 = read_ptp(
            "ccipra-v323r0-f2.txt",
            format!("{HEADER}77003\t64493\t\t20120101\t*\t0\tpart 2\n").as_bytes(),
        )
        .unwrap();
        let set = PtpSet::new(vec![old, new, part2]);
        assert_eq!(set.len(), 3);
        let rows = set.pair(b"64635", b"64493");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].indicator, 9);
        assert_eq!(set.rationale(&rows[0]), "new");
        assert_eq!(
            set.table_of(&rows[0]).map(|t| t.file.as_str()),
            Some("ccipra-v323r0-f1.txt")
        );
        assert_eq!(set.column1(b"64635").len(), 2);
        assert_eq!(
            set.in_force(b"77003", b"64493", Some(d("20250101")))
                .map(|r| r.indicator),
            Some(0)
        );
        // Indicator 9 row deleted on its effective date: not in force.
        assert!(set
            .in_force(b"64635", b"64493", Some(d("20250101")))
            .is_none());
        assert!(set.pair(b"", b"64493").is_empty());
    }

    #[test]
    fn synthetic_tables_read_back() {
        let bytes = synthetic_ptp(5_000, 3);
        assert_eq!(bytes, synthetic_ptp(5_000, 3));
        let t = read_ptp("ccipra-v999r0-synthetic.txt", &bytes).unwrap();
        assert_eq!(t.rows().len(), 5_000);
        assert!(t.rows().iter().any(|r| r.deletion.is_some()));
        assert!(t.rows().iter().any(|r| r.indicator == 9));
        assert!(t.rows().iter().any(|r| r.pre1996));
    }

    #[test]
    fn no_input_panics() {
        // Every prefix and single-byte corruption of small valid files is an Ok or an Err.
        let p = format!("pre\n{HEADER}64635\t64493\t*\t20120101\t*\t1\tx\n");
        let m = format!("{MUE}64635,1,2 x,\"y\"\"z\"\n");
        for (name, base) in [
            ("ccipra-v323r0-f1.txt", p.as_bytes()),
            (
                "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv",
                m.as_bytes(),
            ),
        ] {
            for cut in 0..=base.len() {
                let _ = Table::parse(name, &base[..cut]);
            }
            for i in 0..base.len() {
                for b in [b'\t', b'\n', b'"', b',', b'*', 0xFF, b'9', b'\r'] {
                    let mut v = base.to_vec();
                    v[i] = b;
                    let _ = Table::parse(name, &v);
                }
            }
        }
    }
}
