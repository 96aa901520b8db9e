//! Rule packs: versioned TOML files (pack metadata, payer profiles, code sets, rules) loaded and
//! validated at start-up into one immutable [`RuleSet`] shared by every worker thread.
//!
//! A rule says which check (a kind of check written in Rust, see [`super::checks`]) runs with
//! which values, for which payers, claim kinds and dates of service, with which severity and
//! 277CA code. Every error names the file and line it comes from.
//!
//! A rule set also carries tables in the CMS layouts ([`super::cms`]): the curated excerpt
//! shipped with the pack, and the CMS quarterly NCCI PTP and MUE files a deployment supplies
//! ([`RuleSet::attach_cms`], or placed in the rules directory).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Deserialize;

use super::checks::Check;
use super::cms::{Provenance, Setting, Table, TableError, TableKind, Tables};
use super::codes::{CodeIndex, CodeSet};
use super::finding::Severity;
use super::payer::{Profile, Profiles};
use crate::claim::{Date, Kind};

/// The rule files bundled with the binary (`rules/*.toml`), by name.
pub const BUNDLED: &[(&str, &str)] = &[
    ("pack.toml", include_str!("../../rules/pack.toml")),
    ("payers.toml", include_str!("../../rules/payers.toml")),
    ("codesets.toml", include_str!("../../rules/codesets.toml")),
    ("edits.toml", include_str!("../../rules/edits.toml")),
    ("history.toml", include_str!("../../rules/history.toml")),
];

/// The table files bundled with the binary (`rules/excerpt-*`: the curated, unverified
/// excerpt in the CMS layouts), by name.
pub const BUNDLED_TABLES: &[(&str, &[u8])] = &[
    (
        "excerpt-ccipra-64633-64636.txt",
        include_bytes!("../../rules/excerpt-ccipra-64633-64636.txt"),
    ),
    (
        "excerpt-ccioph-64633-64636.txt",
        include_bytes!("../../rules/excerpt-ccioph-64633-64636.txt"),
    ),
];

/// A rule pack that cannot be used: file, line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct RuleError {
    /// The rule file.
    pub file: String,
    /// 1-based line (0 when the problem is with the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl From<TableError> for RuleError {
    fn from(e: TableError) -> Self {
        RuleError {
            file: e.file,
            line: e.line,
            message: e.message,
        }
    }
}

/// Pack metadata (`[pack]`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PackMeta {
    /// Pack name.
    pub name: String,
    /// Pack version, e.g. `2026.11.1`.
    pub version: String,
    /// What it is.
    #[serde(default)]
    pub description: String,
    /// Date the pack was published.
    #[serde(default)]
    pub published: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    pack: Option<PackMeta>,
    #[serde(default)]
    profile: Vec<toml::Spanned<RawProfile>>,
    #[serde(default)]
    directory: Option<RawDirectory>,
    #[serde(default)]
    codeset: BTreeMap<String, toml::Spanned<RawCodeset>>,
    #[serde(default)]
    rule: Vec<toml::Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    id: String,
    name: String,
    #[serde(default)]
    catalogue_scope: String,
    #[serde(default)]
    payer_ids: Vec<String>,
    #[serde(default)]
    claim_filing: Vec<String>,
    #[serde(default)]
    name_patterns: Vec<String>,
    #[serde(default)]
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDirectory {
    #[serde(default)]
    payer_ids: Vec<String>,
    #[serde(default)]
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCodeset {
    codes: Vec<String>,
    #[serde(default)]
    source: String,
    #[serde(default = "yes")]
    verified: bool,
}

fn yes() -> bool {
    true
}

fn all_payers() -> Vec<String> {
    vec!["*".into()]
}

fn both_kinds() -> Vec<String> {
    vec!["837P".into(), "837I".into()]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    edit: String,
    title: String,
    check: String,
    severity: String,
    #[serde(default)]
    stc: Option<String>,
    #[serde(default)]
    stc_extra: Vec<String>,
    #[serde(default)]
    stc_variants: BTreeMap<String, String>,
    #[serde(default = "all_payers")]
    payers: Vec<String>,
    #[serde(default = "both_kinds")]
    kinds: Vec<String>,
    #[serde(default)]
    effective: Option<toml::value::Datetime>,
    #[serde(default)]
    expires: Option<toml::value::Datetime>,
    source: String,
    #[serde(default = "yes")]
    verified: bool,
    #[serde(default)]
    explain: String,
    #[serde(default)]
    fix: String,
    #[serde(default)]
    params: toml::Table,
}

/// Which payers a rule applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayerScope {
    /// Every claim, known payer or not (`"*"`).
    All,
    /// Claims matched to these profiles (indices into [`RuleSet::profiles`]).
    Profiles(Vec<usize>),
}

/// One compiled rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Catalogue id, e.g. `E-29`.
    pub edit: Arc<str>,
    /// Short title.
    pub title: String,
    /// What it checks, with its values.
    pub check: Check,
    /// The check's name in the rule file.
    pub check_name: String,
    /// Severity of its findings.
    pub severity: Severity,
    /// 277CA STC01 category:status[:entity].
    pub stc: Option<Arc<str>>,
    /// Further composites (STC10, STC11).
    pub stc_extra: Vec<Arc<str>>,
    /// STC by finding variant (e.g. `gender` → `A7:157:QC`).
    pub stc_variants: Vec<(String, Arc<str>)>,
    /// Payers.
    pub payers: PayerScope,
    /// Claim kinds (837P, 837I).
    pub kinds: Vec<Kind>,
    /// First date of service it applies to.
    pub effective: Option<Date>,
    /// First date of service it no longer applies to.
    pub expires: Option<Date>,
    /// Where its facts come from.
    pub source: String,
    /// Whether its facts are confirmed by a primary or secondary source.
    pub verified: bool,
    /// What it checks, in plain words.
    pub explain: String,
    /// How to fix a claim that fails it.
    pub fix: String,
    /// `FILE:LINE (pack VERSION)`.
    pub origin: Arc<str>,
    /// Its parameters as written (`key = value`), for `explain`.
    pub params_text: Vec<String>,
}

impl Rule {
    /// Whether the rule applies on this date of service.
    pub fn in_force(&self, dos: Option<Date>) -> bool {
        let Some(d) = dos else {
            return true;
        };
        self.effective.is_none_or(|e| d >= e) && self.expires.is_none_or(|x| d < x)
    }

    /// The STC for a finding variant (the rule's own when the variant has none).
    pub fn stc_for(&self, variant: Option<&str>) -> Option<Arc<str>> {
        variant
            .and_then(|v| self.stc_variants.iter().find(|(k, _)| k == v))
            .map(|(_, s)| s.clone())
            .or_else(|| self.stc.clone())
    }
}

/// A loaded, validated rule pack.
#[derive(Clone, Debug)]
pub struct RuleSet {
    /// Pack metadata.
    pub pack: PackMeta,
    /// Where it was loaded from (`bundled` or a directory).
    pub origin: String,
    /// Payer profiles.
    pub profiles: Profiles,
    /// Named code sets.
    pub codesets: BTreeMap<String, (CodeSet, String, bool)>,
    /// Rules, in file order.
    pub rules: Vec<Rule>,
    /// The curated excerpt and the CMS tables loaded.
    tables: Tables,
    /// Candidate rules per (profile or none, kind): indices into `rules`, grouped by edit,
    /// explicit payer rules before `"*"` rules, rules reading CMS PTP tables first; those
    /// only for kinds whose tables are loaded.
    selection: Vec<Vec<Vec<usize>>>,
    /// Per entry of `selection`: the rules that apply whatever the date of service, when every
    /// group's first rule has no effective or expiry date (it is then always the one chosen).
    fixed: Vec<Option<Vec<usize>>>,
    /// The code sets the checks test lines against, numbered (`Facts::index_codes`).
    pub code_index: CodeIndex,
}

/// Index of (profile or none, kind) in [`RuleSet::selection`].
fn slot(profile: Option<usize>, kind: Kind) -> usize {
    profile.map_or(0, |p| p + 1) * 2 + usize::from(kind == Kind::Institutional)
}

/// Resolves `@name` references to code sets inside rule parameters.
pub struct Params<'a> {
    table: &'a toml::Table,
    codesets: &'a BTreeMap<String, (CodeSet, String, bool)>,
}

impl<'a> Params<'a> {
    /// Parameters of one rule.
    pub fn new(
        table: &'a toml::Table,
        codesets: &'a BTreeMap<String, (CodeSet, String, bool)>,
    ) -> Self {
        Params { table, codesets }
    }

    /// Names of the parameters given.
    pub fn keys(&self) -> impl Iterator<Item = &'a String> {
        self.table.keys()
    }

    /// Whether a parameter is given.
    pub fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    /// A list of codes; `@name` entries pull in a code set.
    pub fn codes(&self, key: &str) -> Result<CodeSet, String> {
        let list = self.strings(key)?;
        let mut set = CodeSet::default();
        for e in &list {
            match e.strip_prefix('@') {
                Some(name) => {
                    let (cs, _, _) = self
                        .codesets
                        .get(name)
                        .ok_or_else(|| format!("params.{key}: no code set named `{name}`"))?;
                    for c in &cs.listed {
                        set.insert(c);
                    }
                }
                None if e.trim().is_empty() || e.trim() == "*" => {
                    return Err(format!("params.{key}: empty code `{e}`"));
                }
                None => set.insert(e.trim()),
            }
        }
        if set.is_empty() {
            return Err(format!("params.{key}: empty code list"));
        }
        Ok(set)
    }

    /// A code set by name (for parameters that name sets one by one).
    pub fn codeset(&self, name: &str) -> Result<CodeSet, String> {
        self.codesets
            .get(name)
            .map(|(cs, _, _)| cs.clone())
            .ok_or_else(|| format!("no code set named `{name}`"))
    }

    /// Like [`Params::codes`], empty when absent.
    pub fn codes_or_empty(&self, key: &str) -> Result<CodeSet, String> {
        if self.table.contains_key(key) {
            self.codes(key)
        } else {
            Ok(CodeSet::default())
        }
    }

    /// A list of strings.
    pub fn strings(&self, key: &str) -> Result<Vec<String>, String> {
        let v = self
            .table
            .get(key)
            .ok_or_else(|| format!("params.{key} is required"))?;
        let arr = v
            .as_array()
            .ok_or_else(|| format!("params.{key}: expected a list of strings"))?;
        arr.iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("params.{key}: expected a list of strings"))
            })
            .collect()
    }

    /// A string.
    pub fn string(&self, key: &str) -> Result<String, String> {
        self.table
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("params.{key}: a string is required"))
    }

    /// An optional non-negative integer.
    pub fn int_opt(&self, key: &str) -> Result<Option<u32>, String> {
        match self.table.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_integer()
                .and_then(|i| u32::try_from(i).ok())
                .map(Some)
                .ok_or_else(|| format!("params.{key}: expected a non-negative integer")),
        }
    }

    /// A non-negative integer.
    pub fn int(&self, key: &str) -> Result<u32, String> {
        self.int_opt(key)?
            .ok_or_else(|| format!("params.{key}: an integer is required"))
    }

    /// An optional boolean (false when absent).
    pub fn flag(&self, key: &str) -> Result<bool, String> {
        match self.table.get(key) {
            None => Ok(false),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| format!("params.{key}: expected true or false")),
        }
    }

    /// A list of lists of strings (e.g. `[["64636", "64635"]]`).
    pub fn string_rows(&self, key: &str) -> Result<Vec<Vec<String>>, String> {
        let v = self
            .table
            .get(key)
            .ok_or_else(|| format!("params.{key} is required"))?;
        let bad = || format!("params.{key}: expected a list of lists of strings");
        v.as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|row| {
                row.as_array()
                    .ok_or_else(bad)?
                    .iter()
                    .map(|x| x.as_str().map(str::to_owned).ok_or_else(bad))
                    .collect()
            })
            .collect()
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn parse_date(d: &toml::value::Datetime) -> Option<Date> {
    let date = d.date?;
    if d.time.is_some() {
        return None;
    }
    Some(Date {
        year: date.year,
        month: date.month,
        day: date.day,
    })
}

impl RuleSet {
    /// The rule packs bundled with the binary.
    pub fn bundled() -> Result<RuleSet, RuleError> {
        let files: Vec<(String, String)> = BUNDLED
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect();
        RuleSet::from_texts("bundled", &files)
    }

    /// Every `*.toml` file of a directory, in name order (replaces the bundled packs), and the
    /// table files in it, by name: `ccipra…`, `ccioph…` (NCCI PTP) and `MCR_MUE_…` files are
    /// CMS tables, as if given to [`RuleSet::attach_cms`]; `excerpt-…` files replace the
    /// bundled curated excerpt (which stays when the directory has none).
    pub fn from_dir(dir: &Path) -> Result<RuleSet, RuleError> {
        let err = |message: String| RuleError {
            file: dir.display().to_string(),
            line: 0,
            message,
        };
        let entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| err(format!("cannot read the rules directory: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        let mut paths: Vec<PathBuf> = entries
            .iter()
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .cloned()
            .collect();
        paths.sort();
        let mut table_paths: Vec<PathBuf> = entries
            .iter()
            .filter(|p| {
                p.is_file()
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(super::cms::is_table_name)
            })
            .cloned()
            .collect();
        table_paths.sort();
        if paths.is_empty() {
            return Err(err("no *.toml rule files in the rules directory".into()));
        }
        let mut files = Vec::new();
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|e| RuleError {
                file: p.display().to_string(),
                line: 0,
                message: format!("cannot read: {e}"),
            })?;
            files.push((p.display().to_string(), text));
        }
        let mut rs = RuleSet::from_texts(&dir.display().to_string(), &files)?;
        let tables = load_tables(&table_paths, None)?;
        if tables
            .iter()
            .any(|t| t.info().provenance == Provenance::Excerpt)
        {
            rs.tables.clear_excerpt();
        }
        rs.attach_tables(tables)?;
        Ok(rs)
    }

    /// Loads CMS quarterly tables into the rule set: NCCI PTP files (`ccipra…` practitioner,
    /// `ccioph…` hospital outpatient; the tab-delimited `.txt` of each part) and MUE files
    /// (`MCR_MUE_PractitionerServices_Eff_MM-DD-YYYY.csv`,
    /// `MCR_MUE_OutpatientHospitalServices_Eff_MM-DD-YYYY.csv`). 837P claims use the
    /// practitioner tables, 837I claims the hospital outpatient ones. Rules with
    /// `table = "cms"` read them; a `ptp_pairs` rule with `table = "cms"` applies (instead of
    /// the edit's other rules) once PTP tables for the claim's kind are loaded. Files are read
    /// in parallel; calling it again adds tables. Errors name the file and line.
    pub fn attach_cms(&mut self, ptp: &[PathBuf], mue: &[PathBuf]) -> Result<(), RuleError> {
        let mut tables = load_tables(ptp, Some(TableKind::Ptp))?;
        tables.extend(load_tables(mue, Some(TableKind::Mue))?);
        self.attach_tables(tables)
    }

    /// Adds tables already read (see [`Table::parse`]).
    pub fn attach_tables(&mut self, tables: Vec<Table>) -> Result<(), RuleError> {
        self.tables.add(tables)?;
        self.selection = select_table(&self.rules, self.profiles.len(), &self.tables);
        self.fixed = fixed_choices(&self.rules, &self.selection);
        Ok(())
    }

    /// The tables loaded: the curated excerpt and any CMS tables.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// Builds a rule set from `(file name, text)` pairs.
    pub fn from_texts(origin: &str, files: &[(String, String)]) -> Result<RuleSet, RuleError> {
        let mut parsed = Vec::new();
        for (name, text) in files {
            let raw: RawFile = toml::from_str(text).map_err(|e| RuleError {
                file: name.clone(),
                line: e.span().map_or(0, |s| line_of(text, s.start)),
                message: e.message().trim().to_owned(),
            })?;
            parsed.push((name.as_str(), text.as_str(), raw));
        }
        let at =
            |file: &str, text: &str, span: std::ops::Range<usize>, message: String| RuleError {
                file: file.to_owned(),
                line: line_of(text, span.start),
                message,
            };

        let mut pack: Option<PackMeta> = None;
        for (name, _, raw) in &parsed {
            if let Some(p) = &raw.pack {
                if pack.is_some() {
                    return Err(RuleError {
                        file: (*name).to_owned(),
                        line: 0,
                        message: "a second [pack] table (one rule pack per directory)".into(),
                    });
                }
                pack = Some(p.clone());
            }
        }
        let pack = pack.ok_or_else(|| RuleError {
            file: origin.to_owned(),
            line: 0,
            message: "no [pack] table with the pack name and version".into(),
        })?;
        if pack.version.trim().is_empty() {
            return Err(RuleError {
                file: origin.to_owned(),
                line: 0,
                message: "[pack] version is empty".into(),
            });
        }

        // Code sets.
        let mut codesets = BTreeMap::new();
        for (name, text, raw) in &parsed {
            for (id, cs) in &raw.codeset {
                let span = cs.span();
                let cs = cs.get_ref();
                let mut set = CodeSet::default();
                for c in &cs.codes {
                    if c.trim().is_empty() || c.trim() == "*" || c.starts_with('@') {
                        return Err(at(
                            name,
                            text,
                            span,
                            format!("codeset.{id}: bad code `{c}`"),
                        ));
                    }
                    set.insert(c.trim());
                }
                if set.is_empty() {
                    return Err(at(name, text, span, format!("codeset.{id} is empty")));
                }
                if codesets
                    .insert(id.clone(), (set, cs.source.clone(), cs.verified))
                    .is_some()
                {
                    return Err(at(name, text, span, format!("codeset.{id} defined twice")));
                }
            }
        }

        // Payer profiles.
        let mut profiles = Vec::new();
        let mut profile_at: Vec<(String, usize)> = Vec::new();
        let mut directory = Vec::new();
        for (name, text, raw) in &parsed {
            for p in &raw.profile {
                let span = p.span();
                profile_at.push(((*name).to_owned(), line_of(text, span.start)));
                let p = p.get_ref();
                if p.id.is_empty() || p.id == "*" {
                    return Err(at(name, text, span, "profile id must be a name".into()));
                }
                if profiles.iter().any(|q: &Profile| q.id == p.id) {
                    return Err(at(
                        name,
                        text,
                        span,
                        format!("profile `{}` defined twice", p.id),
                    ));
                }
                profiles.push(Profile {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    catalogue_scope: p.catalogue_scope.clone(),
                    payer_ids: p.payer_ids.clone(),
                    claim_filing: p.claim_filing.clone(),
                    name_patterns: p.name_patterns.iter().map(|s| s.to_uppercase()).collect(),
                    source: p.source.clone(),
                });
            }
            if let Some(d) = &raw.directory {
                directory.extend(d.payer_ids.iter().cloned());
                let _ = &d.source;
            }
        }
        let profiles = Profiles::new(profiles, directory).map_err(|(i, m)| {
            let (file, line) = profile_at
                .get(i)
                .cloned()
                .unwrap_or_else(|| (origin.to_owned(), 0));
            RuleError {
                file,
                line,
                message: m,
            }
        })?;

        // Rules.
        let mut rules = Vec::new();
        for (name, text, raw) in &parsed {
            for r in &raw.rule {
                let span = r.span();
                let line = line_of(text, span.start);
                let r = r.get_ref();
                let fail =
                    |m: String| at(name, text, span.clone(), format!("rule {}: {m}", r.edit));
                if !valid_edit_id(&r.edit) {
                    return Err(at(
                        name,
                        text,
                        span.clone(),
                        format!("`{}` is not a catalogue id (E-NN)", r.edit),
                    ));
                }
                let severity = Severity::parse(&r.severity).ok_or_else(|| {
                    fail(format!("severity `{}`: use reject or warn", r.severity))
                })?;
                let stc = |s: &str| -> Result<Arc<str>, RuleError> {
                    if valid_stc(s) {
                        Ok(Arc::from(s))
                    } else {
                        Err(fail(format!(
                            "STC `{s}`: expected CATEGORY:STATUS[:ENTITY], e.g. A7:453"
                        )))
                    }
                };
                let payers = if r.payers.iter().any(|p| p == "*") {
                    if r.payers.len() > 1 {
                        return Err(fail("payers: `*` stands alone".into()));
                    }
                    PayerScope::All
                } else {
                    let mut ix = Vec::new();
                    for p in &r.payers {
                        ix.push(
                            profiles
                                .index(p)
                                .ok_or_else(|| fail(format!("payers: no profile `{p}`")))?,
                        );
                    }
                    if ix.is_empty() {
                        return Err(fail("payers: empty list".into()));
                    }
                    PayerScope::Profiles(ix)
                };
                let mut kinds = Vec::new();
                for k in &r.kinds {
                    kinds.push(match k.as_str() {
                        "837P" => Kind::Professional,
                        "837I" => Kind::Institutional,
                        other => return Err(fail(format!("kinds: `{other}` (use 837P, 837I)"))),
                    });
                }
                let date = |d: &Option<toml::value::Datetime>, what: &str| match d {
                    None => Ok(None),
                    Some(d) => parse_date(d)
                        .map(Some)
                        .ok_or_else(|| fail(format!("{what}: expected a date (YYYY-MM-DD)"))),
                };
                let effective = date(&r.effective, "effective")?;
                let expires = date(&r.expires, "expires")?;
                if let (Some(a), Some(b)) = (effective, expires) {
                    if b <= a {
                        return Err(fail("expires is not after effective".into()));
                    }
                }
                let params = Params::new(&r.params, &codesets);
                let check = Check::compile(&r.check, &params).map_err(&fail)?;
                let mut variants = Vec::new();
                for (k, v) in &r.stc_variants {
                    if !check.variants().contains(&k.as_str()) {
                        return Err(fail(format!(
                            "stc_variants: check `{}` has no variant `{k}` (it has: {})",
                            r.check,
                            if check.variants().is_empty() {
                                "none".to_owned()
                            } else {
                                check.variants().join(", ")
                            }
                        )));
                    }
                    variants.push((k.clone(), stc(v)?));
                }
                if !r.verified && severity == Severity::Reject {
                    return Err(fail(
                        "verified = false with severity reject: unverified facts ship as warnings \
                         (set verified = true once the source is confirmed)"
                            .into(),
                    ));
                }
                let structural_id = matches!(
                    r.edit.as_str(),
                    "E-01" | "E-02" | "E-03" | "E-04" | "E-05" | "E-43"
                );
                if structural_id != matches!(check, Check::Structural) {
                    return Err(fail(
                        "check `structural` is for the structural edits E-01..E-05 and E-43 only, \
                         and they use no other check"
                            .into(),
                    ));
                }
                rules.push(Rule {
                    edit: Arc::from(r.edit.as_str()),
                    title: r.title.clone(),
                    check,
                    check_name: r.check.clone(),
                    severity,
                    stc: r.stc.as_deref().map(stc).transpose()?,
                    stc_extra: r
                        .stc_extra
                        .iter()
                        .map(|s| stc(s))
                        .collect::<Result<_, _>>()?,
                    stc_variants: variants,
                    payers,
                    kinds,
                    effective,
                    expires,
                    source: r.source.clone(),
                    verified: r.verified,
                    explain: r.explain.clone(),
                    fix: r.fix.clone(),
                    params_text: r.params.iter().map(|(k, v)| format!("{k} = {v}")).collect(),
                    origin: Arc::from(format!(
                        "{}:{line} (pack {} {})",
                        Path::new(name)
                            .file_name()
                            .map_or_else(|| name.to_string(), |f| f.to_string_lossy().into_owned()),
                        pack.name,
                        pack.version
                    )),
                });
                // Overlap with an earlier rule of the same edit, payer scope, kind and dates.
                let new = rules.len() - 1;
                if let Some(prev) = rules[..new].iter().find(|o| overlaps(o, &rules[new])) {
                    return Err(fail(format!(
                        "overlaps the rule at {} (same edit, payers, kind and dates); \
                         give them different payers, kinds or effective dates",
                        prev.origin
                    )));
                }
            }
        }
        if rules.is_empty() {
            return Err(RuleError {
                file: origin.to_owned(),
                line: 0,
                message: "no [[rule]] entries".into(),
            });
        }
        let mut tables = Tables::default();
        tables.add(
            BUNDLED_TABLES
                .iter()
                .map(|(name, bytes)| Table::parse(name, bytes).map(Table::embedded))
                .collect::<Result<_, _>>()?,
        )?;
        let selection = select_table(&rules, profiles.len(), &tables);
        let fixed = fixed_choices(&rules, &selection);
        let code_index = index_code_sets(&mut rules);
        Ok(RuleSet {
            pack,
            origin: origin.to_owned(),
            profiles,
            codesets,
            rules,
            tables,
            selection,
            fixed,
            code_index,
        })
    }

    /// Rules that apply to a claim: per edit, the explicit payer rule in force on `dos` if
    /// there is one, else the `"*"` rule in force.
    pub fn applicable(
        &self,
        profile: Option<usize>,
        kind: Kind,
        dos: Option<Date>,
        out: &mut Vec<usize>,
    ) {
        out.clear();
        let at = slot(profile, kind);
        if let Some(Some(rules)) = self.fixed.get(at) {
            out.extend_from_slice(rules);
            return;
        }
        let Some(groups) = self.selection.get(at) else {
            return;
        };
        for g in groups {
            // Explicit payer rules come first in each group.
            if let Some(&i) = g.iter().find(|&&i| self.rules[i].in_force(dos)) {
                out.push(i);
            }
        }
    }

    /// The rules of one edit id.
    pub fn rules_of<'s>(&'s self, edit: &'s str) -> impl Iterator<Item = &'s Rule> + 's {
        self.rules.iter().filter(move |r| &*r.edit == edit)
    }
}

/// Numbers the code sets the rules' checks test lines against.
fn index_code_sets(rules: &mut [Rule]) -> CodeIndex {
    let mut index = CodeIndex::new();
    for r in rules {
        for set in r.check.line_code_sets_mut() {
            index.number(set);
        }
    }
    index
}

/// Reads table files in parallel; with `want`, each must be of that kind.
fn load_tables(paths: &[PathBuf], want: Option<TableKind>) -> Result<Vec<Table>, RuleError> {
    paths
        .par_iter()
        .map(|p| {
            let t = Table::load(p)?;
            match want {
                Some(k) if t.info().kind != k => Err(TableError {
                    file: p.display().to_string(),
                    line: 0,
                    message: match k {
                        TableKind::Ptp => "an MUE table, not an NCCI PTP table".into(),
                        TableKind::Mue => "an NCCI PTP table, not an MUE table".into(),
                    },
                }),
                _ => Ok(t),
            }
        })
        .collect::<Result<Vec<_>, TableError>>()
        .map_err(RuleError::from)
}

/// For each entry of a selection table, the first rule of every group when none of them has an
/// effective or expiry date (so [`RuleSet::applicable`] chooses them on any date of service).
fn fixed_choices(rules: &[Rule], selection: &[Vec<Vec<usize>>]) -> Vec<Option<Vec<usize>>> {
    selection
        .iter()
        .map(|groups| {
            groups
                .iter()
                .map(|g| {
                    let &i = g.first()?;
                    let r = rules.get(i)?;
                    (r.effective.is_none() && r.expires.is_none()).then_some(i)
                })
                .collect()
        })
        .collect()
}

/// Whether two rules would both apply to the same claims: same edit, a common kind and payer
/// scope and overlapping dates. A rule reading CMS PTP tables may overlap one that does not
/// (it takes precedence when the tables are loaded).
fn overlaps(a: &Rule, b: &Rule) -> bool {
    if a.edit != b.edit
        || !a.kinds.iter().any(|k| b.kinds.contains(k))
        || a.check.needs_cms_ptp() != b.check.needs_cms_ptp()
    {
        return false;
    }
    let payers = match (&a.payers, &b.payers) {
        (PayerScope::All, PayerScope::All) => true,
        (PayerScope::Profiles(x), PayerScope::Profiles(y)) => x.iter().any(|p| y.contains(p)),
        _ => false,
    };
    if !payers {
        return false;
    }
    let starts_before_end = |s: Option<Date>, e: Option<Date>| match (s, e) {
        (Some(s), Some(e)) => s < e,
        _ => true,
    };
    starts_before_end(a.effective, b.expires) && starts_before_end(b.effective, a.expires)
}

fn select_table(rules: &[Rule], n_profiles: usize, tables: &Tables) -> Vec<Vec<Vec<usize>>> {
    let mut table = vec![Vec::new(); (n_profiles + 1) * 2];
    let profiles = std::iter::once(None).chain((0..n_profiles).map(Some));
    for profile in profiles {
        for kind in [Kind::Professional, Kind::Institutional] {
            let mut order: Vec<Arc<str>> = Vec::new();
            let mut groups: Vec<Vec<usize>> = Vec::new();
            for (i, r) in rules.iter().enumerate() {
                if !r.kinds.contains(&kind) {
                    continue;
                }
                if r.check.needs_cms_ptp()
                    && tables.ptp(Provenance::Cms, Setting::of(kind)).is_none()
                {
                    continue;
                }
                match (&r.payers, profile) {
                    (PayerScope::All, _) => {}
                    (PayerScope::Profiles(ps), Some(p)) if ps.contains(&p) => {}
                    _ => continue,
                }
                let g = match order.iter().position(|e| *e == r.edit) {
                    Some(g) => g,
                    None => {
                        order.push(r.edit.clone());
                        groups.push(Vec::new());
                        groups.len() - 1
                    }
                };
                groups[g].push(i);
            }
            // Explicit payer rules before "*" rules; within each, rules reading the CMS PTP
            // tables first; otherwise file order.
            for g in &mut groups {
                g.sort_by_key(|&j| {
                    (
                        matches!(rules[j].payers, PayerScope::All),
                        !rules[j].check.needs_cms_ptp(),
                    )
                });
            }
            table[slot(profile, kind)] = groups;
        }
    }
    table
}

fn valid_edit_id(s: &str) -> bool {
    s.strip_prefix("E-")
        .is_some_and(|n| (2..=3).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
}

fn valid_stc(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    (2..=3).contains(&parts.len())
        && parts[0].len() == 2
        && parts[0].starts_with('A')
        && !parts[1].is_empty()
        && parts[1].bytes().all(|b| b.is_ascii_digit())
        && parts
            .get(2)
            .is_none_or(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_alphanumeric()))
}
