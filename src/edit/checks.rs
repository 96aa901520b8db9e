//! The kinds of check, in Rust; which codes, limits and lists they use comes from the rule
//! pack. Each check reads a claim's [`Facts`] and reports hits; the engine turns hits into
//! findings with the rule's edit id, severity and 277CA code.

use std::sync::Arc;

use regex::Regex;

use super::cms::{Code, MueEditions, Provenance, Setting, TableKind, Tables};
use super::codes::CodeSet;
use super::facts::{Facts, Few, Line, Loc};
use super::payer::Profiles;
use super::rules::Params;
use crate::claim::{Date, Kind, Money};
use crate::history::small::SmallList;

/// What a check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// LX01 of the line, for line-level findings.
    pub line: Option<u32>,
    /// Where it points.
    pub loc: Loc,
    /// Plain message (no names, member ids or birth dates).
    pub message: String,
    /// Finding variant, selecting the rule's `stc_variants` entry.
    pub variant: Option<&'static str>,
    /// The CMS table that fired, named with its edition and file (prefixed to the finding's
    /// rule origin).
    pub table: Option<Arc<str>>,
}

/// What a check may read besides the claim.
pub struct Context<'a> {
    /// The payer profiles and directory.
    pub profiles: &'a Profiles,
    /// The run's clock, for dates in the future when the file has no BHT04.
    pub today: Date,
    /// The CMS tables and curated excerpt the rule set carries.
    pub tables: &'a Tables,
}

/// Where a `ptp_pairs` rule takes its pairs from (its `table` parameter).
#[derive(Clone, Debug)]
pub enum PairSource {
    /// The loaded tables of this provenance for the claim's setting (practitioner for 837P,
    /// hospital outpatient for 837I): `table = "cms"` or `table = "excerpt"`. A `"cms"` rule
    /// is applied only to claim kinds whose CMS tables are loaded.
    Tables(Provenance),
    /// Pairs listed in the rule (`pairs`), named `label` (its `table` text) in messages.
    Listed {
        /// The pairs.
        pairs: Vec<Pair>,
        /// How messages name the list.
        label: String,
    },
}

/// A NCCI-style procedure-to-procedure pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    /// Column 1 code.
    pub column1: Vec<u8>,
    /// Column 2 code.
    pub column2: Vec<u8>,
    /// Modifier indicator: `0` never bypassed, `1` bypassed by an associated modifier, `9` no edit.
    pub indicator: u8,
}

/// A kind of check with its values.
#[derive(Clone, Debug)]
pub enum Check {
    /// E-06: the payer id is in the configured payer set.
    PayerKnown,
    /// E-07: line charges add up to CLM02.
    ChargesBalance,
    /// E-08: CLM05-3 is an allowed frequency code.
    FrequencyCode { allowed: CodeSet },
    /// E-09: replacement/void claims carry the original claim number.
    OriginalClaimReference {
        frequencies: CodeSet,
        qualifier: Vec<u8>,
    },
    /// E-10: place of service of lines with these codes (837P).
    PlaceOfService { codes: CodeSet, allowed: CodeSet },
    /// E-11: type of bill of claims with these codes (837I).
    TypeOfBill { codes: CodeSet, allowed: CodeSet },
    /// E-12: subscriber member id present and of the payer's format.
    MemberIdFormat { pattern: Regex },
    /// E-13: patient birth date valid and not after the service; gender code valid.
    PatientDemographics { genders: CodeSet },
    /// E-14: NPIs are 10 digits with a valid check digit.
    NpiCheckDigit { billing: bool, rendering: bool },
    /// E-15: dates of service not in the future, and inside the statement period (837I).
    ServiceDates,
    /// E-16: codes used before they existed.
    CodeValidFrom { codes: CodeSet, from: Date },
    /// E-17: a principal diagnosis is present.
    PrincipalDiagnosis { qualifiers: CodeSet },
    /// E-18: every line points to diagnoses that exist (837P).
    DiagnosisPointers,
    /// E-19, E-22: a diagnosis of a line (with one of `codes`, or any line) is in a flagged list.
    DiagnosisFlagged {
        codes: Option<CodeSet>,
        diagnoses: CodeSet,
        what: String,
    },
    /// E-20: a line with one of `codes` has a supporting diagnosis.
    DiagnosisMustSupport { codes: CodeSet, supporting: CodeSet },
    /// E-21: the supporting diagnoses of a line are all in an excluded list.
    DiagnosisOnlyExcluded {
        codes: CodeSet,
        supporting: CodeSet,
        excluded: CodeSet,
    },
    /// E-23: a flagged diagnosis without a companion diagnosis.
    DiagnosisNeedsCompanion {
        codes: CodeSet,
        diagnoses: CodeSet,
        companions: CodeSet,
    },
    /// E-24: an add-on code has its primary on the same date (and rendering provider).
    AddonRequiresPrimary {
        pairs: Vec<(CodeSet, CodeSet, String)>,
    },
    /// E-25: units per line and lines per date of service; with `table`, a code's MUE and
    /// adjudication indicator from the loaded MUE table replace the limits.
    UnitsAndLines {
        codes: CodeSet,
        max_units_per_line: u32,
        max_lines_per_day: u32,
        table: Option<Provenance>,
    },
    /// E-26: units per date of service; with `table`, a code's MUE and adjudication indicator
    /// from the loaded MUE table replace the limit.
    UnitsPerDay {
        codes: CodeSet,
        max_units: u32,
        table: Option<Provenance>,
    },
    /// E-27: levels per side per session.
    LevelsPerSession {
        codes: CodeSet,
        bilateral: CodeSet,
        right: CodeSet,
        left: CodeSet,
        max_levels: u32,
    },
    /// E-28: contradictory laterality modifiers; bilateral units.
    BilateralConflict {
        codes: CodeSet,
        bilateral: CodeSet,
        right: CodeSet,
        left: CodeSet,
        bilateral_units: Option<u32>,
    },
    /// E-29, E-30, E-31: modifiers that must not be on these codes.
    ModifierNotAllowed { codes: CodeSet, modifiers: CodeSet },
    /// E-32: one of these modifiers must be on these codes.
    ModifierRequired { codes: CodeSet, modifiers: CodeSet },
    /// E-33, E-35: `others` on the same date as `codes` (unless bypassed by a modifier).
    SameDayPair {
        codes: CodeSet,
        others: CodeSet,
        bypass: CodeSet,
    },
    /// E-34: NCCI procedure-to-procedure pairs.
    PtpPairs { source: PairSource, bypass: CodeSet },
    /// E-36: non-covered code billed with a covered-looking diagnosis and no notice modifier.
    NoncoveredNeedsNotice {
        codes: CodeSet,
        diagnoses: CodeSet,
        notice: CodeSet,
    },
    /// E-40: Medicare hospital outpatient prior authorization UTN.
    UtnRequired {
        codes: CodeSet,
        bill_types: CodeSet,
        pattern: Regex,
    },
    /// E-41: prior authorization number required in these settings.
    PriorAuthRequired {
        codes: CodeSet,
        exempt_places: CodeSet,
        bill_types: Option<CodeSet>,
    },
    /// E-42: a group billing provider names a rendering provider.
    RenderingForGroup,
    /// E-37, E-38, E-39: member history, judged in input order by the history stage (not
    /// here); `regions` are the spinal regions it tracks (code set name and codes).
    History {
        check: crate::history::HistoryCheck,
        regions: Vec<(String, CodeSet)>,
    },
    /// E-01…E-05, E-43: found by the envelope and implementation-guide layers, not here.
    Structural,
}

/// The check names rule files may use, with their parameters.
pub const CHECKS: &[(&str, &str)] = &[
    ("payer_known", ""),
    ("charges_balance", ""),
    ("frequency_code", "allowed"),
    ("original_claim_reference", "frequencies, qualifier"),
    ("place_of_service", "codes, allowed"),
    ("type_of_bill", "codes, allowed"),
    ("member_id_format", "pattern"),
    ("patient_demographics", "genders"),
    ("npi_check_digit", "entities"),
    ("service_dates", ""),
    ("code_valid_from", "codes, from"),
    ("principal_diagnosis", "qualifiers"),
    ("diagnosis_pointers", ""),
    ("diagnosis_flagged", "codes?, diagnoses, what"),
    ("diagnosis_must_support", "codes, supporting"),
    ("diagnosis_only_excluded", "codes, supporting, excluded"),
    ("diagnosis_needs_companion", "codes, diagnoses, companions"),
    ("addon_requires_primary", "pairs"),
    (
        "units_and_lines",
        "codes, max_units_per_line, max_lines_per_day, table?",
    ),
    ("units_per_day", "codes, max_units, table?"),
    (
        "levels_per_session",
        "codes, bilateral, right, left, max_levels",
    ),
    (
        "bilateral_conflict",
        "codes, bilateral, right, left, bilateral_units?",
    ),
    ("modifier_not_allowed", "codes, modifiers"),
    ("modifier_required", "codes, modifiers"),
    ("same_day_pair", "codes, others, bypass?"),
    ("ptp_pairs", "table, bypass, pairs?"),
    ("noncovered_needs_notice", "codes, diagnoses, notice"),
    ("utn_required", "codes, bill_types, pattern"),
    ("prior_auth_required", "codes, exempt_places?, bill_types?"),
    ("rendering_for_group", ""),
    (
        "history_sessions",
        "codes, regions, window_days, max_sessions",
    ),
    ("history_interval", "codes, regions, min_days"),
    ("history_prior_blocks", "codes, blocks, regions, min_blocks"),
    ("structural", ""),
];

fn regex(p: &Params<'_>, key: &str) -> Result<Regex, String> {
    let src = p.string(key)?;
    // The whole value must match: anchor the pattern whatever the rule file wrote.
    Regex::new(&format!("^(?:{src})$")).map_err(|e| format!("params.{key}: bad pattern: {e}"))
}

/// The `table` parameter of a check that reads tables: `"cms"` or `"excerpt"`.
fn table_param(p: &Params<'_>) -> Result<Option<Provenance>, String> {
    if !p.has("table") {
        return Ok(None);
    }
    match p.string("table")?.as_str() {
        "cms" => Ok(Some(Provenance::Cms)),
        "excerpt" => Ok(Some(Provenance::Excerpt)),
        other => Err(format!(
            "params.table: `{other}` (use \"cms\" for the CMS quarterly tables or \"excerpt\" for \
             the curated excerpt files)"
        )),
    }
}

fn date(p: &Params<'_>, key: &str) -> Result<Date, String> {
    let s = p.string(key)?;
    let digits: Vec<u8> = s.bytes().filter(|&b| b != b'-').collect();
    Date::parse_d8(&digits).ok_or_else(|| format!("params.{key}: expected YYYY-MM-DD"))
}

impl Check {
    /// The finding variants a check reports (keys a rule's `stc_variants` may use).
    pub fn variants(&self) -> &'static [&'static str] {
        match self {
            Check::MemberIdFormat { .. } => &["missing"],
            Check::PatientDemographics { .. } => &["birth_date", "gender"],
            Check::NpiCheckDigit { .. } => &["85", "82"],
            Check::ServiceDates => &["future", "outside_statement"],
            Check::UnitsAndLines { .. } => &["units", "lines"],
            Check::UtnRequired { .. } => &["missing", "invalid"],
            Check::RenderingForGroup => &["missing"],
            _ => &[],
        }
    }

    /// Whether `run` finds nothing by construction (structural and history checks are judged
    /// elsewhere), so the engine need not call it.
    pub fn runs_elsewhere(&self) -> bool {
        matches!(self, Check::Structural | Check::History { .. })
    }

    /// Whether the check has per-date-of-service unit limits ([`Check::day_limits`]).
    pub fn has_day_limits(&self) -> bool {
        matches!(
            self,
            Check::UnitsAndLines { .. } | Check::UnitsPerDay { .. }
        )
    }

    /// Whether the rule applies only when CMS PTP tables are loaded for the claim's kind (a
    /// `ptp_pairs` rule with `table = "cms"`); without them the edit's other rules apply.
    pub fn needs_cms_ptp(&self) -> bool {
        matches!(
            self,
            Check::PtpPairs {
                source: PairSource::Tables(Provenance::Cms),
                ..
            }
        )
    }

    /// The tables a check reads, if any.
    pub fn reads_table(&self) -> Option<(TableKind, Provenance)> {
        match self {
            Check::PtpPairs {
                source: PairSource::Tables(p),
                ..
            } => Some((TableKind::Ptp, *p)),
            Check::UnitsAndLines { table, .. } | Check::UnitsPerDay { table, .. } => {
                table.map(|p| (TableKind::Mue, p))
            }
            _ => None,
        }
    }

    /// Builds a check from its name and parameters, refusing unknown names and parameters.
    pub fn compile(name: &str, p: &Params<'_>) -> Result<Check, String> {
        let Some((_, spec)) = CHECKS.iter().find(|(n, _)| *n == name) else {
            return Err(format!(
                "unknown check `{name}` (known: {})",
                CHECKS.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
            ));
        };
        let allowed: Vec<&str> = spec
            .split(", ")
            .filter(|s| !s.is_empty())
            .map(|s| s.trim_end_matches('?'))
            .collect();
        if let Some(k) = p.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!(
                "check `{name}` has no parameter `{k}` (it takes: {})",
                if spec.is_empty() { "none" } else { spec }
            ));
        }
        Ok(match name {
            "payer_known" => Check::PayerKnown,
            "charges_balance" => Check::ChargesBalance,
            "frequency_code" => Check::FrequencyCode {
                allowed: p.codes("allowed")?,
            },
            "original_claim_reference" => Check::OriginalClaimReference {
                frequencies: p.codes("frequencies")?,
                qualifier: p.string("qualifier")?.into_bytes(),
            },
            "place_of_service" => Check::PlaceOfService {
                codes: p.codes("codes")?,
                allowed: p.codes("allowed")?,
            },
            "type_of_bill" => Check::TypeOfBill {
                codes: p.codes("codes")?,
                allowed: p.codes("allowed")?,
            },
            "member_id_format" => Check::MemberIdFormat {
                pattern: regex(p, "pattern")?,
            },
            "patient_demographics" => Check::PatientDemographics {
                genders: p.codes("genders")?,
            },
            "npi_check_digit" => {
                let e = p.strings("entities")?;
                if let Some(bad) = e.iter().find(|x| !matches!(x.as_str(), "85" | "82")) {
                    return Err(format!("params.entities: `{bad}` (use 85, 82)"));
                }
                Check::NpiCheckDigit {
                    billing: e.iter().any(|x| x == "85"),
                    rendering: e.iter().any(|x| x == "82"),
                }
            }
            "service_dates" => Check::ServiceDates,
            "code_valid_from" => Check::CodeValidFrom {
                codes: p.codes("codes")?,
                from: date(p, "from")?,
            },
            "principal_diagnosis" => Check::PrincipalDiagnosis {
                qualifiers: p.codes("qualifiers")?,
            },
            "diagnosis_pointers" => Check::DiagnosisPointers,
            "diagnosis_flagged" => Check::DiagnosisFlagged {
                codes: p
                    .codes_or_empty("codes")
                    .map(|c| (!c.is_empty()).then_some(c))?,
                diagnoses: p.codes("diagnoses")?,
                what: p.string("what")?,
            },
            "diagnosis_must_support" => Check::DiagnosisMustSupport {
                codes: p.codes("codes")?,
                supporting: p.codes("supporting")?,
            },
            "diagnosis_only_excluded" => Check::DiagnosisOnlyExcluded {
                codes: p.codes("codes")?,
                supporting: p.codes("supporting")?,
                excluded: p.codes("excluded")?,
            },
            "diagnosis_needs_companion" => Check::DiagnosisNeedsCompanion {
                codes: p.codes("codes")?,
                diagnoses: p.codes("diagnoses")?,
                companions: p.codes("companions")?,
            },
            "addon_requires_primary" => {
                let mut pairs = Vec::new();
                for row in p.string_rows("pairs")? {
                    let [addon, primaries @ ..] = row.as_slice() else {
                        return Err("params.pairs: each row is [ADDON, PRIMARY, …]".into());
                    };
                    if primaries.is_empty() {
                        return Err("params.pairs: each row is [ADDON, PRIMARY, …]".into());
                    }
                    let mut a = CodeSet::default();
                    a.insert(addon);
                    let mut b = CodeSet::default();
                    primaries.iter().for_each(|c| b.insert(c));
                    pairs.push((a, b, primaries.join("/")));
                }
                Check::AddonRequiresPrimary { pairs }
            }
            "units_and_lines" => Check::UnitsAndLines {
                codes: p.codes("codes")?,
                max_units_per_line: p.int("max_units_per_line")?,
                max_lines_per_day: p.int("max_lines_per_day")?,
                table: table_param(p)?,
            },
            "units_per_day" => Check::UnitsPerDay {
                codes: p.codes("codes")?,
                max_units: p.int("max_units")?,
                table: table_param(p)?,
            },
            "levels_per_session" => Check::LevelsPerSession {
                codes: p.codes("codes")?,
                bilateral: p.codes("bilateral")?,
                right: p.codes("right")?,
                left: p.codes("left")?,
                max_levels: p.int("max_levels")?,
            },
            "bilateral_conflict" => Check::BilateralConflict {
                codes: p.codes("codes")?,
                bilateral: p.codes("bilateral")?,
                right: p.codes("right")?,
                left: p.codes("left")?,
                bilateral_units: p.int_opt("bilateral_units")?,
            },
            "modifier_not_allowed" => Check::ModifierNotAllowed {
                codes: p.codes("codes")?,
                modifiers: p.codes("modifiers")?,
            },
            "modifier_required" => Check::ModifierRequired {
                codes: p.codes("codes")?,
                modifiers: p.codes("modifiers")?,
            },
            "same_day_pair" => Check::SameDayPair {
                codes: p.codes("codes")?,
                others: p.codes("others")?,
                bypass: p.codes_or_empty("bypass")?,
            },
            "ptp_pairs" => {
                let label = p.string("table")?;
                let source = if matches!(label.as_str(), "cms" | "excerpt") {
                    if p.has("pairs") {
                        return Err(format!(
                            "params.pairs: not with table = \"{label}\" (the pairs come from the tables)"
                        ));
                    }
                    PairSource::Tables(table_param(p)?.unwrap_or(Provenance::Cms))
                } else if !p.has("pairs") {
                    return Err(format!(
                        "params.table: `{label}`: use \"cms\" (the CMS quarterly tables), \
                         \"excerpt\" (the curated excerpt files), or list the pairs in params.pairs \
                         and name the list in table"
                    ));
                } else {
                    let mut pairs = Vec::new();
                    for row in p.string_rows("pairs")? {
                        let [c1, c2, mi] = row.as_slice() else {
                            return Err(
                                "params.pairs: each row is [COLUMN1, COLUMN2, INDICATOR]".into()
                            );
                        };
                        let indicator = match mi.as_str() {
                            "0" => 0,
                            "1" => 1,
                            "9" => 9,
                            other => {
                                return Err(format!(
                                    "params.pairs: modifier indicator `{other}` (0, 1 or 9)"
                                ))
                            }
                        };
                        pairs.push(Pair {
                            column1: c1.as_bytes().to_vec(),
                            column2: c2.as_bytes().to_vec(),
                            indicator,
                        });
                    }
                    PairSource::Listed { pairs, label }
                };
                Check::PtpPairs {
                    source,
                    bypass: p.codes("bypass")?,
                }
            }
            "noncovered_needs_notice" => Check::NoncoveredNeedsNotice {
                codes: p.codes("codes")?,
                diagnoses: p.codes("diagnoses")?,
                notice: p.codes("notice")?,
            },
            "utn_required" => Check::UtnRequired {
                codes: p.codes("codes")?,
                bill_types: p.codes("bill_types")?,
                pattern: regex(p, "pattern")?,
            },
            "prior_auth_required" => Check::PriorAuthRequired {
                codes: p.codes("codes")?,
                exempt_places: p.codes_or_empty("exempt_places")?,
                bill_types: p
                    .codes_or_empty("bill_types")
                    .map(|c| (!c.is_empty()).then_some(c))?,
            },
            "rendering_for_group" => Check::RenderingForGroup,
            "history_sessions" | "history_interval" | "history_prior_blocks" => {
                use crate::history::HistoryCheck;
                let regions = p
                    .strings("regions")?
                    .iter()
                    .map(|r| {
                        let set = r.strip_prefix('@').ok_or_else(|| {
                            format!("params.regions: `{r}` must name a code set (@name)")
                        })?;
                        Ok((set.to_owned(), p.codeset(set)?))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                let days = |key: &str| p.int(key).map(i64::from);
                let check = match name {
                    "history_sessions" => HistoryCheck::Sessions {
                        codes: p.codes("codes")?,
                        window_days: days("window_days")?,
                        max_sessions: p.int("max_sessions")? as usize,
                    },
                    "history_interval" => HistoryCheck::Interval {
                        codes: p.codes("codes")?,
                        min_days: days("min_days")?,
                    },
                    _ => HistoryCheck::PriorBlocks {
                        codes: p.codes("codes")?,
                        blocks: p.codes("blocks")?,
                        min_blocks: p.int("min_blocks")? as usize,
                    },
                };
                Check::History { check, regions }
            }
            "structural" => Check::Structural,
            _ => return Err(format!("unknown check `{name}`")),
        })
    }

    /// The code sets a check tests a line's code, modifiers or diagnoses against (those a
    /// [`super::codes::CodeIndex`] numbers).
    pub fn line_code_sets_mut(&mut self) -> Vec<&mut CodeSet> {
        match self {
            Check::PlaceOfService { codes, .. }
            | Check::TypeOfBill { codes, .. }
            | Check::CodeValidFrom { codes, .. }
            | Check::UnitsAndLines { codes, .. }
            | Check::UnitsPerDay { codes, .. }
            | Check::UtnRequired { codes, .. }
            | Check::PriorAuthRequired { codes, .. } => vec![codes],
            Check::DiagnosisFlagged {
                codes, diagnoses, ..
            } => codes.iter_mut().chain([diagnoses]).collect(),
            Check::DiagnosisMustSupport { codes, supporting } => vec![codes, supporting],
            Check::DiagnosisOnlyExcluded {
                codes,
                supporting,
                excluded,
            } => vec![codes, supporting, excluded],
            Check::DiagnosisNeedsCompanion {
                codes,
                diagnoses,
                companions,
            } => vec![codes, diagnoses, companions],
            Check::AddonRequiresPrimary { pairs } => {
                pairs.iter_mut().flat_map(|(a, b, _)| [a, b]).collect()
            }
            Check::LevelsPerSession {
                codes,
                bilateral,
                right,
                left,
                ..
            }
            | Check::BilateralConflict {
                codes,
                bilateral,
                right,
                left,
                ..
            } => vec![codes, bilateral, right, left],
            Check::ModifierNotAllowed { codes, modifiers }
            | Check::ModifierRequired { codes, modifiers } => vec![codes, modifiers],
            Check::SameDayPair {
                codes,
                others,
                bypass,
            } => vec![codes, others, bypass],
            Check::PtpPairs { bypass, .. } => vec![bypass],
            Check::NoncoveredNeedsNotice {
                codes,
                diagnoses,
                notice,
            } => vec![codes, diagnoses, notice],
            _ => Vec::new(),
        }
    }

    /// The history check and the regions it tracks, for a history rule.
    pub fn history(&self) -> Option<(&crate::history::HistoryCheck, &[(String, CodeSet)])> {
        match self {
            Check::History { check, regions } => Some((check, regions)),
            _ => None,
        }
    }

    /// Whether the check may find anything on a claim whose lines' codes are together in
    /// `lines` (the union of their [`Line::code_sets`]): false when every hit needs a line
    /// whose code is in a set none of them is in, so the engine need not run it.
    #[inline]
    pub fn may_fire(&self, lines: super::codes::Sets) -> bool {
        match self {
            Check::PlaceOfService { codes, .. }
            | Check::TypeOfBill { codes, .. }
            | Check::CodeValidFrom { codes, .. }
            | Check::DiagnosisFlagged {
                codes: Some(codes), ..
            }
            | Check::DiagnosisMustSupport { codes, .. }
            | Check::DiagnosisOnlyExcluded { codes, .. }
            | Check::DiagnosisNeedsCompanion { codes, .. }
            | Check::UnitsAndLines { codes, .. }
            | Check::UnitsPerDay { codes, .. }
            | Check::LevelsPerSession { codes, .. }
            | Check::BilateralConflict { codes, .. }
            | Check::ModifierNotAllowed { codes, .. }
            | Check::ModifierRequired { codes, .. }
            | Check::NoncoveredNeedsNotice { codes, .. }
            | Check::UtnRequired { codes, .. }
            | Check::PriorAuthRequired { codes, .. } => codes.may_hold(lines),
            Check::SameDayPair { codes, others, .. } => {
                codes.may_hold(lines) && others.may_hold(lines)
            }
            Check::AddonRequiresPrimary { pairs } => pairs.iter().any(|p| p.0.may_hold(lines)),
            _ => true,
        }
    }

    /// Runs the check on one claim, pushing what it finds.
    pub fn run(&self, f: &Facts<'_>, cx: &Context<'_>, out: &mut Vec<Hit>) {
        match self {
            Check::PtpPairs { source, bypass } => run_ptp(source, bypass, f, cx, out),
            Check::UnitsAndLines { .. } | Check::UnitsPerDay { .. } => self.run_units(f, cx, out),
            Check::PayerKnown => payer_known(f, cx, out),
            Check::ChargesBalance => charges_balance(f, out),
            Check::FrequencyCode { allowed } => frequency_code(allowed, f, out),
            Check::OriginalClaimReference {
                frequencies,
                qualifier,
            } => original_claim_reference(frequencies, qualifier, f, out),
            Check::PlaceOfService { codes, allowed } => place_of_service(codes, allowed, f, out),
            Check::TypeOfBill { codes, allowed } => type_of_bill(codes, allowed, f, out),
            Check::MemberIdFormat { pattern } => member_id_format(pattern, f, out),
            Check::PatientDemographics { genders } => patient_demographics(genders, f, out),
            Check::NpiCheckDigit { billing, rendering } => {
                npi_check_digit(billing, rendering, f, out)
            }
            Check::ServiceDates => service_dates(f, cx, out),
            Check::CodeValidFrom { codes, from } => code_valid_from(codes, from, f, out),
            Check::PrincipalDiagnosis { qualifiers } => principal_diagnosis(qualifiers, f, out),
            Check::DiagnosisPointers => diagnosis_pointers(f, out),
            Check::DiagnosisFlagged {
                codes,
                diagnoses,
                what,
            } => diagnosis_flagged(codes, diagnoses, what, f, out),
            Check::DiagnosisMustSupport { codes, supporting } => {
                diagnosis_must_support(codes, supporting, f, out)
            }
            Check::DiagnosisOnlyExcluded {
                codes,
                supporting,
                excluded,
            } => diagnosis_only_excluded(codes, supporting, excluded, f, out),
            Check::DiagnosisNeedsCompanion {
                codes,
                diagnoses,
                companions,
            } => diagnosis_needs_companion(codes, diagnoses, companions, f, out),
            Check::AddonRequiresPrimary { pairs } => addon_requires_primary(pairs, f, out),
            Check::LevelsPerSession {
                codes,
                bilateral,
                right,
                left,
                max_levels,
            } => levels_per_session(codes, bilateral, right, left, max_levels, f, out),
            Check::BilateralConflict {
                codes,
                bilateral,
                right,
                left,
                bilateral_units,
            } => bilateral_conflict(codes, bilateral, right, left, bilateral_units, f, out),
            Check::ModifierNotAllowed { codes, modifiers } => {
                modifier_not_allowed(codes, modifiers, f, out)
            }
            Check::ModifierRequired { codes, modifiers } => {
                modifier_required(codes, modifiers, f, out)
            }
            Check::SameDayPair {
                codes,
                others,
                bypass,
            } => same_day_pair(codes, others, bypass, f, out),
            Check::NoncoveredNeedsNotice {
                codes,
                diagnoses,
                notice,
            } => noncovered_needs_notice(codes, diagnoses, notice, f, out),
            Check::UtnRequired {
                codes,
                bill_types,
                pattern,
            } => utn_required(codes, bill_types, pattern, f, out),
            Check::PriorAuthRequired {
                codes,
                exempt_places,
                bill_types,
            } => prior_auth_required(codes, exempt_places, bill_types, f, out),
            // Judged by the history stage, in input order, against the member's history.
            Check::Structural | Check::History { .. } => {}
            Check::RenderingForGroup => rendering_for_group(f, out),
        }
    }
}

/// Records one finding of a check.
fn hit(
    out: &mut Vec<Hit>,
    line: Option<&Line<'_>>,
    loc: Loc,
    message: String,
    variant: Option<&'static str>,
) {
    out.push(Hit {
        line: line.map(|l| l.number),
        loc,
        message,
        variant,
        table: None,
    });
}

/// E-06: the payer id is in the configured payer set.
fn payer_known(f: &Facts<'_>, cx: &Context<'_>, out: &mut Vec<Hit>) {
    if !cx.profiles.knows_payer_id(f.payer_id) {
        hit(
            out,
            None,
            f.payer_loc.unwrap_or(f.clm),
            format!(
                "payer id {} (2010BB NM109) is not in the configured payer set",
                text(f.payer_id)
            ),
            None,
        );
    }
}

/// E-07: line charges add up to CLM02.
fn charges_balance(f: &Facts<'_>, out: &mut Vec<Hit>) {
    if f.lines.is_empty() {
        return;
    }
    let (Some(total), Some(sum)) = (
        f.charge,
        f.lines.iter().map(|l| l.charge).sum::<Option<Money>>(),
    ) else {
        return;
    };
    if total != sum {
        hit(
            out,
            None,
            f.clm,
            format!(
                "claim total charge (CLM02) is {total} but the {} line charges sum to {sum}",
                f.lines.len()
            ),
            None,
        );
    }
}

/// E-08: CLM05-3 is an allowed frequency code.
fn frequency_code(allowed: &CodeSet, f: &Facts<'_>, out: &mut Vec<Hit>) {
    if !allowed.contains(f.frequency) {
        hit(
            out,
            None,
            f.clm,
            format!(
                "claim frequency code (CLM05-3) `{}` is not one of {}",
                text(f.frequency),
                allowed.summary()
            ),
            None,
        );
    }
}

/// E-09: replacement/void claims carry the original claim number.
fn original_claim_reference(
    frequencies: &CodeSet,
    qualifier: &[u8],
    f: &Facts<'_>,
    out: &mut Vec<Hit>,
) {
    if frequencies.contains(f.frequency) && f.reference(qualifier).is_none() {
        hit(out,
                        None,
                        f.clm,
                        format!(
                            "frequency code {} (replacement or void) needs the original claim number in 2300 REF*{}",
                            text(f.frequency),
                            text(qualifier)
                        ),
                        None,
                    );
    }
}

/// E-10: place of service of lines with these codes (837P).
fn place_of_service(codes: &CodeSet, allowed: &CodeSet, f: &Facts<'_>, out: &mut Vec<Hit>) {
    if f.kind() != Kind::Professional {
        return;
    }
    for l in f.lines.iter().filter(|l| l.code_in(codes)) {
        let pos = f.line_place(l);
        if !allowed.contains(pos) {
            hit(
                out,
                Some(l),
                l.loc,
                format!(
                    "{} billed in place of service {} (allowed: {})",
                    text(l.code),
                    text(pos),
                    allowed.summary()
                ),
                None,
            );
        }
    }
}

/// E-11: type of bill of claims with these codes (837I).
fn type_of_bill(codes: &CodeSet, allowed: &CodeSet, f: &Facts<'_>, out: &mut Vec<Hit>) {
    if f.kind() != Kind::Institutional {
        return;
    }
    if let Some(l) = f.lines.iter().find(|l| l.code_in(codes)) {
        let tob = f.type_of_bill();
        if !allowed.contains(&tob) {
            hit(
                out,
                None,
                f.clm,
                format!(
                    "{} billed on type of bill {} (allowed: {})",
                    text(l.code),
                    text(&tob),
                    allowed.summary()
                ),
                None,
            );
        }
    }
}

/// E-12: subscriber member id present and of the payer's format.
fn member_id_format(pattern: &Regex, f: &Facts<'_>, out: &mut Vec<Hit>) {
    let loc = f.subscriber_loc.unwrap_or(f.clm);
    match f.member_id {
        None => hit(
            out,
            None,
            loc,
            "subscriber member id (2010BA NM109) is missing".into(),
            Some("missing"),
        ),
        Some(id) => {
            let ok = std::str::from_utf8(id).is_ok_and(|s| pattern.is_match(s));
            if !ok {
                hit(out,
                                None,
                                loc,
                                format!(
                                    "subscriber member id (2010BA NM109, {} characters) is not in the payer's format",
                                    id.len()
                                ),
                                None,
                            );
            }
        }
    }
}

/// E-13: patient birth date valid and not after the service; gender code valid.
fn patient_demographics(genders: &CodeSet, f: &Facts<'_>, out: &mut Vec<Hit>) {
    let Some((dob, gender, loc)) = f.patient_dmg else {
        return;
    };
    if !dob.is_empty() {
        match Date::parse_d8(dob) {
            None => hit(
                out,
                None,
                loc,
                "patient birth date (DMG02) is not a valid CCYYMMDD date".into(),
                Some("birth_date"),
            ),
            Some(d) => {
                if f.date_of_service().is_some_and(|s| d > s) {
                    hit(
                        out,
                        None,
                        loc,
                        "patient birth date (DMG02) is after the date of service".into(),
                        Some("birth_date"),
                    );
                }
            }
        }
    }
    if !gender.is_empty() && !genders.contains(gender) {
        hit(
            out,
            None,
            loc,
            format!(
                "patient gender code (DMG03) is not one of {}",
                genders.summary()
            ),
            Some("gender"),
        );
    }
}

/// E-14: NPIs are 10 digits with a valid check digit.
fn npi_check_digit(billing: &bool, rendering: &bool, f: &Facts<'_>, out: &mut Vec<Hit>) {
    let mut check = |npi: &[u8], loc: Loc, line: Option<&Line<'_>>, who: &str, v| {
        if !npi_valid(npi) {
            hit(
                out,
                line,
                loc,
                format!(
                    "{who} NPI {} fails the NPI check digit or is not 10 digits",
                    text(npi)
                ),
                Some(v),
            );
        }
    };
    if *billing {
        if let Some((npi, loc)) = f.billing_npi {
            check(npi, loc, None, "billing provider (NM1*85)", "85");
        }
    }
    if *rendering {
        if let Some((npi, loc)) = f.rendering {
            check(npi, loc, None, "rendering provider (NM1*82)", "82");
        }
        for l in &f.lines {
            if let Some((npi, loc)) = l.rendering {
                check(npi, loc, Some(l), "line rendering provider (NM1*82)", "82");
            }
        }
    }
}

/// E-15: dates of service not in the future, and inside the statement period (837I).
fn service_dates(f: &Facts<'_>, cx: &Context<'_>, out: &mut Vec<Hit>) {
    let today = f.created.unwrap_or(cx.today);
    for l in &f.lines {
        let Some(d) = l.dates else { continue };
        if d.thru > today {
            hit(
                out,
                Some(l),
                l.loc,
                format!("date of service {} is after the file date {today}", d.thru),
                Some("future"),
            );
        } else if let (Kind::Institutional, Some(s)) = (f.kind(), f.statement) {
            if d.from < s.from || d.thru > s.thru {
                hit(
                    out,
                    Some(l),
                    l.loc,
                    format!(
                        "date of service {} is outside the statement period {}..{}",
                        d.from, s.from, s.thru
                    ),
                    Some("outside_statement"),
                );
            }
        }
    }
}

/// E-16: codes used before they existed.
fn code_valid_from(codes: &CodeSet, from: &Date, f: &Facts<'_>, out: &mut Vec<Hit>) {
    for l in f.lines.iter().filter(|l| l.code_in(codes)) {
        if let Some(d) = f.line_date(l).filter(|d| d < from) {
            hit(
                out,
                Some(l),
                l.loc,
                format!(
                    "{} is not valid for date of service {d} (valid from {from})",
                    text(l.code)
                ),
                None,
            );
        }
    }
}

/// E-17: a principal diagnosis is present.
fn principal_diagnosis(qualifiers: &CodeSet, f: &Facts<'_>, out: &mut Vec<Hit>) {
    if !f.diagnoses.iter().any(|d| qualifiers.contains(d.qualifier)) {
        hit(
            out,
            None,
            f.hi.unwrap_or(f.clm),
            format!(
                "no principal diagnosis (HI qualifier {})",
                qualifiers.summary()
            ),
            None,
        );
    }
}

/// E-18: every line points to diagnoses that exist (837P).
fn diagnosis_pointers(f: &Facts<'_>, out: &mut Vec<Hit>) {
    if f.kind() != Kind::Professional {
        return;
    }
    let n = f.diagnoses.len() as u32;
    for l in &f.lines {
        if l.pointers.is_empty() {
            hit(
                out,
                Some(l),
                l.loc,
                "line has no diagnosis pointer (SV107)".into(),
                None,
            );
        } else if let Some(p) = l.pointers.iter().find(|&&p| p == 0 || p > n) {
            hit(
                out,
                Some(l),
                l.loc,
                format!("diagnosis pointer {p} (SV107) points past the {n} diagnoses on the claim"),
                None,
            );
        }
    }
}

/// E-19, E-22: a diagnosis of a line (with one of `codes`, or any line) is in a flagged list.
fn diagnosis_flagged(
    codes: &Option<CodeSet>,
    diagnoses: &CodeSet,
    what: &str,
    f: &Facts<'_>,
    out: &mut Vec<Hit>,
) {
    for l in f
        .lines
        .iter()
        .filter(|l| codes.as_ref().is_none_or(|c| l.code_in(c)))
    {
        if let Some(d) = f.line_dx(l).find(|d| d.code_in(diagnoses)).map(|d| d.code) {
            hit(
                out,
                Some(l),
                l.loc,
                format!(
                    "diagnosis {} on the {} line is {what}",
                    text(d),
                    text(l.code)
                ),
                None,
            );
        }
    }
}

/// E-20: a line with one of `codes` has a supporting diagnosis.
fn diagnosis_must_support(
    codes: &CodeSet,
    supporting: &CodeSet,
    f: &Facts<'_>,
    out: &mut Vec<Hit>,
) {
    for l in f.lines.iter().filter(|l| l.code_in(codes)) {
        if !f.line_dx(l).any(|d| d.code_in(supporting)) {
            let dx: Vec<String> = f.line_diagnoses(l).map(text).collect();
            hit(
                out,
                Some(l),
                l.loc,
                format!(
                    "no diagnosis supporting {} ({}) is on the covered list",
                    text(l.code),
                    if dx.is_empty() {
                        "none".to_owned()
                    } else {
                        dx.join(", ")
                    }
                ),
                None,
            );
        }
    }
}

/// E-21: the supporting diagnoses of a line are all in an excluded list.
fn diagnosis_only_excluded(
    codes: &CodeSet,
    supporting: &CodeSet,
    excluded: &CodeSet,
    f: &Facts<'_>,
    out: &mut Vec<Hit>,
) {
    for l in f.lines.iter().filter(|l| l.code_in(codes)) {
        let mut support = f.line_dx(l).filter(|d| d.code_in(supporting)).peekable();
        if support.peek().is_some() && support.all(|d| d.code_in(excluded)) {
            hit(
                out,
                Some(l),
                l.loc,
                format!(
                    "{} is supported only by diagnoses that do not cover it ({})",
                    text(l.code),
                    excluded.summary()
                ),
                None,
            );
        }
    }
}

/// E-23: a flagged diagnosis without a companion diagnosis.
fn diagnosis_needs_companion(
    codes: &CodeSet,
    diagnoses: &CodeSet,
    companions: &CodeSet,
    f: &Facts<'_>,
    out: &mut Vec<Hit>,
) {
    for l in f.lines.iter().filter(|l| l.code_in(codes)) {
        let flagged = f.line_dx(l).find(|d| d.code_in(diagnoses)).map(|d| d.code);
        if let Some(d) = flagged {
            if !f.line_dx(l).any(|d| d.code_in(companions)) {
                hit(
                    out,
                    Some(l),
                    l.loc,
                    format!(
                        "diagnosis {} on the {} line has no companion diagnosis ({})",
                        text(d),
                        text(l.code),
                        companions.summary()
                    ),
                    None,
                );
            }
        }
    }
}

/// E-24: an add-on code has its primary on the same date (and rendering provider).
fn addon_requires_primary(pairs: &[(CodeSet, CodeSet, String)], f: &Facts<'_>, out: &mut Vec<Hit>) {
    for (addon, primary, named) in pairs {
        for l in f.lines.iter().filter(|l| l.code_in(addon)) {
            let d = f.line_date(l);
            let rendering = l.rendering.map(|r| r.0);
            let found = f.lines.iter().any(|p| {
                p.code_in(primary)
                    && f.line_date(p) == d
                    && match (rendering, p.rendering.map(|r| r.0)) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    }
            });
            if !found {
                hit(
                    out,
                    Some(l),
                    l.loc,
                    format!(
                        "add-on code {} has no primary {named} on the same date of service",
                        text(l.code)
                    ),
                    None,
                );
            }
        }
    }
}

/// E-27: levels per side per session.
fn levels_per_session(
    codes: &CodeSet,
    bilateral: &CodeSet,
    right: &CodeSet,
    left: &CodeSet,
    max_levels: &u32,
    f: &Facts<'_>,
    out: &mut Vec<Hit>,
) {
    // Per date of service: levels on the right, left and unspecified side.
    let mut per_day: Days<([i64; 3], Option<&Line<'_>>)> = Days::default();
    for l in f.lines.iter().filter(|l| l.code_in(codes)) {
        let n = l.units.map_or(100, |u| u.cents);
        let e = day_entry(&mut per_day, f.line_date(l));
        let any = |set: &CodeSet| l.modifier_in(set);
        let side = if any(bilateral) {
            e.0[0] = e.0[0].saturating_add(n);
            1
        } else if any(right) {
            0
        } else if any(left) {
            1
        } else {
            2
        };
        e.0[side] = e.0[side].saturating_add(n);
        e.1 = Some(l);
    }
    for &(_, (sides, last)) in per_day.iter() {
        // Joints without a side modifier may sit on either side: count the fewest
        // levels they can make (the busier side, or half of all joints, rounded up).
        let all = sides[0].saturating_add(sides[1]).saturating_add(sides[2]);
        let half = (all / 100 + 1) / 2 * 100;
        let most = sides[0].max(sides[1]).max(half);
        if most > i64::from(*max_levels) * 100 {
            let Some(l) = last else { continue };
            hit(out,
                            None,
                            l.loc,
                            format!(
                                "at least {} levels on one side in one session (right {}, left {}, no side modifier {}; at most {max_levels})",
                                units(Some(Money { cents: most })),
                                units(Some(Money { cents: sides[0] })),
                                units(Some(Money { cents: sides[1] })),
                                units(Some(Money { cents: sides[2] })),
                            ),
                            None,
                        );
        }
    }
}

/// E-28: contradictory laterality modifiers; bilateral units.
fn bilateral_conflict(
    codes: &CodeSet,
    bilateral: &CodeSet,
    right: &CodeSet,
    left: &CodeSet,
    bilateral_units: &Option<u32>,
    f: &Facts<'_>,
    out: &mut Vec<Hit>,
) {
    for l in f.lines.iter().filter(|l| l.code_in(codes)) {
        let any = |set: &CodeSet| l.modifier_in(set);
        let (b, r, le) = (any(bilateral), any(right), any(left));
        let mods = || {
            l.modifiers
                .iter()
                .map(|m| text(m))
                .collect::<Vec<_>>()
                .join("-")
        };
        if b && (r || le) {
            hit(
                out,
                Some(l),
                l.loc,
                format!(
                    "{}-{}: bilateral modifier together with a side modifier",
                    text(l.code),
                    mods()
                ),
                None,
            );
        } else if r && le {
            hit(
                out,
                Some(l),
                l.loc,
                format!(
                    "{}-{}: right and left side modifiers on one line",
                    text(l.code),
                    mods()
                ),
                None,
            );
        } else if let (true, Some(n)) = (b, bilateral_units) {
            if l.units.is_some_and(|u| u.cents != i64::from(*n) * 100) {
                hit(
                    out,
                    Some(l),
                    l.loc,
                    format!(
                        "{}-{} with {} units: a bilateral line is billed with {n} unit",
                        text(l.code),
                        mods(),
                        units(l.units)
                    ),
                    None,
                );
            }
        }
    }
}

/// E-29, E-30, E-31: modifiers that must not be on these codes.
fn modifier_not_allowed(codes: &CodeSet, modifiers: &CodeSet, f: &Facts<'_>, out: &mut Vec<Hit>) {
    for l in f
        .lines
        .iter()
        .filter(|l| l.code_in(codes) && l.modifier_in(modifiers))
    {
        if let Some(m) = l.modifiers.iter().find(|m| modifiers.contains(m)) {
            hit(
                out,
                Some(l),
                l.loc,
                format!("modifier {} is not allowed on {}", text(m), text(l.code)),
                None,
            );
        }
    }
}

/// E-32: one of these modifiers must be on these codes.
fn modifier_required(codes: &CodeSet, modifiers: &CodeSet, f: &Facts<'_>, out: &mut Vec<Hit>) {
    for l in f.lines.iter().filter(|l| l.code_in(codes)) {
        if !l.modifier_in(modifiers) {
            hit(
                out,
                Some(l),
                l.loc,
                format!(
                    "{} is billed without modifier {}",
                    text(l.code),
                    modifiers.summary()
                ),
                None,
            );
        }
    }
}

/// E-33, E-35: `others` on the same date as `codes` (unless bypassed by a modifier).
fn same_day_pair(
    codes: &CodeSet,
    others: &CodeSet,
    bypass: &CodeSet,
    f: &Facts<'_>,
    out: &mut Vec<Hit>,
) {
    for o in f.lines.iter().filter(|l| l.code_in(others)) {
        if o.modifier_in(bypass) {
            continue;
        }
        let d = f.line_date(o);
        if let Some(p) = f
            .lines
            .iter()
            .find(|p| p.code_in(codes) && f.line_date(p) == d)
        {
            hit(
                out,
                Some(o),
                o.loc,
                format!(
                    "{} is billed on the same date of service as {}",
                    text(o.code),
                    text(p.code)
                ),
                None,
            );
        }
    }
}

/// E-36: non-covered code billed with a covered-looking diagnosis and no notice modifier.
fn noncovered_needs_notice(
    codes: &CodeSet,
    diagnoses: &CodeSet,
    notice: &CodeSet,
    f: &Facts<'_>,
    out: &mut Vec<Hit>,
) {
    for l in f.lines.iter().filter(|l| l.code_in(codes)) {
        if f.line_dx(l).any(|d| d.code_in(diagnoses)) && !l.modifier_in(notice) {
            hit(
                out,
                Some(l),
                l.loc,
                format!(
                    "{} with a facet diagnosis is non-covered; bill it with {}",
                    text(l.code),
                    notice.summary()
                ),
                None,
            );
        }
    }
}

/// E-40: Medicare hospital outpatient prior authorization UTN.
fn utn_required(
    codes: &CodeSet,
    bill_types: &CodeSet,
    pattern: &Regex,
    f: &Facts<'_>,
    out: &mut Vec<Hit>,
) {
    if f.kind() != Kind::Institutional || !bill_types.contains(&f.type_of_bill()) {
        return;
    }
    if !f.lines.iter().any(|l| l.code_in(codes)) {
        return;
    }
    match f.reference(b"G1") {
        None => hit(
            out,
            None,
            f.clm,
            format!(
                "type of bill {} needs the prior-authorization UTN in 2300 REF*G1",
                text(&f.type_of_bill())
            ),
            Some("missing"),
        ),
        Some((utn, loc)) => {
            let head = &utn[..utn.len().min(14)];
            if !std::str::from_utf8(head).is_ok_and(|s| pattern.is_match(s)) {
                hit(
                    out,
                    None,
                    loc,
                    "the UTN in 2300 REF*G1 is not 14 characters of the form AA A/H 99999999999"
                        .into(),
                    Some("invalid"),
                );
            }
        }
    }
}

/// E-41: prior authorization number required in these settings.
fn prior_auth_required(
    codes: &CodeSet,
    exempt_places: &CodeSet,
    bill_types: &Option<CodeSet>,
    f: &Facts<'_>,
    out: &mut Vec<Hit>,
) {
    let needs = f.lines.iter().find(|l| {
        l.code_in(codes)
            && match f.kind() {
                Kind::Professional => !exempt_places.contains(f.line_place(l)),
                Kind::Institutional => bill_types
                    .as_ref()
                    .is_none_or(|b| b.contains(&f.type_of_bill())),
            }
    });
    let Some(l) = needs else { return };
    let has = f.reference(b"G1").is_some() || f.lines.iter().any(|l| l.prior_auth.is_some());
    if !has {
        let setting = match f.kind() {
            Kind::Professional => format!("place of service {}", text(f.line_place(l))),
            Kind::Institutional => format!("type of bill {}", text(&f.type_of_bill())),
        };
        hit(out,
                        None,
                        f.clm,
                        format!(
                            "{} in {setting} needs a prior authorization number (REF*G1) and the claim has none",
                            text(l.code)
                        ),
                        None,
                    );
    }
}

/// E-42: a group billing provider names a rendering provider.
fn rendering_for_group(f: &Facts<'_>, out: &mut Vec<Hit>) {
    if f.billing_entity_type == b"2"
        && f.rendering.is_none()
        && f.lines.iter().any(|l| l.rendering.is_none())
    {
        hit(out,
                        None,
                        f.clm,
                        "the billing provider is a group (NM102 = 2) and no rendering provider (NM1*82) is named".into(),
                        Some("missing"),
                    );
    }
}

/// The MUE table a units rule reads (`table` parameter) for the claim's setting, if loaded.
fn mue_for<'c>(
    table: Option<Provenance>,
    f: &Facts<'_>,
    cx: &Context<'c>,
) -> Option<&'c MueEditions> {
    table.and_then(|p| cx.tables.mue(p, Setting::of(f.kind())))
}

/// The citation a finding from an MUE table carries: the table, edition and file, for a CMS
/// table (not for the curated excerpt).
fn cms_cite(t: &super::cms::MueTable) -> Option<Arc<str>> {
    (t.info.provenance == Provenance::Cms).then(|| t.info.cite.clone())
}

/// A per-date-of-service unit limit one of a claim's codes is under (an MUE with MAI 2 or 3,
/// or a `units_per_day` rule's own limit): what the history stage needs to add the units of
/// the member's other claims of that date.
#[derive(Clone, Debug)]
pub struct DayLimit<'b> {
    /// The code.
    pub code: &'b [u8],
    /// The date of service.
    pub date: Date,
    /// This claim's units of the code on that date, in hundredths.
    pub units: i64,
    /// Units allowed per date of service.
    pub limit: u32,
    /// The MUE adjudication indicator, when the limit is an MUE.
    pub mai: Option<u8>,
    /// The first line of the code on that date (where a finding points).
    pub line: u32,
    /// Where that line is.
    pub loc: Loc,
    /// The finding variant a sum over lines takes.
    pub variant: Option<&'static str>,
    /// The CMS table, when the limit comes from one.
    pub table: Option<Arc<str>>,
}

impl Check {
    /// The per-date-of-service unit limits this check puts on the claim's lines (empty for a
    /// check that has none). The check itself judges the claim's own lines; these let the
    /// history stage judge them together with the member's other claims.
    pub fn day_limits<'b>(&self, f: &Facts<'b>, cx: &Context<'_>, out: &mut Vec<DayLimit<'b>>) {
        let (codes, table, own_limit, variant) = match self {
            Check::UnitsAndLines { codes, table, .. } => (codes, *table, None, Some("lines")),
            Check::UnitsPerDay {
                codes,
                table,
                max_units,
            } => (codes, *table, Some(*max_units), None),
            _ => return,
        };
        let mue = mue_for(table, f, cx);
        for l in f.lines.iter().filter(|l| l.code_in(codes)) {
            let Some(date) = f.line_date(l) else {
                continue;
            };
            let (limit, mai, cite) = match mue.and_then(|m| m.get(l.code, Some(date))) {
                Some((row, _)) if row.mai == 1 => continue,
                Some((row, t)) => (row.value, Some(row.mai), cms_cite(t)),
                None => match own_limit {
                    Some(max) => (max, None, None),
                    None => continue,
                },
            };
            let n = l.units.map_or(100, |u| u.cents);
            match out.iter_mut().find(|d| d.code == l.code && d.date == date) {
                Some(d) => d.units = d.units.saturating_add(n),
                None => out.push(DayLimit {
                    code: l.code,
                    date,
                    units: n,
                    limit,
                    mai,
                    line: l.number,
                    loc: l.loc,
                    variant,
                    table: cite,
                }),
            }
        }
    }
}

impl Check {
    /// E-25 / E-26: units against the rule's limits, or against a code's MUE from the loaded
    /// table when the rule names one and it lists the code (a code absent from the table has
    /// no published MUE: the rule's own limits apply to it).
    fn run_units(&self, f: &Facts<'_>, cx: &Context<'_>, out: &mut Vec<Hit>) {
        let (codes, table, per_line) = match self {
            Check::UnitsAndLines { codes, table, .. } => (codes, *table, true),
            Check::UnitsPerDay { codes, table, .. } => (codes, *table, false),
            _ => return,
        };
        let mue = mue_for(table, f, cx);
        let listed = |l: &Line<'_>| mue.is_some_and(|m| m.get(l.code, f.line_date(l)).is_some());
        let own = || f.lines.iter().filter(|l| l.code_in(codes) && !listed(l));
        let mut hit = |line: &Line<'_>, message: String, variant| {
            out.push(Hit {
                line: Some(line.number),
                loc: line.loc,
                message,
                variant,
                table: None,
            })
        };
        match self {
            Check::UnitsAndLines {
                max_units_per_line,
                max_lines_per_day,
                ..
            } => {
                let mut per_day: Days<u32> = Days::default();
                for l in own() {
                    if l.units
                        .is_some_and(|u| u.cents > i64::from(*max_units_per_line) * 100)
                    {
                        hit(
                            l,
                            format!(
                                "{} billed with {} units on one line (at most {max_units_per_line})",
                                text(l.code),
                                units(l.units)
                            ),
                            Some("units"),
                        );
                    }
                    let n = day_entry(&mut per_day, f.line_date(l));
                    *n += 1;
                    if *n == max_lines_per_day + 1 {
                        hit(
                            l,
                            format!(
                                "{} billed on more than {max_lines_per_day} line(s) for the same date of service (bill a bilateral service once, with modifier 50)",
                                text(l.code)
                            ),
                            Some("lines"),
                        );
                    }
                }
            }
            Check::UnitsPerDay { max_units, .. } => {
                let mut per_day: Days<(i64, Option<&Line<'_>>)> = Days::default();
                for l in own() {
                    let e = day_entry(&mut per_day, f.line_date(l));
                    e.0 = e.0.saturating_add(l.units.map_or(100, |u| u.cents));
                    e.1 = Some(l);
                }
                for &(d, (sum, last)) in per_day.iter() {
                    if sum > i64::from(*max_units) * 100 {
                        if let Some(l) = last {
                            hit(
                                l,
                                format!(
                                    "{} units of {} on {} (at most {max_units} per date of service)",
                                    units(Some(Money { cents: sum })),
                                    text(l.code),
                                    d.map_or("the date of service".into(), |d| d.to_string())
                                ),
                                None,
                            );
                        }
                    }
                }
            }
            _ => {}
        }
        if let Some(m) = mue {
            mue_hits(f, codes, m, per_line, out);
        }
    }
}

/// MUE checks for the lines whose code the table lists: MAI 1 per line; MAI 2 and 3 on the
/// units of the code summed over the claim's lines of the same date of service.
///
/// Cross-claim hook: MAI 2/3 limits count the units of every claim of the member for that date
/// of service; here only this claim's lines are summed. The member-history store is the place
/// to add the units it has already seen for (member, code, date): add them to `total` before
/// the comparison (`seen` below starts at zero).
fn mue_hits(f: &Facts<'_>, codes: &CodeSet, mue: &MueEditions, variants: bool, out: &mut Vec<Hit>) {
    struct Day<'s, 'b> {
        code: &'b [u8],
        date: Option<Date>,
        total: i64,
        first_over: Option<(&'s Line<'b>, bool)>,
        value: u32,
        mai: u8,
        cite: Option<Arc<str>>,
    }
    let mut days: Vec<Day<'_, '_>> = Vec::new();
    for l in f.lines.iter().filter(|l| l.code_in(codes)) {
        let d = f.line_date(l);
        let Some((row, table)) = mue.get(l.code, d) else {
            continue;
        };
        let n = l.units.map_or(100, |u| u.cents);
        let limit = i64::from(row.value) * 100;
        if row.mai == 1 {
            if n > limit {
                out.push(Hit {
                    line: Some(l.number),
                    loc: l.loc,
                    message: format!(
                        "{} billed with {} units on one line (MUE {} per line, MAI 1)",
                        text(l.code),
                        units(l.units),
                        row.value
                    ),
                    variant: variants.then_some("units"),
                    table: cms_cite(table),
                });
            }
            continue;
        }
        let i = match days.iter().position(|e| e.code == l.code && e.date == d) {
            Some(i) => i,
            None => {
                days.push(Day {
                    code: l.code,
                    date: d,
                    total: 0, // units seen: history adds other claims' units here
                    first_over: None,
                    value: row.value,
                    mai: row.mai,
                    cite: cms_cite(table),
                });
                days.len() - 1
            }
        };
        let e = &mut days[i];
        e.total = e.total.saturating_add(n);
        if e.total > limit && e.first_over.is_none() {
            e.first_over = Some((l, n > limit));
        }
    }
    for e in days {
        let Some((l, alone)) = e.first_over else {
            continue;
        };
        out.push(Hit {
            line: Some(l.number),
            loc: l.loc,
            message: format!(
                "{} units of {} on {} (MUE {} per date of service, MAI {})",
                units(Some(Money { cents: e.total })),
                text(e.code),
                e.date
                    .map_or("the date of service".into(), |d| d.to_string()),
                e.value,
                e.mai
            ),
            variant: variants.then_some(if alone { "units" } else { "lines" }),
            table: e.cite,
        });
    }
}

/// E-34: for each line, the other lines of the same date of service whose code is column 1 to
/// its code in a pair in force on that date; the line is the column 2 service. Indicator 9
/// never fires, 0 is never bypassed, 1 is bypassed by an NCCI-associated modifier (`bypass`)
/// on the column 2 line.
fn run_ptp(
    source: &PairSource,
    bypass: &CodeSet,
    f: &Facts<'_>,
    cx: &Context<'_>,
    out: &mut Vec<Hit>,
) {
    // A pair needs two lines.
    if f.lines.len() < 2 {
        return;
    }
    let set = match source {
        PairSource::Tables(p) => match cx.tables.ptp(*p, Setting::of(f.kind())) {
            Some(s) => Some(s),
            None => return,
        },
        PairSource::Listed { .. } => None,
    };
    // Each line's code packed once (the first eight lines; any further on demand).
    let mut packed: Few<Option<Code>, 8> = Few::default();
    f.lines.iter().for_each(|l| packed.push(Code::new(l.code)));
    let code_of = |j: usize, l: &Line<'_>| match packed.get(j) {
        Some(c) => *c,
        None => Code::new(l.code),
    };
    // Column 1 codes already answered for the current column 2 line.
    let mut seen: Vec<&[u8]> = Vec::new();
    for (i, c2) in f.lines.iter().enumerate() {
        let Some(code2) = code_of(i, c2) else {
            continue;
        };
        let d = f.line_date(c2);
        seen.clear();
        for (j, c1) in f.lines.iter().enumerate() {
            if j == i || c1.code.is_empty() || f.line_date(c1) != d || seen.contains(&c1.code) {
                continue;
            }
            let (indicator, label, cite) = match (source, set) {
                (PairSource::Listed { pairs, label }, _) => {
                    match pairs
                        .iter()
                        .find(|p| p.column1 == c1.code && p.column2 == c2.code)
                    {
                        Some(p) => (p.indicator, label.as_str(), None),
                        None => continue,
                    }
                }
                (PairSource::Tables(_), Some(set)) => {
                    let Some(row) = code_of(j, c1).and_then(|a| set.in_force_of(a, code2, d))
                    else {
                        continue;
                    };
                    let info = set.table_of(row);
                    (
                        row.indicator,
                        info.map_or("", |t| &*t.label),
                        info.filter(|t| t.provenance == Provenance::Cms)
                            .map(|t| t.cite.clone()),
                    )
                }
                (PairSource::Tables(_), None) => return,
            };
            seen.push(c1.code);
            if indicator == 9 || (indicator == 1 && c2.modifier_in(bypass)) {
                continue;
            }
            out.push(Hit {
                line: Some(c2.number),
                loc: c2.loc,
                message: format!(
                    "{} is column 2 to {} ({label}, modifier indicator {indicator}{})",
                    text(c2.code),
                    text(c1.code),
                    if indicator == 1 {
                        ", no NCCI-associated modifier"
                    } else {
                        ", never bypassed"
                    }
                ),
                variant: None,
                table: cite,
            });
        }
    }
}

/// Values per date of service, in first-seen order (claims have a handful of dates: the
/// first four are kept inline, so a check allocates nothing).
type Days<T> = SmallList<(Option<Date>, T), 4>;

/// The entry for a date of service in a small list kept in first-seen order.
fn day_entry<T: Copy + Default>(days: &mut Days<T>, d: Option<Date>) -> &mut T {
    let i = match days.iter().position(|e| e.0 == d) {
        Some(i) => i,
        None => {
            days.push((d, T::default()));
            days.len() - 1
        }
    };
    &mut days[i].1
}

/// Bytes as text for messages (codes are ASCII; anything else is shown lossily).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub(crate) fn units(u: Option<Money>) -> String {
    match u {
        None => "?".into(),
        Some(m) if m.cents % 100 == 0 => (m.cents / 100).to_string(),
        Some(m) => m.to_string(),
    }
}

/// Whether an NPI is 10 digits with a valid Luhn check digit over `80840` + its first nine.
pub fn npi_valid(npi: &[u8]) -> bool {
    // A digit doubled as Luhn doubles it (digits of the product added).
    const DOUBLED: [u32; 10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];
    let Ok(digits) = <[u8; 10]>::try_from(npi) else {
        return false;
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let d = digits.map(|c| u32::from(c - b'0'));
    // The prefix 80840 adds 24; from the right of the first nine, every other digit doubles.
    let sum = 24
        + DOUBLED[d[0] as usize]
        + d[1]
        + DOUBLED[d[2] as usize]
        + d[3]
        + DOUBLED[d[4] as usize]
        + d[5]
        + DOUBLED[d[6] as usize]
        + d[7]
        + DOUBLED[d[8] as usize];
    (10 - sum % 10) % 10 == d[9]
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::edit::facts::{Facts, Few, Line};

    /// The reading `npi_valid` is held to: ten digits that, after the prefix `80840`, pass the
    /// Luhn test (from the right, every second digit doubled, the digits summed).
    fn npi_valid_by_luhn(npi: &[u8]) -> bool {
        let luhn = |i: usize, c: &u8| {
            let d = u32::from(c - b'0') << (i % 2);
            d / 10 + d % 10
        };
        npi.len() == 10
            && npi.iter().all(u8::is_ascii_digit)
            && b"80840"
                .iter()
                .chain(npi)
                .rev()
                .enumerate()
                .map(|(i, c)| luhn(i, c))
                .sum::<u32>()
                % 10
                == 0
    }

    /// The bundled rules, loaded once, and the codes each rule with code sets lists (a family
    /// by a member), for claims that trip it.
    fn bundled() -> &'static (crate::edit::rules::RuleSet, Vec<Vec<Vec<u8>>>) {
        type Bundled = (crate::edit::rules::RuleSet, Vec<Vec<Vec<u8>>>);
        static RULES: std::sync::OnceLock<Bundled> = std::sync::OnceLock::new();
        RULES.get_or_init(|| {
            let rules = crate::edit::rules::RuleSet::bundled().expect("bundled rules load");
            let codes = rules
                .rules
                .iter()
                .map(|r| {
                    let mut codes = vec![b"99213".to_vec()];
                    for set in r.check.clone().line_code_sets_mut() {
                        for e in &set.listed {
                            let mut c = crate::edit::codes::normalize(e.trim_end_matches('*'));
                            if e.ends_with('*') {
                                c.push(b'1');
                            }
                            codes.push(c);
                        }
                    }
                    codes
                })
                .filter(|codes| codes.len() > 1)
                .collect();
            (rules, codes)
        })
    }

    proptest::proptest! {
        /// A rule the engine skips (`may_fire` false for the claim's line codes) finds nothing
        /// when run: every bundled rule, on claims made of the codes one rule lists (as line
        /// codes, modifiers and diagnoses, or not), on a few dates.
        #[test]
        fn rules_skipped_find_nothing(
            picks in proptest::collection::vec(
                (0usize..10_000, (0usize..10_000, 0usize..10_000), 0u8..3, 0u32..6, proptest::bool::ANY),
                1..5,
            ),
            dx in proptest::collection::vec(0usize..10_000, 0..4),
            institutional in proptest::bool::ANY,
            rule in 0usize..1000,
        ) {
            let (rules, listed) = bundled();
            let codes = &listed[rule % listed.len()];
            let pick = |i: usize| codes[i % codes.len()].as_slice();
            let lines = picks
                .iter()
                .enumerate()
                .map(|(n, &(c, (m1, m2), day, units, listed))| {
                    let mut modifiers = Few::default();
                    modifiers.push(if listed { pick(m1) } else { &b"XX"[..] });
                    modifiers.push(pick(m2));
                    let mut pointers = Few::default();
                    pointers.push(1);
                    let d = Date::parse_d8(&[b"20250101", b"20250102", b"20250103"][day as usize][..]);
                    Line {
                        number: n as u32 + 1,
                        qualifier: b"HC",
                        code: if listed { pick(c) } else { &b"99999"[..] },
                        modifiers,
                        pointers,
                        units: Some(Money { cents: i64::from(units) * 100 }),
                        charge: Some(Money { cents: 100 }),
                        dates: d.map(|d| crate::claim::DateRange { from: d, thru: d }),
                        ..Line::default()
                    }
                })
                .collect();
            let diagnoses = dx
                .iter()
                .map(|&i| crate::edit::facts::Dx {
                    qualifier: b"ABF",
                    code: pick(i),
                    sets: Default::default(),
                })
                .collect();
            let mut f = Facts {
                kind: Some(if institutional { Kind::Institutional } else { Kind::Professional }),
                facility_code: b"13",
                frequency: b"1",
                lines,
                diagnoses,
                ..Facts::default()
            };
            f.index_codes(&rules.code_index);
            let cx = Context {
                profiles: &rules.profiles,
                today: Date::parse_d8(b"20261127").expect("a date"),
                tables: rules.tables(),
            };
            for r in rules.rules.iter().filter(|r| !r.check.may_fire(f.line_code_sets)) {
                let mut out = Vec::new();
                r.check.run(&f, &cx, &mut out);
                proptest::prop_assert!(out.is_empty(), "{} fired: {:?}", r.edit, out);
            }
        }

        /// `Days` keeps first-seen order and one entry per date, past its inline few too.
        #[test]
        fn days_agree_with_a_list(seen in proptest::collection::vec(0u8..9, 0..20)) {
            let date = |n: u8| Date::parse_d8(format!("202501{:02}", n + 1).as_bytes());
            let mut days: Days<u32> = Days::default();
            let mut want: Vec<(Option<Date>, u32)> = Vec::new();
            for &n in &seen {
                let d = if n == 8 { None } else { date(n) };
                *day_entry(&mut days, d) += 1;
                match want.iter_mut().find(|e| e.0 == d) {
                    Some(e) => e.1 += 1,
                    None => want.push((d, 1)),
                }
            }
            proptest::prop_assert_eq!(days.to_vec(), want);
        }

        /// `npi_valid` agrees with the plain Luhn loop on any bytes near an NPI's shape.
        #[test]
        fn npi_valid_agrees_with_luhn(
            npi in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => proptest::sample::select(&b"0123456789"[..]),
                    1 => proptest::num::u8::ANY,
                ],
                8..12,
            ),
        ) {
            proptest::prop_assert_eq!(npi_valid(&npi), npi_valid_by_luhn(&npi));
        }
    }

    fn line(code: &'static [u8], m: &'static [u8], cents: i64) -> Line<'static> {
        let mut modifiers = Few::default();
        modifiers.push(m);
        Line {
            number: 1,
            code,
            modifiers,
            units: Some(Money { cents }),
            ..Line::default()
        }
    }

    fn run(check: &Check, f: &Facts<'_>) -> Vec<Hit> {
        let profiles = Profiles::default();
        let tables = Tables::default();
        let cx = Context {
            profiles: &profiles,
            today: Date::parse_d8(b"20261127").unwrap(),
            tables: &tables,
        };
        let mut out = Vec::new();
        check.run(f, &cx, &mut out);
        out
    }

    fn set(codes: &[&str]) -> CodeSet {
        let mut s = CodeSet::default();
        codes.iter().for_each(|c| s.insert(c));
        s
    }

    #[test]
    fn huge_units_saturate_instead_of_overflowing() {
        let f = Facts {
            lines: (0..100)
                .map(|_| line(b"64636", b"RT", i64::MAX / 50))
                .collect(),
            ..Facts::default()
        };
        let per_day = Check::UnitsPerDay {
            codes: set(&["64636"]),
            max_units: 4,
            table: None,
        };
        assert_eq!(run(&per_day, &f).len(), 1);
        let levels = Check::LevelsPerSession {
            codes: set(&["64636"]),
            bilateral: set(&["50"]),
            right: set(&["RT"]),
            left: set(&["LT"]),
            max_levels: 2,
        };
        assert_eq!(run(&levels, &f).len(), 1);
    }

    #[test]
    fn joints_without_a_side_count_the_fewest_levels_they_can_make() {
        let levels = Check::LevelsPerSession {
            codes: set(&["64635", "64636"]),
            bilateral: set(&["50"]),
            right: set(&["RT"]),
            left: set(&["LT"]),
            max_levels: 2,
        };
        let facts = |lines: Vec<Line<'static>>| Facts {
            lines,
            ..Facts::default()
        };
        // 3 joints, no side: could be 2 levels (both sides of one, one side of another).
        let f = facts(vec![line(b"64635", b"", 100), line(b"64636", b"", 200)]);
        assert!(run(&levels, &f).is_empty());
        // 5 joints, no side: at least 3 on one side.
        let f = facts(vec![line(b"64635", b"", 100), line(b"64636", b"", 400)]);
        assert_eq!(run(&levels, &f).len(), 1);
        // 3 on the right.
        let f = facts(vec![line(b"64635", b"RT", 100), line(b"64636", b"RT", 200)]);
        assert_eq!(run(&levels, &f).len(), 1);
        // Bilateral at two levels.
        let f = facts(vec![line(b"64635", b"50", 100), line(b"64636", b"50", 100)]);
        assert!(run(&levels, &f).is_empty());
    }

    #[test]
    fn npi_check_digit() {
        // CMS's example NPI 1234567893.
        assert!(npi_valid(b"1234567893"));
        assert!(!npi_valid(b"1234567894"));
        assert!(!npi_valid(b"123456789"));
        assert!(!npi_valid(b"12345678 3"));
    }
}
