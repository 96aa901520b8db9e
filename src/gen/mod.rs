//! `scrub837 gen`: a synthetic 837P/837I workload with seeded defects and its truth file, the
//! Rust counterpart of `shared/tools/gen837.py` (same structure, code values, payers, defect
//! kinds and truth format; a different random stream, so not the same bytes), fast enough to
//! write gigabytes.
//!
//! ```
//! use scrub837::claim::Kind;
//! use scrub837::gen::{generate, Options};
//!
//! let opts = Options { error_rate: 0.5, ..Options::new(Kind::Professional, 3, 11) };
//! let (mut x12, mut truth) = (Vec::new(), Vec::new());
//! let written = generate(&opts, &mut x12, Some(&mut truth)).unwrap();
//! assert_eq!(written.claims, 3);
//! assert!(x12.starts_with(b"ISA*00*"));
//! assert!(String::from_utf8(truth).unwrap().starts_with("S011P00000001\t837P\t"));
//! ```

mod claims;
mod data;
mod defects;
mod parties;
mod rng;
mod seg;

use std::io::{self, Write};
use std::path::Path;

use crate::claim::Kind;
use crate::error::Error;
use parties::{MemberIds, Provider};
use rng::Rng;
use seg::{Day, SegWriter};

pub use defects::Defect;

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// 837P or 837I.
    pub kind: Kind,
    /// How many claims (at least 1).
    pub claims: u64,
    /// The seed: it also sets ISA13/GS06 and the CLM01 prefix.
    pub seed: u64,
    /// The probability (0 to 1) that a claim carries one seeded defect.
    pub error_rate: f64,
    /// A newline after each segment terminator.
    pub newlines: bool,
    /// Claims per ST/SE transaction set (at least 1).
    pub claims_per_st: u64,
}

impl Options {
    /// `claims` clean claims of `kind` for `seed`, on one line, 5000 per transaction set.
    pub fn new(kind: Kind, claims: u64, seed: u64) -> Options {
        Options {
            kind,
            claims,
            seed,
            error_rate: 0.0,
            newlines: false,
            claims_per_st: 5000,
        }
    }

    /// Refuses what cannot be generated: no claims, no claims per transaction set, an error
    /// rate outside 0..1.
    pub fn validate(&self) -> Result<(), Error> {
        if self.claims == 0 {
            return Err(Error::Config("--claims: must be at least 1".into()));
        }
        if self.claims_per_st == 0 {
            return Err(Error::Config("--claims-per-st: must be at least 1".into()));
        }
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(Error::Config(format!(
                "--error-rate: {} is not a probability (0 to 1)",
                self.error_rate
            )));
        }
        Ok(())
    }
}

/// What a run wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Bytes of X12.
    pub bytes: u64,
    /// Claims.
    pub claims: u64,
    /// Claims with a seeded defect.
    pub defective: u64,
    /// Transaction sets.
    pub transactions: u64,
}

/// Which output failed, and how.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The options are unusable.
    #[error(transparent)]
    Options(Error),
    /// Writing the X12 failed.
    #[error("writing the 837: {0}")]
    Output(io::Error),
    /// Writing the truth file failed.
    #[error("writing the truth file: {0}")]
    Truth(io::Error),
}

/// The file date (BHT04, GS04, ISA09): 2025-12-15; dates of service fall before it.
const FILE_DATE: (i64, u32, u32) = (2025, 12, 15);
/// The first date of service: 2025-01-02.
const FIRST_DOS: (i64, u32, u32) = (2025, 1, 2);
/// Dates of service fall on the [`DOS_DAYS`] days from [`FIRST_DOS`] (the last is 2025-11-27).
const DOS_DAYS: i64 = 330;
/// Bytes gathered before they are handed to the output.
const CHUNK: usize = 1 << 20;

/// The state of one run: the random stream, the segment writer, the truth lines and the
/// claim counter. The claim content is written by `claims`.
struct Generator {
    kind: Kind,
    seed: u64,
    error_rate: f64,
    rng: Rng,
    w: SegWriter,
    truth: Option<Vec<u8>>,
    ids: MemberIds,
    /// The number of the last claim written (1-based).
    seq: u64,
    /// CLM01 of the claim being written.
    pcn: Vec<u8>,
    base_date: Day,
    defective: u64,
}

/// `005010X222A1` or `005010X223A2`.
fn version(kind: Kind) -> &'static [u8] {
    match kind {
        Kind::Professional => b"005010X222A1",
        Kind::Institutional => b"005010X223A2",
    }
}

/// Hands the bytes gathered so far to `out` and empties the buffer.
fn drain(buf: &mut Vec<u8>, out: &mut dyn Write, total: &mut u64) -> io::Result<()> {
    out.write_all(buf)?;
    *total += buf.len() as u64;
    buf.clear();
    Ok(())
}

/// Writes the file `opts` describes to `out` and, when given, its truth file (one line per
/// claim, in file order: `CLM01 TAB 837P|837I TAB defect TAB edit`, `clean` and `-` for a clean
/// claim). The same options always give the same bytes.
pub fn generate(
    opts: &Options,
    out: &mut dyn Write,
    mut truth: Option<&mut dyn Write>,
) -> Result<Written, WriteError> {
    opts.validate().map_err(WriteError::Options)?;
    // One stream per kind, as gen837.py seeds with "gen837:{kind}:{seed}".
    let stream = u64::from_be_bytes(match opts.kind {
        Kind::Professional => *b"gen837:P",
        Kind::Institutional => *b"gen837:I",
    });
    let mut rng = Rng::new(opts.seed, stream);
    let ids = MemberIds::new(&mut rng);
    let pool = parties::providers(&mut rng, opts.kind);
    let base_date = Day::from_ymd(FIRST_DOS.0, FIRST_DOS.1, FIRST_DOS.2);
    let mut w = SegWriter::new(opts.newlines, CHUNK + (64 << 10));
    // Onset dates go back 900 days from a date of service; inpatient stays end a day after.
    w.cache_dates(base_date.plus(-900), base_date.plus(DOS_DAYS));
    let mut g = Generator {
        kind: opts.kind,
        seed: opts.seed,
        error_rate: opts.error_rate,
        rng,
        w,
        truth: truth.as_ref().map(|_| Vec::with_capacity(CHUNK + 4096)),
        ids,
        seq: 0,
        pcn: Vec::with_capacity(32),
        base_date,
        defective: 0,
    };
    let mut written = Written::default();
    let mut truth_bytes = 0u64;
    let mut flush = |g: &mut Generator, at: usize| -> Result<(), WriteError> {
        if g.w.buf.len() >= at {
            drain(&mut g.w.buf, out, &mut written.bytes).map_err(WriteError::Output)?;
        }
        if let (Some(t), Some(sink)) = (&mut g.truth, truth.as_mut()) {
            if t.len() >= at {
                drain(t, *sink, &mut truth_bytes).map_err(WriteError::Truth)?;
            }
        }
        Ok(())
    };
    let ctl = 100_000_000 + opts.seed % 800_000_000;
    let gs_ctl = 1 + opts.seed % 99_999;
    g.interchange_header(ctl, gs_ctl);
    let mut left = opts.claims;
    let mut st_no = 0;
    while left > 0 {
        st_no += 1;
        let k = left.min(opts.claims_per_st);
        g.transaction(&pool, st_no, k, &mut |g| flush(g, CHUNK))?;
        left -= k;
    }
    let w = &mut g.w;
    w.start(b"GE");
    w.num(st_no);
    w.num(gs_ctl);
    w.end();
    w.start(b"IEA");
    w.el(b"1");
    w.num_w(ctl, 9);
    w.end();
    flush(&mut g, 0)?;
    out.flush().map_err(WriteError::Output)?;
    if let Some(sink) = truth {
        sink.flush().map_err(WriteError::Truth)?;
    }
    written.claims = g.seq;
    written.defective = g.defective;
    written.transactions = st_no;
    Ok(written)
}

impl Generator {
    /// ISA and GS.
    fn interchange_header(&mut self, ctl: u64, gs_ctl: u64) {
        let w = &mut self.w;
        let (y, m, d) = FILE_DATE;
        w.raw(b"ISA*00*          *00*          *ZZ*PEERBENCHSUB   *ZZ*EXAMPLECH      *");
        seg::put_padded(&mut w.buf, (y % 100) as u64, 2);
        seg::put_padded(&mut w.buf, u64::from(m), 2);
        seg::put_padded(&mut w.buf, u64::from(d), 2);
        w.raw(b"*1200*^*00501*");
        w.raw_num_w(ctl, 9);
        w.raw(b"*0*T*:");
        w.end();
        w.start(b"GS");
        for v in [&b"HC"[..], b"PEERBENCHSUB", b"EXAMPLECH"] {
            w.el(v);
        }
        w.date(Day::from_ymd(y, m, d));
        w.el(b"1200");
        w.num(gs_ctl);
        w.el(b"X");
        w.el(version(self.kind));
        w.end();
    }

    /// One ST/SE transaction set of `n_claims` claims: billing providers in blocks of 20 to
    /// 400 claims, a claim that needs a hospital starting a new block with one. `flush` is
    /// called after each claim.
    fn transaction(
        &mut self,
        pool: &[Provider],
        st_no: u64,
        n_claims: u64,
        flush: &mut dyn FnMut(&mut Generator) -> Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        let (y, m, d) = FILE_DATE;
        let w = &mut self.w;
        w.reset_count();
        w.start(b"ST");
        w.el(b"837");
        w.num_w(st_no, 4);
        w.el(version(self.kind));
        w.end();
        w.start(b"BHT");
        w.el(b"0019");
        w.el(b"00");
        w.el(b"B");
        w.raw_num_w(self.seed % 100_000, 5);
        w.raw_num_w(st_no, 5);
        w.date(Day::from_ymd(y, m, d));
        w.el(b"1200");
        w.el(b"CH");
        w.end();
        for (code, name, id) in [
            (b"41", &b"PEERBENCH BILLING SERVICE"[..], &b"PBBS0001"[..]),
            (b"40", b"EXAMPLE CLEARINGHOUSE", b"EXCH0001"),
        ] {
            w.start(b"NM1");
            w.el(code);
            w.el(b"2");
            w.el(name);
            w.empty(4);
            w.el(b"46");
            w.el(id);
            w.end();
            if code == b"41" {
                w.start(b"PER");
                for v in [
                    &b"IC"[..],
                    b"EDI DESK",
                    b"TE",
                    b"6145550100",
                    b"EM",
                    b"EDI@EXAMPLE.COM",
                ] {
                    w.el(v);
                }
                w.end();
            }
        }
        let hospitals: Vec<&Provider> = pool.iter().filter(|p| p.hospital).collect();
        let everyone: Vec<&Provider> = pool.iter().collect();
        let mut hl = 0;
        let mut left = n_claims;
        let mut pending = None;
        while left > 0 {
            let mut plan = match pending.take() {
                Some(p) => p,
                None => claims::plan(&mut self.rng, self.kind, self.error_rate),
            };
            let candidates = if plan.hospital() && !hospitals.is_empty() {
                &hospitals
            } else {
                &everyone
            };
            let prov = self.rng.pick(candidates);
            hl += 1;
            let prov_hl = hl;
            self.billing_provider(prov, prov_hl);
            let block = left.min(self.rng.range(20, 400));
            let mut done = 0;
            loop {
                hl = self.subscriber(hl, prov_hl, prov, &plan);
                done += 1;
                flush(self)?;
                if done >= block {
                    break;
                }
                plan = claims::plan(&mut self.rng, self.kind, self.error_rate);
                if plan.hospital() && !prov.hospital {
                    pending = Some(plan); // starts the next billing provider block
                    break;
                }
            }
            left -= done;
        }
        let w = &mut self.w;
        w.start(b"SE");
        w.num(w.count + 1);
        w.num_w(st_no, 4);
        w.end();
        Ok(())
    }

    /// The 2000A billing provider loop with its 2010AA name, address and tax id.
    fn billing_provider(&mut self, prov: &Provider, prov_hl: u64) {
        let w = &mut self.w;
        w.start(b"HL");
        w.num(prov_hl);
        w.empty(1);
        w.el(b"20");
        w.el(b"1");
        w.end();
        w.start(b"PRV");
        w.el(b"BI");
        w.el(b"PXC");
        w.el(prov.taxonomy.as_bytes());
        w.end();
        w.start(b"NM1");
        w.el(b"85");
        w.el(b"2");
        w.el(prov.name.as_bytes());
        w.empty(4);
        w.el(b"XX");
        w.el(&prov.npi);
        w.end();
        w.start(b"N3");
        w.num(prov.addr.number);
        w.raw(b" ");
        w.raw(prov.addr.street.as_bytes());
        w.end();
        w.start(b"N4");
        w.el(prov.addr.city.name.as_bytes());
        w.el(prov.addr.city.state.as_bytes());
        w.el(prov.addr.city.zip.as_bytes());
        w.raw_num_w(prov.zip4, 4);
        w.end();
        w.start(b"REF");
        w.el(b"EI");
        w.num(prov.tin);
        w.end();
    }
}

/// Runs `scrub837 gen`: writes the file to `out` (stdout when `None`) and the truth file to
/// `truth` when given.
pub fn write_files(
    opts: &Options,
    out: Option<&Path>,
    truth: Option<&Path>,
) -> Result<Written, Error> {
    opts.validate()?;
    let create = |p: &Path| std::fs::File::create(p).map_err(|e| Error::io(p, e));
    let mut truth_file = truth.map(create).transpose()?;
    let truth_sink = truth_file.as_mut().map(|f| f as &mut dyn Write);
    let result = match out {
        Some(path) => {
            let mut file = create(path)?;
            generate(opts, &mut file, truth_sink)
        }
        None => generate(opts, &mut io::stdout().lock(), truth_sink),
    };
    result.map_err(|e| match e {
        WriteError::Options(e) => e,
        WriteError::Output(e) => Error::io(out.unwrap_or(Path::new("<stdout>")), e),
        WriteError::Truth(e) => Error::io(truth.unwrap_or(Path::new("<truth>")), e),
    })
}
