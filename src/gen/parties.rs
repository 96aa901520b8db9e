//! Who is on a generated claim: the pool of billing providers with their physicians and
//! service facilities (built once per file), subscribers and patients (drawn per claim), NPIs
//! with a valid Luhn check digit and member ids unique per claim.

use super::data::{
    City, Payer, CITIES, FACILITIES_I, FAC_ASC_P, FAC_HOSP_P, FIRST_F, FIRST_M, INITIALS, LAST,
    PAIN_MEDICINE, PRACTICES, STREETS,
};
use super::rng::Rng;
use crate::claim::Kind;

/// A 10-digit NPI.
pub type Npi = [u8; 10];

/// The NPI check digit of a 9-digit base: Luhn over `80840` and the base.
pub fn luhn_check(base: &[u8; 9]) -> u8 {
    let mut total = 0u32;
    for (i, c) in b"80840".iter().chain(base).rev().enumerate() {
        let mut d = u32::from(c - b'0');
        // Every second digit from the right, counting the check digit that follows.
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        total += d;
    }
    b'0' + ((10 - total % 10) % 10) as u8
}

/// A random NPI (starting with 1 or 2) with a valid check digit.
pub fn npi(r: &mut Rng) -> Npi {
    let mut base = [b'0'; 9];
    base[0] = if r.percent(50) { b'1' } else { b'2' };
    for d in &mut base[1..] {
        *d = b'0' + r.below(10) as u8;
    }
    let mut out = [0u8; 10];
    out[..9].copy_from_slice(&base);
    out[9] = luhn_check(&base);
    out
}

/// The same NPI with a check digit that fails Luhn (shifted by 1 to 9).
pub fn break_npi(r: &mut Rng, good: &Npi) -> Npi {
    let mut bad = *good;
    let d = u64::from(good[9] - b'0');
    bad[9] = b'0' + ((d + r.range(1, 9)) % 10) as u8;
    bad
}

/// A street address: house number, street and city.
#[derive(Clone, Copy, Debug)]
pub struct Address {
    /// House number.
    pub number: u64,
    /// Street name.
    pub street: &'static str,
    /// City, state and ZIP code.
    pub city: &'static City,
}

/// A physician of a billing provider (rendering, attending, operating).
#[derive(Clone, Copy, Debug)]
pub struct Physician {
    /// NM103.
    pub last: &'static str,
    /// NM104.
    pub first: &'static str,
    /// NM109.
    pub npi: Npi,
}

/// A service facility of an 837P claim (2310C).
#[derive(Clone, Copy, Debug)]
pub struct Facility {
    /// NM103.
    pub name: &'static str,
    /// NM109.
    pub npi: Npi,
    /// N3/N4 (the ZIP code gets `1234` as its +4).
    pub addr: Address,
}

/// A billing provider (2000A/2010AA) with its physicians.
#[derive(Clone, Debug)]
pub struct Provider {
    /// NM103.
    pub name: &'static str,
    /// NM109.
    pub npi: Npi,
    /// REF*EI (nine digits).
    pub tin: u64,
    /// N3/N4.
    pub addr: Address,
    /// The +4 of its ZIP code.
    pub zip4: u64,
    /// PRV03.
    pub taxonomy: &'static str,
    /// 837I: the facility type code of its type of bill (`13` or `83`).
    pub fac_code: Option<&'static str>,
    /// 837I: a hospital (facility type 13), which alone may bill inpatient or forced-13x claims.
    pub hospital: bool,
    /// Two to five physicians.
    pub docs: Vec<Physician>,
    /// 837P: the surgery centre of its place-of-service-24 claims.
    pub asc: Facility,
    /// 837P: the hospital of its place-of-service 19, 21 and 22 claims.
    pub hosp: Facility,
}

/// A random address.
fn address(r: &mut Rng, lo: u64) -> Address {
    Address {
        number: r.range(lo, 9999),
        street: r.pick(&STREETS),
        city: &CITIES[r.below(CITIES.len() as u64) as usize],
    }
}

/// The fixed pool of six billing providers, their physicians and facilities; NPIs are unique.
pub fn providers(r: &mut Rng, kind: Kind) -> Vec<Provider> {
    let mut used: Vec<Npi> = Vec::new();
    let mut new_npi = |r: &mut Rng| loop {
        let n = npi(r);
        if !used.contains(&n) {
            used.push(n);
            return n;
        }
    };
    let first_names: Vec<&'static str> = FIRST_M.iter().chain(&FIRST_F).copied().collect();
    (0..6)
        .map(|i| {
            let city = &CITIES[r.below(CITIES.len() as u64) as usize];
            let (name, taxonomy, fac_code) = match kind {
                Kind::Professional => (PRACTICES[i % PRACTICES.len()], PAIN_MEDICINE, None),
                Kind::Institutional => {
                    let (n, t, f) = FACILITIES_I[i % FACILITIES_I.len()];
                    (n, t, Some(f))
                }
            };
            let docs = (0..r.range(2, 5))
                .map(|_| Physician {
                    last: r.pick(&LAST),
                    first: r.pick(&first_names),
                    npi: new_npi(r),
                })
                .collect();
            let npi = new_npi(r);
            let tin = r.range(10, 99) * 10_000_000 + r.range(1_000_000, 9_999_999);
            let mut addr = address(r, 100);
            addr.city = city;
            let zip4 = r.range(1000, 9999);
            let asc = Facility {
                name: FAC_ASC_P[i % FAC_ASC_P.len()],
                npi: new_npi(r),
                addr: address(r, 100),
            };
            let hosp = Facility {
                name: FAC_HOSP_P[i % FAC_HOSP_P.len()],
                npi: new_npi(r),
                addr: address(r, 100),
            };
            Provider {
                name,
                npi,
                tin,
                addr,
                zip4,
                taxonomy,
                fac_code,
                hospital: fac_code == Some("13"),
                docs,
                asc,
                hosp,
            }
        })
        .collect()
}

/// A subscriber or patient.
#[derive(Clone, Copy, Debug)]
pub struct Person {
    /// NM103.
    pub last: &'static str,
    /// NM104.
    pub first: &'static str,
    /// NM105.
    pub mi: &'static str,
    /// DMG03: `F` or `M`.
    pub sex: &'static str,
    /// DMG02 as the number `CCYYMMDD`.
    pub dob: u64,
    /// N3/N4.
    pub addr: Address,
}

/// A random person aged `min_age..=max_age` in 2025.
pub fn person(r: &mut Rng, min_age: u64, max_age: u64) -> Person {
    let female = r.percent(50);
    let first = if female {
        r.pick(&FIRST_F)
    } else {
        r.pick(&FIRST_M)
    };
    let year = 2025 - r.range(min_age, max_age);
    let dob = year * 10_000 + r.range(1, 12) * 100 + r.range(1, 28);
    Person {
        last: r.pick(&LAST),
        first,
        mi: r.pick(&INITIALS),
        sex: if female { "F" } else { "M" },
        dob,
        addr: address(r, 10),
    }
}

/// The characters allowed at each position of a Medicare Beneficiary Identifier.
const MBI_CHARS: [&[u8]; 11] = [
    b"123456789",
    b"ACDEFGHJKMNPQRTUVWXY",
    b"ACDEFGHJKMNPQRTUVWXY0123456789",
    b"0123456789",
    b"ACDEFGHJKMNPQRTUVWXY",
    b"ACDEFGHJKMNPQRTUVWXY0123456789",
    b"0123456789",
    b"ACDEFGHJKMNPQRTUVWXY",
    b"ACDEFGHJKMNPQRTUVWXY",
    b"0123456789",
    b"0123456789",
];

/// How many MBIs there are.
const fn mbi_space() -> u64 {
    let mut n = 1u64;
    let mut i = 0;
    while i < MBI_CHARS.len() {
        n *= MBI_CHARS[i].len() as u64;
        i += 1;
    }
    n
}

/// The size of the MBI space.
pub const MBI_SPACE: u64 = mbi_space();
/// The multiplier of the MBI map (coprime with [`MBI_SPACE`], so the map is one to one).
pub const MBI_MUL: u64 = 5_123_456_789_017;
/// Commercial ids: one of `WXHUB` and nine digits.
pub const COM_SPACE: u64 = 5_000_000_000;
/// The multiplier of the commercial map (coprime with [`COM_SPACE`]).
pub const COM_MUL: u64 = 2_718_281_831;

/// Member ids (2010BA NM109): an affine map of the claim number onto the id space, so ids are
/// unique within a file; the random offsets make a clash with another seed's file unlikely.
#[derive(Clone, Copy, Debug)]
pub struct MemberIds {
    mbi_off: u64,
    com_off: u64,
}

impl MemberIds {
    /// Draws the offsets.
    pub fn new(r: &mut Rng) -> MemberIds {
        MemberIds {
            mbi_off: r.below(MBI_SPACE),
            com_off: r.below(COM_SPACE),
        }
    }

    /// The id of claim number `seq`: a valid MBI pattern for Medicare, else a letter and nine
    /// digits. Returns the bytes and their length.
    pub fn id(&self, payer: &Payer, seq: u64) -> ([u8; 11], usize) {
        let mut out = [b'0'; 11];
        if !payer.commercial {
            let mut x = ((u128::from(seq) * u128::from(MBI_MUL) + u128::from(self.mbi_off))
                % u128::from(MBI_SPACE)) as u64;
            for (slot, chars) in out.iter_mut().zip(MBI_CHARS).rev() {
                let n = chars.len() as u64;
                *slot = chars[(x % n) as usize];
                x /= n;
            }
            return (out, 11);
        }
        let x = ((u128::from(seq) * u128::from(COM_MUL) + u128::from(self.com_off))
            % u128::from(COM_SPACE)) as u64;
        out[0] = b"WXHUB"[(x / 1_000_000_000) as usize];
        let mut digits = x % 1_000_000_000;
        for slot in out[1..10].iter_mut().rev() {
            *slot = b'0' + (digits % 10) as u8;
            digits /= 10;
        }
        (out, 10)
    }
}

#[cfg(test)]
mod tests {
    use super::super::data::{AETNA, MEDICARE};
    use super::*;

    fn luhn_ok(npi: &Npi) -> bool {
        let base: [u8; 9] = npi[..9].try_into().unwrap();
        luhn_check(&base) == npi[9]
    }

    #[test]
    fn npis_pass_luhn_and_broken_ones_do_not() {
        // CMS's worked example: 123456789 takes check digit 3.
        assert_eq!(luhn_check(b"123456789"), b'3');
        let mut r = Rng::new(5, 0);
        for _ in 0..2000 {
            let n = npi(&mut r);
            assert!(luhn_ok(&n) && matches!(n[0], b'1' | b'2'));
            let bad = break_npi(&mut r, &n);
            assert_eq!(bad[..9], n[..9]);
            assert!(!luhn_ok(&bad));
        }
    }

    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }

    #[test]
    fn member_ids_are_unique_and_well_formed() {
        assert_eq!(gcd(MBI_MUL, MBI_SPACE), 1);
        assert_eq!(gcd(COM_MUL, COM_SPACE), 1);
        let ids = MemberIds::new(&mut Rng::new(9, 0));
        let mbi = regex::Regex::new(
            "^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y]{2}[0-9]{2}$",
        )
        .unwrap();
        let com = regex::Regex::new("^[WXHUB][0-9]{9}$").unwrap();
        let mut seen = std::collections::HashSet::new();
        for seq in 1..20_000u64 {
            let (b, n) = ids.id(&MEDICARE, seq);
            let m = std::str::from_utf8(&b[..n]).unwrap().to_owned();
            assert!(mbi.is_match(&m), "{m}");
            let (b, n) = ids.id(&AETNA, seq);
            let c = std::str::from_utf8(&b[..n]).unwrap().to_owned();
            assert!(com.is_match(&c), "{c}");
            assert!(seen.insert(m) && seen.insert(c));
        }
        // Far claim numbers still map inside the spaces.
        let (b, n) = ids.id(&MEDICARE, u64::MAX);
        assert!(mbi.is_match(std::str::from_utf8(&b[..n]).unwrap()));
    }

    #[test]
    fn the_pool_has_unique_npis_and_hospitals_for_837i() {
        for kind in [Kind::Professional, Kind::Institutional] {
            let pool = providers(&mut Rng::new(1, 0), kind);
            assert_eq!(pool.len(), 6);
            let mut npis: Vec<Npi> = Vec::new();
            for p in &pool {
                assert!((2..=5).contains(&p.docs.len()));
                assert!((100_000_000..=999_999_999).contains(&p.tin), "nine digits");
                npis.push(p.npi);
                npis.push(p.asc.npi);
                npis.push(p.hosp.npi);
                npis.extend(p.docs.iter().map(|d| d.npi));
            }
            assert!(npis.iter().all(luhn_ok));
            let n = npis.len();
            npis.sort();
            npis.dedup();
            assert_eq!(npis.len(), n, "NPIs are unique");
            let hospitals = pool.iter().filter(|p| p.hospital).count();
            match kind {
                Kind::Professional => assert_eq!(hospitals, 0),
                Kind::Institutional => assert_eq!(hospitals, 4),
            }
        }
    }
}
