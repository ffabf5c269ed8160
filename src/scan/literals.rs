//! Many literal patterns on the host: an Aho-Corasick automaton (the
//! `aho-corasick` crate, overlapping search) run over every chunk with its
//! look-behind.
//!
//! A scan uses it when its literal set is larger than the run-time pattern
//! payloads take ([`uses_host_engine`]: more than
//! [`MAX_PAYLOAD_PATTERNS`] patterns, or `-i`), on every
//! backend: the native backend runs it on its thread pool, the CPU
//! reference worker on rayon's pool after its megakernel ran the batch's
//! other analyses. A GPU worker runs the same set as a device program
//! ([`super::gpu_literals`], tables in device memory) and falls back to
//! this engine for a batch the device cannot count exactly. It counts, per
//! chunk, the overlapping occurrences of every pattern that *end* in the
//! bytes the chunk owns (a match's last byte at index `>= start` of the
//! chunk's data), so a match across a chunk boundary is counted exactly
//! once, by the chunk that holds its last byte; the look-behind (the longest
//! pattern minus one, from the feeder) holds its first bytes. The per-file
//! sum therefore equals the overlapping matches of the automaton run over
//! the whole file.
//!
//! Chunk results are sparse: (pattern index, count) for the patterns found,
//! in pattern order, so 100 000 patterns cost nothing per chunk where they
//! do not occur.

use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use rayon::prelude::*;
use vyre_core::feeder::ChunkDesc;
use vyre_core::{Error, Result};

use super::literal_dfa::{LiteralDfa, MAX_DFA_BYTES};
use super::pattern::MAX_PATTERNS_PER_PAYLOAD;
use super::ScanConfig;

/// Most literal patterns a scan runs as run-time payloads (4 payloads of
/// [`MAX_PATTERNS_PER_PAYLOAD`], which also run on a GPU); more, or `-i`,
/// run on the host engine ([`Literals`]).
pub const MAX_PAYLOAD_PATTERNS: usize = 4 * MAX_PATTERNS_PER_PAYLOAD;

/// Whether the scan's literal patterns run on the host engine rather than
/// as pattern payloads: more than [`MAX_PAYLOAD_PATTERNS`] patterns, or
/// ASCII case-insensitive matching.
pub fn uses_host_engine(cfg: &ScanConfig) -> bool {
    // `--matches` locates literals with this engine: counts and locations
    // then come from one automaton.
    !cfg.patterns.is_empty()
        && (cfg.patterns.len() > MAX_PAYLOAD_PATTERNS
            || cfg.ignore_case
            || cfg.match_locations.is_some())
}

/// Most patterns a file report lists in full (zero counts included, as
/// `matches` always did for `-e`); with more, it lists only the patterns
/// found in the file, in pattern order.
pub const MAX_DENSE_REPORT: usize = 256;

/// Per chunk: (pattern index, overlapping matches ending in the chunk) for
/// every pattern found there, in pattern order.
pub type ChunkCounts = Vec<(u32, u32)>;

/// A literal set compiled for overlapping search.
pub struct Literals {
    ac: AhoCorasick,
    longest: usize,
    count: usize,
    patterns: Vec<Vec<u8>>,
    ignore_case: bool,
    /// The device engine's DFA, built by the first device worker that asks
    /// ([`Literals::device_dfa`]); the error says why there is none.
    dfa: std::sync::OnceLock<std::result::Result<Arc<LiteralDfa>, String>>,
}

impl std::fmt::Debug for Literals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Literals")
            .field("patterns", &self.count)
            .field("longest", &self.longest)
            .finish()
    }
}

impl Literals {
    /// Compiles `patterns` (each non-empty; duplicates allowed and each
    /// counted), ASCII case-insensitive when `ignore_case`.
    pub fn new<P: AsRef<[u8]>>(patterns: &[P], ignore_case: bool) -> Result<Literals> {
        if patterns.iter().any(|p| p.as_ref().is_empty()) {
            return Err(Error::bad_input(
                "an empty literal pattern matches everywhere",
                "give each pattern at least one byte",
            ));
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(ignore_case)
            .build(patterns)
            .map_err(|e| {
                Error::bad_input(
                    format!(
                        "{} literal patterns could not be compiled into one automaton: {e}",
                        patterns.len()
                    ),
                    "give fewer or shorter patterns",
                )
            })?;
        Ok(Literals {
            ac,
            longest: patterns.iter().map(|p| p.as_ref().len()).max().unwrap_or(1),
            count: patterns.len(),
            patterns: patterns.iter().map(|p| p.as_ref().to_vec()).collect(),
            ignore_case,
            dfa: std::sync::OnceLock::new(),
        })
    }

    /// The dense DFA the device engine runs ([`super::gpu_literals`]),
    /// built once on first use; `Err` says why there is none (its tables
    /// would exceed [`MAX_DFA_BYTES`]), and the host engine runs instead.
    pub fn device_dfa(&self) -> std::result::Result<Arc<LiteralDfa>, String> {
        self.dfa
            .get_or_init(|| {
                LiteralDfa::new(&self.patterns, self.ignore_case, MAX_DFA_BYTES)
                    .map(Arc::new)
                    .map_err(|e| e.message().into_owned())
            })
            .clone()
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there is no pattern (never: [`Literals::new`] needs one to
    /// build an automaton that matches something).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Look-behind the chunks need: the longest pattern minus one.
    pub fn look_behind(&self) -> u32 {
        (self.longest - 1) as u32
    }

    /// The overlapping matches of every pattern whose last byte lies at an
    /// index `>= start` of `data` (the bytes before `start` are look-behind),
    /// added into `scratch` and returned sparse, in pattern order.
    pub fn count_chunk(&self, data: &[u8], start: usize, scratch: &mut Scratch) -> ChunkCounts {
        let from = start.saturating_sub(self.longest - 1).min(data.len());
        let hay = &data[from..];
        // A match ends (exclusive) at `from + m.end()`; it is the chunk's
        // when its last byte `from + m.end() - 1 >= start`.
        let min_end = start.saturating_sub(from);
        if scratch.counts.len() < self.count {
            scratch.counts.resize(self.count, 0);
        }
        for m in self.ac.find_overlapping_iter(hay) {
            if m.end() > min_end {
                scratch.add(m.pattern().as_u32(), 1);
            }
        }
        scratch.take()
    }

    /// Calls `f(pattern, start)` for every overlapping match that
    /// [`Literals::count_chunk`] counts (its last byte at index `>= start`
    /// of `data`), `start` being the match's first byte's index in `data`.
    pub fn for_each_owned(&self, data: &[u8], start: usize, mut f: impl FnMut(u32, usize)) {
        let from = start.saturating_sub(self.longest - 1).min(data.len());
        let min_end = start.saturating_sub(from);
        for m in self.ac.find_overlapping_iter(&data[from..]) {
            if m.end() > min_end {
                f(m.pattern().as_u32(), from + m.start());
            }
        }
    }

    /// [`Literals::count_chunk`] over every chunk of a batch, in parallel on
    /// the current rayon pool: `bytes` is the batch's arena.
    pub fn count_batch(&self, bytes: &[u8], chunks: &[ChunkDesc]) -> Vec<ChunkCounts> {
        chunks
            .par_iter()
            .map_init(Scratch::default, |scratch, c| {
                let full = c.look_behind as usize + c.len as usize;
                let data = bytes
                    .get(c.arena_offset..c.arena_offset.saturating_add(full))
                    .unwrap_or(&[]);
                self.count_chunk(data, c.look_behind as usize, scratch)
            })
            .collect()
    }
}

/// Per-thread dense counters and the list of those touched, so a chunk
/// costs the matches it has, not the number of patterns.
#[derive(Default)]
pub struct Scratch {
    counts: Vec<u32>,
    touched: Vec<u32>,
}

impl Scratch {
    /// Adds `n` to the counter of pattern `id`.
    pub(super) fn add(&mut self, id: u32, n: u32) {
        let i = id as usize;
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        let c = &mut self.counts[i];
        if *c == 0 {
            self.touched.push(id);
        }
        *c = c.wrapping_add(n);
    }

    /// The touched counters, sorted, as (index, count); resets them.
    pub(super) fn take(&mut self) -> ChunkCounts {
        self.touched.sort_unstable();
        let out = self
            .touched
            .iter()
            .map(|&i| (i, std::mem::take(&mut self.counts[i as usize])))
            .collect();
        self.touched.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(hay: &[u8], p: &[u8], fold: bool) -> u32 {
        if hay.len() < p.len() {
            return 0;
        }
        hay.windows(p.len())
            .filter(|w| {
                if fold {
                    w.eq_ignore_ascii_case(p)
                } else {
                    *w == p
                }
            })
            .count() as u32
    }

    /// Nested, overlapping and case-folded patterns, counted per chunk
    /// with look-behind, sum to the whole-text count for every split.
    #[test]
    fn chunk_counts_sum_to_the_whole_text() {
        let hay = b"aaAaAbaBAB abab\xffab\xff aa ABAABA";
        let pats: [&[u8]; 6] = [b"a", b"aa", b"ab", b"aba", b"\xffab", b"BA"];
        for fold in [false, true] {
            let lit = Literals::new(&pats, fold).expect("compiles");
            let lb = lit.look_behind() as usize;
            for chunk in 1..hay.len() + 1 {
                let mut sums = vec![0u32; pats.len()];
                let mut scratch = Scratch::default();
                for s in (0..hay.len()).step_by(chunk) {
                    let from = s.saturating_sub(lb);
                    let end = (s + chunk).min(hay.len());
                    for (i, n) in lit.count_chunk(&hay[from..end], s - from, &mut scratch) {
                        sums[i as usize] += n;
                    }
                }
                for (i, p) in pats.iter().enumerate() {
                    assert_eq!(
                        sums[i],
                        naive(hay, p, fold),
                        "{p:?} fold {fold} chunk {chunk}"
                    );
                }
            }
        }
    }

    #[test]
    fn duplicates_are_each_counted_and_empty_is_refused() {
        let lit = Literals::new(&[b"ab".as_slice(), b"AB", b"ab"], true).expect("compiles");
        let mut s = Scratch::default();
        assert_eq!(
            lit.count_chunk(b"xABab", 0, &mut s),
            vec![(0, 2), (1, 2), (2, 2)]
        );
        let e = Literals::new(&[b"".as_slice()], false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Fix:"), "{e}");
    }
}
