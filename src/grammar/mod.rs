//! Implementation-guide grammars, loaded from the JSON files in `grammars/` (embedded in the binary).
//!
//! A grammar is a tree of loops and segments with usage, repeat limits, max use and element
//! rules. [`Grammar::load`] compiles it into flat tables that the [`walker`] indexes: every loop
//! knows its trigger (first segment) and every segment the element and codes that identify it
//! among siblings with the same id (NM101 `85`/`87`, HL03 `20`/`22`/`23`, HI01-1 `ABK`/`ABF`, …).

pub mod elements;
pub mod memo;
pub mod validate;
pub mod walker;

use serde::Deserialize;

/// Usage of a loop, segment or element in the implementation guide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Usage {
    /// Required.
    R,
    /// Situational.
    S,
    /// Not used.
    N,
}

/// An element (or a component of a composite) as the grammar file describes it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ElementDef {
    /// Reference such as `NM101` or `CLM05-1`.
    #[serde(rename = "ref")]
    pub reference: String,
    /// Name in the guide.
    #[serde(default)]
    pub name: String,
    /// Data element dictionary number (`98`, `C023`, …).
    #[serde(default)]
    pub data_ele: String,
    /// Usage.
    pub usage: Usage,
    /// Data type (`AN`, `ID`, `DT`, `TM`, `R`, `N0`, …); absent for composites.
    #[serde(rename = "type", default)]
    pub data_type: Option<String>,
    /// Minimum length.
    #[serde(default)]
    pub min_len: Option<u32>,
    /// Maximum length.
    #[serde(default)]
    pub max_len: Option<u32>,
    /// Repetitions allowed (`None` = unbounded).
    #[serde(default = "one")]
    pub repeat: Option<u32>,
    /// Valid codes, when the guide lists them.
    #[serde(default)]
    pub codes: Option<Vec<String>>,
    /// Name of an external code list (not checked here).
    #[serde(default)]
    pub external_codes: Option<String>,
    /// A regular expression the guide gives (kept for reference; not checked).
    #[serde(default)]
    pub pattern: Option<String>,
    /// Components, for a composite element.
    #[serde(default)]
    pub components: Option<Vec<ElementDef>>,
}

fn one() -> Option<u32> {
    Some(1)
}

/// A segment as the grammar file describes it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SegmentDef {
    /// Segment id.
    pub id: String,
    /// Name in the guide.
    #[serde(default)]
    pub name: String,
    /// Usage.
    pub usage: Usage,
    /// Maximum use in one loop instance (`None` = unbounded).
    pub max_use: Option<u32>,
    /// Elements, dense by position (`elements[i]` is position `i + 1`).
    pub elements: Vec<ElementDef>,
}

/// A loop as the grammar file describes it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct LoopDef {
    /// Loop id (`2300`, `2010AA`, …; `ST` for the transaction set itself).
    pub id: String,
    /// Name in the guide.
    #[serde(default)]
    pub name: String,
    /// Usage.
    pub usage: Usage,
    /// Repeat limit (`None` = unbounded).
    pub repeat: Option<u32>,
    /// Segments and loops in order.
    pub children: Vec<NodeDef>,
}

/// A child of a loop.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeDef {
    /// A nested loop.
    Loop(LoopDef),
    /// A segment.
    Segment(SegmentDef),
}

/// A grammar file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct GrammarFile {
    /// Format version of the file (1).
    pub format: u32,
    /// Short name (`837P`, `837I`, `277CA`, `999`).
    pub name: String,
    /// ST01.
    pub transaction_set: String,
    /// GS08 / ST03.
    pub version: String,
    /// Where the data come from.
    pub source: String,
    /// The transaction set between ST and SE.
    pub root: LoopDef,
}

/// Index of a loop in [`Grammar::loops`].
pub type LoopIx = u16;
/// Index of a segment in [`Grammar::segments`].
pub type SegIx = u16;

/// A child of a compiled loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Child {
    /// A nested loop.
    Loop(LoopIx),
    /// A segment.
    Segment(SegIx),
}

/// What tells a segment apart from siblings with the same id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// 1-based element position.
    pub element: usize,
    /// 1-based component position, when the identifying value is in a composite.
    pub component: Option<usize>,
    /// The values that identify it.
    pub codes: CodeSet,
}

/// A set of code values, packed for fast look-up (codes of up to 7 bytes become integers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeSet {
    packed: Vec<u64>,
    long: Vec<Box<[u8]>>,
}

/// Packs a value of up to 7 bytes with its length into a `u64` (`None` when longer).
#[inline]
pub fn pack(v: &[u8]) -> Option<u64> {
    if v.len() > 7 {
        return None;
    }
    let mut x = (v.len() as u64) << 56;
    for (i, &b) in v.iter().enumerate() {
        x |= u64::from(b) << (8 * i);
    }
    Some(x)
}

/// [`pack`] of `bytes[start..end]`, reading the bytes as one word when eight bytes from `start`
/// are there (`None` when the range is longer than 7 bytes or not in `bytes`).
#[inline]
pub fn pack_in(bytes: &[u8], start: usize, end: usize) -> Option<u64> {
    let len = end.checked_sub(start)?;
    if len > 7 {
        return None;
    }
    let word = bytes
        .get(start..start.wrapping_add(8))
        .and_then(|w| <[u8; 8]>::try_from(w).ok());
    match word {
        Some(w) => {
            let mask = (1u64 << (8 * len)) - 1;
            Some(u64::from_le_bytes(w) & mask | (len as u64) << 56)
        }
        None => pack(bytes.get(start..end)?),
    }
}

impl CodeSet {
    /// The set of `codes`.
    pub fn new(codes: &[String]) -> Self {
        let mut set = CodeSet::default();
        for c in codes {
            match pack(c.as_bytes()) {
                Some(p) => set.packed.push(p),
                None => set.long.push(c.as_bytes().into()),
            }
        }
        set.packed.sort_unstable();
        set.packed.dedup();
        set
    }

    /// Whether `v` is one of the codes.
    #[inline]
    pub fn contains(&self, v: &[u8]) -> bool {
        match pack(v) {
            Some(p) => self.packed.binary_search(&p).is_ok(),
            None => self.long.iter().any(|c| &**c == v),
        }
    }

    /// Whether the set holds the packed value `p` (see [`pack`]).
    #[inline]
    pub fn contains_packed(&self, p: u64) -> bool {
        if self.packed.len() <= 8 {
            self.packed.contains(&p)
        } else {
            self.packed.binary_search(&p).is_ok()
        }
    }

    /// Whether the set shares a code with `other`.
    pub fn overlaps(&self, other: &CodeSet) -> bool {
        self.packed
            .iter()
            .any(|p| other.packed.binary_search(p).is_ok())
            || self.long.iter().any(|c| other.long.contains(c))
    }
}

/// Data types the element rules check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataType {
    /// AN, ID and anything else compared by length only.
    Text,
    /// DT (CCYYMMDD, or YYMMDD at length 6).
    Date,
    /// TM (HHMM[SS[d…]]).
    Time,
    /// R (decimal).
    Decimal,
    /// N0…N9 (implied-decimal integer).
    Integer,
}

/// A compiled element rule (or component rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Usage.
    pub usage: Usage,
    /// Type.
    pub data_type: DataType,
    /// Minimum length (0 when none).
    pub min_len: u32,
    /// Maximum length (0 when none).
    pub max_len: u32,
    /// Repetitions allowed (`None` = unbounded).
    pub repeat: Option<u32>,
    /// Valid codes, when listed.
    pub codes: Option<CodeSet>,
    /// Data element reference number (IK402), when numeric.
    pub reference: Option<u32>,
    /// Component rules, for a composite.
    pub components: Option<Vec<Rule>>,
}

impl Rule {
    /// Compiles an element definition.
    pub fn new(def: &ElementDef) -> Rule {
        let data_type = match def.data_type.as_deref() {
            Some("DT") => DataType::Date,
            Some("TM") => DataType::Time,
            Some("R") => DataType::Decimal,
            Some(t) if t.starts_with('N') => DataType::Integer,
            _ => DataType::Text,
        };
        Rule {
            usage: def.usage,
            data_type,
            min_len: def.min_len.unwrap_or(0),
            max_len: def.max_len.unwrap_or(0),
            repeat: def.repeat,
            codes: def
                .codes
                .as_deref()
                .filter(|c| !c.is_empty())
                .map(CodeSet::new),
            reference: def.data_ele.parse().ok(),
            components: def
                .components
                .as_ref()
                .map(|c| c.iter().map(Rule::new).collect()),
        }
    }
}

/// A compiled loop.
#[derive(Clone, Debug)]
pub struct Loop {
    /// Loop id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Usage.
    pub usage: Usage,
    /// Repeat limit.
    pub repeat: Option<u32>,
    /// Parent loop (`None` for the root).
    pub parent: Option<LoopIx>,
    /// Children in order.
    pub children: Vec<Child>,
    /// For each child, the segment that starts it (itself, or a child loop's trigger).
    pub heads: Vec<SegIx>,
    /// Indexes of the required children, ascending.
    pub required: Vec<u16>,
    /// Children by the packed id of their head segment: `(key, child indexes ascending)`,
    /// sorted by key.
    pub by_key: Vec<(u64, Vec<u16>)>,
    /// The same, by segment id number ([`Grammar::id_number`]): the range of `placing`
    /// holding the children (ascending) whose head segment has that id.
    pub by_id: Vec<(u16, u16)>,
    /// The children grouped by head segment id (see `by_id`), with what the walker tests of them.
    pub placing: Vec<Candidate>,
    /// Bit `k` when child `k` is required (`None` when the loop has more than 64 children).
    pub required_mask: Option<u64>,
}

/// A child a segment may start, as the walker tests it: where it is, its head segment, and
/// whether that head is told apart by a qualifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Child index in its loop.
    pub child: u16,
    /// Its head segment (itself, or a child loop's trigger).
    pub head: SegIx,
    /// The child is a segment (not a loop).
    pub segment: bool,
    /// The head segment has an identity (qualifier codes).
    pub qualified: bool,
}

/// A compiled segment.
#[derive(Clone, Debug)]
pub struct Seg {
    /// The definition (id, usage, max use, elements).
    pub def: SegmentDef,
    /// The loop it sits in.
    pub parent: LoopIx,
    /// Its identifying element, when it has one.
    pub identity: Option<Identity>,
    /// Its id packed for comparison (see [`pack`]).
    pub key: u64,
    /// Compiled element rules, by position.
    pub rules: Vec<Rule>,
    /// The rules compiled into one flat program for the quick check.
    pub program: elements::Program,
    /// What the walker checks beyond the element rules.
    pub special: Special,
}

/// Segments the walker checks beyond their element rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    /// None.
    No,
    /// HL: numbering, parent and child codes.
    Hl,
    /// LX: line numbering within a claim.
    Lx,
}

/// Segment ids numbered densely (`0..len`), found by an open-addressing table on the packed id.
#[derive(Clone, Debug, Default)]
pub struct IdNumbers {
    /// `(packed id, number)`; `u64::MAX` marks a free slot (no packed id is all ones).
    slots: Vec<(u64, u16)>,
    /// How many ids.
    len: usize,
}

impl IdNumbers {
    fn slot(&self, key: u64) -> usize {
        // Fibonacci hashing on the packed bytes; `slots.len()` is a power of two.
        let bits = self.slots.len().trailing_zeros();
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    fn build(keys: &[u64]) -> IdNumbers {
        let size = (keys.len() * 4).next_power_of_two().max(16);
        let mut t = IdNumbers {
            slots: vec![(u64::MAX, 0); size],
            len: 0,
        };
        for &k in keys {
            if t.get(k).is_some() || k == u64::MAX {
                continue;
            }
            let mask = size - 1;
            let mut i = t.slot(k);
            while t.slots[i].0 != u64::MAX {
                i = (i + 1) & mask;
            }
            t.slots[i] = (k, t.len as u16);
            t.len += 1;
        }
        t
    }

    /// The number of packed id `key`, if the grammar has it.
    #[inline]
    pub fn get(&self, key: u64) -> Option<u16> {
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = self.slot(key) & mask;
        loop {
            let (k, n) = *self.slots.get(i)?;
            if k == key {
                return Some(n);
            }
            if k == u64::MAX {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    /// How many ids.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A compiled grammar.
#[derive(Clone, Debug)]
pub struct Grammar {
    /// Short name.
    pub name: String,
    /// ST01.
    pub transaction_set: String,
    /// GS08 / ST03.
    pub version: String,
    /// Source note.
    pub source: String,
    /// Loops; index 0 is the root.
    pub loops: Vec<Loop>,
    /// Segments.
    pub segments: Vec<Seg>,
    /// Segment ids numbered.
    pub ids: IdNumbers,
}

/// Why a grammar could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GrammarError {
    /// The JSON does not parse.
    #[error("grammar {name}: {message}")]
    Parse {
        /// File name.
        name: String,
        /// serde_json's message (with line and column).
        message: String,
    },
    /// The grammar is inconsistent.
    #[error("grammar {name}: {message}")]
    Inconsistent {
        /// File name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// The grammars embedded in the binary, by file name.
pub const EMBEDDED: [(&str, &str); 4] = [
    ("837P.json", include_str!("../../grammars/837P.json")),
    ("837I.json", include_str!("../../grammars/837I.json")),
    ("277CA.json", include_str!("../../grammars/277CA.json")),
    ("999.json", include_str!("../../grammars/999.json")),
];

fn identity_of(def: &SegmentDef) -> Option<Identity> {
    let coded = |e: &ElementDef| {
        e.codes
            .as_ref()
            .filter(|c| !c.is_empty() && e.usage == Usage::R)
            .map(|c| CodeSet::new(c))
    };
    if def.id == "HL" {
        let codes = def.elements.get(2).and_then(coded)?;
        return Some(Identity {
            element: 3,
            component: None,
            codes,
        });
    }
    let first = def.elements.first()?;
    if let Some(components) = &first.components {
        let codes = components.first().and_then(coded)?;
        return Some(Identity {
            element: 1,
            component: Some(1),
            codes,
        });
    }
    if first.data_type.as_deref() == Some("ID") {
        return coded(first).map(|codes| Identity {
            element: 1,
            component: None,
            codes,
        });
    }
    None
}

impl Grammar {
    /// Parses and compiles a grammar file; `name` is used in messages.
    pub fn load(name: &str, json: &str) -> Result<Grammar, GrammarError> {
        let file: GrammarFile = serde_json::from_str(json).map_err(|e| GrammarError::Parse {
            name: name.to_owned(),
            message: e.to_string(),
        })?;
        let mut g = Grammar {
            name: file.name,
            transaction_set: file.transaction_set,
            version: file.version,
            source: file.source,
            loops: Vec::new(),
            segments: Vec::new(),
            ids: IdNumbers::default(),
        };
        g.add_loop(file.root, None);
        g.index();
        g.check().map_err(|message| GrammarError::Inconsistent {
            name: name.to_owned(),
            message,
        })?;
        Ok(g)
    }

    /// The embedded grammar file `name` (e.g. `999.json`), compiled; `None` if there is none.
    pub fn embedded(name: &str) -> Option<Result<Grammar, GrammarError>> {
        EMBEDDED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, json)| Grammar::load(n, json))
    }

    /// Compiles loop `def` and everything below it (moved in, not copied).
    fn add_loop(&mut self, def: LoopDef, parent: Option<LoopIx>) -> LoopIx {
        let ix = self.loops.len() as LoopIx;
        self.loops.push(Loop {
            id: def.id,
            name: def.name,
            usage: def.usage,
            repeat: def.repeat,
            parent,
            children: Vec::new(),
            heads: Vec::new(),
            required: Vec::new(),
            by_key: Vec::new(),
            by_id: Vec::new(),
            placing: Vec::new(),
            required_mask: None,
        });
        let mut children = Vec::with_capacity(def.children.len());
        for child in def.children {
            match child {
                NodeDef::Loop(l) => children.push(Child::Loop(self.add_loop(l, Some(ix)))),
                NodeDef::Segment(s) => {
                    children.push(Child::Segment(self.segments.len() as SegIx));
                    self.add_segment(s, ix);
                }
            }
        }
        self.loops[ix as usize].children = children;
        ix
    }

    /// Compiles segment `s` of loop `parent`.
    fn add_segment(&mut self, s: SegmentDef, parent: LoopIx) {
        let rules: Vec<Rule> = s.elements.iter().map(Rule::new).collect();
        self.segments.push(Seg {
            parent,
            identity: identity_of(&s),
            key: pack(s.id.as_bytes()).unwrap_or(u64::MAX),
            program: elements::Program::new(&s.id, &rules),
            rules,
            special: match s.id.as_str() {
                "HL" => Special::Hl,
                "LX" => Special::Lx,
                _ => Special::No,
            },
            def: s,
        });
    }

    /// Fills each loop's `heads`, `required` and look-up tables (after every loop exists).
    fn index(&mut self) {
        let keys: Vec<u64> = self.segments.iter().map(|s| s.key).collect();
        self.ids = IdNumbers::build(&keys);
        for i in 0..self.loops.len() {
            let children = self.loops[i].children.clone();
            let heads: Vec<SegIx> = children
                .iter()
                .map(|&c| match c {
                    Child::Segment(s) => s,
                    Child::Loop(l) => self.trigger(l).unwrap_or(SegIx::MAX),
                })
                .collect();
            let required: Vec<u16> = children
                .iter()
                .enumerate()
                .filter(|(_, &c)| match c {
                    Child::Segment(s) => self.segments[s as usize].def.usage == Usage::R,
                    Child::Loop(l) => self.loops[l as usize].usage == Usage::R,
                })
                .map(|(k, _)| k as u16)
                .collect();
            let mut by_key: Vec<(u64, Vec<u16>)> = Vec::new();
            for (k, &h) in heads.iter().enumerate() {
                let Some(seg) = self.segments.get(h as usize) else {
                    continue;
                };
                match by_key.iter_mut().find(|(key, _)| *key == seg.key) {
                    Some((_, list)) => list.push(k as u16),
                    None => by_key.push((seg.key, vec![k as u16])),
                }
            }
            by_key.sort_by_key(|(key, _)| *key);
            let mut by_id = vec![(0u16, 0u16); self.ids.len()];
            let mut placing = Vec::new();
            for (key, list) in &by_key {
                if let Some(n) = self.ids.get(*key) {
                    let start = placing.len() as u16;
                    placing.extend(list.iter().map(|&k| Candidate {
                        child: k,
                        head: heads[k as usize],
                        segment: matches!(children[k as usize], Child::Segment(_)),
                        qualified: self.segments[heads[k as usize] as usize].identity.is_some(),
                    }));
                    by_id[n as usize] = (start, placing.len() as u16);
                }
            }
            self.loops[i].required_mask = (children.len() <= 64)
                .then(|| required.iter().fold(0u64, |m: u64, &k: &u16| m | 1u64 << k));
            self.loops[i].by_id = by_id;
            self.loops[i].placing = placing;
            self.loops[i].heads = heads;
            self.loops[i].required = required;
            self.loops[i].by_key = by_key;
        }
    }

    /// The trigger segment of a loop (its first child), if it has one.
    pub fn trigger(&self, l: LoopIx) -> Option<SegIx> {
        match self.loops[l as usize].children.first() {
            Some(Child::Segment(s)) => Some(*s),
            _ => None,
        }
    }

    /// Every segment id the grammar knows.
    pub fn knows_segment(&self, id: &[u8]) -> bool {
        self.segments.iter().any(|s| s.def.id.as_bytes() == id)
    }

    /// The number of a packed segment id (see [`IdNumbers`]), if the grammar has the id.
    #[inline]
    pub fn id_number(&self, key: u64) -> Option<u16> {
        self.ids.get(key)
    }

    /// Children of loop `l` whose head segment has id number `id`, ascending (the children of
    /// [`Grammar::children_with_key`] for that id), with what the walker tests of each.
    #[inline]
    pub fn candidates_with_id(&self, l: LoopIx, id: u16) -> &[Candidate] {
        let Some(lp) = self.loops.get(l as usize) else {
            return &[];
        };
        match lp.by_id.get(id as usize) {
            Some(&(a, b)) => lp.placing.get(a as usize..b as usize).unwrap_or_default(),
            None => &[],
        }
    }

    /// Children of loop `l` whose head segment has the packed id `key`, ascending.
    #[inline]
    pub fn children_with_key(&self, l: LoopIx, key: u64) -> &[u16] {
        let by_key = &self.loops[l as usize].by_key;
        match by_key.binary_search_by_key(&key, |(k, _)| *k) {
            Ok(i) => &by_key[i].1,
            Err(_) => &[],
        }
    }

    /// Checks that every non-root loop starts with a segment (its trigger).
    fn check(&self) -> Result<(), String> {
        if self.loops.len() > LoopIx::MAX as usize || self.segments.len() > SegIx::MAX as usize {
            return Err("too many loops or segments".into());
        }
        for (i, l) in self.loops.iter().enumerate().skip(1) {
            if self.trigger(i as LoopIx).is_none() {
                return Err(format!("loop {} does not start with a segment", l.id));
            }
        }
        Ok(())
    }

    /// Pairs of children of one loop (segments, or triggers of child loops) that could match the
    /// same segment, as `(loop id, first, second)`. The walker takes the first in guide order,
    /// so an ambiguity makes the second unreachable for the segments they share.
    pub fn ambiguities(&self) -> Vec<(String, String, String)> {
        let mut found = Vec::new();
        for l in &self.loops {
            let heads: Vec<(SegIx, String)> = l
                .children
                .iter()
                .filter_map(|c| match c {
                    Child::Segment(s) => {
                        Some((*s, format!("segment {}", self.segments[*s as usize].def.id)))
                    }
                    Child::Loop(x) => self
                        .trigger(*x)
                        .map(|s| (s, format!("loop {}", self.loops[*x as usize].id))),
                })
                .collect();
            for (i, (a, an)) in heads.iter().enumerate() {
                for (b, bn) in &heads[i + 1..] {
                    if self.overlap(*a, *b) {
                        found.push((l.id.clone(), an.clone(), bn.clone()));
                    }
                }
            }
        }
        found
    }

    /// Whether segments `a` and `b` could both match one segment.
    pub fn overlap(&self, a: SegIx, b: SegIx) -> bool {
        let (sa, sb) = (&self.segments[a as usize], &self.segments[b as usize]);
        if sa.def.id != sb.def.id {
            return false;
        }
        match (&sa.identity, &sb.identity) {
            (Some(ia), Some(ib)) if ia.element == ib.element && ia.component == ib.component => {
                ia.codes.overlaps(&ib.codes)
            }
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_grammar_loads_and_is_consistent() {
        for (name, json) in EMBEDDED {
            let g = Grammar::load(name, json).expect(name);
            assert!(g.loops.len() > 2 && !g.segments.is_empty(), "{name}");
            // Every loop but the root is reachable: it has a trigger segment.
            for i in 1..g.loops.len() {
                assert!(g.trigger(i as LoopIx).is_some(), "{name} {}", g.loops[i].id);
            }
            let ambiguous = g.ambiguities();
            // The one overlap in the pyx12 maps: two PWK segments of 837P loop 2400 both allow
            // PWK01 = CT. The first (line supplemental information) wins, as in pyx12.
            let expected: Vec<(String, String, String)> = if g.name == "837P" {
                vec![("2400".into(), "segment PWK".into(), "segment PWK".into()); 2]
            } else {
                vec![]
            };
            assert_eq!(ambiguous, expected, "{name}");
        }
    }

    #[test]
    fn children_by_id_number_are_children_by_packed_id() {
        for (name, json) in EMBEDDED {
            let g = Grammar::load(name, json).expect(name);
            assert_eq!(g.id_number(pack(b"ZZZ").expect("short")), None);
            for l in 0..g.loops.len() as LoopIx {
                for s in &g.segments {
                    let id = g.id_number(s.key).expect("every segment id is numbered");
                    let found: Vec<u16> = g
                        .candidates_with_id(l, id)
                        .iter()
                        .map(|c| c.child)
                        .collect();
                    assert_eq!(found, g.children_with_key(l, s.key), "{name} {}", s.def.id);
                    let lp = &g.loops[l as usize];
                    let placing: Vec<Candidate> = g
                        .children_with_key(l, s.key)
                        .iter()
                        .map(|&k| Candidate {
                            child: k,
                            head: lp.heads[k as usize],
                            segment: matches!(lp.children[k as usize], Child::Segment(_)),
                            qualified: g.segments[lp.heads[k as usize] as usize].identity.is_some(),
                        })
                        .collect();
                    assert_eq!(g.candidates_with_id(l, id), placing);
                    assert!(placing
                        .iter()
                        .all(|c| g.segments[c.head as usize].key == s.key));
                }
                let required = &g.loops[l as usize].required;
                if let Some(mask) = g.loops[l as usize].required_mask {
                    assert_eq!(mask.count_ones() as usize, required.len());
                    assert!(required.iter().all(|&k| mask >> k & 1 == 1));
                }
            }
        }
    }

    #[test]
    fn packing_in_place_is_packing() {
        let bytes = b"NM1*85*2*SUMMIT*X";
        for start in 0..bytes.len() {
            for end in start..=bytes.len() {
                assert_eq!(
                    pack_in(bytes, start, end),
                    pack(&bytes[start..end]),
                    "{start}..{end}"
                );
            }
        }
        assert_eq!(pack_in(bytes, 5, 3), None);
        assert_eq!(pack_in(bytes, 40, 41), None);
    }

    #[test]
    fn loops_are_told_apart_by_their_qualifiers() {
        let p = &Grammar::load("837P.json", EMBEDDED[0].1).unwrap();
        let ids: Vec<&str> = p.loops.iter().map(|l| l.id.as_str()).collect();
        for id in [
            "1000A", "1000B", "2000A", "2010AA", "2000B", "2010BA", "2010BB", "2300", "2400",
            "2000C", "2010CA",
        ] {
            assert!(ids.contains(&id), "837P lacks {id}");
        }
        let codes = |loop_id: &str| {
            let l = p.loops.iter().position(|l| l.id == loop_id).unwrap() as LoopIx;
            let t = p.trigger(l).unwrap();
            p.segments[t as usize].identity.clone().unwrap().codes
        };
        assert_eq!(codes("2010AA"), CodeSet::new(&["85".into()]));
        assert_eq!(codes("2010BA"), CodeSet::new(&["IL".into()]));
        assert_eq!(codes("2010BB"), CodeSet::new(&["PR".into()]));
        assert_eq!(codes("2000A"), CodeSet::new(&["20".into()]));
        assert_eq!(codes("2000B"), CodeSet::new(&["22".into()]));
        assert_eq!(codes("2000C"), CodeSet::new(&["23".into()]));
        assert!(!codes("2000C").contains(b"22"));
    }
}
