//! A dense Aho-Corasick DFA over byte classes, as flat `u32` tables a device
//! program reads from storage buffers ([`super::gpu_literals`]).
//!
//! Bytes that no pattern contains share class 0; every other (case-folded
//! with `-i`) byte has its own class, so the transition table has
//! `states × classes` words. Each transition word is the target state with
//! bit 31 set when the target has outputs (a pattern ends there, its own or
//! a dictionary suffix's), so a device finds matches with the one load it
//! needs for the step. Outputs stay on the host: the patterns ending at
//! each state ([`LiteralDfa::outputs`]) and the link to the nearest proper
//! suffix state with outputs. Counting by walking the DFA over a text and
//! summing the outputs of every state reached gives exactly the
//! overlapping matches of `aho-corasick`'s `MatchKind::Standard` (tested
//! against it).

use vyre_core::{Error, Result};

/// Largest transition table built, in bytes (256 MiB); a larger pattern set
/// is refused and runs on the host engine.
pub const MAX_DFA_BYTES: usize = 256 << 20;

/// Bit 31 of a transition word: the target state has outputs.
pub const OUTPUT_FLAG: u32 = 1 << 31;

const NONE: u32 = u32::MAX;

/// A dense Aho-Corasick automaton over byte classes.
#[derive(Clone, Debug)]
pub struct LiteralDfa {
    /// Class of each byte value (256 words).
    pub classes: Vec<u32>,
    /// Number of classes (the transition table's row length).
    pub class_count: u32,
    /// `trans[s * class_count + c]`: the next state, [`OUTPUT_FLAG`] set
    /// when it has outputs. State 0 is the start.
    pub trans: Vec<u32>,
    out_start: Vec<u32>,
    out_ids: Vec<u32>,
    out_link: Vec<u32>,
    /// `out_index[s]`: the index of state `s` among the states with
    /// outputs, or `u32::MAX` when it has none (a device counts matches per
    /// output state with it).
    pub out_index: Vec<u32>,
    /// The states with outputs, in index order (`out_index`'s inverse).
    out_states: Vec<u32>,
    longest: usize,
    patterns: usize,
}

impl LiteralDfa {
    /// Builds the automaton for `patterns` (each non-empty; duplicates each
    /// count), ASCII case-insensitive when `ignore_case`. Refuses, with a
    /// `Fix:`, an empty pattern and a transition table over `max_bytes`.
    pub fn new<P: AsRef<[u8]>>(
        patterns: &[P],
        ignore_case: bool,
        max_bytes: usize,
    ) -> Result<LiteralDfa> {
        if patterns.is_empty() || patterns.iter().any(|p| p.as_ref().is_empty()) {
            return Err(Error::bad_input(
                "a literal DFA needs at least one pattern, each of at least one byte",
                "give each pattern at least one byte",
            ));
        }
        let fold = |b: u8| {
            if ignore_case {
                b.to_ascii_lowercase()
            } else {
                b
            }
        };
        let mut class_of = [0u32; 256];
        let mut class_count = 1u32;
        for p in patterns {
            for &b in p.as_ref() {
                let f = fold(b) as usize;
                if class_of[f] == 0 {
                    class_of[f] = class_count;
                    class_count += 1;
                }
            }
        }
        let classes: Vec<u32> = (0..=255u8).map(|b| class_of[fold(b) as usize]).collect();
        let c = class_count as usize;
        let too_big = |states: usize| {
            Error::bad_input(
                format!(
                    "{} literal patterns need a DFA of more than {states} states × {c} byte classes, over {} MiB",
                    patterns.len(),
                    max_bytes >> 20
                ),
                "give fewer or shorter patterns (the host engine runs them)",
            )
        };
        // The trie, as dense rows of NONE (no child) filled in below.
        let mut trans: Vec<u32> = vec![NONE; c];
        let mut own: Vec<Vec<u32>> = vec![Vec::new()];
        for (id, p) in patterns.iter().enumerate() {
            let mut s = 0usize;
            for &b in p.as_ref() {
                let k = s * c + class_of[fold(b) as usize] as usize;
                s = match trans[k] {
                    NONE => {
                        let n = own.len();
                        if (n + 1) * c * 4 > max_bytes {
                            return Err(too_big(n + 1));
                        }
                        trans[k] = n as u32;
                        trans.resize((n + 1) * c, NONE);
                        own.push(Vec::new());
                        n
                    }
                    t => t as usize,
                };
            }
            own[s].push(id as u32);
        }
        // Breadth first: failure links, full transitions, output links.
        let states = own.len();
        let mut fail = vec![0u32; states];
        let mut out_link = vec![NONE; states];
        let mut queue = std::collections::VecDeque::from([0usize]);
        while let Some(u) = queue.pop_front() {
            for cls in 0..c {
                let child = trans[u * c + cls];
                let via_fail = if u == 0 {
                    0
                } else {
                    trans[fail[u] as usize * c + cls]
                };
                if child == NONE {
                    trans[u * c + cls] = via_fail;
                    continue;
                }
                let v = child as usize;
                fail[v] = via_fail;
                let f = via_fail as usize;
                out_link[v] = if !own[f].is_empty() {
                    via_fail
                } else {
                    out_link[f]
                };
                queue.push_back(v);
            }
        }
        let has_out: Vec<bool> = (0..states)
            .map(|s| !own[s].is_empty() || out_link[s] != NONE)
            .collect();
        for t in trans.iter_mut() {
            if has_out[*t as usize] {
                *t |= OUTPUT_FLAG;
            }
        }
        let mut out_index = vec![NONE; states];
        let mut out_states = Vec::new();
        for (st, _) in has_out.iter().enumerate().filter(|(_, &h)| h) {
            out_index[st] = out_states.len() as u32;
            out_states.push(st as u32);
        }
        let mut out_start = Vec::with_capacity(states + 1);
        let mut out_ids = Vec::new();
        for o in &own {
            out_start.push(out_ids.len() as u32);
            out_ids.extend_from_slice(o);
        }
        out_start.push(out_ids.len() as u32);
        Ok(LiteralDfa {
            classes,
            class_count,
            trans,
            out_start,
            out_ids,
            out_link,
            out_index,
            out_states,
            longest: patterns.iter().map(|p| p.as_ref().len()).max().unwrap_or(1),
            patterns: patterns.len(),
        })
    }

    /// An automaton given as tables (the device form of other pattern
    /// kinds, e.g. [`super::regex_filter`]): the class of each byte,
    /// `trans[s * class_count + c]` with [`OUTPUT_FLAG`] set on every
    /// transition into a state with outputs, each state's patterns, and
    /// `longest`, the bytes a device walks before a segment plus one.
    /// State 0 is the start.
    pub fn from_table(
        classes: Vec<u32>,
        class_count: u32,
        trans: Vec<u32>,
        outputs: Vec<Vec<u32>>,
        patterns: usize,
        longest: usize,
    ) -> LiteralDfa {
        let states = outputs.len();
        let mut out_index = vec![NONE; states];
        let mut out_states = Vec::new();
        let mut out_start = Vec::with_capacity(states + 1);
        let mut out_ids = Vec::new();
        for (st, o) in outputs.iter().enumerate() {
            if !o.is_empty() {
                out_index[st] = out_states.len() as u32;
                out_states.push(st as u32);
            }
            out_start.push(out_ids.len() as u32);
            out_ids.extend_from_slice(o);
        }
        out_start.push(out_ids.len() as u32);
        LiteralDfa {
            classes,
            class_count,
            trans,
            out_start,
            out_ids,
            out_link: vec![NONE; states],
            out_index,
            out_states,
            longest: longest.max(1),
            patterns,
        }
    }

    /// Number of states.
    pub fn states(&self) -> usize {
        self.out_link.len()
    }

    /// Number of states with outputs (the row length of a device's
    /// per-output-state count table).
    pub fn output_states(&self) -> usize {
        self.out_states.len()
    }

    /// The state with outputs of index `index` (see
    /// [`LiteralDfa::out_index`]).
    pub fn output_state(&self, index: usize) -> u32 {
        self.out_states[index]
    }

    /// Number of patterns.
    pub fn patterns(&self) -> usize {
        self.patterns
    }

    /// Length of the longest pattern.
    pub fn longest(&self) -> usize {
        self.longest
    }

    /// Size of the device tables in bytes (transitions, class map and
    /// output-state index).
    pub fn table_bytes(&self) -> usize {
        (self.trans.len() + self.classes.len() + self.out_index.len()) * 4
    }

    /// The next state after `state` reads byte `b`, with [`OUTPUT_FLAG`].
    pub fn step(&self, state: u32, b: u8) -> u32 {
        let s = (state & !OUTPUT_FLAG) as usize;
        self.trans[s * self.class_count as usize + self.classes[b as usize] as usize]
    }

    /// Calls `f` with every pattern that ends at `state` (its own patterns
    /// and those of its dictionary suffixes), once per pattern.
    pub fn outputs(&self, state: u32, mut f: impl FnMut(u32)) {
        let mut s = state & !OUTPUT_FLAG;
        while (s as usize) < self.out_link.len() {
            let (a, b) = (
                self.out_start[s as usize] as usize,
                self.out_start[s as usize + 1] as usize,
            );
            self.out_ids[a..b].iter().for_each(|&id| f(id));
            s = self.out_link[s as usize];
        }
    }

    /// Overlapping matches of every pattern in `text`, walking the DFA on
    /// the host (the reference the device program is checked against).
    pub fn count(&self, text: &[u8]) -> Vec<u64> {
        let mut counts = vec![0u64; self.patterns];
        let mut s = 0u32;
        for &b in text {
            s = self.step(s, b);
            if s & OUTPUT_FLAG != 0 {
                self.outputs(s, |id| counts[id as usize] += 1);
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_sets_count_like_windows() {
        let pats: [&[u8]; 6] = [b"a", b"aa", b"ab", b"aba", b"\xffab", b"BA"];
        let text = b"aaAaAbaBAB abab\xffab\xff aa ABAABA\n";
        for fold in [false, true] {
            let dfa = LiteralDfa::new(&pats, fold, MAX_DFA_BYTES).expect("builds");
            let got = dfa.count(text);
            for (i, p) in pats.iter().enumerate() {
                let want = text
                    .windows(p.len())
                    .filter(|w| {
                        if fold {
                            w.eq_ignore_ascii_case(p)
                        } else {
                            w == p
                        }
                    })
                    .count() as u64;
                assert_eq!(got[i], want, "{p:?} fold {fold}");
            }
        }
    }

    #[test]
    fn output_states_are_indexed_both_ways() {
        let pats: [&[u8]; 5] = [b"he", b"she", b"his", b"hers", b"e"];
        let dfa = LiteralDfa::new(&pats, false, MAX_DFA_BYTES).expect("builds");
        let mut indexed = 0;
        for st in 0..dfa.states() as u32 {
            let mut outputs = 0;
            dfa.outputs(st, |_| outputs += 1);
            match dfa.out_index[st as usize] {
                u32::MAX => assert_eq!(outputs, 0, "state {st} has outputs but no index"),
                i => {
                    assert!(outputs > 0, "state {st} is indexed without outputs");
                    assert_eq!(dfa.output_state(i as usize), st);
                    indexed += 1;
                }
            }
        }
        assert_eq!(indexed, dfa.output_states());
        // Every transition into an indexed state carries the output flag.
        for &t in &dfa.trans {
            let target = (t & !OUTPUT_FLAG) as usize;
            assert_eq!(t & OUTPUT_FLAG != 0, dfa.out_index[target] != u32::MAX);
        }
    }

    #[test]
    fn refuses_empty_and_oversized() {
        let e = LiteralDfa::new(&[b"".as_slice()], false, MAX_DFA_BYTES).unwrap_err();
        assert!(e.to_string().contains("Fix:"), "{e}");
        let e = LiteralDfa::new(&[b"abcdefgh".as_slice()], false, 64).unwrap_err();
        assert!(e.to_string().contains("MiB"), "{e}");
    }
}
