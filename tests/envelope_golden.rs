//! Golden 999 / TA1 / stderr / exit status for every envelope fixture, run through the real binary,
//! and every acknowledgment written parsed back by our own reader.

mod common;

use common::{envelope_fixtures, golden, root};
use scrub837::ack::read::read_acks;

#[test]
fn envelope_fixtures_match_their_golden_acknowledgments() {
    for input in envelope_fixtures() {
        let name = input.file_stem().unwrap().to_string_lossy().into_owned();
        let out = tempfile::tempdir().unwrap();
        let run = common::scrub_fixture(&input, out.path());
        assert!(run.stdout.is_empty(), "{name}: stdout must stay empty");
        let dir = root().join("tests/golden/envelope").join(&name);
        let code = run.status.code().expect("exit code");
        golden(&dir.join("exit"), format!("{code}\n").as_bytes());
        golden(&dir.join("stderr.txt"), &run.stderr);
        for suffix in ["999.x12", "ta1.x12"] {
            let written =
                std::fs::read(out.path().join(format!("{name}.{suffix}"))).unwrap_or_default();
            golden(&dir.join(suffix), &written);
            if written.is_empty() {
                continue;
            }
            let back = read_acks(&written);
            assert!(
                back.problems.is_empty(),
                "{name}.{suffix} does not re-read cleanly: {:?}",
                back.problems
            );
            for ack in &back.acks {
                ack.reconcile()
                    .unwrap_or_else(|e| panic!("{name}.{suffix}: {e}"));
            }
            if suffix == "ta1.x12" {
                assert!(!back.ta1s.is_empty(), "{name}: TA1 file without TA1");
            }
        }
    }
}

#[test]
fn every_golden_folder_has_a_fixture() {
    let fixtures: Vec<String> = envelope_fixtures()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for entry in std::fs::read_dir(root().join("tests/golden/envelope")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            fixtures.contains(&name),
            "golden folder {name} has no fixture"
        );
    }
}
