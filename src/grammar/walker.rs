//! The loop walker: assigns each segment of a transaction set to its loop in one pass, checks
//! the implementation guide (sequence, required segments and loops, max use, repeats, element
//! rules, the HL hierarchy, LX numbering) and attributes what it finds to claims where it can.

use super::elements::check_compiled;
use super::memo::CleanMemo;
use super::{Child, Grammar, LoopIx, SegIx, Special, Usage};
use crate::x12::{
    Delimiters, ElementError, ElementRef, Position, Segment, SegmentError, Split, SplitTable,
};

/// Where a segment was placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The loop it belongs to.
    pub loop_ix: LoopIx,
    /// Its segment definition.
    pub seg_ix: SegIx,
    /// It started a new instance of `loop_ix`.
    pub starts_loop: bool,
    /// The claim (0-based in the transaction set) it belongs to, if it is inside a 2300 loop.
    pub claim: Option<u32>,
}

/// The claim being walked.
#[derive(Clone, Debug, PartialEq, Eq)]
struct OpenClaim {
    /// Whether an error was attributed to it.
    has_errors: bool,
}

/// Claims of one transaction set: how many, and how many had errors of their own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClaimTally {
    /// Claims read (2300 loops entered).
    pub read: u32,
    /// Claims with at least one error attributed to them.
    pub with_errors: u32,
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    lp: LoopIx,
    pos: usize,
    base: usize,
    /// Bit `k`: child `k` occurred (its count is above 0), for children below 64.
    seen: u64,
}

/// The previous HL, whose HL04 is settled by the next HL (HLs come depth-first, so a
/// level's first child, if any, is the very next HL).
#[derive(Clone, Debug)]
struct PrevHl {
    number: usize,
    loop_ix: LoopIx,
    hl04: [u8; 2],
    hl04_len: usize,
    position: Position,
}

/// Walks one transaction set at a time against a grammar.
pub struct Walker<'g> {
    g: &'g Grammar,
    /// Which loops are claim loops (2300; the 837 guides have one under 2000B and one under 2000C).
    claim_loop: Vec<bool>,
    stack: Vec<Frame>,
    counts: Vec<u32>,
    errors: Vec<SegmentError>,
    /// Errors already handed out by [`Walker::settled`].
    settled: usize,
    element_errors: Vec<ElementError>,
    /// HL03 of every HL of the transaction set (two bytes each), for the HL02 parent check.
    hl_levels: Vec<[u8; 2]>,
    prev_hl: Option<PrevHl>,
    claim: Option<OpenClaim>,
    /// CLM01 of the open claim (a buffer reused from claim to claim).
    claim_id: Vec<u8>,
    tally: ClaimTally,
    claim_depth: Option<usize>,
    lx_next: u32,
    /// Byte classes of the delimiters in force, kept from segment to segment.
    table: SplitTable,
    /// Segments that passed their element rules under those delimiters.
    memo: CleanMemo,
}

/// Whether the segment holds one of `id`'s codes where `id` names (the general case).
fn identity_matches(id: &super::Identity, seg: &Split<'_>) -> bool {
    let value = match id.component {
        None => seg.value(id.element),
        Some(c) => seg
            .element(id.element)
            .and_then(|e| e.component(c))
            .unwrap_or(b""),
    };
    id.codes.contains(value)
}

/// A value read as a number as `str::parse` reads it (`None` for bytes that are not UTF-8,
/// which the lossy text they would become never parses either).
fn number<T: std::str::FromStr>(value: &[u8]) -> Option<T> {
    std::str::from_utf8(value).ok()?.parse().ok()
}

impl<'g> Walker<'g> {
    /// A walker for `g`. Loop `2300` (when the grammar has one) is the claim loop.
    pub fn new(g: &'g Grammar) -> Self {
        Walker {
            g,
            claim_loop: g.loops.iter().map(|l| l.id == "2300").collect(),
            stack: Vec::with_capacity(16),
            counts: Vec::with_capacity(256),
            errors: Vec::new(),
            settled: 0,
            element_errors: Vec::new(),
            hl_levels: Vec::new(),
            prev_hl: None,
            claim: None,
            claim_id: Vec::new(),
            tally: ClaimTally::default(),
            claim_depth: None,
            lx_next: 1,
            table: SplitTable::new(Delimiters::STANDARD),
            memo: CleanMemo::default(),
        }
    }

    /// The grammar walked.
    pub fn grammar(&self) -> &'g Grammar {
        self.g
    }

    /// Starts a transaction set.
    pub fn begin(&mut self) {
        self.stack.clear();
        self.counts.clear();
        self.errors.clear();
        self.settled = 0;
        self.hl_levels.clear();
        self.prev_hl = None;
        self.claim = None;
        self.tally = ClaimTally::default();
        self.claim_depth = None;
        self.lx_next = 1;
        let n = self.g.loops[0].children.len();
        self.counts.resize(n, 0);
        self.stack.push(Frame {
            lp: 0,
            pos: 0,
            base: 0,
            seen: 0,
        });
    }

    /// Claims before the returned index are closed (no error can be attributed to them any
    /// more); with the errors found since the last call that belong to them (and any without
    /// a claim among those).
    pub fn settled(&mut self) -> (u32, &[SegmentError]) {
        let upto = self.current_claim().unwrap_or(self.tally.read);
        let from = self.settled.min(self.errors.len());
        // Errors are attributed to the claim being walked, so claims come in order.
        let n = self.errors[from..]
            .iter()
            .take_while(|e| e.claim.is_none_or(|c| c < upto))
            .count();
        self.settled = from + n;
        (upto, &self.errors[from..from + n])
    }

    /// Takes the errors and the claim tally of the transaction set.
    pub fn take(&mut self) -> (Vec<SegmentError>, ClaimTally) {
        (std::mem::take(&mut self.errors), self.tally)
    }

    fn current_claim(&self) -> Option<u32> {
        self.claim.as_ref().map(|_| self.tally.read - 1)
    }

    /// Attributes an error found outside the walker (an unreadable or oversize segment) to the
    /// claim being walked, if any: it then rejects that claim only.
    pub fn attribute(&mut self, e: &mut SegmentError) {
        if let (Some(index), Some(claim)) = (self.current_claim(), self.claim.as_mut()) {
            claim.has_errors = true;
            e.claim = Some(index);
            e.context = Some((
                "CLM01".into(),
                String::from_utf8_lossy(&self.claim_id).into_owned(),
            ));
        }
    }

    fn head(&self, child: Child) -> Option<SegIx> {
        match child {
            Child::Segment(s) => Some(s),
            Child::Loop(l) => self.g.trigger(l),
        }
    }

    #[inline(always)]
    fn matches(&self, sx: SegIx, key: u64, seg: &Split<'_>, strict: bool) -> bool {
        let Some(s) = self.g.segments.get(sx as usize) else {
            return false;
        };
        if s.key != key {
            return false;
        }
        !strict || self.qualifier_holds(sx, seg)
    }

    /// The open loop (by depth, innermost first) and child segment `seg` (id number `id`)
    /// continues or starts. `strict`: its qualifier must be one of the child's codes.
    fn locate(&self, id: u16, seg: &Split<'_>, strict: bool) -> Option<(usize, usize, SegIx)> {
        for depth in (0..self.stack.len()).rev() {
            let f = self.stack[depth];
            for c in self.g.candidates_with_id(f.lp, id) {
                let ci = c.child as usize;
                // Without its qualifier a segment may repeat the segment at `pos`, but it does
                // not start another instance of the loop at `pos` (the one just finished).
                // A loop's trigger (child 0) never repeats inside one instance: another one
                // starts a new instance, which the search one level up finds.
                let trigger = depth > 0 && ci == 0;
                let reachable = !trigger && (ci > f.pos || (ci == f.pos && (strict || c.segment)));
                // Candidates share the segment's id, so only a qualifier can tell them apart.
                if reachable && (!strict || !c.qualified || self.qualifier_holds(c.head, seg)) {
                    return Some((depth, ci, c.head));
                }
            }
        }
        None
    }

    /// Whether `seg` holds one of the qualifier codes of segment `sx`.
    #[inline]
    fn qualifier_holds(&self, sx: SegIx, seg: &Split<'_>) -> bool {
        let Some(id) = self
            .g
            .segments
            .get(sx as usize)
            .and_then(|s| s.identity.as_ref())
        else {
            return true;
        };
        let ends = seg.ends();
        let n = id.element;
        if id.component.is_none() && n >= 1 && n <= ends.len() {
            // The value packed straight from the split: no slice, no byte loop.
            let start = if n == 1 { 0 } else { ends[n - 2] as usize + 1 };
            if let Some(p) = super::pack_in(seg.bytes(), start, ends[n - 1] as usize) {
                return id.codes.contains_packed(p);
            }
        }
        identity_matches(id, seg)
    }

    fn push_error(&mut self, mut e: SegmentError) {
        self.attribute(&mut e);
        self.errors.push(e);
    }

    fn error(&mut self, id: &str, position: &Position, lp: LoopIx, code: &'static str) {
        let loop_id = self.g.loops[lp as usize].id.clone();
        self.push_error(SegmentError {
            segment_id: id.to_owned(),
            position: *position,
            loop_id: (loop_id != "ST").then_some(loop_id),
            code,
            elements: Vec::new(),
            claim: None,
            context: None,
        });
    }

    /// Reports required children of frame `depth` in `from..to` that never occurred.
    #[inline]
    fn missing(&mut self, depth: usize, from: usize, to: usize, position: &Position) {
        let f = self.stack[depth];
        if let Some(required) = self.g.loops[f.lp as usize].required_mask {
            // Children below 64: one test clears the common case (none missing).
            let below = |n: usize| match n {
                0..=63 => (1u64 << n) - 1,
                _ => u64::MAX,
            };
            if required & below(to) & !below(from) & !f.seen == 0 {
                return;
            }
        }
        self.report_missing(depth, from, to, position);
    }

    /// [`Walker::missing`] child by child.
    #[cold]
    fn report_missing(&mut self, depth: usize, from: usize, to: usize, position: &Position) {
        let f = self.stack[depth];
        let g = self.g;
        let required = &g.loops[f.lp as usize].required;
        let start = required.partition_point(|&k| (k as usize) < from);
        for &k in &required[start..] {
            let k = k as usize;
            if k >= to {
                break;
            }
            if self.counts[f.base + k] > 0 {
                continue;
            }
            let child = g.loops[f.lp as usize].children[k];
            match child {
                Child::Segment(s) => {
                    let id = self.g.segments[s as usize].def.id.clone();
                    self.error(&id, position, f.lp, "3");
                }
                Child::Loop(l) => {
                    let id = self
                        .head(child)
                        .map(|s| self.g.segments[s as usize].def.id.clone())
                        .unwrap_or_default();
                    self.error(&id, position, l, "I7");
                }
            }
        }
    }

    /// The claim being walked ends (before the segment that closed it, or at the SE).
    fn close_claim(&mut self) {
        if self.claim.take().is_some_and(|c| c.has_errors) {
            self.tally.with_errors += 1;
        }
        self.claim_depth = None;
    }

    fn pop(&mut self, position: &Position) {
        let depth = self.stack.len() - 1;
        let f = self.stack[depth];
        let len = self.g.loops[f.lp as usize].children.len();
        self.missing(depth, f.pos, len, position);
        if self.claim_depth == Some(depth) {
            self.close_claim();
        }
        self.counts.truncate(f.base);
        self.stack.pop();
    }

    /// Places one segment (`position.in_transaction` must be set), checking it.
    pub fn segment(&mut self, seg: &Segment<'_>, position: &Position) -> Option<Placement> {
        if self.table.delimiters() != seg.delimiters() {
            self.table = SplitTable::new(seg.delimiters());
            self.memo.clear();
        }
        let split = seg.split_by(&self.table);
        let key = super::pack_in(seg.raw(), 0, seg.id().len()).unwrap_or(u64::MAX - 1);
        let id = self.g.id_number(key);
        let (found, qualifier_fault) = match id.map(|id| (id, self.locate(id, &split, true))) {
            Some((_, Some(hit))) => (Some(hit), false),
            Some((id, None)) => (self.locate(id, &split, false), true),
            None => (None, true),
        };
        let Some((depth, ci, sx)) = found else {
            let code = if !self.g.knows_segment(seg.id()) {
                "1"
            } else {
                let f = self.stack[self.stack.len() - 1];
                let behind = self.g.loops[f.lp as usize].heads[..f.pos]
                    .iter()
                    .any(|&h| self.matches(h, key, &split, true));
                if behind {
                    "7"
                } else {
                    "2"
                }
            };
            let lp = self.stack[self.stack.len() - 1].lp;
            self.error(seg.id_str(), position, lp, code);
            return None;
        };
        while self.stack.len() > depth + 1 {
            self.pop(position);
        }
        let f = self.stack[depth];
        self.missing(depth, f.pos, ci, position);
        let child = self.g.loops[f.lp as usize].children[ci];
        self.counts[f.base + ci] += 1;
        let count = self.counts[f.base + ci];
        self.stack[depth].pos = ci;
        if ci < 64 {
            self.stack[depth].seen |= 1 << ci;
        }
        let (loop_ix, starts_loop) = match child {
            Child::Segment(_) => (f.lp, false),
            Child::Loop(l) => {
                if self.g.loops[l as usize].repeat.is_some_and(|r| count > r) {
                    let id = seg.id_str().to_owned();
                    self.error(&id, position, l, "4");
                }
                let base = self.counts.len();
                self.counts
                    .resize(base + self.g.loops[l as usize].children.len(), 0);
                self.counts[base] = 1;
                self.stack.push(Frame {
                    lp: l,
                    pos: 0,
                    base,
                    seen: 1,
                });
                if self.claim_loop[l as usize] {
                    self.tally.read += 1;
                    self.claim = Some(OpenClaim { has_errors: false });
                    self.claim_id.clear();
                    self.claim_id.extend_from_slice(split.value(1));
                    self.claim_depth = Some(self.stack.len() - 1);
                    self.lx_next = 1;
                }
                (l, true)
            }
        };
        let def = &self.g.segments[sx as usize].def;
        if !starts_loop && def.max_use.is_some_and(|m| count > m) {
            self.error(seg.id_str(), position, loop_ix, "5");
        }
        if def.usage == Usage::N {
            self.error(seg.id_str(), position, loop_ix, "I4");
        }
        self.check_elements(seg, &split, position, loop_ix, sx, qualifier_fault);
        Some(Placement {
            loop_ix,
            seg_ix: sx,
            starts_loop,
            claim: self.current_claim(),
        })
    }

    fn check_elements(
        &mut self,
        seg: &Segment<'_>,
        split: &Split<'_>,
        position: &Position,
        lp: LoopIx,
        sx: SegIx,
        qualifier_fault: bool,
    ) {
        let mut found = std::mem::take(&mut self.element_errors);
        found.clear();
        let g = self.g;
        let s = &g.segments[sx as usize];
        if !self.memo.is_clean(sx, seg.raw()) {
            check_compiled(seg, split, &s.program, &s.rules, &mut found);
            if found.is_empty() {
                self.memo.remember(sx, seg.raw());
            }
        }
        if qualifier_fault {
            if let Some(id) = &self.g.segments[sx as usize].identity {
                let already = found
                    .iter()
                    .any(|e| e.element.element as usize == id.element && e.code == "7");
                if !already {
                    found.push(ElementError {
                        element: ElementRef {
                            component: id.component.map(|c| c as u16),
                            ..ElementRef::new(seg.id_str(), id.element as u16)
                        },
                        reference: None,
                        code: "7",
                        value: Some(String::from_utf8_lossy(seg.value(id.element)).into_owned()),
                    });
                }
            }
        }
        match s.special {
            Special::Hl => self.check_hl(split, position, lp, &mut found),
            Special::Lx if self.claim_depth.is_some() => {
                let lx = split.value(1);
                if number::<u32>(lx) != Some(self.lx_next) {
                    found.push(ElementError {
                        element: ElementRef::new("LX", 1),
                        reference: Some(554),
                        code: "7",
                        value: Some(String::from_utf8_lossy(lx).into_owned()),
                    });
                }
                self.lx_next += 1;
            }
            _ => {}
        }
        if !found.is_empty() {
            let loop_id = self.g.loops[lp as usize].id.clone();
            self.push_error(SegmentError {
                segment_id: seg.id_str().to_owned(),
                position: *position,
                loop_id: (loop_id != "ST").then_some(loop_id),
                code: "8",
                elements: found.clone(),
                claim: None,
                context: None,
            });
        }
        self.element_errors = found;
    }

    /// HL01 counts from 1; HL02 names an earlier HL of the parent level; HL03 follows 20 → 22 → 23.
    fn check_hl(
        &mut self,
        seg: &Split<'_>,
        position: &Position,
        loop_ix: LoopIx,
        found: &mut Vec<ElementError>,
    ) {
        let n = self.hl_levels.len() + 1;
        let hl01 = seg.value(1);
        if number::<usize>(hl01) != Some(n) {
            found.push(ElementError {
                element: ElementRef::new("HL", 1),
                reference: Some(628),
                code: "7",
                value: Some(String::from_utf8_lossy(hl01).into_owned()),
            });
        }
        let level: [u8; 2] = match seg.value(3) {
            [a, b] => [*a, *b],
            _ => [0, 0],
        };
        let parent_level: Option<&[u8; 2]> = match &level {
            b"22" => Some(b"20"),
            b"23" => Some(b"22"),
            b"19" => Some(b"21"),
            b"PT" => Some(b"19"),
            b"21" => Some(b"20"),
            _ => None,
        };
        let hl02 = seg.value(2);
        let parent = number::<usize>(hl02).filter(|p| *p >= 1 && *p < n);
        let parent_ok = match (parent_level, parent) {
            (None, None) => hl02.is_empty(),
            (Some(want), Some(p)) => &self.hl_levels[p - 1] == want,
            _ => false,
        };
        if !parent_ok {
            found.push(ElementError {
                element: ElementRef::new("HL", 2),
                reference: Some(734),
                code: "7",
                value: Some(String::from_utf8_lossy(hl02).into_owned()),
            });
        }
        if let Some(prev) = self.prev_hl.take() {
            self.check_hl04(&prev, parent == Some(prev.number));
        }
        self.hl_levels.push(level);
        let hl04 = seg.value(4);
        let mut short = [0u8; 2];
        for (slot, b) in short.iter_mut().zip(hl04) {
            *slot = *b;
        }
        self.prev_hl = Some(PrevHl {
            number: n,
            loop_ix,
            hl04: short,
            hl04_len: hl04.len(),
            position: *position,
        });
    }

    /// HL04 is `1` when the HL has children, `0` when not.
    fn check_hl04(&mut self, hl: &PrevHl, has_child: bool) {
        let value = &hl.hl04[..hl.hl04_len.min(2)];
        let expected: &[u8] = if has_child { b"1" } else { b"0" };
        if hl.hl04_len == 0 || (hl.hl04_len == 1 && value == expected) {
            return;
        }
        self.push_error(SegmentError {
            segment_id: "HL".into(),
            position: hl.position,
            loop_id: Some(self.g.loops[hl.loop_ix as usize].id.clone()),
            code: "8",
            elements: vec![ElementError {
                element: ElementRef::new("HL", 4),
                reference: Some(736),
                code: "7",
                value: Some(String::from_utf8_lossy(value).into_owned()),
            }],
            claim: None,
            context: None,
        });
    }

    /// Ends the transaction set at `position` (the SE): closes every open loop, checks HL04.
    /// A set that was cut off (`complete` false) is not checked for what is missing.
    pub fn finish(&mut self, position: &Position, complete: bool) {
        if !complete {
            self.close_claim();
            self.stack.clear();
            self.counts.clear();
            return;
        }
        while !self.stack.is_empty() {
            self.pop(position);
        }
        if let Some(prev) = self.prev_hl.take() {
            self.check_hl04(&prev, false);
        }
    }
}
