//! Batches of whole claims for the parallel stage: each batch owns the bytes of its claims and
//! of the context segments they need (billing provider, subscriber and payer, patient), so a
//! worker can build claim views without touching the reader.

use std::ops::Range;

use super::values::Date;
use crate::grammar::walker::Placement;
use crate::grammar::Grammar;
use crate::x12::{Delimiters, Position, Segment};

/// 837P or 837I.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Professional, 005010X222A1.
    Professional,
    /// Institutional, 005010X223A2.
    Institutional,
}

impl Kind {
    /// `837P` or `837I`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Professional => "837P",
            Kind::Institutional => "837I",
        }
    }

    /// The kind a grammar describes.
    pub fn of(g: &Grammar) -> Option<Kind> {
        match g.name.as_str() {
            "837P" => Some(Kind::Professional),
            "837I" => Some(Kind::Institutional),
            _ => None,
        }
    }
}

/// One segment held by a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegRec {
    /// Start of its bytes in [`ClaimBatch::data`].
    pub start: u32,
    /// Length (terminator excluded).
    pub len: u32,
    /// Where it was in the input.
    pub position: Position,
    /// Index of its loop in the grammar.
    pub loop_ix: u16,
}

/// The context segments shared by consecutive claims: ranges into [`ClaimBatch::segs`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextRec {
    /// 2000A / 2010AA…: billing provider.
    pub billing: Range<u32>,
    /// 2000B / 2010BA / 2010BB: subscriber and payer.
    pub subscriber: Range<u32>,
    /// 2000C / 2010CA: patient, when not the subscriber.
    pub patient: Range<u32>,
}

/// One claim held by a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimRec {
    /// Its context in [`ClaimBatch::contexts`].
    pub context: u32,
    /// Its segments (2300 and below) in [`ClaimBatch::segs`].
    pub segs: Range<u32>,
    /// 837P or 837I.
    pub kind: Kind,
    /// Sequence number of its transaction set in the input (from 0).
    pub transaction: u32,
    /// ST02 of its transaction set.
    pub transaction_control: std::sync::Arc<str>,
    /// Its index among the claims of its transaction set (from 0).
    pub index: u32,
    /// BHT04, the date its transaction set was created.
    pub created: Option<Date>,
}

/// A batch of whole claims with what they need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimBatch {
    /// Sequence number of the batch in the input (from 0).
    pub seq: u64,
    /// Delimiters of the segments held.
    pub delimiters: Delimiters,
    /// Segment bytes, back to back.
    pub data: Vec<u8>,
    /// Segments.
    pub segs: Vec<SegRec>,
    /// Contexts.
    pub contexts: Vec<ContextRec>,
    /// Claims, in input order.
    pub claims: Vec<ClaimRec>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Billing,
    Subscriber,
    Patient,
}

fn part_of(loop_id: &str) -> Option<Part> {
    match loop_id {
        "2000A" | "2010AA" | "2010AB" | "2010AC" => Some(Part::Billing),
        "2000B" | "2010BA" | "2010BB" => Some(Part::Subscriber),
        "2000C" | "2010CA" => Some(Part::Patient),
        _ => None,
    }
}

/// Used batches handed back for their buffers, so a long run does not map fresh memory for
/// every batch. Shared by the builder and whoever consumes the batches.
#[derive(Clone, Debug, Default)]
pub struct Spares(std::sync::Arc<std::sync::Mutex<Vec<ClaimBatch>>>);

impl Spares {
    /// Spare batches kept at most.
    const KEEP: usize = 16;

    /// Hands a used batch back.
    pub fn give(&self, mut b: ClaimBatch) {
        b.data.clear();
        b.segs.clear();
        b.contexts.clear();
        b.claims.clear();
        if let Ok(mut v) = self.0.lock() {
            if v.len() < Spares::KEEP {
                v.push(b);
            }
        }
    }

    fn take(&self) -> Option<ClaimBatch> {
        self.0.lock().ok()?.pop()
    }
}

/// Builds batches from placed segments; hands each full batch to the caller.
pub struct BatchBuilder {
    spares: Spares,
    max_claims: usize,
    max_bytes: usize,
    next_seq: u64,
    batch: Option<ClaimBatch>,
    /// Context segments in force: bytes and records (start relative to `ctx_data`).
    ctx_data: Vec<u8>,
    ctx_segs: Vec<(SegRec, Part)>,
    ctx_version: u64,
    batch_ctx_version: Option<u64>,
    /// Bumped whenever the billing provider's context segments change.
    billing_version: u64,
    /// The billing provider's segments already in the open batch: their version and range.
    batch_billing: Option<(u64, Range<u32>)>,
    kind: Option<Kind>,
    transaction: u32,
    transaction_control: std::sync::Arc<str>,
    claim_index: Option<u32>,
    created: Option<Date>,
    /// [`LoopParts`] of the grammar last seen.
    parts: LoopParts,
}

/// Per loop of one grammar: the context part it holds and whether it is a `2000` loop (so
/// placing a segment compares no loop ids).
#[derive(Default)]
struct LoopParts {
    /// The grammar's address (0: none yet; grammars outlive a run); compared, never dereferenced.
    grammar: usize,
    by_loop: Vec<(Option<Part>, bool)>,
}

impl LoopParts {
    /// The part and `2000` flag of loop `ix` of `g`, from the table (rebuilt when `g` changes).
    #[inline]
    fn of(&mut self, g: &Grammar, ix: u16) -> (Option<Part>, bool) {
        let address = g as *const Grammar as usize;
        if self.grammar != address {
            self.grammar = address;
            self.by_loop = g
                .loops
                .iter()
                .map(|l| (part_of(&l.id), l.id.starts_with("2000")))
                .collect();
        }
        self.by_loop
            .get(usize::from(ix))
            .copied()
            .unwrap_or((None, false))
    }
}

impl BatchBuilder {
    /// Batches of at most `max_claims` claims and about `max_bytes` bytes.
    pub fn new(max_claims: usize, max_bytes: usize) -> Self {
        BatchBuilder {
            spares: Spares::default(),
            max_claims: max_claims.max(1),
            max_bytes: max_bytes.max(1),
            next_seq: 0,
            batch: None,
            ctx_data: Vec::new(),
            ctx_segs: Vec::new(),
            ctx_version: 0,
            batch_ctx_version: None,
            billing_version: 0,
            batch_billing: None,
            kind: None,
            transaction: 0,
            transaction_control: std::sync::Arc::from(""),
            claim_index: None,
            created: None,
            parts: LoopParts::default(),
        }
    }

    /// The pool used batches can be handed back to.
    pub fn spares(&self) -> Spares {
        self.spares.clone()
    }

    /// A transaction set begins (`seq` counts them in the input).
    pub fn transaction_start(&mut self, seq: u32, control: &str, grammar: Option<&Grammar>) {
        self.transaction = seq;
        self.transaction_control = std::sync::Arc::from(control);
        self.kind = grammar.and_then(Kind::of);
        self.ctx_data.clear();
        self.ctx_segs.clear();
        self.ctx_version += 1;
        self.billing_version += 1;
        self.claim_index = None;
        self.created = None;
    }

    /// The batch being built (a batch never spans transaction sets: the caller flushes at each
    /// transaction end, so its delimiters never change).
    fn open_batch(&mut self, d: Delimiters) -> &mut ClaimBatch {
        let seq = &mut self.next_seq;
        let spares = &self.spares;
        self.batch.get_or_insert_with(|| {
            let b = match spares.take() {
                Some(mut b) => {
                    b.seq = *seq;
                    b.delimiters = d;
                    b
                }
                None => ClaimBatch {
                    seq: *seq,
                    delimiters: d,
                    data: Vec::with_capacity(64 << 10),
                    segs: Vec::with_capacity(1024),
                    contexts: Vec::new(),
                    claims: Vec::new(),
                },
            };
            *seq += 1;
            b
        })
    }

    /// One placed segment of the transaction set. Returns a batch when one is full.
    pub fn segment(
        &mut self,
        raw: &[u8],
        d: Delimiters,
        position: &Position,
        placement: &Placement,
        grammar: &Grammar,
    ) -> Option<ClaimBatch> {
        let kind = self.kind?;
        if raw.starts_with(b"BHT") {
            self.created = Segment::parse(raw, d)
                .ok()
                .and_then(|s| Date::parse_d8(s.value(4)));
        }
        let Some(claim) = placement.claim else {
            self.claim_index = None;
            let (part, head) = self.parts.of(grammar, placement.loop_ix);
            let part = part?;
            if placement.starts_loop && head {
                let keep = match part {
                    Part::Billing => 0,
                    Part::Subscriber => self
                        .ctx_segs
                        .iter()
                        .take_while(|s| s.1 == Part::Billing)
                        .count(),
                    Part::Patient => self
                        .ctx_segs
                        .iter()
                        .take_while(|s| s.1 != Part::Patient)
                        .count(),
                };
                let bytes = self
                    .ctx_segs
                    .get(keep)
                    .map_or(self.ctx_data.len(), |s| s.0.start as usize);
                self.ctx_segs.truncate(keep);
                self.ctx_data.truncate(bytes);
            }
            if part == Part::Billing {
                self.billing_version += 1;
            }
            self.ctx_segs.push((
                SegRec {
                    start: self.ctx_data.len() as u32,
                    len: raw.len() as u32,
                    position: *position,
                    loop_ix: placement.loop_ix,
                },
                part,
            ));
            self.ctx_data.extend_from_slice(raw);
            self.ctx_version += 1;
            return None;
        };
        let mut full = None;
        if self.claim_index != Some(claim) {
            // A new claim: flush a full batch first, so a claim never spans two batches.
            if let Some(b) = &self.batch {
                if b.claims.len() >= self.max_claims || b.data.len() >= self.max_bytes {
                    full = self.flush();
                }
            }
            self.claim_index = Some(claim);
            let version = self.ctx_version;
            let (transaction, control) = (self.transaction, self.transaction_control.clone());
            let created = self.created;
            // `flush` forgets the version, so a fresh batch always gets its context.
            let new_context = self.batch_ctx_version != Some(version);
            let ctx_data = std::mem::take(&mut self.ctx_data);
            let ctx_segs = std::mem::take(&mut self.ctx_segs);
            let billing_version = self.billing_version;
            let batch_billing = self.batch_billing.take();
            let b = self.open_batch(d);
            let mut billing_in_batch = None;
            if new_context {
                let mut rec = ContextRec::default();
                for part in [Part::Billing, Part::Subscriber, Part::Patient] {
                    // The billing provider's segments are copied once per batch while they
                    // stay the same (each subscriber's context points at that copy).
                    if part == Part::Billing {
                        if let Some((v, range)) = &batch_billing {
                            if *v == billing_version {
                                rec.billing = range.clone();
                                continue;
                            }
                        }
                    }
                    let from = b.segs.len() as u32;
                    for (s, _) in ctx_segs.iter().filter(|s| s.1 == part) {
                        let start = b.data.len() as u32;
                        b.data.extend_from_slice(
                            &ctx_data[s.start as usize..(s.start + s.len) as usize],
                        );
                        b.segs.push(SegRec { start, ..*s });
                    }
                    let to = b.segs.len() as u32;
                    match part {
                        Part::Billing => {
                            rec.billing = from..to;
                            billing_in_batch = Some((billing_version, from..to));
                        }
                        Part::Subscriber => rec.subscriber = from..to,
                        Part::Patient => rec.patient = from..to,
                    }
                }
                b.contexts.push(rec);
            }
            let context = b.contexts.len() as u32 - 1;
            let at = b.segs.len() as u32;
            b.claims.push(ClaimRec {
                context,
                segs: at..at,
                kind,
                transaction,
                transaction_control: control,
                index: claim,
                created,
            });
            self.ctx_data = ctx_data;
            self.ctx_segs = ctx_segs;
            self.batch_ctx_version = Some(version);
            self.batch_billing = billing_in_batch.or(batch_billing);
        }
        let b = self.batch.as_mut()?;
        let start = b.data.len() as u32;
        b.data.extend_from_slice(raw);
        b.segs.push(SegRec {
            start,
            len: raw.len() as u32,
            position: *position,
            loop_ix: placement.loop_ix,
        });
        let end = b.segs.len() as u32;
        if let Some(c) = b.claims.last_mut() {
            c.segs.end = end;
        }
        full
    }

    /// Hands out the batch being built, if it holds claims.
    pub fn flush(&mut self) -> Option<ClaimBatch> {
        self.batch_ctx_version = None;
        self.batch_billing = None;
        self.batch.take().filter(|b| !b.claims.is_empty())
    }
}
