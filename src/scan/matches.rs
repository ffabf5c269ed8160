//! Match locations (`vyre scan --matches`): where each counted match of the
//! `-r` regexes and the `-e`/`-f` literals is, with its line.
//!
//! A location is the match's byte offset in its file, its line (1-based:
//! one more than the `\n`s before it), its column (1-based: bytes from the
//! line's start, plus one), the pattern (kind, index, text) and the whole
//! line it is on, without its `\n`. Literal matches are the overlapping
//! ones `-e` counts (`--matches` runs every literal set on the host
//! Aho-Corasick engine, so counts and locations come from one automaton);
//! a literal with a `\n` is refused with `--matches`, so every match lies
//! on one line. Regex matches never span lines ([`super::regex`]).
//!
//! **Across chunks.** A chunk knows its own bytes (and the look-behind), not
//! the `\n`s of earlier chunks, so it reports (1) *records* for the matches
//! on the whole lines between its first and last `\n`, with the number of
//! `\n`s before them within the chunk, their column and their line's bytes,
//! and (2) *hits* (offset, pattern) for the literal matches on the line that
//! straddles its start (the head line: it may begin in the look-behind) and
//! on its tail line. The fold ([`Locator`]), in file order, adds the `\n`
//! counts of earlier chunks (a prefix sum) to the records' lines, and keeps
//! the hits of the line being joined (with the regex matches found on the
//! joined line) until its `\n` arrives, when their line, column and text
//! are known. Per file, at most `max` locations are kept, the first in
//! (offset, kind, pattern) order; the rest are counted
//! ([`super::FileReport::located_omitted`]). Chunks keep at most `max` of
//! each kind, so memory is bounded by `max` and the line bound.

use std::sync::Arc;

use memchr::memchr_iter;

/// Default `--max-matches-per-file`.
pub const DEFAULT_MAX_MATCHES: usize = 1000;

/// Largest `--max-matches-per-file` (0 is refused: leave out `--matches`
/// to print none).
pub const MAX_MATCHES_PER_FILE: usize = 1 << 20;

/// Most bytes of a line that a printed match shows (`--matches`): a
/// longer line (minified HTML or JS: hundreds of KB) is shown as the
/// window of this many bytes around the match, so output stays
/// proportional to the matches rather than matches × line length.
pub const MAX_SHOWN_LINE: usize = 4096;

/// The part of `l`'s line a printed match shows: (first byte's 0-based
/// index in the line, the bytes). The whole line when it has at most
/// [`MAX_SHOWN_LINE`] bytes; else that many, starting up to a quarter of
/// them before the match.
pub fn shown(l: &Located) -> (usize, &[u8]) {
    let t = &l.text[..];
    if t.len() <= MAX_SHOWN_LINE {
        return (0, t);
    }
    let at = (l.column as usize).saturating_sub(1).min(t.len());
    let start = at
        .saturating_sub(MAX_SHOWN_LINE / 4)
        .min(t.len() - MAX_SHOWN_LINE);
    (start, &t[start..start + MAX_SHOWN_LINE])
}

/// Which engine a located pattern belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A `-r` regex (its index among the regexes).
    Regex,
    /// A `-e`/`-f` literal (its index among the literals).
    Literal,
}

/// A match found in a chunk whose line is not complete there: its offset
/// in the file and its pattern. Ordered by (offset, kind, pattern).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    /// Byte offset of the match's first byte in its file.
    pub offset: u64,
    /// Regex or literal.
    pub kind: Kind,
    /// The pattern's index among those of its kind.
    pub pattern: u32,
}

/// A match on a whole line inside a chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Where it is and which pattern.
    pub hit: Hit,
    /// `\n`s in the chunk's own bytes before the match.
    pub newlines_before: u64,
    /// 1-based byte column.
    pub column: u64,
    /// Index of its line's bytes in [`ChunkFound::lines`].
    pub line: u32,
}

/// One chunk's locations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChunkFound {
    /// Matches on the chunk's whole lines, in (offset, kind, pattern) order.
    pub records: Vec<Record>,
    /// The lines of `records` (without `\n`), each once.
    pub lines: Vec<Arc<[u8]>>,
    /// Literal matches on the line across the chunk's start (all of them
    /// when the chunk has no `\n`).
    pub head: Vec<Hit>,
    /// Literal matches on the chunk's tail line.
    pub tail: Vec<Hit>,
}

/// One located match, as reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// Byte offset of the match's first byte in its file.
    pub offset: u64,
    /// 1-based line number.
    pub line: u64,
    /// 1-based byte column.
    pub column: u64,
    /// Regex or literal.
    pub kind: Kind,
    /// The pattern's index among those of its kind (in the order given).
    pub pattern: u32,
    /// The pattern's text: the regex as given, or the literal escaped
    /// ([`super::escape_bytes`]).
    pub pattern_text: Arc<str>,
    /// The whole line (bytes, without its `\n`).
    pub text: Arc<[u8]>,
}

/// Keeps the first `max` of `v` in order (sorts when it has grown past
/// twice that, so collecting costs amortized O(log) per item).
pub fn bound<T: Ord>(v: &mut Vec<T>, max: usize, last: bool) {
    if v.len() > 2 * max || (last && v.len() > max) {
        v.sort_unstable();
        v.truncate(max);
    }
    if last {
        v.sort_unstable();
    }
}

/// Records for `hits` (sorted, each on a whole line of `owned`, the
/// chunk's own bytes starting at file offset `at`): the `\n`s before each,
/// its column and its line, found in one sweep over `owned`.
pub fn resolve(owned: &[u8], at: u64, hits: &[Hit]) -> (Vec<Record>, Vec<Arc<[u8]>>) {
    let mut records = Vec::with_capacity(hits.len());
    let mut lines: Vec<Arc<[u8]>> = Vec::new();
    let (mut pos, mut newlines, mut line_start) = (0usize, 0u64, 0usize);
    let mut current: Option<usize> = None;
    for h in hits {
        let off = (h.offset - at) as usize;
        for nl in memchr_iter(b'\n', &owned[pos..off]) {
            newlines += 1;
            line_start = pos + nl + 1;
        }
        pos = off;
        if current != Some(line_start) {
            let end =
                memchr::memchr(b'\n', &owned[line_start..]).map_or(owned.len(), |e| line_start + e);
            lines.push(owned[line_start..end].into());
            current = Some(line_start);
        }
        records.push(Record {
            hit: *h,
            newlines_before: newlines,
            column: (off - line_start) as u64 + 1,
            line: (lines.len() - 1) as u32,
        });
    }
    (records, lines)
}

/// Per file, in the fold: the locations so far and the hits of the line
/// being joined across chunks.
#[derive(Debug)]
pub struct Locator {
    max: usize,
    /// The located matches so far, in order, at most `max`.
    pub found: Vec<Located>,
    /// Hits on the line being joined.
    pending: Vec<Hit>,
    /// File offset where the line being joined starts.
    pending_start: u64,
    /// `\n`s in the file before the chunk being added.
    newlines: u64,
    /// Pattern texts: regexes, then literals.
    names: Arc<Names>,
}

/// The pattern texts a [`Locator`] reports.
#[derive(Debug, Default)]
pub struct Names {
    /// The regexes as given.
    pub regexes: Vec<Arc<str>>,
    /// The literals, escaped.
    pub literals: Vec<Arc<str>>,
}

impl Names {
    fn of(&self, h: &Hit) -> Arc<str> {
        let v = match h.kind {
            Kind::Regex => &self.regexes,
            Kind::Literal => &self.literals,
        };
        v.get(h.pattern as usize)
            .cloned()
            .unwrap_or_else(|| Arc::from(""))
    }
}

impl Locator {
    /// Keeps at most `max` locations of a file.
    pub fn new(max: usize, names: Arc<Names>) -> Locator {
        Locator {
            max,
            found: Vec::new(),
            pending: Vec::new(),
            pending_start: 0,
            newlines: 0,
            names,
        }
    }

    /// The most locations kept.
    pub fn max(&self) -> usize {
        self.max
    }

    fn full(&self) -> bool {
        self.found.len() >= self.max
    }

    /// Adds hits on the line being joined (the head hits of a chunk).
    pub fn add_pending(&mut self, hits: &[Hit]) {
        if !self.full() {
            self.pending.extend_from_slice(hits);
            bound(&mut self.pending, self.max, false);
        }
    }

    /// The line being joined is complete (its bytes `line`, without `\n`);
    /// `regex_hits` are the regex matches found on it (offsets relative to
    /// the line's start).
    pub fn line_done(&mut self, line: &[u8], regex_hits: &[(u32, usize)]) {
        if !self.full() && (!self.pending.is_empty() || !regex_hits.is_empty()) {
            let start = self.pending_start;
            self.pending.extend(regex_hits.iter().map(|&(p, at)| Hit {
                offset: start + at as u64,
                kind: Kind::Regex,
                pattern: p,
            }));
            bound(&mut self.pending, self.max, true);
            let text: Arc<[u8]> = line.into();
            for h in std::mem::take(&mut self.pending) {
                if self.full() {
                    break;
                }
                self.found.push(Located {
                    offset: h.offset,
                    line: self.newlines + 1,
                    column: h.offset - start + 1,
                    kind: h.kind,
                    pattern: h.pattern,
                    pattern_text: self.names.of(&h),
                    text: text.clone(),
                });
            }
        }
        self.pending.clear();
    }

    /// Adds a chunk's records (its whole lines) and moves on past it: the
    /// chunk, starting at file offset `at` with `len` own bytes, holds
    /// `newlines` `\n`s and its tail line (with hits `tail`) starts at
    /// `tail_start`.
    pub fn chunk_done(&mut self, f: &ChunkFound, newlines: u64, tail_start: u64, tail: &[Hit]) {
        for r in &f.records {
            if self.full() {
                break;
            }
            self.found.push(Located {
                offset: r.hit.offset,
                line: self.newlines + r.newlines_before + 1,
                column: r.column,
                kind: r.hit.kind,
                pattern: r.hit.pattern,
                pattern_text: self.names.of(&r.hit),
                text: f
                    .lines
                    .get(r.line as usize)
                    .cloned()
                    .unwrap_or_else(|| Arc::from(&[][..])),
            });
        }
        self.newlines += newlines;
        self.pending.clear();
        self.pending_start = tail_start;
        self.add_pending(tail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_finds_lines_and_columns() {
        let owned = b"x\nab ab\n\ncd\n";
        let hit = |offset, pattern| Hit {
            offset,
            kind: Kind::Literal,
            pattern,
        };
        let (r, lines) = resolve(owned, 100, &[hit(102, 0), hit(105, 0), hit(109, 1)]);
        assert_eq!(lines, vec![Arc::from(&b"ab ab"[..]), Arc::from(&b"cd"[..])]);
        let got: Vec<(u64, u64, u32)> = r
            .iter()
            .map(|r| (r.newlines_before, r.column, r.line))
            .collect();
        assert_eq!(got, vec![(1, 1, 0), (1, 4, 0), (3, 1, 1)]);
    }

    #[test]
    fn bound_keeps_the_first() {
        let mut v: Vec<u32> = (0..100).rev().collect();
        bound(&mut v, 10, true);
        assert_eq!(v, (0..10).collect::<Vec<_>>());
    }
}
