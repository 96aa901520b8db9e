//! Typed, borrowed views of one claim in a [`ClaimBatch`]: the claim, its lines, and its
//! context (billing provider, subscriber, payer, patient). 837P and 837I share one model where
//! the data mean the same thing.

use std::borrow::Cow;
use std::ops::Range;

use super::batch::{ClaimBatch, ClaimRec, Kind};
use super::values::{Date, DateRange, Money};
use crate::x12::Segment;

/// One claim and its context.
#[derive(Clone, Copy, Debug)]
pub struct ClaimView<'b> {
    batch: &'b ClaimBatch,
    rec: &'b ClaimRec,
    /// Where its first context NM1s are, when whoever made the view had found them.
    nm1s: Option<ContextNm1s>,
}

/// Where the first context NM1 (billing provider, then subscriber and payer, then patient
/// loops) of each of the entities `85`, `IL` and `QC` sits: its index in the batch's segments.
/// Noted by a reader that visits the context anyway, so a [`ClaimView`] need not search again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContextNm1s {
    first: [Option<u32>; 3],
}

impl ContextNm1s {
    const ENTITIES: [&'static [u8]; 3] = [b"85", b"IL", b"QC"];

    /// Notes context segment `i` (its bytes `raw`), visited in context order.
    #[inline]
    pub fn note(&mut self, raw: &[u8], sep: u8, i: u32) {
        if raw.len() < 6 || !raw.starts_with(b"NM1") {
            return;
        }
        for (slot, entity) in self.first.iter_mut().zip(Self::ENTITIES) {
            if slot.is_none() && nm1_of(raw, sep, entity) {
                *slot = Some(i);
            }
        }
    }

    /// Fills what `self` lacks from `later` (noted over the segments after its own).
    pub fn then(mut self, later: &ContextNm1s) -> ContextNm1s {
        for (a, b) in self.first.iter_mut().zip(later.first) {
            *a = a.or(b);
        }
        self
    }

    /// `Some(first)` for an entity it notes.
    fn get(&self, entity: &[u8]) -> Option<Option<u32>> {
        Self::ENTITIES
            .iter()
            .position(|e| *e == entity)
            .map(|k| self.first[k])
    }
}

/// Whether a segment's bytes start `NM1<sep><entity>` and more follows, with a separator (or
/// the end) after the entity code.
fn nm1_of(raw: &[u8], sep: u8, entity: &[u8]) -> bool {
    raw.len() > 4 + entity.len()
        && raw.starts_with(b"NM1")
        && raw[3] == sep
        && raw[4..].starts_with(entity)
        && raw.get(4 + entity.len()).is_none_or(|&b| b == sep)
}

/// A provider (billing, rendering, attending, service facility, …).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provider<'b> {
    /// NM101 entity code (`85` billing, `82` rendering, `71` attending, `72` operating, `77` facility, `DN` referring).
    pub entity: &'b [u8],
    /// NM103 (organization or last name).
    pub name: &'b [u8],
    /// NM104 (first name), empty for organizations.
    pub first_name: &'b [u8],
    /// NM109 when NM108 is `XX`.
    pub npi: Option<&'b [u8]>,
    /// REF02 of REF*EI (or REF*SY) in the same loop (billing provider).
    pub tax_id: Option<&'b [u8]>,
    /// PRV03 taxonomy code of the loop.
    pub taxonomy: Option<&'b [u8]>,
}

/// A subscriber or patient.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Person<'b> {
    /// NM103.
    pub last_name: &'b [u8],
    /// NM104.
    pub first_name: &'b [u8],
    /// NM109 member id (subscriber only).
    pub member_id: Option<&'b [u8]>,
    /// DMG02.
    pub birth_date: Option<Date>,
    /// DMG03 (`F`, `M`, `U`).
    pub gender: Option<&'b [u8]>,
    /// Relationship to the subscriber: SBR02 for the subscriber (`18` self), PAT01 for a patient.
    pub relationship: Option<&'b [u8]>,
}

/// The payer and how the claim is filed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Payer<'b> {
    /// NM103.
    pub name: &'b [u8],
    /// NM109 payer id.
    pub id: &'b [u8],
    /// SBR09 claim filing indicator (`MB`, `MA`, `CI`, `BL`, …).
    pub claim_filing: &'b [u8],
    /// SBR01 payer responsibility sequence (`P`, `S`, `T`, …).
    pub responsibility: &'b [u8],
}

/// One diagnosis (or other HI entry) with its qualifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Diagnosis<'b> {
    /// HIxx-1 qualifier (`ABK` principal, `ABF` other, `ABJ` admitting, `APR` reason for visit, …).
    pub qualifier: &'b [u8],
    /// HIxx-2 code, without the decimal point.
    pub code: &'b [u8],
}

/// A procedure code with its modifiers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Procedure<'b> {
    /// Product/service id qualifier (`HC` for CPT/HCPCS).
    pub qualifier: &'b [u8],
    /// The code, e.g. `64635`.
    pub code: &'b [u8],
    /// Up to four modifiers, in order, empty ones dropped.
    pub modifiers: Vec<&'b [u8]>,
}

/// One service line (2400 and below).
#[derive(Clone, Debug)]
pub struct LineView<'b> {
    claim: ClaimView<'b>,
    segs: Range<u32>,
}

/// HI qualifiers that introduce a diagnosis (ICD-10 and ICD-9 principal, other, admitting, …).
pub(crate) const DIAGNOSIS_QUALIFIERS: [&[u8]; 11] = [
    b"ABK", b"ABF", b"ABJ", b"APR", b"ABN", b"BK", b"BF", b"BJ", b"PR", b"BN", b"DR",
];

fn component<'a>(seg: &Segment<'a>, element: usize, component: usize) -> &'a [u8] {
    seg.element(element)
        .and_then(|e| e.component(component))
        .unwrap_or(b"")
}

/// `Some` for a non-empty value.
pub(crate) fn non_empty(b: &[u8]) -> Option<&[u8]> {
    (!b.is_empty()).then_some(b)
}

impl<'b> ClaimView<'b> {
    /// A view of claim `rec` of `batch`.
    pub fn new(batch: &'b ClaimBatch, rec: &'b ClaimRec) -> Self {
        ClaimView {
            batch,
            rec,
            nm1s: None,
        }
    }

    /// The view, told where its first context NM1s are (found by a reader of the same claim).
    pub fn with_context_nm1s(self, nm1s: ContextNm1s) -> Self {
        ClaimView {
            nm1s: Some(nm1s),
            ..self
        }
    }

    /// Views of every claim of a batch, in order.
    pub fn all(batch: &'b ClaimBatch) -> impl Iterator<Item = ClaimView<'b>> + 'b {
        batch
            .claims
            .iter()
            .map(move |rec| ClaimView::new(batch, rec))
    }

    /// The record behind the view.
    pub fn record(&self) -> &'b ClaimRec {
        self.rec
    }

    fn seg(&self, i: u32) -> Option<Segment<'b>> {
        let r = self.batch.segs.get(i as usize)?;
        let bytes = self
            .batch
            .data
            .get(r.start as usize..(r.start + r.len) as usize)?;
        Segment::parse(bytes, self.batch.delimiters).ok()
    }

    fn range(&self, r: Range<u32>) -> impl Iterator<Item = Segment<'b>> + 'b {
        let this = *self;
        r.filter_map(move |i| this.seg(i))
    }

    /// The first context NM1 (billing provider, subscriber, payer, patient loops) whose NM101
    /// is `entity` (`85`, `IL`, `PR`, `QC`, …).
    pub fn context_nm1(&self, entity: &[u8]) -> Option<Segment<'b>> {
        self.context_nm1_or(entity, entity)
    }

    /// The first context NM1 whose NM101 is `entity`, else the first whose NM101 is
    /// `fallback`: `context_nm1(entity).or_else(|| context_nm1(fallback))` in one pass.
    pub fn context_nm1_or(&self, entity: &[u8], fallback: &[u8]) -> Option<Segment<'b>> {
        let ctx = self.context()?;
        if let Some(n) = self.nm1s {
            if let (Some(a), Some(b)) = (n.get(entity), n.get(fallback)) {
                return self.seg(a.or(b)?);
            }
        }
        let sep = self.batch.delimiters.element;
        // Only a segment whose bytes start `NM1*<entity>*` is parsed.
        let wanted = |raw: &[u8], entity: &[u8]| nm1_of(raw, sep, entity);
        let mut second: Option<Segment<'b>> = None;
        for i in [
            ctx.billing.clone(),
            ctx.subscriber.clone(),
            ctx.patient.clone(),
        ]
        .into_iter()
        .flatten()
        {
            let Some(r) = self.batch.segs.get(i as usize) else {
                continue;
            };
            let Some(raw) = self
                .batch
                .data
                .get(r.start as usize..(r.start + r.len) as usize)
            else {
                continue;
            };
            if wanted(raw, entity) {
                if let Ok(s) = Segment::parse(raw, self.batch.delimiters) {
                    return Some(s);
                }
            } else if second.is_none() && wanted(raw, fallback) {
                second = Segment::parse(raw, self.batch.delimiters).ok();
            }
        }
        second
    }

    /// The claim's own segments (2300 and below), in order.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'b>> + 'b {
        self.range(self.rec.segs.clone())
    }

    /// Claim-level segments: 2300 and its 2310/2320/2330 loops, before the first LX.
    fn claim_level(&self) -> impl Iterator<Item = Segment<'b>> + 'b {
        self.segments().take_while(|s| s.id() != b"LX")
    }

    fn context(&self) -> Option<&'b super::batch::ContextRec> {
        self.batch.contexts.get(self.rec.context as usize)
    }

    /// 837P or 837I.
    pub fn kind(&self) -> Kind {
        self.rec.kind
    }

    fn clm(&self) -> Option<Segment<'b>> {
        self.segments().find(|s| s.id() == b"CLM")
    }

    /// CLM01, the patient control number.
    pub fn id(&self) -> Cow<'b, str> {
        self.clm()
            .map(|s| String::from_utf8_lossy(s.value(1)))
            .unwrap_or_default()
    }

    /// CLM02, the total charge.
    pub fn charge(&self) -> Option<Money> {
        self.clm().and_then(|s| Money::parse(s.value(2)))
    }

    /// CLM05-1: place of service (837P) or facility type code (837I).
    pub fn facility_code(&self) -> &'b [u8] {
        self.clm().map_or(b"", |s| component(&s, 5, 1))
    }

    /// CLM05-3, the claim frequency code (`1` original, `7` replacement, `8` void).
    pub fn frequency_code(&self) -> &'b [u8] {
        self.clm().map_or(b"", |s| component(&s, 5, 3))
    }

    /// Place of service (837P CLM05-1).
    pub fn place_of_service(&self) -> Option<&'b [u8]> {
        (self.kind() == Kind::Professional)
            .then(|| self.facility_code())
            .and_then(non_empty)
    }

    /// Type of bill (837I: CLM05-1 facility type + CLM05-3 frequency, e.g. `131`).
    pub fn type_of_bill(&self) -> Option<String> {
        if self.kind() != Kind::Institutional || self.facility_code().is_empty() {
            return None;
        }
        Some(format!(
            "{}{}",
            String::from_utf8_lossy(self.facility_code()),
            String::from_utf8_lossy(self.frequency_code())
        ))
    }

    /// REF02 of the claim-level REF with this REF01 (`G1` prior authorization, `F8` original
    /// claim, `9F` referral, `EA` medical record).
    pub fn reference(&self, qualifier: &[u8]) -> Option<&'b [u8]> {
        self.claim_level()
            .find(|s| s.id() == b"REF" && s.value(1) == qualifier)
            .map(|s| s.value(2))
    }

    /// Diagnoses in order (claim-level HI entries with a diagnosis qualifier).
    pub fn diagnoses(&self) -> Vec<Diagnosis<'b>> {
        let mut out = Vec::new();
        for s in self.claim_level().filter(|s| s.id() == b"HI") {
            for e in s.elements() {
                for rep in e.repetitions() {
                    let qualifier = rep.component(1).unwrap_or(b"");
                    let code = rep.component(2).unwrap_or(b"");
                    if DIAGNOSIS_QUALIFIERS.contains(&qualifier) && !code.is_empty() {
                        out.push(Diagnosis { qualifier, code });
                    }
                }
            }
        }
        out
    }

    /// DTP*434 statement period (837I; RD8).
    pub fn statement_dates(&self) -> Option<DateRange> {
        self.claim_level()
            .find(|s| s.id() == b"DTP" && s.value(1) == b"434")
            .and_then(|s| DateRange::parse(s.value(2), s.value(3)))
    }

    fn provider_in(
        &self,
        segs: impl Iterator<Item = Segment<'b>>,
        entity: &[u8],
    ) -> Option<Provider<'b>> {
        let mut found: Option<Provider<'b>> = None;
        for s in segs {
            match s.id() {
                b"NM1" if found.is_none() && s.value(1) == entity => {
                    found = Some(Provider {
                        entity: s.value(1),
                        name: s.value(3),
                        first_name: s.value(4),
                        npi: (s.value(8) == b"XX").then(|| s.value(9)),
                        ..Provider::default()
                    });
                }
                b"NM1" if found.is_some() => break,
                b"REF" if matches!(s.value(1), b"EI" | b"SY") => {
                    if let Some(p) = found.as_mut() {
                        p.tax_id.get_or_insert(s.value(2));
                    }
                }
                b"PRV" => {
                    if let Some(p) = found.as_mut() {
                        p.taxonomy.get_or_insert(s.value(3));
                    }
                }
                _ => {}
            }
        }
        found
    }

    /// The billing provider (2010AA), with its taxonomy from 2000A PRV*BI.
    pub fn billing_provider(&self) -> Option<Provider<'b>> {
        let ctx = self.context()?;
        let mut p = self.provider_in(self.range(ctx.billing.clone()), b"85")?;
        p.taxonomy = self
            .range(ctx.billing.clone())
            .find(|s| s.id() == b"PRV" && s.value(1) == b"BI")
            .map(|s| s.value(3));
        Some(p)
    }

    /// A claim-level provider by NM101 entity code (`82` rendering, `71` attending, `72`
    /// operating, `77` service facility, `DN` referring).
    pub fn provider(&self, entity: &[u8]) -> Option<Provider<'b>> {
        self.provider_in(self.claim_level(), entity)
    }

    /// The subscriber (2000B SBR, 2010BA NM1*IL and DMG).
    pub fn subscriber(&self) -> Option<Person<'b>> {
        let ctx = self.context()?;
        let segs = || self.range(ctx.subscriber.clone());
        let nm1 = segs().find(|s| s.id() == b"NM1" && s.value(1) == b"IL")?;
        let mut p = Person {
            last_name: nm1.value(3),
            first_name: nm1.value(4),
            member_id: non_empty(nm1.value(9)),
            relationship: segs()
                .find(|s| s.id() == b"SBR")
                .and_then(|s| non_empty(s.value(2))),
            ..Person::default()
        };
        // The subscriber's DMG follows NM1*IL (before NM1*PR).
        let dmg = segs()
            .skip_while(|s| !(s.id() == b"NM1" && s.value(1) == b"IL"))
            .take_while(|s| !(s.id() == b"NM1" && s.value(1) == b"PR"))
            .find(|s| s.id() == b"DMG");
        if let Some(d) = dmg {
            p.birth_date = Date::parse_d8(d.value(2));
            p.gender = non_empty(d.value(3));
        }
        Some(p)
    }

    /// The patient when not the subscriber (2000C PAT, 2010CA NM1*QC and DMG).
    pub fn patient(&self) -> Option<Person<'b>> {
        let ctx = self.context()?;
        let segs = || self.range(ctx.patient.clone());
        let nm1 = segs().find(|s| s.id() == b"NM1" && s.value(1) == b"QC")?;
        let dmg = segs().find(|s| s.id() == b"DMG");
        Some(Person {
            last_name: nm1.value(3),
            first_name: nm1.value(4),
            member_id: None,
            birth_date: dmg.as_ref().and_then(|d| Date::parse_d8(d.value(2))),
            gender: dmg.as_ref().and_then(|d| non_empty(d.value(3))),
            relationship: segs()
                .find(|s| s.id() == b"PAT")
                .and_then(|s| non_empty(s.value(1))),
        })
    }

    /// The payer (2010BB NM1*PR) and the claim filing indicator (SBR09).
    pub fn payer(&self) -> Option<Payer<'b>> {
        let ctx = self.context()?;
        let segs = || self.range(ctx.subscriber.clone());
        let nm1 = segs().find(|s| s.id() == b"NM1" && s.value(1) == b"PR")?;
        let sbr = segs().find(|s| s.id() == b"SBR");
        Some(Payer {
            name: nm1.value(3),
            id: nm1.value(9),
            claim_filing: sbr.as_ref().map_or(b"", |s| s.value(9)),
            responsibility: sbr.as_ref().map_or(b"", |s| s.value(1)),
        })
    }

    /// The service lines, in order.
    pub fn lines(&self) -> Vec<LineView<'b>> {
        let mut out = Vec::new();
        let mut start: Option<u32> = None;
        for i in self.rec.segs.clone() {
            if self.seg(i).is_some_and(|s| s.id() == b"LX") {
                if let Some(st) = start {
                    out.push(LineView {
                        claim: *self,
                        segs: st..i,
                    });
                }
                start = Some(i);
            }
        }
        if let Some(st) = start {
            out.push(LineView {
                claim: *self,
                segs: st..self.rec.segs.end,
            });
        }
        out
    }
}

impl<'b> LineView<'b> {
    fn segments(&self) -> impl Iterator<Item = Segment<'b>> + 'b {
        self.claim.range(self.segs.clone())
    }

    /// Line-level segments before the 2410/2420/2430 loops begin (LX, SV1/SV2, DTP, REF, …).
    fn own(&self) -> impl Iterator<Item = Segment<'b>> + 'b {
        self.segments()
            .take_while(|s| !matches!(s.id(), b"LIN" | b"NM1" | b"SVD"))
    }

    fn service(&self) -> Option<Segment<'b>> {
        self.segments().find(|s| matches!(s.id(), b"SV1" | b"SV2"))
    }

    /// LX01.
    pub fn number(&self) -> Option<u32> {
        self.segments()
            .next()
            .and_then(|s| std::str::from_utf8(s.value(1)).ok()?.parse().ok())
    }

    /// The procedure and its modifiers (837P SV101, 837I SV202).
    pub fn procedure(&self) -> Option<Procedure<'b>> {
        let s = self.service()?;
        let element = if s.id() == b"SV1" { 1 } else { 2 };
        let e = s.element(element)?;
        Some(Procedure {
            qualifier: e.component(1).unwrap_or(b""),
            code: e.component(2).unwrap_or(b""),
            modifiers: (3..=6)
                .filter_map(|c| e.component(c))
                .filter(|m| !m.is_empty())
                .collect(),
        })
    }

    /// SV201 revenue code (837I).
    pub fn revenue_code(&self) -> Option<&'b [u8]> {
        self.service()
            .filter(|s| s.id() == b"SV2")
            .and_then(|s| non_empty(s.value(1)))
    }

    /// Line charge (SV102 / SV203).
    pub fn charge(&self) -> Option<Money> {
        let s = self.service()?;
        Money::parse(if s.id() == b"SV1" {
            s.value(2)
        } else {
            s.value(3)
        })
    }

    /// Unit basis (SV103 / SV204: `UN`, `MJ`, `DA`).
    pub fn unit_basis(&self) -> &'b [u8] {
        self.service().map_or(b"", |s| {
            if s.id() == b"SV1" {
                s.value(3)
            } else {
                s.value(4)
            }
        })
    }

    /// Units (SV104 / SV205), exact to two decimals (in hundredths, like money).
    pub fn units(&self) -> Option<Money> {
        let s = self.service()?;
        Money::parse(if s.id() == b"SV1" {
            s.value(4)
        } else {
            s.value(5)
        })
    }

    /// SV105 line place of service (837P, when it differs from the claim's).
    pub fn place_of_service(&self) -> Option<&'b [u8]> {
        self.service()
            .filter(|s| s.id() == b"SV1")
            .and_then(|s| non_empty(s.value(5)))
    }

    /// SV107-1…4 diagnosis pointers (837P), 1-based into [`ClaimView::diagnoses`].
    pub fn diagnosis_pointers(&self) -> Vec<u8> {
        let Some(s) = self.service().filter(|s| s.id() == b"SV1") else {
            return Vec::new();
        };
        (1..=4)
            .map(|c| component(&s, 7, c))
            .filter(|p| !p.is_empty())
            .filter_map(|p| std::str::from_utf8(p).ok()?.parse().ok())
            .collect()
    }

    /// DTP*472 service date or range.
    pub fn service_dates(&self) -> Option<DateRange> {
        self.own()
            .find(|s| s.id() == b"DTP" && s.value(1) == b"472")
            .and_then(|s| DateRange::parse(s.value(2), s.value(3)))
    }

    /// Line-level REF02 with this REF01 (`6R` line item control number, `G1` prior authorization).
    pub fn reference(&self, qualifier: &[u8]) -> Option<&'b [u8]> {
        self.own()
            .find(|s| s.id() == b"REF" && s.value(1) == qualifier)
            .map(|s| s.value(2))
    }

    /// The line's rendering provider (837P 2420A / 837I 2420C NM1*82).
    pub fn rendering_provider(&self) -> Option<Provider<'b>> {
        self.claim.provider_in(self.segments(), b"82")
    }
}
