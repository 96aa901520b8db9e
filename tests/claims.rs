//! Loops, claims and the claim model: generated files parse to the claims the generator wrote,
//! the public corpus gives the claim counts its README lists, and every claim-model accessor
//! reads what the fixtures hold (both kinds).

mod common;

use common::{fixture, gen837, grammars, root, settings, Chunked};
use scrub837::claim::{ClaimBatch, ClaimView, Kind};
use scrub837::pipeline::{scrub_reader_with_claims, Scrubbed};
use scrub837::x12::ControlNumbers;

/// Scrubs `bytes` read `chunk` bytes at a time; returns the result, the problem lines and the batches.
fn read(bytes: &[u8], chunk: usize) -> (Scrubbed, Vec<String>, Vec<ClaimBatch>) {
    let mut lines = Vec::new();
    let mut batches = Vec::new();
    let mut numbers = ControlNumbers::starting_at(1);
    let mut s = settings(chunk.clamp(1, 64 << 10));
    s.grammars = grammars();
    let mut keep = |b: ClaimBatch| {
        batches.push(b);
        None
    };
    let scrubbed = scrub_reader_with_claims(
        Chunked {
            inner: bytes,
            chunk,
        },
        &s,
        &mut numbers,
        &mut |p| lines.push(scrub837::cli::problem_line("input", p)),
        Some(&mut keep),
    )
    .expect("memory reads cannot fail");
    (scrubbed, lines, batches)
}

fn claim_ids(batches: &[ClaimBatch]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| ClaimView::all(b).map(|c| c.id().into_owned()))
        .collect()
}

#[test]
fn generated_files_give_their_claims_and_no_findings() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, seed, newlines) in [
        ("P", 1, false),
        ("P", 2, true),
        ("I", 3, false),
        ("I", 4, true),
        ("P", 5, false),
    ] {
        let truth = dir.path().join(format!("truth-{kind}-{seed}.tsv"));
        let mut args = vec!["--error-rate", "0.3", "--claims-per-st", "150", "--truth"];
        let truth_arg = truth.display().to_string();
        args.push(&truth_arg);
        if newlines {
            args.push("--newlines");
        }
        let bytes = gen837(kind, 700, seed, &args);
        let (s, lines, batches) = read(&bytes, 64 << 10);
        assert!(lines.is_empty(), "{kind}/{seed}: {lines:?}");
        let expected: Vec<String> = std::fs::read_to_string(&truth)
            .unwrap()
            .lines()
            .map(|l| l.split('\t').next().unwrap().to_owned())
            .collect();
        assert_eq!(claim_ids(&batches), expected, "{kind}/{seed}");
        assert_eq!(s.claims.read, expected.len() as u64);
        assert_eq!(s.claims.rejected, 0);
        let want = if kind == "P" {
            Kind::Professional
        } else {
            Kind::Institutional
        };
        assert!(batches
            .iter()
            .all(|b| b.claims.iter().all(|c| c.kind == want)));
        assert!(batches
            .iter()
            .all(|b| b.claims.len() <= scrub837::pipeline::BATCH_CLAIMS));
    }
}

/// The batches of `bytes` with at most `claims` claims each.
fn batches_of(bytes: &[u8], claims: usize) -> Vec<ClaimBatch> {
    let mut batches = Vec::new();
    let mut s = settings(64 << 10);
    s.grammars = grammars();
    s.batch_claims = claims;
    let mut keep = |b: ClaimBatch| {
        batches.push(b);
        None
    };
    scrub_reader_with_claims(
        bytes,
        &s,
        &mut ControlNumbers::starting_at(1),
        &mut |_| {},
        Some(&mut keep),
    )
    .expect("memory reads cannot fail");
    batches
}

/// The bytes and input positions of a range of a batch's segments.
fn segments_in(b: &ClaimBatch, r: std::ops::Range<u32>) -> Vec<(Vec<u8>, u64, u64)> {
    b.segs[r.start as usize..r.end as usize]
        .iter()
        .map(|s| {
            let bytes = b.data[s.start as usize..(s.start + s.len) as usize].to_vec();
            (bytes, s.position.byte, s.position.segment)
        })
        .collect()
}

/// A batch holds a billing provider's segments once while consecutive subscribers share it,
/// and every claim still sees the billing segments (bytes and positions) it had in the input,
/// as it does when each batch holds one claim.
#[test]
fn a_batch_holds_a_billing_provider_once_for_its_subscribers() {
    let bytes = gen837(
        "P",
        600,
        14,
        &["--claims-per-st", "250", "--error-rate", "0.2"],
    );
    let billing_of_each = |batches: &[ClaimBatch]| -> Vec<Vec<(Vec<u8>, u64, u64)>> {
        batches
            .iter()
            .flat_map(|b| {
                b.claims
                    .iter()
                    .map(move |c| segments_in(b, b.contexts[c.context as usize].billing.clone()))
            })
            .collect()
    };
    let shared = batches_of(&bytes, scrub837::pipeline::BATCH_CLAIMS);
    let single = batches_of(&bytes, 1);
    assert_eq!(billing_of_each(&shared), billing_of_each(&single));
    assert!(billing_of_each(&shared).iter().all(|b| !b.is_empty()));
    let mut reused = 0;
    for b in &shared {
        for w in b.contexts.windows(2) {
            if segments_in(b, w[0].billing.clone()) == segments_in(b, w[1].billing.clone()) {
                assert_eq!(w[0].billing, w[1].billing, "the same provider copied twice");
                reused += 1;
            }
        }
    }
    assert!(
        reused > 100,
        "only {reused} contexts share their billing provider"
    );
}

#[test]
fn chunk_size_does_not_change_the_claims() {
    let bytes = gen837("I", 120, 8, &["--claims-per-st", "50", "--newlines"]);
    let (_, _, reference) = read(&bytes, 64 << 10);
    for chunk in [1, 7] {
        let (_, _, batches) = read(&bytes, chunk);
        assert_eq!(batches, reference, "{chunk}-byte reads");
    }
}

#[test]
fn reused_batches_hold_the_same_claims_as_fresh_ones() {
    // Three transaction sets, so at least three batches: the second and third are the first
    // one handed back, cleared and refilled.
    let bytes = gen837("P", 90, 12, &["--claims-per-st", "30"]);
    let (_, _, fresh) = read(&bytes, 64 << 10);
    assert!(
        fresh.len() >= 3,
        "want several batches, got {}",
        fresh.len()
    );
    let mut reused = Vec::new();
    let mut s = settings(64 << 10);
    s.grammars = grammars();
    let mut keep = |b: ClaimBatch| {
        reused.push(b.clone());
        Some(b)
    };
    scrub_reader_with_claims(
        &bytes[..],
        &s,
        &mut ControlNumbers::starting_at(1),
        &mut |_| {},
        Some(&mut keep),
    )
    .expect("memory reads cannot fail");
    assert_eq!(reused, fresh);
}

#[test]
fn corpus_files_give_the_claim_counts_their_readme_lists() {
    let readme = std::fs::read_to_string(root().join("../shared/corpus/README.md")).unwrap();
    let mut checked = 0;
    for row in readme
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains(" | "))
    {
        let cols: Vec<&str> = row.split('|').map(str::trim).collect();
        let (file, version, claims) = (cols[1], cols[5], cols[6]);
        let Ok(claims) = claims.parse::<u64>() else {
            continue;
        };
        let path = root().join("../shared/corpus").join(file);
        let Ok(mut bytes) = std::fs::read(&path) else {
            continue;
        };
        let relabel = |b: &mut Vec<u8>, from: &str, to: &str| {
            let text = String::from_utf8_lossy(b).replace(from, to);
            *b = text.into_bytes();
        };
        match version {
            "005010X222A1" | "005010X223A2" => {}
            "005010X222A2" => relabel(&mut bytes, "005010X222A2", "005010X222A1"),
            "005010X223A3" => relabel(&mut bytes, "005010X223A3", "005010X223A2"),
            _ => {
                // Versions we do not read: the finding says so.
                let (_, lines, _) = read(&bytes, 64 << 10);
                assert!(
                    lines.iter().any(|l| l.contains("not supported")),
                    "{file}: {lines:?}"
                );
                checked += 1;
                continue;
            }
        }
        let (s, _, batches) = read(&bytes, 64 << 10);
        assert_eq!(s.claims.read, claims, "{file}");
        assert_eq!(claim_ids(&batches).len() as u64, claims, "{file}");
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} corpus rows checked");
}

fn one_file(name: &str) -> Vec<ClaimBatch> {
    let bytes = std::fs::read(fixture(name)).unwrap();
    let (s, lines, batches) = read(&bytes, 64 << 10);
    assert!(lines.is_empty(), "{name}: {lines:?}");
    assert_eq!(s.claims.rejected, 0);
    batches
}

#[test]
fn professional_claim_accessors() {
    let batches = one_file("claims/accessors_837p.x12");
    let claims: Vec<ClaimView> = batches.iter().flat_map(ClaimView::all).collect();
    assert_eq!(claims.len(), 2);
    let c = claims[0];
    assert_eq!(c.kind(), Kind::Professional);
    assert_eq!(c.id(), "ACC-P-1");
    assert_eq!(c.charge().unwrap().to_string(), "2100.50");
    assert_eq!(c.place_of_service(), Some(&b"22"[..]));
    assert_eq!(c.type_of_bill(), None);
    assert_eq!(c.frequency_code(), b"1");
    assert_eq!(c.reference(b"G1"), Some(&b"UTN12345678"[..]));
    assert_eq!(c.reference(b"F8"), None);
    let dx: Vec<(&[u8], &[u8])> = c
        .diagnoses()
        .iter()
        .map(|d| (d.qualifier, d.code))
        .collect();
    assert_eq!(
        dx,
        [
            (&b"ABK"[..], &b"M47816"[..]),
            (b"ABF", b"M47817"),
            (b"ABF", b"G8929")
        ]
    );
    let billing = c.billing_provider().unwrap();
    assert_eq!(billing.name, b"RIVERBEND SPINE CLINIC");
    assert_eq!(billing.npi, Some(&b"1234567893"[..]));
    assert_eq!(billing.tax_id, Some(&b"371234567"[..]));
    assert_eq!(billing.taxonomy, Some(&b"208VP0014X"[..]));
    let sub = c.subscriber().unwrap();
    assert_eq!((sub.last_name, sub.first_name), (&b"DOE"[..], &b"JANE"[..]));
    assert_eq!(sub.member_id, Some(&b"1EG4TE5MK73"[..]));
    assert_eq!(sub.birth_date.unwrap().to_string(), "1960-01-01");
    assert_eq!(sub.gender, Some(&b"F"[..]));
    assert_eq!(sub.relationship, Some(&b"18"[..]));
    assert!(c.patient().is_none());
    let payer = c.payer().unwrap();
    assert_eq!(
        (payer.name, payer.id, payer.claim_filing),
        (&b"MEDICARE"[..], &b"12202"[..], &b"MB"[..])
    );
    assert_eq!(payer.responsibility, b"P");
    let rendering = c.provider(b"82").unwrap();
    assert_eq!(
        (rendering.name, rendering.first_name),
        (&b"MOORE"[..], &b"MICHAEL"[..])
    );
    assert_eq!(rendering.taxonomy, Some(&b"208VP0014X"[..]));
    assert_eq!(c.provider(b"77").unwrap().name, b"RIVERBEND ASC");
    assert!(c.provider(b"71").is_none());
    let lines = c.lines();
    assert_eq!(lines.len(), 2);
    let l1 = &lines[0];
    assert_eq!(l1.number(), Some(1));
    let proc1 = l1.procedure().unwrap();
    assert_eq!((proc1.qualifier, proc1.code), (&b"HC"[..], &b"64635"[..]));
    assert_eq!(proc1.modifiers, [&b"50"[..], b"KX", b"59", b"XS"]);
    assert_eq!(l1.charge().unwrap().to_string(), "1500.50");
    assert_eq!(l1.unit_basis(), b"UN");
    assert_eq!(l1.units().unwrap().cents, 100);
    assert_eq!(l1.place_of_service(), None);
    assert_eq!(l1.diagnosis_pointers(), [2, 3]);
    let d = l1.service_dates().unwrap();
    assert_eq!(
        (d.from.to_string(), d.thru.to_string()),
        ("2026-11-01".into(), "2026-11-03".into())
    );
    assert_eq!(l1.reference(b"6R"), Some(&b"LINE0001"[..]));
    assert_eq!(l1.rendering_provider().unwrap().name, b"SMITH");
    assert_eq!(l1.revenue_code(), None);
    let l2 = &lines[1];
    assert_eq!(l2.procedure().unwrap().modifiers, [&b"50"[..]]);
    assert_eq!(l2.units().unwrap().cents, 200);
    assert_eq!(l2.place_of_service(), Some(&b"24"[..]));
    assert_eq!(l2.diagnosis_pointers(), [1]);
    assert!(l2.rendering_provider().is_none());
    let total: scrub837::claim::Money = lines.iter().filter_map(|l| l.charge()).sum();
    assert_eq!(total, c.charge().unwrap());

    let p = claims[1];
    assert_eq!(p.id(), "ACC-P-2");
    let patient = p.patient().unwrap();
    assert_eq!(
        (patient.last_name, patient.first_name),
        (&b"ROE"[..], &b"SAM"[..])
    );
    assert_eq!(patient.relationship, Some(&b"19"[..]));
    assert_eq!(patient.birth_date.unwrap().to_string(), "2005-06-15");
    assert_eq!(patient.member_id, None);
    let sub = p.subscriber().unwrap();
    assert_eq!(sub.member_id, Some(&b"W987654321"[..]));
    assert_eq!(sub.relationship, None);
    assert_eq!(sub.birth_date, None);
    assert_eq!(p.payer().unwrap().claim_filing, b"CI");
    assert_eq!(p.billing_provider().unwrap().npi, Some(&b"1234567893"[..]));
}

#[test]
fn institutional_claim_accessors() {
    let batches = one_file("claims/accessors_837i.x12");
    let claims: Vec<ClaimView> = batches.iter().flat_map(ClaimView::all).collect();
    assert_eq!(claims.len(), 1);
    let c = claims[0];
    assert_eq!(c.kind(), Kind::Institutional);
    assert_eq!(c.id(), "ACC-I-1");
    assert_eq!(c.type_of_bill().as_deref(), Some("831"));
    assert_eq!(c.place_of_service(), None);
    let period = c.statement_dates().unwrap();
    assert_eq!(
        (period.from.to_string(), period.thru.to_string()),
        ("2026-11-01".into(), "2026-11-02".into())
    );
    assert_eq!(c.reference(b"G1"), Some(&b"PA55555"[..]));
    let dx: Vec<&[u8]> = c.diagnoses().iter().map(|d| d.code).collect();
    assert_eq!(dx, [&b"M47816"[..], b"M47817", b"M5450"]);
    assert_eq!(c.provider(b"71").unwrap().name, b"GREEN");
    assert_eq!(c.provider(b"82").unwrap().name, b"BLUE");
    assert_eq!(
        c.billing_provider().unwrap().taxonomy,
        Some(&b"261QA1903X"[..])
    );
    assert_eq!(c.payer().unwrap().id, b"87726");
    let lines = c.lines();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].revenue_code(), Some(&b"0360"[..]));
    let proc1 = lines[0].procedure().unwrap();
    assert_eq!(proc1.code, b"64635");
    assert_eq!(proc1.modifiers, [&b"RT"[..], b"LT"]);
    assert_eq!(lines[0].charge().unwrap().to_string(), "2400.00");
    assert_eq!(lines[0].reference(b"6R"), Some(&b"ILINE1"[..]));
    assert_eq!(lines[0].diagnosis_pointers(), Vec::<u8>::new());
    assert_eq!(lines[1].units().unwrap().cents, 350);
    assert_eq!(
        lines[1].service_dates().unwrap().from.to_string(),
        "2026-11-01"
    );
}
