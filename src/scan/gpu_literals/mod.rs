//! Many literals on a device: the dense Aho-Corasick DFA
//! ([`super::literal_dfa`]) run by a vyre IR program whose tables live in
//! device storage buffers, over a batch's arena. The same engine runs the
//! regexes' line filter ([`super::regex_filter`]), whose DFA comes in the
//! same tables, with a count-table row per chunk and the hit positions
//! kept ([`DeviceLiterals::rows_per_chunk`], [`DeviceLiterals::keep_positions`]).
//!
//! Each invocation takes one segment of a chunk's owned bytes (at most
//! [`DeviceLiterals::segment_bytes`]): it first runs the DFA over the
//! (longest pattern − 1) bytes before the segment (warm-up, recording
//! nothing; the state depends only on those bytes, and never starts before
//! the chunk's own look-behind), then over the segment. At every byte where
//! the state has outputs it records the match in one of two ways, chosen
//! per run by the host:
//!
//! * **count table** ([`Recording::Table`]): an atomic add on the word of
//!   (file of the batch, output state) in a table of `files × output
//!   states` words ([`LiteralDfa::out_index`]) — transfers that do not grow
//!   with the number of matches, for batches of few files (one large file:
//!   one row);
//! * **hit records** ([`Recording::Hits`]): appends `(chunk, state, arena
//!   byte)` (an atomic add on the hit count; records past the capacity are
//!   counted, not stored) — for batches of many small files, where a table
//!   row per file would outweigh the hits.
//!
//! The host picks the table when it is no larger than the hit buffer, and
//! after a batch overflowed the hit buffer (a corpus dense in matches). It
//! turns either into sparse per-chunk [`ChunkCounts`] through the states'
//! output lists, exactly the host engine's format.
//!
//! Exactness: after its loops an invocation counts itself complete only
//! when both loops reached their ends and a canary loop of a host-given
//! trip count ran whole (a device that cuts loops silently, llvmpipe, ends
//! every later loop after one trip). The host accepts a run only when every
//! segment completed; a hit overflow runs the batch again with the count
//! table (or, where the table is too large, with room for every hit, up to
//! [`MAX_HITS`]). Anything else is an error, and the
//! caller counts the batch on the host engine instead: never a wrong count.

use std::sync::Arc;

use vyre_core::feeder::ChunkDesc;
use vyre_core::ir::Program;
use vyre_core::{Backend, Error, HostBuffers, Result};

use super::literal_dfa::LiteralDfa;
use super::literals::{ChunkCounts, Scratch};

mod program;
pub use program::program;

/// Default bytes per invocation.
pub const SEGMENT_BYTES: u32 = 4096;
/// Most hit records one run stores (a batch with more hits runs on the
/// host engine).
pub const MAX_HITS: u32 = 16 << 20;
/// Words per hit record: chunk index, state, arena byte offset.
pub const HIT_WORDS: u32 = 3;
/// Words before the first hit record: hits seen, invocations completed.
pub const HIT_HEADER: u32 = 2;
/// Largest count table (files of a batch × output states) in words
/// (16 MiB); a batch needing more records hits.
pub const MAX_TABLE_WORDS: usize = 4 << 20;
/// Lanes per workgroup.
pub const WORKGROUP: u32 = 64;
/// Most workgroups one dispatch runs.
const MAX_WORKGROUPS: u32 = 65_535;
/// Trips of the canary loop (a host-written count, so it is not unrolled).
pub(crate) const CANARY_TRIPS: u32 = 2;
/// Loop trips an invocation spends besides its segment's words.
const LOOP_OVERHEAD: u64 = 256 / WORKGROUP as u64 + CANARY_TRIPS as u64 + 8;

const PARAMS: usize = 0;
const DATA: usize = 1;
const SEGS: usize = 2;
const HITS: usize = 5;
const TABLE: usize = 7;
/// `lit_params[4]`: 1 when this run adds to the count table.
pub(crate) const TABLE_MODE: u32 = 1;

/// How a run records the matches it finds (see the [module](self) docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recording {
    /// A count per (file of the batch, output state), added on the device.
    Table,
    /// A record per matching byte, turned into counts on the host.
    Hits,
}

/// What one batch on the device engine did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRun {
    /// Per chunk, (pattern, matches) for the patterns found, in pattern
    /// order. Recorded with the count table, the matches of a file's
    /// chunks in the batch are all on the first of them (the others are
    /// empty): per file, the sums are the same.
    pub counts: Vec<ChunkCounts>,
    /// Matching positions the device found (byte, state pairs whose state
    /// has outputs).
    pub hits: u64,
    /// Runs again after a hit overflow.
    pub overflow_reruns: u32,
    /// How the last run recorded the matches.
    pub recording: Recording,
    /// With [`DeviceLiterals::keep_positions`] and hit records: per chunk,
    /// (state, byte) of each matching position, the byte relative to the
    /// chunk's own bytes, in no particular order (empty otherwise).
    pub positions: Vec<Vec<(u32, u32)>>,
}

/// The device literal engine of one worker: the program and its host
/// buffers (the DFA tables stay resident on a device that keeps buffers).
pub struct DeviceLiterals {
    dfa: Arc<LiteralDfa>,
    program: Arc<Program>,
    /// Under a stamp of this engine's own: its first run on a device that
    /// keeps buffers uploads everything, tables included, and later runs
    /// write only what changed (the tables never do).
    buffers: HostBuffers,
    segment: u32,
    /// Whether a run of this engine has succeeded.
    ran: bool,
    /// The next run leaves the data buffer as the last run left it.
    data_resident: bool,
    /// A batch overflowed the hit buffer: later batches go to the count
    /// table whenever it fits.
    dense: bool,
    /// First hit capacity of a run (records); tests make it tiny.
    pub initial_hit_capacity: Option<u32>,
    /// How every run records matches, instead of the engine's choice
    /// (tests and benchmarks compare the two).
    pub force_recording: Option<Recording>,
    /// The count table has a row per chunk rather than per file (so a
    /// caller learns which chunks matched, e.g. the regex line filter).
    pub rows_per_chunk: bool,
    /// Runs record hits, and return where they are
    /// ([`BatchRun::positions`]), until a batch overflows the hit buffer
    /// (then the count table, as always after an overflow).
    pub keep_positions: bool,
}

impl std::fmt::Debug for DeviceLiterals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceLiterals")
            .field("states", &self.dfa.states())
            .field("segment", &self.segment)
            .finish()
    }
}

/// Per chunk of a batch, its row of the count table (one per run of
/// consecutive chunks of one file, or one per chunk), and per row its
/// first chunk.
fn table_rows(chunks: &[ChunkDesc], per_chunk: bool) -> (Vec<u32>, Vec<usize>) {
    let mut row_of = Vec::with_capacity(chunks.len());
    let mut first = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        if per_chunk || i == 0 || chunks[i - 1].file != c.file {
            first.push(i);
        }
        row_of.push(first.len() as u32 - 1);
    }
    (row_of, first)
}

impl DeviceLiterals {
    /// The engine for `dfa` with segments of `segment_bytes` (a positive
    /// multiple of 4). `name` names the program: give each worker sharing
    /// a device its own, so each keeps its buffers resident.
    pub fn new(dfa: Arc<LiteralDfa>, name: &str, segment_bytes: u32) -> Result<DeviceLiterals> {
        if segment_bytes == 0 || segment_bytes % 4 != 0 {
            return Err(Error::bad_input(
                format!("literal segment of {segment_bytes} bytes is not a positive multiple of 4"),
                "pass a segment size like 4096",
            ));
        }
        let buffers = HostBuffers::new(vec![
            vec![0u32; 6],
            vec![0u32; 1],
            vec![0u32; 4],
            dfa.classes.clone(),
            dfa.trans.clone(),
            vec![0u32; HIT_HEADER as usize],
            dfa.out_index.clone(),
            vec![0u32; 1],
        ]);
        Ok(DeviceLiterals {
            program: Arc::new(program(name)),
            dfa,
            buffers,
            segment: segment_bytes,
            ran: false,
            data_resident: false,
            dense: false,
            initial_hit_capacity: None,
            force_recording: None,
            rows_per_chunk: false,
            keep_positions: false,
        })
    }

    /// Whether a run of this engine has succeeded.
    pub fn has_run(&self) -> bool {
        self.ran
    }

    /// Bytes per invocation.
    pub fn segment_bytes(&self) -> u32 {
        self.segment
    }

    /// The automaton.
    pub fn dfa(&self) -> &LiteralDfa {
        &self.dfa
    }

    /// Whether one invocation's loops stay under a device's loop limit
    /// ([`Backend::loop_iteration_limit`]; half of it, for margin).
    pub fn fits_loop_limit(&self, limit: Option<u64>) -> bool {
        let words = (u64::from(self.segment) + self.dfa.longest() as u64).div_ceil(4) + 1;
        limit.is_none_or(|l| words + LOOP_OVERHEAD <= l / 2)
    }

    /// Per chunk, the matches whose last byte the chunk owns (with the
    /// count table, per file: see [`BatchRun::counts`]), counted on
    /// `backend` over the arena `words` (its bytes at each chunk's
    /// `arena_offset`, look-behind first). `words` is lent to the run and
    /// given back. An error (loop cut, too many hits, device failure)
    /// leaves nothing half counted: count the batch on the host instead.
    pub fn run_batch<B: Backend + ?Sized>(
        &mut self,
        backend: &B,
        words: &mut Vec<u32>,
        chunks: &[ChunkDesc],
    ) -> Result<BatchRun> {
        if !self.fits_loop_limit(backend.loop_iteration_limit()) {
            return Err(Error::bad_input(
                format!(
                    "a pattern of {} bytes needs more loop trips per segment than {} runs",
                    self.dfa.longest(),
                    backend.name()
                ),
                "use shorter patterns (the host engine counts these)",
            ));
        }
        let segs = self.segments(chunks, words.len())?;
        let n = (segs.len() / 4) as u32;
        if n == 0 {
            return Ok(BatchRun {
                counts: vec![Vec::new(); chunks.len()],
                hits: 0,
                overflow_reruns: 0,
                recording: Recording::Hits,
                positions: vec![Vec::new(); chunks.len()],
            });
        }
        let groups = n.div_ceil(WORKGROUP);
        if groups > MAX_WORKGROUPS {
            return Err(Error::bad_input(
                format!("{n} literal segments need more than {MAX_WORKGROUPS} workgroups"),
                "use smaller batches or larger segments",
            ));
        }
        let used = chunks
            .iter()
            .map(|c| (c.arena_offset + (c.look_behind + c.len) as usize).div_ceil(4))
            .max()
            .unwrap_or(0)
            .max(1);
        let bytes: u64 = chunks.iter().map(|c| u64::from(c.len)).sum();
        let mut cap = self
            .initial_hit_capacity
            .unwrap_or_else(|| (bytes / 256).clamp(4096, u64::from(MAX_HITS)) as u32);
        let (row_of, first) = table_rows(chunks, self.rows_per_chunk);
        let table_words = first.len() * self.dfa.output_states();
        let table_fits = table_words <= MAX_TABLE_WORDS;
        let mut recording = match self.force_recording {
            Some(r) => r,
            None if table_fits
                && (self.dense
                    || (!self.keep_positions && table_words <= (cap * HIT_WORDS) as usize)) =>
            {
                Recording::Table
            }
            None => Recording::Hits,
        };
        if recording == Recording::Table && !table_fits {
            return Err(Error::bad_input(
                format!(
                    "a count table of {} files × {} output states is over {MAX_TABLE_WORDS} words",
                    first.len(),
                    self.dfa.output_states()
                ),
                "record hits for batches of many files",
            ));
        }
        self.buffers[SEGS] = segs;
        std::mem::swap(&mut self.buffers[DATA], words);
        let out = (|| {
            let mut reruns = 0;
            loop {
                let total = self.dispatch(backend, n, groups, used, cap, recording, &row_of)?;
                if recording == Recording::Table || total <= cap {
                    return Ok((total, reruns, recording));
                }
                // The rerun records to the table where it may, else with
                // room for every hit (at most MAX_HITS).
                let to_table = table_fits && self.force_recording.is_none();
                if reruns > 0 || (!to_table && total > MAX_HITS) {
                    return Err(Error::bad_input(
                        format!(
                            "{total} literal hits in one batch, more than the device engine holds"
                        ),
                        "the host engine counts this batch",
                    ));
                }
                if to_table {
                    recording = Recording::Table;
                    self.dense = true;
                } else {
                    cap = total;
                }
                reruns += 1;
            }
        })();
        std::mem::swap(&mut self.buffers[DATA], words);
        let (total, reruns, recording) = out?;
        let mut positions = vec![Vec::new(); chunks.len()];
        let (counts, hits) = match recording {
            Recording::Hits => {
                let per_chunk = self.hits_per_chunk(chunks, total)?;
                let counts = self.counts_from_hits(&per_chunk);
                if self.keep_positions {
                    positions = per_chunk;
                }
                (counts, u64::from(total))
            }
            Recording::Table => self.counts_from_table(chunks.len(), &first),
        };
        Ok(BatchRun {
            counts,
            hits,
            overflow_reruns: reruns,
            recording,
            positions,
        })
    }

    /// [`DeviceLiterals::run_batch`] again over the same `words` and
    /// `chunks` as the last run (unchanged: the caller's promise), without
    /// writing the data again where the backend kept it on the device: the
    /// resident case a benchmark measures. (Where the device holds no copy
    /// of this engine's last run, the backend uploads everything anyway.)
    pub fn rerun_resident<B: Backend + ?Sized>(
        &mut self,
        backend: &B,
        words: &mut Vec<u32>,
        chunks: &[ChunkDesc],
    ) -> Result<BatchRun> {
        self.data_resident = true;
        let out = self.run_batch(backend, words, chunks);
        self.data_resident = false;
        out
    }

    /// The segment table: per segment, chunk index, warm-up start word,
    /// segment start word, end byte (arena bytes).
    fn segments(&self, chunks: &[ChunkDesc], arena_words: usize) -> Result<Vec<u32>> {
        let warm = self.dfa.longest() as u64 - 1;
        let mut segs = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            let start = c.arena_offset as u64;
            let owned = start + u64::from(c.look_behind);
            let end = owned + u64::from(c.len);
            if start % 4 != 0 || owned % 4 != 0 || end > arena_words as u64 * 4 {
                return Err(Error::internal(format!(
                    "literal chunk at arena byte {start} (look-behind {}, {} bytes) is not word aligned or past the arena",
                    c.look_behind, c.len
                )));
            }
            if end > u64::from(u32::MAX) - 4 {
                return Err(Error::bad_input(
                    "a batch arena of 4 GiB or more cannot be addressed by the literal program",
                    "use smaller batches",
                ));
            }
            let mut s = owned;
            while s < end {
                let from = s.saturating_sub(warm).max(start) & !3;
                let to = (s + u64::from(self.segment)).min(end);
                segs.extend([i as u32, (from / 4) as u32, (s / 4) as u32, to as u32]);
                s = to;
            }
        }
        Ok(segs)
    }

    /// One run; returns the hits the device saw (stored up to `cap`), or
    /// with the count table, 0 (the table holds the counts).
    #[allow(clippy::too_many_arguments)]
    fn dispatch<B: Backend + ?Sized>(
        &mut self,
        backend: &B,
        n: u32,
        groups: u32,
        used: usize,
        cap: u32,
        recording: Recording,
        row_of: &[u32],
    ) -> Result<u32> {
        let nout = self.dfa.output_states() as u32;
        let table = recording == Recording::Table;
        self.buffers[PARAMS] = vec![
            n,
            self.dfa.class_count,
            if table { 0 } else { cap },
            CANARY_TRIPS,
            u32::from(table) * TABLE_MODE,
            nout,
        ];
        let hit_words = if table {
            HIT_HEADER as usize
        } else {
            (HIT_HEADER + cap * HIT_WORDS) as usize
        };
        let hits = &mut self.buffers[HITS];
        if hits.len() < hit_words {
            hits.resize(hit_words, 0);
        }
        hits[0] = 0;
        hits[1] = 0;
        let mut writes = vec![(PARAMS, 0..6), (HITS, 0..HIT_HEADER as usize)];
        let mut reads = vec![(HITS, 0..hit_words)];
        if table {
            // The first word of each segment names its table row instead of
            // its chunk (a run with the table is never followed by one
            // recording hits over the same segments).
            for w in self.buffers[SEGS].iter_mut().step_by(4) {
                *w = row_of[*w as usize];
            }
            let rows = row_of.last().map_or(0, |&r| r as usize + 1);
            let words = rows * nout as usize;
            let t = &mut self.buffers[TABLE];
            t.clear();
            t.resize(words.max(1), 0);
            writes.push((TABLE, 0..words));
            reads.push((TABLE, 0..words));
        }
        writes.push((SEGS, 0..n as usize * 4));
        if !self.data_resident {
            writes.push((DATA, 0..used.min(self.buffers[DATA].len())));
        }
        backend.run_ranges_shared(&self.program, &mut self.buffers, groups, &writes, &reads)?;
        self.ran = true;
        let hits = &self.buffers[HITS];
        if hits[1] != n {
            return Err(Error::gpu(
                format!(
                    "{} of {n} literal segments completed on {} (loops cut)",
                    hits[1],
                    backend.name()
                ),
                "the host engine counts this batch",
            ));
        }
        Ok(if table { 0 } else { hits[0] })
    }

    /// The count table as sparse per-chunk counts (each row's on its first
    /// chunk), and the matching positions it counted.
    fn counts_from_table(&self, chunks: usize, first: &[usize]) -> (Vec<ChunkCounts>, u64) {
        let nout = self.dfa.output_states();
        let mut out = vec![Vec::new(); chunks];
        let mut scratch = Scratch::default();
        let mut hits = 0u64;
        for (row, &chunk) in first.iter().enumerate() {
            let words = &self.buffers[TABLE][row * nout..(row + 1) * nout];
            for (oi, &n) in words.iter().enumerate().filter(|(_, &n)| n != 0) {
                hits += u64::from(n);
                self.dfa
                    .outputs(self.dfa.output_state(oi), |id| scratch.add(id, n));
            }
            out[chunk] = scratch.take();
        }
        (out, hits)
    }

    /// The stored hits per chunk as (state, byte relative to the chunk's
    /// own bytes); checks every record.
    fn hits_per_chunk(&self, chunks: &[ChunkDesc], total: u32) -> Result<Vec<Vec<(u32, u32)>>> {
        let hits = &self.buffers[HITS];
        let mut per_chunk: Vec<Vec<(u32, u32)>> = vec![Vec::new(); chunks.len()];
        for r in hits[HIT_HEADER as usize..][..(total * HIT_WORDS) as usize].chunks_exact(3) {
            let (chunk, state, pos) = (r[0] as usize, r[1], u64::from(r[2]));
            let ok = chunks.get(chunk).is_some_and(|c| {
                let owned = (c.arena_offset + c.look_behind as usize) as u64;
                pos >= owned && pos < owned + u64::from(c.len)
            }) && (state as usize) < self.dfa.states();
            if !ok {
                return Err(Error::internal(format!(
                    "the literal program reported a hit (chunk {chunk}, state {state}, byte {pos}) outside its batch"
                )));
            }
            let owned = (chunks[chunk].arena_offset + chunks[chunk].look_behind as usize) as u64;
            per_chunk[chunk].push((state, (pos - owned) as u32));
        }
        Ok(per_chunk)
    }

    /// Hits per chunk ([`DeviceLiterals::hits_per_chunk`]) as sparse
    /// per-chunk counts.
    fn counts_from_hits(&self, per_chunk: &[Vec<(u32, u32)>]) -> Vec<ChunkCounts> {
        let mut scratch = Scratch::default();
        per_chunk
            .iter()
            .map(|hits| {
                for &(st, _) in hits {
                    self.dfa.outputs(st, |id| scratch.add(id, 1));
                }
                scratch.take()
            })
            .collect()
    }
}
