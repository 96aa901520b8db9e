//! The stored layout of one member's services (schema version 3): one blob per member, its
//! services grouped by claim, so a save binds one row per member instead of thirteen texts
//! per service.
//!
//! Layout (integers little-endian, `v` a LEB128 varint): `v` region names (`v` length and
//! bytes each); then `v` claims, each its id (`v` length and bytes) and `v` services, each
//! its code (`u8` length and bytes), region (`v`, into the blob's names), side (`u8`), date
//! (`u16` year, `u8` month, `u8` day), sequence (`v`), counted (`u8`), units (`v`),
//! billing provider key (`u64`) and recording stamp (`v`, a row of the `stamps` table).

use super::index::{Code, Record, Side};
use super::small::SmallStr;
use crate::claim::Date;

fn put_v(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_v(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn side_byte(s: Side) -> u8 {
    match s {
        Side::Unknown => 0,
        Side::Right => 1,
        Side::Left => 2,
        Side::Both => 3,
    }
}

/// The order a member's services are stored (and read back) in: claim, code, side, date, as
/// the text columns of schema version 2 sorted them.
pub fn cmp_stored(a: &Record, b: &Record) -> std::cmp::Ordering {
    (
        a.claim.as_str(),
        a.code.as_str(),
        a.side.as_str(),
        (a.date.year, a.date.month, a.date.day),
    )
        .cmp(&(
            b.claim.as_str(),
            b.code.as_str(),
            b.side.as_str(),
            (b.date.year, b.date.month, b.date.day),
        ))
}

/// Writes `recs` (already in [`cmp_stored`] order) into `out`; `regions` names the index's
/// region numbers; `stamp(r)` is the stamp to store for a record.
pub fn encode(
    recs: &[&Record],
    regions: &[String],
    stamp: impl Fn(&Record) -> u64,
    out: &mut Vec<u8>,
) {
    // The blob's own region table: the names its services use, in order of first use.
    let mut used: Vec<u16> = Vec::new();
    for r in recs {
        if !used.contains(&r.region) {
            used.push(r.region);
        }
    }
    put_v(out, used.len() as u64);
    for &r in &used {
        let name = regions.get(usize::from(r)).map_or("?", String::as_str);
        put_bytes(out, name.as_bytes());
    }
    let mut i = 0;
    // Claims: runs of records with the same id.
    let claims = {
        let mut n = 0u64;
        let mut prev: Option<&SmallStr> = None;
        for r in recs {
            if prev != Some(&r.claim) {
                n += 1;
                prev = Some(&r.claim);
            }
        }
        n
    };
    put_v(out, claims);
    while let Some(first) = recs.get(i) {
        let run = recs[i..]
            .iter()
            .take_while(|r| r.claim == first.claim)
            .count();
        put_bytes(out, first.claim.as_bytes());
        put_v(out, run as u64);
        for r in &recs[i..i + run] {
            let code = r.code.as_bytes();
            out.push(code.len() as u8);
            out.extend_from_slice(code);
            put_v(
                out,
                used.iter().position(|&u| u == r.region).unwrap_or(0) as u64,
            );
            out.push(side_byte(r.side));
            out.extend_from_slice(&r.date.year.to_le_bytes());
            out.extend_from_slice(&[r.date.month, r.date.day]);
            put_v(out, r.seq);
            out.push(u8::from(r.counted));
            put_v(out, u64::from(r.units));
            out.extend_from_slice(&r.provider.to_le_bytes());
            put_v(out, stamp(r));
        }
        i += run;
    }
}

/// A bounds-checked reader over a blob.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("truncated services".to_owned());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn v(&mut self) -> Result<u64, String> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err("number in services".to_owned())
    }

    fn len(&mut self) -> Result<usize, String> {
        let n = self.v()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.0.len())
            .ok_or_else(|| "length in services".to_owned())
    }

    fn text(&mut self, what: &str) -> Result<&'a str, String> {
        let n = self.len()?;
        std::str::from_utf8(self.take(n)?).map_err(|_| what.to_owned())
    }
}

/// Reads a blob: each service as a record (stored, not dirty, `recorded` its stamp), region
/// names looked up in (or added to) `regions`. The error names what is bad.
pub fn decode(b: &[u8], regions: &mut Vec<String>, out: &mut Vec<Record>) -> Result<(), String> {
    let mut r = Reader(b);
    let n = r.len()?;
    let mut local: Vec<u16> = Vec::with_capacity(n);
    for _ in 0..n {
        let name = r.text("region")?;
        let at = match regions.iter().position(|x| x == name) {
            Some(i) => i,
            None => {
                regions.push(name.to_owned());
                regions.len() - 1
            }
        };
        local.push(u16::try_from(at).map_err(|_| "region".to_owned())?);
    }
    let claims = r.len()?;
    for _ in 0..claims {
        let claim: SmallStr = r.text("claim")?.into();
        let n = r.len()?;
        out.reserve(n);
        for _ in 0..n {
            let len = usize::from(r.u8()?);
            if len > 7 {
                return Err("code".to_owned());
            }
            let code = std::str::from_utf8(r.take(len)?).map_err(|_| "code".to_owned())?;
            let region = usize::try_from(r.v()?)
                .ok()
                .and_then(|i| local.get(i).copied())
                .ok_or_else(|| "region".to_owned())?;
            let side = match r.u8()? {
                0 => Side::Unknown,
                1 => Side::Right,
                2 => Side::Left,
                3 => Side::Both,
                _ => return Err("side".to_owned()),
            };
            let y = r.take(2)?;
            let year = u16::from_le_bytes([y[0], y[1]]);
            let (month, day) = (r.u8()?, r.u8()?);
            let date = Date::parse_d8(format_d8(year, month, day).as_slice())
                .ok_or_else(|| "date of service".to_owned())?;
            let seq = r.v()?;
            let counted = match r.u8()? {
                0 => false,
                1 => true,
                _ => return Err("counted".to_owned()),
            };
            let units = u32::try_from(r.v()?).map_err(|_| "units".to_owned())?;
            let p = r.take(8)?;
            let mut provider = [0u8; 8];
            provider.copy_from_slice(p);
            let recorded = u32::try_from(r.v()?).map_err(|_| "stamp".to_owned())?;
            out.push(Record {
                claim: claim.clone(),
                code: Code::from(code),
                region,
                side,
                date,
                seq,
                counted,
                units,
                provider: u64::from_le_bytes(provider),
                stamp: 0,
                recorded,
                stored: true,
                dirty: false,
            });
        }
    }
    if !r.0.is_empty() {
        return Err("length of services".to_owned());
    }
    Ok(())
}

/// CCYYMMDD of a date's parts (checked by `Date::parse_d8`), on the stack.
fn format_d8(year: u16, month: u8, day: u8) -> [u8; 8] {
    let mut out = [b'0'; 8];
    if year > 9999 || month > 99 || day > 99 {
        // Not a date: parse_d8 refuses letters.
        return *b"xxxxxxxx";
    }
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, u32::from(year));
    put(4, 2, u32::from(month));
    put(6, 2, u32::from(day));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(claim: &str, code: &str, region: u16, day: u8, stamp: u32) -> Record {
        Record {
            claim: claim.into(),
            code: code.into(),
            region,
            side: Side::Left,
            date: Date {
                year: 2025,
                month: 3,
                day,
            },
            seq: 300 + u64::from(day),
            counted: day % 2 == 0,
            units: 150,
            provider: 0xdead_beef_0000_0001,
            stamp: 0,
            recorded: stamp,
            stored: true,
            dirty: false,
        }
    }

    #[test]
    fn a_blob_reads_back_as_written_and_names_regions_by_name() {
        let long = "L".repeat(300);
        let mut recs = [
            rec("A", "64635", 1, 2, 1),
            rec("A", "64636", 0, 3, 1),
            rec(&long, "64493", 1, 4, 200),
        ];
        recs.sort_by(cmp_stored);
        let refs: Vec<&Record> = recs.iter().collect();
        let mut blob = Vec::new();
        encode(
            &refs,
            &["cervical".into(), "lumbar".into()],
            |r| u64::from(r.recorded),
            &mut blob,
        );
        // A reader whose regions are numbered otherwise gets them by name.
        let mut regions = vec!["lumbar".to_owned()];
        let mut back = Vec::new();
        decode(&blob, &mut regions, &mut back).unwrap();
        assert_eq!(regions, ["lumbar", "cervical"]);
        let fix = |r: &Record| Record {
            region: if r.region == 1 { 0 } else { 1 },
            ..r.clone()
        };
        assert_eq!(back, recs.iter().map(fix).collect::<Vec<_>>());
        // Every cut of it is an error, never a panic.
        for n in 0..blob.len() {
            assert!(decode(&blob[..n], &mut regions, &mut Vec::new()).is_err());
        }
    }

    proptest::proptest! {
        /// Any bytes read as a blob give records or an error, never a panic.
        #[test]
        fn any_bytes_decode_or_fail(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            let mut regions = Vec::new();
            let _ = decode(&bytes, &mut regions, &mut Vec::new());
        }
    }
}
