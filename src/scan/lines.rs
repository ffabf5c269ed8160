//! Joining lines across chunks in the fold, for the regexes and match
//! locations of [`super::regex`] and [`super::matches`].
//!
//! A chunk's result holds the bytes before its first `\n` (head) and after
//! its last (tail); [`LineJoin`], one per open file, appends them in file
//! order into the line that straddles chunks and searches it when its `\n`
//! arrives (and the last line at the file's end). The fold runs in batch
//! order on one thread, so [`presearch`] first joins every line a batch
//! completes (cheap copies) and searches them all in parallel on rayon's
//! pool; [`LineJoin::add`] then takes those results in order. Without it a
//! tree of long lines (HTML: lines of 100s of KB against 256 KiB chunks)
//! searched most of its bytes on the fold's thread.

use rayon::prelude::*;

use super::matches::Locator;
use super::regex::{RegexChunk, Regexes, MAX_LINE};

/// A complete line searched: matches per regex (dense) and, when
/// locating, the first matches of each as (regex, offset in the line).
#[derive(Debug, Default)]
pub struct Searched {
    counts: Vec<u64>,
    hits: Vec<(u32, usize)>,
}

impl Searched {
    /// Searches `line` (whole, without `\n`).
    pub fn of(re: &Regexes, line: &[u8]) -> Searched {
        let mut s = Searched {
            counts: vec![0; re.len()],
            hits: Vec::new(),
        };
        re.search_line(line, &mut s.counts, &mut s.hits);
        s
    }
}

/// Searches ahead, in parallel, every line that the chunks of one batch
/// complete: `chunks` are (file, result) in fold order, `pending(file)`
/// the line each file is joining before the batch. Returns, per chunk, the
/// search of the line it completes (`None` when it completes none, or the
/// line grew past [`MAX_LINE`]: [`LineJoin::add`] then searches, or fails
/// the file, itself).
pub fn presearch<'a>(
    re: &Regexes,
    chunks: impl Iterator<Item = (usize, &'a RegexChunk)>,
    pending: impl Fn(usize) -> Vec<u8>,
) -> Vec<Option<Searched>> {
    let mut joining: std::collections::HashMap<usize, Option<Vec<u8>>> = Default::default();
    let mut lines: Vec<Option<Vec<u8>>> = Vec::new();
    for (file, c) in chunks {
        let buf = joining.entry(file).or_insert_with(|| Some(pending(file)));
        if let Some(b) = buf.as_mut() {
            b.extend_from_slice(&c.head);
        }
        if buf.as_ref().is_some_and(|b| b.len() > MAX_LINE) {
            *buf = None;
        }
        if c.newline {
            lines.push(buf.take());
            *buf = Some(c.tail.clone());
        } else {
            lines.push(None);
        }
    }
    lines
        .into_par_iter()
        .map(|l| l.map(|l| Searched::of(re, &l)))
        .collect()
}

/// One file's regex counts (and, with `--matches`, its locations) under
/// construction in the fold: chunk results are added in file order; the
/// line that straddles chunks is joined here.
#[derive(Debug, Default)]
pub struct LineJoin {
    /// The line begun in earlier chunks and not ended yet.
    pending: Vec<u8>,
    /// Per regex, the file's matches so far.
    counts: Vec<u64>,
    /// With `--matches`: the file's locations.
    locator: Option<Locator>,
}

impl LineJoin {
    /// Also locates matches, with `locator`.
    pub fn locating(locator: Option<Locator>) -> LineJoin {
        LineJoin {
            locator,
            ..LineJoin::default()
        }
    }

    /// The line being joined so far.
    pub fn pending(&self) -> &[u8] {
        &self.pending
    }

    /// Searches the joined line (complete now), or takes the result of
    /// searching it ahead ([`presearch`]).
    fn line_done(&mut self, re: &Regexes, ahead: Option<Searched>) {
        let Searched { counts, hits } = match ahead {
            Some(s) => s,
            None => Searched::of(re, &self.pending),
        };
        for (c, n) in self.counts.iter_mut().zip(counts) {
            *c += n;
        }
        if let Some(l) = self.locator.as_mut() {
            l.line_done(&self.pending, &hits);
        }
    }

    /// Adds the next chunk of the file. `Err` (the file's failure reason)
    /// when a line grows past [`MAX_LINE`].
    /// `ahead` is the search of the line this chunk completes, if done
    /// ahead ([`presearch`]).
    pub fn add(
        &mut self,
        re: &Regexes,
        c: &RegexChunk,
        ahead: Option<Searched>,
    ) -> std::result::Result<(), String> {
        if self.counts.len() < re.len() {
            self.counts.resize(re.len(), 0);
        }
        if self.pending.len() + c.head.len() > MAX_LINE {
            return Err(format!(
                "a line longer than {MAX_LINE} bytes (64 MiB) spans chunks; regexes and --matches search whole lines and vyre does not hold more than that. Fix: scan this file without -r and --matches (or search it with a tool that streams lines, e.g. rg)"
            ));
        }
        self.pending.extend_from_slice(&c.head);
        if let (Some(l), Some(f)) = (self.locator.as_mut(), c.found.as_ref()) {
            l.add_pending(&f.head);
        }
        if !c.newline {
            return Ok(());
        }
        self.line_done(re, ahead);
        for &(i, n) in &c.counts {
            self.counts[i as usize] += u64::from(n);
        }
        if let (Some(l), Some(f)) = (self.locator.as_mut(), c.found.as_ref()) {
            l.chunk_done(f, c.newlines, c.tail_start, &f.tail);
        }
        self.pending.clear();
        self.pending.extend_from_slice(&c.tail);
        Ok(())
    }

    /// The file's counts per regex, its last line (if it has no `\n`)
    /// searched, and its locations with `--matches`.
    pub fn finish(mut self, re: &Regexes) -> (Vec<u64>, Option<Locator>) {
        self.counts.resize(re.len(), 0);
        if !self.pending.is_empty() {
            self.line_done(re, None);
        }
        (self.counts, self.locator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(re: &Regexes, text: &[u8], chunk: usize) -> Vec<u64> {
        let mut j = LineJoin::default();
        for (k, c) in text.chunks(chunk.max(1)).enumerate() {
            let rc = re.chunk(c, 0, (k * chunk) as u64, None, None);
            j.add(re, &rc, None).expect("no long line");
        }
        j.finish(re).0
    }

    #[test]
    fn counts_are_per_line_for_every_split() {
        let pats = [
            "x*", "^a", "b$", r"\Ab", r"c\z", "[^a]+", r"\s", "(?s).", r"\bx",
        ];
        let re = Regexes::new(&pats).expect("compiles");
        let text = b"abc\n\nxx\nx\nb a\tc\nabcab";
        // The oracle: the `regex` crate over each line on its own.
        let want: Vec<u64> = pats
            .iter()
            .map(|p| {
                let r = regex::bytes::Regex::new(p).expect("oracle compiles");
                text.split(|&b| b == b'\n')
                    .map(|l| r.find_iter(l).count() as u64)
                    .sum()
            })
            .collect();
        for chunk in 1..=text.len() {
            assert_eq!(whole(&re, text, chunk), want, "chunk {chunk}");
        }
    }
}
