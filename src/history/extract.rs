//! What history needs from one claim, read by an edit worker from the claim's facts: whose
//! history (payer, member, patient), the claim's identity and frequency, and its services in
//! the spinal regions the rules track.

use super::index::{
    Code, FnvHasher, Frequency, HistClaim, InForce, MemberKey, Service, Services, Side,
};
use super::small::SmallStr;
use crate::claim::view::ClaimView;
use crate::edit::codes::CodeSet;
use crate::edit::facts::Facts;

/// The patient's key: FNV-1a of last name, first name (upper case, trimmed) and birth date, from
/// 2010CA when there is a patient loop, else 2010BA.
fn patient_key(view: &ClaimView<'_>, f: &Facts<'_>) -> u64 {
    let nm1 = view.context_nm1_or(b"QC", b"IL");
    let name = |i: usize| nm1.as_ref().map_or(&b""[..], |s| s.value(i)).trim_ascii();
    let dob = f.patient_dmg.map_or(&b""[..], |d| d.0);
    patient_hash(name(3), name(4), dob)
}

/// `fnv1a` of the upper-cased last and first names and the birth date, without copying the
/// names.
fn patient_hash(last: &[u8], first: &[u8], dob: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = FnvHasher::default();
    for part in [last, first] {
        for b in part {
            h.write_u8(b.to_ascii_uppercase());
        }
        h.write_u8(0xff);
    }
    h.write(dob);
    h.write_u8(0xff);
    h.finish()
}

/// The claim as history sees it, or `None` when it has no service in a tracked region or no
/// member id to file it under. `regions` are the tracked regions' code sets by region index;
/// `rules` the history rules in force for it.
pub fn hist_claim(
    view: &ClaimView<'_>,
    f: &Facts<'_>,
    profile: Option<&str>,
    regions: &[CodeSet],
    rules: InForce,
) -> Option<HistClaim> {
    let member = f.member_id.filter(|m| !m.is_empty())?;
    let mut services = Services::default();
    for l in &f.lines {
        let Some(region) = regions.iter().position(|r| r.contains(l.code)) else {
            continue;
        };
        let Some(date) = f.line_date(l) else {
            continue;
        };
        services.push(Service {
            code: Code::of_bytes(l.code),
            region: region as u16,
            side: Side::of(&l.modifiers),
            date,
            line: l.number,
            segment: l.loc.segment,
            byte: l.loc.byte,
            units: super::index::hundredths(l.units.map_or(100, |u| u.cents)),
        });
    }
    let frequency = match f.frequency {
        b"7" => Frequency::Replacement,
        b"8" => Frequency::Void,
        _ => Frequency::Original,
    };
    if services.is_empty() && frequency != Frequency::Void {
        return None;
    }
    let payer = match profile {
        Some(p) => p.into(),
        None => format!("payer:{}", String::from_utf8_lossy(f.payer_id)).into(),
    };
    Some(HistClaim {
        key: MemberKey {
            payer,
            member: SmallStr::from_utf8_lossy(member),
            patient: patient_key(view, f),
        },
        claim: SmallStr::from_utf8_lossy(f.id),
        frequency,
        provider: f
            .billing_npi
            .map_or(0, |(npi, _)| super::fnv1a(&[npi]).max(1)),
        services,
        rules,
        day_units: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The streamed patient hash is `fnv1a` of the upper-cased names and the birth date.
        #[test]
        fn patient_hash_is_fnv1a_of_upper_case(
            last in proptest::collection::vec(proptest::num::u8::ANY, 0..12),
            first in proptest::collection::vec(proptest::num::u8::ANY, 0..12),
            dob in proptest::collection::vec(proptest::num::u8::ANY, 0..9),
        ) {
            let want = super::super::fnv1a(&[
                &last.to_ascii_uppercase(),
                &first.to_ascii_uppercase(),
                &dob,
            ]);
            proptest::prop_assert_eq!(patient_hash(&last, &first, &dob), want);
        }

        /// A code read from bytes is the code of their text, as before the ASCII shortcut.
        #[test]
        fn a_code_of_bytes_is_the_code_of_their_text(
            b in proptest::collection::vec(proptest::num::u8::ANY, 0..10),
        ) {
            let want = Code::from(std::str::from_utf8(&b).unwrap_or(""));
            proptest::prop_assert_eq!(Code::of_bytes(&b), want);
        }
    }
}
