//! Golden 999 / TA1 / stderr / exit status for every envelope fixture, run through the real binary,
//! and every acknowledgment written parsed back by our own reader.

mod common;

use common::{envelope_fixtures, root};

#[test]
fn envelope_fixtures_match_their_golden_acknowledgments() {
    for input in envelope_fixtures() {
        let name = input.file_stem().unwrap().to_string_lossy().into_owned();
        let out = tempfile::tempdir().unwrap();
        let run = common::scrub_fixture(&input, out.path());
        let dir = root().join("tests/golden/envelope").join(&name);
        if let Err(e) = common::check_outputs(&dir, &name, out.path(), &run) {
            panic!("{name}: {e}");
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
