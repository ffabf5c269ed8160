//! A seeded xorshift generator for the randomized tests, and the
//! `aho-corasick` reference counts the literal tests compare with.

use aho_corasick::{AhoCorasickBuilder, MatchKind};

/// xorshift64: reproducible from its seed (never 0).
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (> 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `n` bytes drawn from `alphabet`.
    pub fn bytes(&mut self, n: usize, alphabet: &[u8]) -> Vec<u8> {
        (0..n)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }
}

/// Overlapping matches of every pattern over the whole text (aho-corasick,
/// `MatchKind::Standard`), ASCII case-insensitive when `fold`.
pub fn reference(text: &[u8], patterns: &[Vec<u8>], fold: bool) -> Vec<u64> {
    let ac = AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .ascii_case_insensitive(fold)
        .build(patterns)
        .expect("reference automaton");
    let mut counts = vec![0u64; patterns.len()];
    for m in ac.find_overlapping_iter(text) {
        counts[m.pattern().as_usize()] += 1;
    }
    counts
}
