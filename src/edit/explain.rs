//! Text for people: `scrub837 explain E-NN` and `scrub837 rules`.

use std::fmt::Write;

use super::checks::CHECKS;
use super::cms::{Provenance, Setting, TableInfo, TableKind};
use super::rules::{PayerScope, Rule, RuleSet};

fn payers(rs: &RuleSet, r: &Rule) -> String {
    match &r.payers {
        PayerScope::All => "all payers (including payers without a profile)".into(),
        PayerScope::Profiles(ix) => ix
            .iter()
            .filter_map(|&i| rs.profiles.get(i))
            .map(|p| format!("{} ({})", p.name, p.id))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn kinds(r: &Rule) -> String {
    r.kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn dates(r: &Rule) -> String {
    match (r.effective, r.expires) {
        (None, None) => "always".into(),
        (Some(a), None) => format!("from {a}"),
        (None, Some(b)) => format!("before {b}"),
        (Some(a), Some(b)) => format!("{a} to {b} (exclusive)"),
    }
}

/// What an edit checks, for whom, from which source, and how to fix a claim that fails it.
pub fn explain(rs: &RuleSet, edit: &str) -> Result<String, String> {
    let id = edit.trim().to_ascii_uppercase();
    let rules: Vec<&Rule> = rs.rules_of(&id).collect();
    if rules.is_empty() {
        let mut known: Vec<&str> = rs.rules.iter().map(|r| &*r.edit).collect();
        known.dedup();
        return Err(format!(
            "no rule for edit `{edit}` in pack {} {} (known: {})",
            rs.pack.name,
            rs.pack.version,
            known.join(", ")
        ));
    }
    let mut s = String::new();
    let _ = writeln!(s, "{id}: {}", rules[0].title);
    let _ = writeln!(s);
    let _ = writeln!(s, "{}", rules[0].explain);
    for (n, r) in rules.iter().enumerate() {
        let _ = writeln!(s);
        if rules.len() > 1 {
            let _ = writeln!(s, "Rule {} of {}: {}", n + 1, rules.len(), r.title);
        }
        let _ = writeln!(s, "  severity:  {}", r.severity.as_str());
        if let Some(stc) = &r.stc {
            let mut codes = vec![stc.to_string()];
            codes.extend(r.stc_extra.iter().map(|x| x.to_string()));
            let _ = writeln!(s, "  277CA STC: {}", codes.join(" + "));
        }
        for (v, stc) in &r.stc_variants {
            let _ = writeln!(s, "             {v}: {stc}");
        }
        let _ = writeln!(s, "  payers:    {}", payers(rs, r));
        let _ = writeln!(s, "  claims:    {}", kinds(r));
        let _ = writeln!(s, "  dates:     {}", dates(r));
        let _ = writeln!(s, "  check:     {}", r.check_name);
        for p in &r.params_text {
            let _ = writeln!(s, "             {p}");
        }
        let _ = writeln!(s, "  source:    {}", r.source);
        if !r.verified {
            let _ = writeln!(
                s,
                "             (UNVERIFIED in the domain reference: shipped as {})",
                r.severity.as_str()
            );
        }
        if rules.len() > 1 && r.explain != rules[0].explain {
            let _ = writeln!(s, "  what:      {}", r.explain);
        }
        let _ = writeln!(s, "  rule:      {}", r.origin);
    }
    tables(&mut s, rs, &rules);
    let mut fixes: Vec<&str> = rules.iter().map(|r| r.fix.as_str()).collect();
    fixes.dedup();
    let _ = writeln!(s);
    let _ = writeln!(s, "How to fix:");
    for f in fixes {
        let _ = writeln!(s, "  {f}");
    }
    Ok(s)
}

fn table_line(i: &TableInfo) -> String {
    format!(
        "{}: {} rows, {}",
        i.cite,
        i.rows,
        if i.embedded {
            "embedded in the binary".to_owned()
        } else {
            format!("from {}", i.path)
        }
    )
}

/// The tables the rules of an edit read, by provenance, kind and setting: what is loaded.
fn tables(s: &mut String, rs: &RuleSet, rules: &[&Rule]) {
    let mut reads: Vec<(TableKind, Provenance)> =
        rules.iter().filter_map(|r| r.check.reads_table()).collect();
    reads.sort();
    reads.dedup();
    if reads.is_empty() {
        return;
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "Tables:");
    for (kind, provenance) in reads {
        for setting in [Setting::Practitioner, Setting::OutpatientHospital] {
            let infos: Vec<&TableInfo> = match kind {
                TableKind::Ptp => rs
                    .tables()
                    .ptp(provenance, setting)
                    .map(|p| p.tables().collect())
                    .unwrap_or_default(),
                TableKind::Mue => rs
                    .tables()
                    .mue(provenance, setting)
                    .map(|m| m.editions().iter().map(|t| &t.info).collect())
                    .unwrap_or_default(),
            };
            let what = format!(
                "{} {}, {} ({})",
                match provenance {
                    Provenance::Cms => "CMS",
                    Provenance::Excerpt => "curated excerpt (unverified),",
                },
                match kind {
                    TableKind::Ptp => "NCCI PTP",
                    TableKind::Mue => "MUE",
                },
                setting.as_str(),
                setting.kind().as_str()
            );
            if infos.is_empty() {
                let then = match (kind, provenance) {
                    (TableKind::Ptp, Provenance::Cms) => {
                        "; the rule with table = \"cms\" applies once they are (CMS files given \
                         to the run, or ccipra…/ccioph… files in the rules directory)"
                    }
                    (TableKind::Mue, Provenance::Cms) => {
                        "; the rules' own limits apply (CMS files given to the run, or MCR_MUE_… \
                         files in the rules directory, replace them per code)"
                    }
                    _ => "",
                };
                let _ = writeln!(s, "  {what}: none loaded{then}");
            } else {
                let _ = writeln!(s, "  {what}:");
                for i in infos {
                    let _ = writeln!(s, "    {}", table_line(i));
                }
            }
        }
    }
}

/// The loaded rules, one line each, with the pack and profiles.
pub fn list(rs: &RuleSet, checks: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "rule pack {} {} ({}), published {}",
        rs.pack.name, rs.pack.version, rs.origin, rs.pack.published
    );
    let _ = writeln!(s, "{}", rs.pack.description);
    let _ = writeln!(s);
    let _ = writeln!(s, "payer profiles:");
    for p in rs.profiles.iter() {
        let _ = writeln!(
            s,
            "  {:<9} {} [ids {}; SBR09 {}; names {}]",
            p.id,
            p.name,
            p.payer_ids.join(" "),
            if p.claim_filing.is_empty() {
                "-".into()
            } else {
                p.claim_filing.join(" ")
            },
            p.name_patterns.join(", ")
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<5} {:<7} {:<10} {:<10} {:<26} {:<10} title",
        "edit", "sev", "stc", "claims", "payers", "dates"
    );
    for r in &rs.rules {
        let payers = match &r.payers {
            PayerScope::All => "*".to_owned(),
            PayerScope::Profiles(ix) => ix
                .iter()
                .filter_map(|&i| rs.profiles.get(i))
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>()
                .join(","),
        };
        let waiting = r.check.needs_cms_ptp()
            && r.kinds
                .iter()
                .all(|&k| rs.tables().ptp(Provenance::Cms, Setting::of(k)).is_none());
        let _ = writeln!(
            s,
            "{:<5} {:<7} {:<10} {:<10} {:<26} {:<10} {}{}{}",
            r.edit,
            r.severity.as_str(),
            r.stc.as_deref().unwrap_or("-"),
            kinds(r).replace(", ", "+"),
            payers,
            dates(r),
            r.title,
            if r.verified { "" } else { " [unverified]" },
            if waiting {
                " [applies once CMS PTP tables are loaded]"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "tables:");
    let infos = rs.tables().infos();
    if infos.is_empty() {
        let _ = writeln!(s, "  none");
    }
    for i in infos {
        let _ = writeln!(s, "  {}", table_line(i));
    }
    if checks {
        let _ = writeln!(s);
        let _ = writeln!(s, "kinds of check (params; ? = optional):");
        for (name, params) in CHECKS {
            let _ = writeln!(s, "  {name:<26} {params}");
        }
    }
    s
}
