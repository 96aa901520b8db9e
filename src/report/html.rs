//! `NAME.report.html`: one self-contained page a biller can act on (no scripts, fonts or
//! network): the summary by payer and by edit, then each rejected or warned claim with its
//! findings, what they mean, how to fix them, and the offending segments in context.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::claims_jsonl::ClaimLine;
use super::summary::Tally;
use crate::edit::RuleSet;

/// Claims shown in full (the rest are counted; `claims.jsonl` has them all).
pub const SHOWN: usize = 1000;

/// What the page is about.
pub struct ReportInput<'a> {
    /// The input as named on the command line.
    pub name: &'a str,
    /// The input file, for the segments in context (none for stdin).
    pub file: Option<&'a Path>,
    /// The run's clock.
    pub now: &'a str,
    /// Claims by status, payer and edit.
    pub tally: &'a Tally,
    /// Rules (titles, explanations, fixes).
    pub rules: &'a RuleSet,
    /// Replace names, member ids and birth dates.
    pub redact: bool,
}

/// Text HTML-escaped as it is written (runs without a special character go out whole).
struct Esc<'a>(&'a str);

impl std::fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            let (run, tail) = rest.split_at(at);
            f.write_str(run)?;
            let mut chars = tail.chars();
            f.write_str(match chars.next() {
                Some('&') => "&amp;",
                Some('<') => "&lt;",
                Some('>') => "&gt;",
                Some('"') => "&quot;",
                _ => "&#39;",
            })?;
            rest = chars.as_str();
        }
        f.write_str(rest)
    }
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}table{border-collapse:collapse;margin:.5em 0}\
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.num{text-align:right}.reject{color:#a40000;font-weight:600}\
.warn{color:#8a5a00;font-weight:600}.claim{border:1px solid #bbb;padding:.6em 1em;margin:1em 0;\
page-break-inside:avoid}pre{background:#f8f8f8;padding:.4em;overflow-x:auto;margin:.3em 0}\
mark{background:#ffe08a}.muted{color:#666}@media print{body{margin:0}a{color:inherit}}";

/// The meaning of the common 277CA category codes, for people.
fn category(code: &str) -> &'static str {
    match code.split(':').next().unwrap_or("") {
        "A2" => "accepted",
        "A3" => "returned as unprocessable",
        "A6" => "rejected for missing information",
        "A7" => "rejected for invalid information",
        "A8" => "rejected for relational field in error",
        _ => "",
    }
}

/// Writes the report; `claims` is the input's `claims.jsonl`.
pub fn write_report(
    r: &ReportInput<'_>,
    claims: impl BufRead,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut flagged = Flagged::default();
    let mut claims = claims;
    let mut buf = Vec::new();
    while let Some(line) = next_line(&mut claims, &mut buf)? {
        flagged.line(line);
    }
    write_report_flagged(r, &flagged, out)
}

/// The claims with findings a report shows, gathered from `claims.jsonl` lines as they go by
/// (so the report need not read the file back): the first [`SHOWN`] lines, and how many more
/// there are.
#[derive(Debug, Default)]
pub struct Flagged {
    /// The lines shown, each ending with a newline.
    lines: Vec<u8>,
    shown: usize,
    more: u64,
}

impl Flagged {
    /// Looks at one line (with or without its newline).
    pub fn line(&mut self, line: &[u8]) {
        if no_findings(line) {
            return;
        }
        if self.shown >= SHOWN {
            self.more += 1;
            return;
        }
        self.shown += 1;
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        self.lines
            .extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        self.lines.push(b'\n');
    }
}

/// A writer of `claims.jsonl` lines that passes them on to `out` and gathers the flagged ones
/// on the way (lines may come in any pieces).
pub struct FlaggedTap<W: Write> {
    out: W,
    /// Whether it gathers (else it only passes the bytes on).
    on: bool,
    /// The start of a line whose end has not come yet.
    partial: Vec<u8>,
    flagged: Flagged,
}

impl<W: Write> FlaggedTap<W> {
    /// A tap in front of `out`, gathering when `on`.
    pub fn new(out: W, on: bool) -> Self {
        FlaggedTap {
            out,
            on,
            partial: Vec::new(),
            flagged: Flagged::default(),
        }
    }

    /// The writer it writes to.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// The writer and what was gathered (a last line without a newline included).
    pub fn into_parts(mut self) -> (W, Flagged) {
        if !self.partial.is_empty() {
            self.flagged.line(&self.partial);
        }
        (self.out, self.flagged)
    }

    fn look(&mut self, bytes: &[u8]) {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', bytes) {
            let piece = bytes.get(start..=end).unwrap_or_default();
            if self.partial.is_empty() {
                self.flagged.line(piece);
            } else {
                self.partial.extend_from_slice(piece);
                self.flagged.line(&self.partial);
                self.partial.clear();
            }
            start = end + 1;
        }
        self.partial
            .extend_from_slice(bytes.get(start..).unwrap_or_default());
    }
}

impl<W: Write> Write for FlaggedTap<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        if self.on {
            self.look(buf.get(..n).unwrap_or_default());
        }
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)?;
        if self.on {
            self.look(buf);
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Whether a `claims.jsonl` line has `"findings":[]`. Strings are escaped, so that text can
/// only be the key; it is near the end of the line (only `rules` comes after it), so the
/// search goes backwards from one `[` to the next.
fn no_findings(line: &[u8]) -> bool {
    const KEY: &[u8] = b"\"findings\":[";
    memchr::memrchr_iter(b'[', line)
        .find(|&at| {
            (at + 1)
                .checked_sub(KEY.len())
                .and_then(|k| line.get(k..=at))
                == Some(KEY)
        })
        .is_some_and(|at| line.get(at + 1) == Some(&b']'))
}

/// Writes the report from the flagged claims gathered while `claims.jsonl` was written.
pub fn write_report_flagged(
    r: &ReportInput<'_>,
    flagged: &Flagged,
    out: &mut dyn Write,
) -> io::Result<()> {
    let t = r.tally;
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    )?;
    writeln!(out, "<title>scrub837 report: {}</title>", Esc(r.name))?;
    writeln!(out, "<style>{STYLE}</style></head><body>")?;
    writeln!(out, "<h1>Claim scrub report: {}</h1>", Esc(r.name))?;
    writeln!(
        out,
        "<p class=\"muted\">Scrubbed {} with rule pack {} {}{}.</p>",
        Esc(r.now),
        Esc(&r.rules.pack.name),
        Esc(&r.rules.pack.version),
        if r.redact {
            "; names, member ids and birth dates redacted"
        } else {
            ""
        }
    )?;
    writeln!(
        out,
        "<h2>Summary</h2><table><tr><th></th><th>claims</th><th>dollars</th></tr>"
    )?;
    let a = &t.all;
    for (label, n, cents) in [
        ("read", a.claims, a.accepted_cents + a.rejected_cents),
        ("accepted", a.accepted, a.accepted_cents),
        ("rejected", a.rejected, a.rejected_cents),
    ] {
        writeln!(
            out,
            "<tr><td>{label}</td><td class=\"num\">{n}</td><td class=\"num\">{}</td></tr>",
            crate::claim::Money { cents }
        )?;
    }
    writeln!(
        out,
        "<tr><td>with warnings</td><td class=\"num\">{}</td><td></td></tr></table>",
        a.warned
    )?;
    writeln!(out, "<h3>By payer</h3><table><tr><th>payer profile</th><th>claims</th><th>accepted</th><th>rejected</th><th>rejected dollars</th></tr>")?;
    for (p, c) in &t.by_payer {
        let name = r.rules.profiles.iter().find(|x| &x.id == p).map_or_else(
            || "no profile (generic edits only)".to_owned(),
            |x| x.name.clone(),
        );
        writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            Esc(&name),
            c.claims,
            c.accepted,
            c.rejected,
            crate::claim::Money { cents: c.rejected_cents }
        )?;
    }
    writeln!(out, "</table>")?;
    writeln!(out, "<h3>By edit</h3><table><tr><th>edit</th><th>what it checks</th><th>claims rejected</th><th>claims warned</th></tr>")?;
    for (id, c) in t.by_edit.fired() {
        let title = r
            .rules
            .rules_of(&id)
            .next()
            .map_or("", |x| x.title.as_str());
        writeln!(
            out,
            "<tr><td>{id}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            Esc(title),
            c.reject,
            c.warn
        )?;
    }
    writeln!(out, "</table>")?;

    writeln!(out, "<h2>Claims to fix</h2>")?;
    let mut context = match r.file {
        Some(p) => Context::open(p).ok(),
        None => None,
    };
    let mut shown = 0usize;
    for line in flagged
        .lines
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
    {
        let c: ClaimLine = serde_json::from_slice(line).map_err(io::Error::other)?;
        if c.findings.is_empty() {
            continue;
        }
        shown += 1;
        write_claim(out, r, &c, context.as_mut())?;
    }
    if shown == 0 {
        writeln!(out, "<p>No claim was rejected or warned.</p>")?;
    }
    let more = flagged.more;
    if more > 0 {
        writeln!(
            out,
            "<p class=\"muted\">{more} more claims with findings are not shown here; every claim is in the claims.jsonl file.</p>"
        )?;
    }
    writeln!(out, "</body></html>")
}

/// The next line of `src` read into `buf`, without its line end (as [`BufRead::lines`] gives
/// it, and failing as it does on a line that is not UTF-8); None at the end.
fn next_line<'b>(src: &mut impl BufRead, buf: &'b mut Vec<u8>) -> io::Result<Option<&'b [u8]>> {
    buf.clear();
    if src.read_until(b'\n', buf)? == 0 {
        return Ok(None);
    }
    let line = match buf.strip_suffix(b"\n") {
        Some(l) => l.strip_suffix(b"\r").unwrap_or(l),
        None => &buf[..],
    };
    std::str::from_utf8(line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(Some(line))
}

fn write_claim(
    out: &mut dyn Write,
    r: &ReportInput<'_>,
    c: &ClaimLine,
    context: Option<&mut Context>,
) -> io::Result<()> {
    let class = if c.rejected() { "reject" } else { "warn" };
    writeln!(
        out,
        "<div class=\"claim\"><p><b>Claim {}</b> <span class=\"{class}\">{}</span> · {} · transaction {} · payer {} ({}) · charge {}</p>",
        Esc(&c.claim),
        Esc(&c.status),
        Esc(&c.kind),
        Esc(&c.transaction),
        Esc(&c.payer.name),
        Esc(c.payer.profile.as_deref().unwrap_or("no profile")),
        Esc(c.charge.as_deref().unwrap_or("?"))
    )?;
    writeln!(out, "<table><tr><th>edit</th><th>severity</th><th>line</th><th>what is wrong</th><th>277CA</th><th>how to fix</th></tr>")?;
    let mut offsets: BTreeMap<u64, ()> = BTreeMap::new();
    for f in &c.findings {
        let fix = r
            .rules
            .rules_of(&f.edit)
            .next()
            .map_or(String::new(), |x| x.fix.clone());
        let code = match (&f.stc, &f.ack) {
            (Some(s), _) => format!("{s} ({})", category(s)),
            (None, Some(a)) => a.clone(),
            _ => String::new(),
        };
        writeln!(
            out,
            "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            Esc(&f.edit),
            if f.severity == "reject" { "reject" } else { "warn" },
            Esc(&f.severity),
            f.line.map_or(String::new(), |n| n.to_string()),
            Esc(&f.message),
            Esc(&code),
            Esc(&fix)
        )?;
        if f.segment > 0 {
            offsets.insert(f.byte, ());
        }
    }
    writeln!(out, "</table>")?;
    if let Some(ctx) = context {
        for &byte in offsets.keys() {
            if let Some(segs) = ctx.around(byte) {
                writeln!(out, "<pre>")?;
                for (at, seg) in segs {
                    let seg = if r.redact {
                        redact(&seg, ctx.element)
                    } else {
                        seg
                    };
                    let seg = String::from_utf8_lossy(&seg);
                    let text = Esc(&seg);
                    if at == byte {
                        writeln!(out, "<mark>{text}</mark>")?;
                    } else {
                        writeln!(out, "{text}")?;
                    }
                }
                writeln!(out, "</pre>")?;
            }
        }
    }
    writeln!(out, "</div>")
}

/// Blanks names, member ids and birth dates in a segment: NM1 of a person (NM103–NM105, NM109
/// for subscriber/patient), DMG02, and the N3/N4 address lines.
fn redact(seg: &[u8], sep: u8) -> Vec<u8> {
    let mut f: Vec<Vec<u8>> = seg.split(|&b| b == sep).map(<[u8]>::to_vec).collect();
    let hide = |f: &mut Vec<Vec<u8>>, i: usize| {
        if let Some(x) = f.get_mut(i) {
            if !x.is_empty() {
                *x = b"XXXX".to_vec();
            }
        }
    };
    match f.first().map(Vec::as_slice) {
        Some(b"NM1") => {
            let person = f.get(2).is_some_and(|x| x == b"1");
            let member = f
                .get(1)
                .is_some_and(|x| matches!(x.as_slice(), b"IL" | b"QC"));
            if person || member {
                for i in [3, 4, 5, 7] {
                    hide(&mut f, i);
                }
            }
            if member {
                hide(&mut f, 9);
            }
        }
        Some(b"DMG") => hide(&mut f, 2),
        Some(b"N3") | Some(b"N4") => {
            for i in 1..f.len() {
                hide(&mut f, i);
            }
        }
        _ => {}
    }
    f.join(&sep)
}

/// Reads segments around a byte offset of the input file.
struct Context {
    file: std::fs::File,
    terminator: u8,
    element: u8,
}

impl Context {
    fn open(path: &Path) -> io::Result<Context> {
        let mut file = std::fs::File::open(path)?;
        // The delimiters of the first ISA, read by the same parser the framer uses.
        let mut head = Vec::new();
        (&mut file)
            .take(crate::x12::isa::ISA_SCAN_LIMIT as u64)
            .read_to_end(&mut head)?;
        let isa = crate::x12::isa::parse_isa(&head, true)
            .map_err(|_| io::Error::other("no readable ISA"))?;
        Ok(Context {
            file,
            terminator: isa.delimiters.segment,
            element: isa.delimiters.element,
        })
    }

    /// The segment starting at `byte` with up to two before and two after: (offset, bytes).
    fn around(&mut self, byte: u64) -> Option<Vec<(u64, Vec<u8>)>> {
        const WINDOW: u64 = 1024;
        let start = byte.saturating_sub(WINDOW);
        self.file.seek(SeekFrom::Start(start)).ok()?;
        let mut buf = vec![0u8; (byte - start + WINDOW) as usize];
        let n = read_full(&mut self.file, &mut buf);
        buf.truncate(n);
        let full = n == buf.len();
        // Where each non-empty segment is (leading line ends skipped); copied out only for the
        // few shown.
        let mut segs: Vec<(u64, std::ops::Range<usize>)> = Vec::new();
        let mut piece = |from: usize, to: usize| {
            let lead = buf
                .get(from..to)
                .unwrap_or_default()
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
            if from + lead < to {
                segs.push((start + (from + lead) as u64, from + lead..to));
            }
        };
        let mut at = 0usize;
        for end in memchr::memchr_iter(self.terminator, &buf) {
            piece(at, end);
            at = end + 1;
        }
        piece(at, buf.len());
        // The window may cut a segment at either end: drop those pieces.
        let first = usize::from(start > 0);
        let last = if full {
            segs.len().saturating_sub(1)
        } else {
            segs.len()
        };
        let i = segs.iter().position(|(o, _)| *o == byte)?;
        if i < first || i >= last {
            return None;
        }
        let from = i.saturating_sub(2).max(first);
        let to = (i + 3).min(last);
        segs.get(from..to).map(|shown| {
            shown
                .iter()
                .map(|(o, r)| (*o, buf.get(r.clone()).unwrap_or_default().to_vec()))
                .collect()
        })
    }
}

fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_without_findings_are_told_apart() {
        let none = br#"{"claim":"A[1","findings":[],"rules":"p [x] 1"}"#;
        let some = br#"{"claim":"A","findings":[{"edit":"E-01","message":"\"findings\":[] [IK4 7]"}],"rules":"p[] 1"}"#;
        assert!(no_findings(none));
        assert!(!no_findings(some));
        assert!(!no_findings(b"[]"));
        assert!(!no_findings(b""));
        let mut flagged = Flagged::default();
        for _ in 0..SHOWN + 2 {
            flagged.line(some);
            flagged.line(none);
        }
        assert_eq!((flagged.shown, flagged.more), (SHOWN, 2));
    }

    proptest::proptest! {
        /// Escaping by runs writes what escaping each character writes.
        #[test]
        fn escaped_by_runs_as_by_characters(s in proptest::prelude::any::<String>(), t in "[a&<>\"'é]{0,12}") {
            for s in [s, t] {
                let mut one = String::new();
                for c in s.chars() {
                    match c {
                        '&' => one.push_str("&amp;"),
                        '<' => one.push_str("&lt;"),
                        '>' => one.push_str("&gt;"),
                        '"' => one.push_str("&quot;"),
                        '\'' => one.push_str("&#39;"),
                        _ => one.push(c),
                    }
                }
                proptest::prop_assert_eq!(Esc(&s).to_string(), one);
            }
        }
    }

    #[test]
    fn redaction_hides_people_not_codes() {
        let r = |s: &str| String::from_utf8(redact(s.as_bytes(), b'*')).unwrap();
        assert_eq!(
            r("NM1*IL*1*DOE*JANE*Q***MI*1EG4TE5MK73"),
            "NM1*IL*1*XXXX*XXXX*XXXX***MI*XXXX"
        );
        assert_eq!(
            r("NM1*85*2*CLINIC*****XX*1234567893"),
            "NM1*85*2*CLINIC*****XX*1234567893"
        );
        assert_eq!(
            r("NM1*82*1*SMITH*ANNA****XX*1234567893"),
            "NM1*82*1*XXXX*XXXX****XX*1234567893"
        );
        assert_eq!(r("DMG*D8*19600101*F"), "DMG*D8*XXXX*F");
        assert_eq!(
            r("SV1*HC:64635:26*1500*UN*1***1"),
            "SV1*HC:64635:26*1500*UN*1***1"
        );
        assert_eq!(
            Esc("<a href=\"x\">&'é").to_string(),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;é"
        );
    }
}
