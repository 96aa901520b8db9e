//! Member history: the frequency edits (E-37, E-38, E-39) in one run and across runs with
//! `--history`, replacement and void claims, and the history database's operator commands and
//! failure modes.

mod common;

use std::path::Path;

use common::{scrub_bytes, NOW};
use scrub837::report::claims_jsonl::{read_claims, ClaimLine};

/// One claim for the test member: id, date of service (CCYYMMDD), procedure with modifiers
/// (`64635:RT`), frequency code.
#[derive(Clone, Copy)]
struct C<'a>(&'a str, &'a str, &'a str, &'a str);

/// An 837P of claims for one member of `payer` (`medicare` or `aetna`), one line each.
fn file(payer: &str, claims: &[C<'_>]) -> Vec<u8> {
    let (sbr, pr, auth) = match payer {
        "medicare" => ("SBR*P*18*******MB~", "NM1*PR*2*MEDICARE*****PI*12202~", ""),
        _ => (
            "SBR*P*18*GRP14403******CI~",
            "NM1*PR*2*AETNA*****PI*60054~",
            "REF*G1*PA20254403~",
        ),
    };
    let mut body = String::new();
    body.push_str("BHT*0019*00*HIST0001*20260105*1200*CH~NM1*41*2*SCRUB837 FIXTURES*****46*SCRFX001~PER*IC*EDI DESK*TE*6145550100~NM1*40*2*EXAMPLE CLEARINGHOUSE*****46*EXCH0001~");
    body.push_str("HL*1**20*1~PRV*BI*PXC*208VP0014X~NM1*85*2*SPINE CARE ASSOCIATES*****XX*1234567893~N3*4410 WASHINGTON BLVD~N4*COLUMBUS*OH*432151234~REF*EI*371234567~");
    body.push_str(&format!("HL*2*1*22*0~{sbr}NM1*IL*1*TAYLOR*PAUL****MI*1AR4QC2DQ36~N3*937 PINE RD~N4*COLUMBUS*OH*432021234~DMG*D8*19511006*M~{pr}"));
    for C(id, dos, service, freq) in claims {
        let f8 = if *freq == "1" {
            String::new()
        } else {
            "REF*F8*ORIG0001~".to_owned()
        };
        body.push_str(&format!(
            "CLM*{id}*1200***22:B:{freq}*Y*A*Y*Y~{auth}{f8}HI*ABK:M47816~NM1*82*1*MOORE*MICHAEL****XX*1286494335~PRV*PE*PXC*208VP0014X~NM1*77*2*GENERAL HOSPITAL*****XX*1688729197~N3*200 LAKE SHORE DR~N4*COLUMBUS*OH*432151234~LX*1~SV1*HC:{service}*1200*UN*1***1~DTP*472*D8*{dos}~"
        ));
    }
    let segments = body.matches('~').count() + 2;
    format!(
        "ISA*00*          *00*          *ZZ*SCRUB837FX     *ZZ*EXAMPLECH      *260105*1200*^*00501*000000901*0*T*:~GS*HC*SCRUB837FX*EXAMPLECH*20260105*1200*901*X*005010X222A1~ST*837*0001*005010X222A1~{body}SE*{segments}*0001~GE*1*901~IEA*1*000000901~"
    )
    .replace('~', "~\n")
    .into_bytes()
}

/// Edit ids of a claim's findings (`E-37:reject`, …) that history produces.
fn history_edits(c: &ClaimLine) -> Vec<String> {
    c.findings
        .iter()
        .filter(|f| matches!(f.edit.as_str(), "E-37" | "E-38" | "E-39"))
        .map(|f| format!("{}:{}", f.edit, f.severity))
        .collect()
}

fn in_memory(bytes: &[u8]) -> Vec<ClaimLine> {
    let (s, problems) = scrub_bytes(bytes, 4096);
    assert!(problems.is_empty(), "{problems:?}");
    let lines = read_claims(&s.claims_jsonl[..]).unwrap();
    common::check_277(&s.ack277, &lines).unwrap();
    lines
}

const THREE: [C<'static>; 3] = [
    C("H-A", "20250110", "64635:RT", "1"),
    C("H-B", "20250510", "64635:LT", "1"),
    C("H-C", "20250910", "64635:RT", "1"),
];

#[test]
fn a_third_medicare_session_within_a_year_is_rejected() {
    let lines = in_memory(&file("medicare", &THREE));
    let got: Vec<Vec<String>> = lines.iter().map(history_edits).collect();
    assert_eq!(got, vec![vec![], vec![], vec!["E-37:reject".to_owned()]]);
    assert_eq!(lines[2].status, "rejected");
    let f = lines[2].findings.iter().find(|f| f.edit == "E-37").unwrap();
    assert_eq!(f.stc.as_deref(), Some("A8:779"));
    assert_eq!(f.line, Some(1));
    assert!(
        f.message.contains("2025-01-10") && f.message.contains("2025-05-10"),
        "{}",
        f.message
    );
    // Two sessions fourteen months apart are fine.
    let lines = in_memory(&file(
        "medicare",
        &[
            C("H-A", "20240110", "64635:RT", "1"),
            C("H-B", "20240510", "64635:RT", "1"),
            C("H-C", "20250610", "64635:RT", "1"),
        ],
    ));
    assert!(lines.iter().all(|c| history_edits(c).is_empty()));
}

#[test]
fn a_commercial_repeat_on_the_same_side_within_six_months_warns() {
    let first = C("H-A", "20250110", "64635:RT", "1");
    let same = in_memory(&file(
        "aetna",
        &[first, C("H-C", "20250510", "64635:RT", "1")],
    ));
    assert_eq!(history_edits(&same[1]), vec!["E-38:warn"]);
    assert_eq!(same[1].status, "accepted");
    let other = in_memory(&file(
        "aetna",
        &[first, C("H-B", "20250510", "64635:LT", "1")],
    ));
    assert!(history_edits(&other[1]).is_empty());
    let later = in_memory(&file(
        "aetna",
        &[first, C("H-D", "20250801", "64635:RT", "1")],
    ));
    assert!(history_edits(&later[1]).is_empty(), "203 days later");
    // A third session within the year also warns under the commercial E-37.
    let third = in_memory(&file(
        "aetna",
        &[
            first,
            C("H-B", "20250510", "64635:LT", "1"),
            C("H-D", "20250801", "64635:RT", "1"),
        ],
    ));
    assert_eq!(history_edits(&third[2]), vec!["E-37:warn"]);
}

fn scrub_cli(inputs: &[&Path], out: &Path, history: Option<&Path>) -> std::process::Output {
    let mut cmd = assert_cmd::Command::cargo_bin("scrub837").unwrap();
    cmd.args(["scrub", "-q", "--now", NOW, "-o"]).arg(out);
    if let Some(h) = history {
        cmd.arg("--history").arg(h);
    }
    cmd.args(inputs).output().unwrap()
}

fn lines_of(out: &Path, stem: &str) -> Vec<ClaimLine> {
    read_claims(&std::fs::read(out.join(format!("{stem}.claims.jsonl"))).unwrap()[..]).unwrap()
}

#[test]
fn history_carries_across_runs_and_a_second_run_of_a_file_says_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("history.sqlite");
    std::fs::write(d.join("first.x12"), file("medicare", &THREE[..2])).unwrap();
    std::fs::write(d.join("second.x12"), file("medicare", &THREE[2..])).unwrap();
    std::fs::write(d.join("all.x12"), file("medicare", &THREE)).unwrap();

    // Split over two runs with --history: the third session is rejected in the second run.
    let run = scrub_cli(&[&d.join("first.x12")], &d.join("o1"), Some(&db));
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let run = scrub_cli(&[&d.join("second.x12")], &d.join("o2"), Some(&db));
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let second = lines_of(&d.join("o2"), "second");
    assert_eq!(history_edits(&second[0]), vec!["E-37:reject"]);
    // Without --history the second file alone has nothing to compare with.
    scrub_cli(&[&d.join("second.x12")], &d.join("o3"), None);
    assert!(history_edits(&lines_of(&d.join("o3"), "second")[0]).is_empty());

    // The same file twice with a fresh database: identical outputs both times.
    let db2 = d.join("again.sqlite");
    let mut outputs = Vec::new();
    for n in 0..2 {
        let out = d.join(format!("again{n}"));
        scrub_cli(&[&d.join("all.x12")], &out, Some(&db2));
        let mut bytes = Vec::new();
        for suffix in ["claims.jsonl", "277ca.x12", "999.x12"] {
            bytes.push(std::fs::read(out.join(format!("all.{suffix}"))).unwrap());
        }
        outputs.push(bytes);
    }
    assert_eq!(outputs[0], outputs[1]);
    let all = lines_of(&d.join("again0"), "all");
    assert_eq!(history_edits(&all[2]), vec!["E-37:reject"]);
    // Each session is on record once, the rejected one as rejected.
    let show = assert_cmd::Command::cargo_bin("scrub837")
        .unwrap()
        .args(["history", "show", "--member", "1AR4QC2DQ36", "--history"])
        .arg(&db2)
        .output()
        .unwrap();
    assert_eq!(show.status.code(), Some(0));
    let text = String::from_utf8(show.stdout).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert_eq!(
        rows.iter().filter(|r| r.contains("\trejected\t")).count(),
        1,
        "{text}"
    );
}

#[test]
fn a_void_removes_and_a_replacement_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("h.sqlite");
    std::fs::write(d.join("one.x12"), file("medicare", &THREE[..2])).unwrap();
    // Void H-B, then a new session: only H-A and H-C remain, so no E-37.
    std::fs::write(
        d.join("two.x12"),
        file(
            "medicare",
            &[C("H-B", "20250510", "64635:LT", "8"), THREE[2]],
        ),
    )
    .unwrap();
    // Replace H-A with a date over a year earlier, then one more: still two in any window.
    std::fs::write(
        d.join("three.x12"),
        file(
            "medicare",
            &[
                C("H-A", "20231201", "64635:RT", "7"),
                C("H-D", "20251010", "64635:RT", "1"),
            ],
        ),
    )
    .unwrap();
    for stem in ["one", "two", "three"] {
        scrub_cli(&[&d.join(format!("{stem}.x12"))], &d.join(stem), Some(&db));
    }
    let no_cap = |stem: &str| {
        let lines = lines_of(&d.join(stem), stem);
        let found: Vec<Vec<String>> = lines.iter().map(history_edits).collect();
        assert!(
            found.iter().flatten().all(|e| !e.starts_with("E-37")),
            "{stem}: {found:?}"
        );
    };
    no_cap("two");
    no_cap("three");
    // Forgetting everything before 2025 leaves H-C and H-D.
    let forget = assert_cmd::Command::cargo_bin("scrub837")
        .unwrap()
        .args(["history", "forget", "--before", "2025-01-01", "--history"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(forget.status.code(), Some(0), "{forget:?}");
    let store = scrub837::history::HistoryStore::open(&db).unwrap();
    let rows = store.show("1AR4QC2DQ36").unwrap();
    let claims: Vec<&str> = rows.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(claims, vec!["H-C", "H-D"]);
}

#[test]
fn the_first_medicare_session_without_blocks_on_record_warns_only_with_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("one.x12"), file("medicare", &THREE[..1])).unwrap();
    scrub_cli(&[&d.join("one.x12")], &d.join("plain"), None);
    assert!(history_edits(&lines_of(&d.join("plain"), "one")[0]).is_empty());
    scrub_cli(
        &[&d.join("one.x12")],
        &d.join("db"),
        Some(&d.join("h.sqlite")),
    );
    assert_eq!(
        history_edits(&lines_of(&d.join("db"), "one")[0]),
        vec!["E-39:warn"]
    );
    // With two earlier diagnostic blocks on record it does not.
    std::fs::write(
        d.join("blocks.x12"),
        file(
            "medicare",
            &[
                C("H-M1", "20241101", "64493:RT", "1"),
                C("H-M2", "20241201", "64493:RT", "1"),
                C("H-R", "20250110", "64635:RT", "1"),
            ],
        ),
    )
    .unwrap();
    scrub_cli(
        &[&d.join("blocks.x12")],
        &d.join("b"),
        Some(&d.join("h2.sqlite")),
    );
    let b = lines_of(&d.join("b"), "blocks");
    assert!(
        history_edits(&b[2]).is_empty(),
        "{:?}",
        history_edits(&b[2])
    );
}

#[test]
fn a_locked_or_corrupt_database_is_exit_2_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("one.x12"), file("medicare", &THREE[..1])).unwrap();
    let db = d.join("h.sqlite");
    let held = scrub837::history::HistoryStore::open(&db).unwrap();
    let run = scrub_cli(&[&d.join("one.x12")], &d.join("o"), Some(&db));
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("locked by another process"), "{err}");
    drop(held);
    let junk = d.join("junk.sqlite");
    std::fs::write(
        &junk,
        b"not a database at all, just some text that is long enough".repeat(100),
    )
    .unwrap();
    let before = std::fs::read(&junk).unwrap();
    let run = scrub_cli(&[&d.join("one.x12")], &d.join("o2"), Some(&junk));
    assert_eq!(run.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("corrupt"),
        "{run:?}"
    );
    assert_eq!(std::fs::read(&junk).unwrap(), before);
    assert!(
        !d.join("o2").join("one.claims.jsonl").exists(),
        "nothing scrubbed"
    );
}

/// Every service of a history database, as the store reads them back (member, payer, patient,
/// claim, code, region, side, units, date, status, stamp, sequence, provider), in key order.
fn dump(db: &Path) -> Vec<Vec<String>> {
    scrub837::history::HistoryStore::open(db)
        .unwrap()
        .rows(None)
        .unwrap()
}

#[test]
fn member_history_spilled_to_disk_gives_the_same_outputs_and_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gen = assert_cmd::Command::cargo_bin("scrub837")
        .unwrap()
        .args(["gen", "--kind", "p", "--claims", "400", "--seed", "5"])
        .args(["--error-rate", "0.2", "--claims-per-st", "150", "-o"])
        .arg(d.join("gen.x12"))
        .output()
        .unwrap();
    assert!(gen.status.success(), "{gen:?}");
    std::fs::copy(d.join("gen.x12"), d.join("again.x12")).unwrap();
    std::fs::write(d.join("one.x12"), file("medicare", &THREE[..2])).unwrap();
    std::fs::write(
        d.join("two.x12"),
        file(
            "medicare",
            &[
                C("H-B", "20250510", "64635:LT", "8"),
                THREE[2],
                C("H-A", "20231201", "64635:RT", "7"),
                C("H-D", "20251010", "64635:RT", "1"),
                C("H-E", "20251020", "64635:RT", "1"),
            ],
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("aetna.x12"),
        file(
            "aetna",
            &[
                C("H-F", "20250110", "64635:RT", "1"),
                C("H-G", "20250310", "64635:RT", "1"),
            ],
        ),
    )
    .unwrap();
    // Each run reads the generated members again, so every one of them comes back from disk.
    let runs: [&[&str]; 3] = [
        &["gen.x12", "one.x12", "again.x12"],
        &["two.x12", "aetna.x12", "gen.x12"],
        &["aetna.x12", "one.x12"],
    ];
    let run = |memory: &str, db: Option<&Path>, tag: &str| {
        let mut outputs = Vec::new();
        for (n, inputs) in runs.iter().enumerate() {
            let out = d.join(format!("{tag}-{n}"));
            let mut cmd = assert_cmd::Command::cargo_bin("scrub837").unwrap();
            cmd.args([
                "scrub",
                "-q",
                "--now",
                NOW,
                "--history-memory",
                memory,
                "-o",
            ])
            .arg(&out);
            if let Some(db) = db {
                cmd.arg("--history").arg(db);
            }
            for i in *inputs {
                cmd.arg(d.join(i));
            }
            let done = cmd.output().unwrap();
            assert!(done.status.code().unwrap_or(2) < 2, "{done:?}");
            let mut files: Vec<_> = std::fs::read_dir(&out)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| !p.ends_with("summary.json"))
                .collect();
            files.sort();
            for f in files {
                outputs.push((
                    f.file_name().unwrap().to_owned(),
                    std::fs::read(&f).unwrap(),
                ));
            }
            if let Some(db) = db {
                outputs.push(("db".into(), format!("{:?}", dump(db)).into_bytes()));
            }
        }
        outputs
    };
    for with_db in [false, true] {
        let (a, b) = (d.join("memory.sqlite"), d.join("spilled.sqlite"));
        let memory = run("16", with_db.then_some(a.as_path()), "memory");
        let spilled = run("0", with_db.then_some(b.as_path()), "spilled");
        assert_eq!(memory.len(), spilled.len());
        for (m, s) in memory.iter().zip(&spilled) {
            assert_eq!(m.0, s.0);
            assert!(m.1 == s.1, "{:?} differs when history spills", m.0);
        }
        let lines = lines_of(&d.join("spilled-1"), "two");
        assert!(
            lines.iter().any(|l| !history_edits(l).is_empty()),
            "the history edits fire"
        );
        if with_db {
            assert!(dump(&b).len() > 400, "the generated members are on record");
        }
    }
}

/// A transaction set settled as it is read (`--set-memory 0`, more claims than one batch)
/// and then rejected at its SE: every claim of it is rejected, late, and its sessions stop
/// counting, as when the set is held to its SE.
#[test]
fn a_set_rejected_at_its_se_after_its_claims_were_settled_leaves_no_session() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ids: Vec<String> = (0..700).map(|i| format!("F-{i}")).collect();
    let mut claims = vec![THREE[0], THREE[1]];
    claims.extend(ids.iter().map(|id| C(id, "20250301", "99213", "1")));
    let mut big = String::from_utf8(file("medicare", &claims)).unwrap();
    // One segment more than the set holds: the SE count is wrong (999 IK5 R).
    let at = big.find("\nSE*").unwrap() + 1;
    let count: usize = big[at + 3..].split('*').next().unwrap().parse().unwrap();
    big.replace_range(
        at..at + 3 + count.to_string().len(),
        &format!("SE*{}", count + 1),
    );
    std::fs::write(d.join("big.x12"), big).unwrap();
    std::fs::write(
        d.join("later.x12"),
        file("medicare", &[C("H-X", "20251010", "64635:RT", "1")]),
    )
    .unwrap();
    let run = |set_memory: &str| {
        let out = d.join(format!("out-{set_memory}"));
        let (big, later) = (d.join("big.x12"), d.join("later.x12"));
        let run = common::scrub_set_memory(&[&big, &later], set_memory, &out);
        assert_eq!(run.status.code(), Some(1), "{run:?}");
        let read = |name: &str| read_claims(&std::fs::read(out.join(name)).unwrap()[..]).unwrap();
        let big = read("big.claims.jsonl");
        assert_eq!(big.len(), 702);
        assert!(big.iter().all(|c| c.status == "rejected"
            && c.findings
                .iter()
                .any(|f| f.ack.as_deref().is_some_and(|a| a.starts_with("999 IK5 R")))));
        // The set has no 277CA.
        assert!(std::fs::read(out.join("big.277ca.x12"))
            .unwrap_or_default()
            .is_empty());
        let later = read("later.claims.jsonl");
        assert_eq!(
            later.iter().map(history_edits).collect::<Vec<_>>(),
            vec![Vec::<String>::new()]
        );
        assert_eq!(later[0].status, "accepted");
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        (big, summary["claims"].clone())
    };
    let (held, held_counts) = run("64");
    let (settled, settled_counts) = run("0");
    assert_eq!(held_counts, settled_counts);
    let edits = |c: &ClaimLine| {
        let mut e: Vec<String> = c.findings.iter().map(|f| f.edit.clone()).collect();
        e.sort();
        (c.claim.clone(), c.status.clone(), e)
    };
    assert_eq!(
        held.iter().map(edits).collect::<Vec<_>>(),
        settled.iter().map(edits).collect::<Vec<_>>()
    );
}

/// The pipeline with nothing formatted (`Sink::Verdicts`, what `bench` measures the outputs
/// against) edits, judges member history, tallies and rejects late exactly as a run that
/// writes its claim lines and 277CA, on one thread and on two.
#[test]
fn a_run_without_outputs_reaches_the_same_verdicts_as_one_with_them() {
    use scrub837::pipeline::{scrub_stream, Sink};
    use scrub837::x12::ControlNumbers;
    // Member history fires (E-37) on the first interchange.
    let mut good = file("medicare", &THREE);
    good.extend(common::gen837(
        "P",
        500,
        21,
        &["--error-rate", "0.3", "--claims-per-st", "200"],
    ));
    // A second interchange whose GE counts a transaction set too many: its group is rejected
    // at the trailer, after its claims were edited.
    let bad = String::from_utf8(common::gen837("P", 300, 22, &["--claims-per-st", "150"]))
        .unwrap()
        .replace("GE*2*", "GE*3*");
    let mut bytes = good;
    bytes.extend_from_slice(bad.as_bytes());
    for threads in [1, 2] {
        let s = common::settings_threads(64 << 10, threads);
        let run = |sink: Sink<'_>| {
            let mut numbers = ControlNumbers::starting_at(1);
            scrub_stream(&bytes[..], &s, &mut numbers, &mut |_| {}, sink).unwrap()
        };
        let (mut lines, mut ack277) = (Vec::new(), Vec::new());
        let (full, full_late) = run(Sink::Claims {
            lines: &mut lines,
            ack277: Some(&mut ack277),
        });
        let (bare, bare_late) = run(Sink::Verdicts);
        assert_eq!(read_claims(&lines[..]).unwrap().len(), 803);
        let tally = full.tally.as_ref().expect("the edit stage ran");
        assert!(tally.all.rejected > 0 && tally.all.accepted > 0);
        let by_edit = serde_json::to_value(tally).unwrap()["by_edit"].clone();
        assert!(by_edit.get("E-37").is_some(), "{by_edit}");
        assert_eq!(bare.tally, full.tally, "{threads} threads");
        assert!(!full_late.is_empty(), "the bad group is rejected late");
        assert_eq!(format!("{bare_late:?}"), format!("{full_late:?}"));
        assert_eq!(bare.ack999, full.ack999);
        assert!(bare.ack277.is_empty() && bare.claims_jsonl.is_empty());
    }
}
