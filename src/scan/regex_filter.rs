//! The device form of the `-r` regexes: a line filter. Each regex is
//! relaxed to a *factor* — a bounded regex without look-around such that
//! every match of the regex (on one line, see [`super::regex`]) contains a
//! match of the factor — and the factors of all regexes are compiled
//! together by `regex-automata` into one unanchored dense DFA (every
//! pattern's matches reported, [`MatchKind::All`]), converted to the flat
//! tables of [`LiteralDfa`] that the device DFA program
//! ([`super::gpu_literals`]) walks. Where the device reports a factor
//! match, the host searches the line with the real regex; a line without
//! one holds no match of that regex, so it is never searched. Counts stay
//! exactly the host engine's: the filter only chooses which lines the host
//! reads.
//!
//! **Why exact.** No factor matches a `\n` (the regexes' classes exclude
//! it), so the DFA's state after a `\n` is its start state, and a factor
//! match lies on one line. The device starts each segment that many bytes
//! early ([`RegexFilter::warm_up`]: the longest factor match, plus the one
//! byte by which `regex-automata`'s DFAs report a match late), so every
//! factor match that ends in a segment is seen. The lines a chunk shares
//! with its neighbours (before its first and after its last `\n`) are
//! joined and searched on the host whatever the filter says.
//!
//! **What is not filtered** (searched on every line, as without a device):
//! a regex whose factor can match the empty string (`\w*`, `a?`, `^`), is
//! longer than [`MAX_FACTOR_BYTES`], or whose factors would make the DFA
//! larger than [`MAX_FILTER_DFA_BYTES`] (then no regex is filtered).

use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::nfa::thompson;
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};
use regex_syntax::hir::{Hir, HirKind, Repetition};

use super::literal_dfa::{LiteralDfa, OUTPUT_FLAG};

/// Longest factor a filtered regex may have, in bytes (the device reads
/// this many bytes again before each segment).
pub const MAX_FACTOR_BYTES: usize = 255;

/// Largest filter DFA built, in bytes.
pub const MAX_FILTER_DFA_BYTES: usize = 64 << 20;

/// Largest DFA of all factors determinized, in bytes (a larger one is
/// tried again with fewer repetition copies).
const UNION_DFA_BYTES: usize = 16 << 20;

/// `regex-automata` DFAs report a match one byte after its end.
const MATCH_DELAY: usize = 1;

/// Per regex, its factor: `(factor, whole)` from [`prefix`] when `whole`
/// means every match of `h` matches the factor (so a concatenation may go
/// on after it), else every match of `h` *begins* with a match of it.
fn prefix(h: &Hir, cap: u32) -> (Hir, bool) {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => (Hir::empty(), true),
        HirKind::Literal(_) | HirKind::Class(_) => (h.clone(), true),
        HirKind::Capture(c) => prefix(&c.sub, cap),
        HirKind::Alternation(subs) => {
            let (rs, wholes): (Vec<Hir>, Vec<bool>) = subs.iter().map(|s| prefix(s, cap)).unzip();
            (Hir::alternation(rs), wholes.iter().all(|&w| w))
        }
        // A repetition of a fixed count up to `cap` stays whole; any other
        // keeps only its required copies, at most `cap` (a range of copies,
        // or many, makes the DFA large and lets through hardly fewer lines).
        HirKind::Repetition(r) => {
            let (sub, whole) = prefix(&r.sub, cap);
            let min = r.min.min(cap);
            match (whole, r.max) {
                (true, Some(max)) if max == r.min && r.min <= cap => {
                    (repeat(sub, r.min, r.max), true)
                }
                _ if r.min == 0 => (Hir::empty(), false),
                (true, _) => (repeat(sub, min, Some(min)), false),
                (false, _) => (sub, false),
            }
        }
        HirKind::Concat(subs) => {
            let mut run = Vec::new();
            for s in subs {
                let (r, whole) = prefix(s, cap);
                run.push(r);
                if !whole {
                    return (Hir::concat(run), false);
                }
            }
            (Hir::concat(run), true)
        }
    }
}

fn repeat(sub: Hir, min: u32, max: Option<u32>) -> Hir {
    Hir::repetition(Repetition {
        min,
        max,
        greedy: true,
        sub: Box::new(sub),
    })
}

/// How rare a factor's matches are, in bits: per required byte,
/// log2(256 / the bytes it may be), summed over the shortest way through
/// (a branch of `n` costs log2(n) more). Literal text is 8 bits a byte,
/// `[0-9a-f]` 4, `\w` under one.
fn rarity(h: &Hir) -> f64 {
    use regex_syntax::hir::Class;
    let bits = |n: usize| (256.0 / n.clamp(1, 256) as f64).log2();
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => 0.0,
        HirKind::Literal(l) => 8.0 * l.0.len() as f64,
        HirKind::Class(Class::Bytes(c)) => bits(
            c.ranges()
                .iter()
                .map(|r| (r.end() - r.start()) as usize + 1)
                .sum(),
        ),
        HirKind::Class(Class::Unicode(c)) => {
            // ASCII characters count one byte each, others by the UTF-8
            // lead bytes they may start with.
            let lead = |c: char| c.encode_utf8(&mut [0; 4]).as_bytes()[0] as usize;
            let mut n = 0usize;
            for r in c.ranges() {
                let (a, b) = (r.start() as u32, r.end() as u32);
                n += (b.min(127) + 1).saturating_sub(a) as usize;
                if r.end() > '\x7f' {
                    n += lead(r.end()) + 1 - lead(r.start().max('\u{80}'));
                }
            }
            bits(n)
        }
        HirKind::Capture(c) => rarity(&c.sub),
        // Copies count up to 16 bits: a run of a class is far more common
        // in real text than its bits say (hex digests, base64, words).
        HirKind::Repetition(r) => (r.min as f64 * rarity(&r.sub)).min(REPEAT_BITS),
        HirKind::Concat(subs) => subs.iter().map(rarity).sum(),
        HirKind::Alternation(subs) => {
            let min = subs.iter().map(rarity).fold(f64::INFINITY, f64::min);
            (min - (subs.len() as f64).log2()).max(0.0)
        }
    }
}

/// Most bits ([`rarity`]) a repetition counts for.
const REPEAT_BITS: f64 = 16.0;

/// Factors rarer than this are not worth a device pass: they would let
/// through nearly every line.
pub const MIN_FACTOR_BITS: f64 = 12.0;

/// A factor of `h`: a bounded regex without look-around such that every
/// match of `h` contains a match of it. Among the candidates (each
/// element of a concatenation, and each run of elements that starts
/// there) the rarest ([`rarity`]); repetitions keep at most `cap` copies.
pub fn factor(h: &Hir, cap: u32) -> Hir {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => Hir::empty(),
        HirKind::Literal(_) | HirKind::Class(_) => h.clone(),
        HirKind::Capture(c) => factor(&c.sub, cap),
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.iter().map(|s| factor(s, cap)).collect())
        }
        HirKind::Repetition(r) if r.min == 0 => Hir::empty(),
        HirKind::Repetition(r) => best([prefix(h, cap).0, factor(&r.sub, cap)]),
        HirKind::Concat(subs) => {
            let mut candidates = Vec::new();
            for i in 0..subs.len() {
                candidates.push(prefix(&Hir::concat(subs[i..].to_vec()), cap).0);
                candidates.push(factor(&subs[i], cap));
            }
            best(candidates)
        }
    }
}

fn best(candidates: impl IntoIterator<Item = Hir>) -> Hir {
    candidates
        .into_iter()
        .map(|c| {
            let max = c.properties().maximum_len();
            // Prefer factors short enough, then the rarest, then the
            // shortest (a smaller DFA).
            let key = (
                max.is_some_and(|m| m <= MAX_FACTOR_BYTES),
                rarity(&c),
                std::cmp::Reverse(max),
            );
            (key, c)
        })
        .max_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal))
        .map_or_else(Hir::empty, |(_, c)| c)
}

/// Why a regex is searched on every line rather than filtered.
fn unfiltered_reason(f: &Hir) -> Option<String> {
    let p = f.properties();
    if p.minimum_len().is_none_or(|m| m == 0) {
        return Some("every match factor can be empty".into());
    }
    let bits = rarity(f);
    if bits < MIN_FACTOR_BITS {
        return Some(format!(
            "its rarest factor ({f}) has {bits:.1} bits, under {MIN_FACTOR_BITS}"
        ));
    }
    match p.maximum_len() {
        Some(m) if m <= MAX_FACTOR_BYTES => None,
        Some(m) => Some(format!(
            "its factor can be {m} bytes long, over {MAX_FACTOR_BYTES}"
        )),
        None => Some("its factor is unbounded".into()),
    }
}

/// Copies of a repetition a factor keeps, tried in turn until the
/// factor's own DFA is small ([`MAX_FACTOR_DFA_BYTES`]).
const CAPS: [u32; 6] = [64, 16, 8, 4, 2, 1];

/// A factor that is this rare ([`rarity`]) with at most
/// [`SHORT_CAP`] copies of each repetition is used so: literal text
/// (`AKIA`, `ghp_`) is what makes a factor rare, and counters of broad
/// classes after it (`[0-9A-Z]{16}`) multiply the states of a DFA of many
/// factors while letting through hardly fewer lines.
const SHORT_BITS: f64 = 24.0;
const SHORT_CAP: u32 = 1;

/// Largest DFA of one regex's factor, in bytes: more means repetitions
/// that restart inside themselves (`AKIA[0-9A-Z]{16}`), cut to fewer
/// copies.
pub const MAX_FACTOR_DFA_BYTES: usize = 1 << 20;

/// The factor of `h` with the most repetition copies ([`CAPS`]) whose own
/// DFA is small, or why `h` is not filtered.
fn small_factor(h: &Hir) -> std::result::Result<Hir, String> {
    let short = factor(h, SHORT_CAP);
    if unfiltered_reason(&short).is_none() && rarity(&short) >= SHORT_BITS {
        return Ok(short);
    }
    let mut why = String::new();
    for cap in CAPS {
        let f = factor(h, cap);
        if let Some(w) = unfiltered_reason(&f) {
            return Err(w);
        }
        match determinize(std::slice::from_ref(&f), MAX_FACTOR_DFA_BYTES) {
            Ok(_) => return Ok(f),
            Err(e) => why = e,
        }
    }
    Err(format!("its factor's DFA is too large ({why})"))
}

/// The unanchored DFA reporting every match of every one of `factors`,
/// at most `limit` bytes.
fn determinize(factors: &[Hir], limit: usize) -> std::result::Result<dense::DFA<Vec<u32>>, String> {
    let nfa = thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .utf8(false)
                .which_captures(thompson::WhichCaptures::None)
                .nfa_size_limit(Some(limit)),
        )
        .build_many_from_hir(factors)
        .map_err(|e| e.to_string())?;
    dense::Builder::new()
        .configure(
            dense::Config::new()
                .match_kind(MatchKind::All)
                .start_kind(StartKind::Unanchored)
                .byte_classes(true)
                .accelerate(false)
                .minimize(false)
                .dfa_size_limit(Some(limit))
                .determinize_size_limit(Some(limit)),
        )
        .build_from_nfa(&nfa)
        .map_err(|e| e.to_string())
}

/// The device line filter of a scan's regexes.
#[derive(Debug)]
pub struct RegexFilter {
    /// The factors' DFA; pattern `k` of it is regex `regex_of[k]`.
    dfa: std::sync::Arc<LiteralDfa>,
    regex_of: Vec<u32>,
    filtered: Vec<bool>,
    warm_up: usize,
}

impl RegexFilter {
    /// The filter of `hirs` (the regexes as [`super::regex`] rewrote them
    /// for lines). An error (no regex can be filtered, the DFA too large)
    /// says why; the regexes then run on every line.
    pub fn new(hirs: &[Hir]) -> std::result::Result<RegexFilter, String> {
        // Each regex's own factor; where their DFA together is too large,
        // all with fewer repetition copies.
        let mut last = String::new();
        for cap in [None, Some(2), Some(1)] {
            match RegexFilter::with_factors(hirs, cap) {
                Ok(f) => return Ok(f),
                Err(why) => last = why,
            }
        }
        Err(last)
    }

    fn with_factors(hirs: &[Hir], cap: Option<u32>) -> std::result::Result<RegexFilter, String> {
        let mut factors = Vec::new();
        let mut regex_of = Vec::new();
        let mut filtered = vec![false; hirs.len()];
        let mut warm_up = 0;
        use rayon::prelude::*;
        let found: Vec<_> = hirs
            .par_iter()
            .map(|h| match cap {
                None => small_factor(h),
                Some(c) => {
                    let f = factor(h, c);
                    unfiltered_reason(&f).map_or(Ok(f), Err)
                }
            })
            .collect();
        for (i, f) in found.into_iter().enumerate() {
            match f {
                Err(why) => tracing::debug!("regex {i} searched on every line: {why}"),
                Ok(f) => {
                    let max = f.properties().maximum_len().unwrap_or(0);
                    warm_up = warm_up.max(max + MATCH_DELAY);
                    factors.push(f);
                    regex_of.push(i as u32);
                    filtered[i] = true;
                }
            }
        }
        if factors.is_empty() {
            return Err("no regex has a bounded, non-empty factor to filter lines with".into());
        }
        let dfa = determinize(&factors, UNION_DFA_BYTES)
            .map_err(|e| format!("the regex filter's DFA is too large ({e})"))?;
        let dfa = std::sync::Arc::new(flatten(&dfa, factors.len(), warm_up)?);
        Ok(RegexFilter {
            dfa,
            regex_of,
            filtered,
            warm_up,
        })
    }

    /// The tables the device walks (its longest "pattern" is
    /// [`RegexFilter::warm_up`] + 1 bytes, so it starts each segment that
    /// many bytes early).
    pub fn dfa(&self) -> &std::sync::Arc<LiteralDfa> {
        &self.dfa
    }

    /// Bytes the device walks before each segment.
    pub fn warm_up(&self) -> usize {
        self.warm_up
    }

    /// Whether regex `i` is filtered (else it is searched on every line).
    pub fn is_filtered(&self, i: usize) -> bool {
        self.filtered.get(i).copied().unwrap_or(false)
    }

    /// Calls `f` with each regex whose factor matched when the device
    /// reports `state` (an output state of [`RegexFilter::dfa`]).
    pub fn regexes_at(&self, state: u32, mut f: impl FnMut(u32)) {
        self.dfa.outputs(state, |k| f(self.regex_of[k as usize]));
    }

    /// The regex of the DFA's pattern `k`.
    pub fn regex_of_pattern(&self, k: u32) -> u32 {
        self.regex_of[k as usize]
    }
}

/// What the device filter found in one chunk: sorted (regex, byte) pairs,
/// the byte (relative to the chunk's own bytes) the last of a factor
/// match; [`ANYWHERE`] for a regex whose factor matched somewhere in the
/// chunk, place unknown (a count table recorded it).
pub type ChunkCandidates = Vec<(u32, u32)>;

/// The byte of a candidate whose place is unknown ([`ChunkCandidates`]).
pub const ANYWHERE: u32 = u32::MAX;

/// The candidates of regex `regex` among a chunk's `candidates`.
pub fn of_regex(candidates: &[(u32, u32)], regex: u32) -> &[(u32, u32)] {
    let lo = candidates.partition_point(|&(r, _)| r < regex);
    let hi = candidates.partition_point(|&(r, _)| r <= regex);
    &candidates[lo..hi]
}

/// The lines of `owned` strictly between its bytes `first` and `last`
/// (both `\n`) that hold a candidate byte of `candidates` (one regex's,
/// sorted, none [`ANYWHERE`]), each once, in order, as byte ranges
/// without their `\n`.
pub fn candidate_lines<'a>(
    owned: &'a [u8],
    first: usize,
    last: usize,
    candidates: &'a [(u32, u32)],
) -> impl Iterator<Item = std::ops::Range<usize>> + 'a {
    let mut line_end = 0usize;
    candidates.iter().filter_map(move |&(_, q)| {
        let q = q as usize;
        if q <= first || q >= last || q < line_end {
            return None;
        }
        let start = memchr::memrchr(b'\n', &owned[..q]).map_or(0, |x| x + 1);
        let end = q + memchr::memchr(b'\n', &owned[q..]).unwrap_or(owned.len() - q);
        line_end = end;
        Some(start..end)
    })
}

/// A batch's device hits (per chunk, (state, byte after the match) as
/// [`super::gpu_literals::BatchRun::positions`]) or its per-chunk counts
/// (a count table) as each chunk's [`ChunkCandidates`].
pub fn candidates(
    filter: &RegexFilter,
    positions: &[Vec<(u32, u32)>],
    counts: &[super::literals::ChunkCounts],
    table: bool,
) -> Vec<ChunkCandidates> {
    let chunk = |i: usize| {
        let mut c = Vec::new();
        if table {
            for &(k, _) in counts.get(i).map_or(&[][..], |v| &v[..]) {
                c.push((filter.regex_of_pattern(k), ANYWHERE));
            }
        } else {
            for &(state, after) in positions.get(i).map_or(&[][..], |v| &v[..]) {
                // The DFA reports a match on the byte after it.
                if let Some(q) = after.checked_sub(MATCH_DELAY as u32) {
                    filter.regexes_at(state, |r| c.push((r, q)));
                }
            }
        }
        c.sort_unstable();
        c.dedup();
        c
    };
    (0..positions.len().max(counts.len())).map(chunk).collect()
}

/// The dense DFA's reachable states as [`LiteralDfa`] tables, the start
/// state first.
fn flatten(
    dfa: &dense::DFA<Vec<u32>>,
    patterns: usize,
    warm_up: usize,
) -> std::result::Result<LiteralDfa, String> {
    let classes_of = dfa.byte_classes();
    let mut classes = vec![0u32; 256];
    // One byte of each class (`regex-automata` numbers classes in byte
    // order, each a range of bytes).
    let mut representative: Vec<u8> = Vec::new();
    for b in 0..=255u8 {
        let c = classes_of.get(b) as usize;
        classes[b as usize] = c as u32;
        if c == representative.len() {
            representative.push(b);
        } else if c > representative.len() {
            return Err(format!("byte class {c} of byte {b} is out of order"));
        }
    }
    let ncls = representative.len();
    let start = dfa
        .start_state(&start::Config::new().anchored(Anchored::No))
        .map_err(|e| format!("the regex filter's DFA has no start state: {e}"))?;
    let mut index = std::collections::HashMap::new();
    let mut ids = vec![start];
    index.insert(start, 0u32);
    let mut trans = Vec::new();
    let mut outputs: Vec<Vec<u32>> = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let id = ids[i];
        if dfa.is_quit_state(id) || dfa.is_dead_state(id) {
            return Err("the regex filter's DFA can stop before the end of a line".into());
        }
        let mut out = Vec::new();
        if dfa.is_match_state(id) {
            out = (0..dfa.match_len(id))
                .map(|k| dfa.match_pattern(id, k).as_u32())
                .collect();
        }
        outputs.push(out);
        for &b in &representative {
            let next = dfa.next_state(id, b);
            let n = ids.len() as u32;
            let k = *index.entry(next).or_insert_with(|| {
                ids.push(next);
                n
            });
            if (ids.len() * ncls * 4) > MAX_FILTER_DFA_BYTES {
                return Err(format!(
                    "the regex filter's DFA has over {} states",
                    ids.len() - 1
                ));
            }
            trans.push(match dfa.is_match_state(next) {
                true => k | OUTPUT_FLAG,
                false => k,
            });
        }
        i += 1;
    }
    Ok(LiteralDfa::from_table(
        classes,
        ncls as u32,
        trans,
        outputs,
        patterns,
        warm_up + 1,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(p: &str) -> Hir {
        regex_syntax::ParserBuilder::new()
            .utf8(false)
            .build()
            .parse(p)
            .unwrap()
    }

    fn factor_of(p: &str) -> String {
        factor(&parse(p), 64).to_string()
    }

    #[test]
    fn factors_are_bounded_parts_every_match_contains() {
        assert_eq!(
            factor_of("AKIA[0-9A-Z]{16}"),
            parse("AKIA[0-9A-Z]{16}").to_string()
        );
        // An unbounded repetition ends a run with its required copies.
        let f = factor(&parse("ab+c"), 64);
        assert_eq!(f.properties().minimum_len(), Some(2), "{f}");
        assert_eq!(f.properties().maximum_len(), Some(2), "{f}");
        assert!(unfiltered_reason(&factor(&parse(r"\w*"), 64)).is_some());
        assert!(unfiltered_reason(&factor(&parse(r"^$"), 64)).is_some());
        assert!(unfiltered_reason(&factor(&parse(r"\bfoo\b"), 64)).is_none());
        // The rarest required part wins.
        let f = factor(&parse(r"\w*password\s*=\s*\S+"), 64);
        assert_eq!(f.to_string(), parse("password").to_string());
        let f = factor(
            &parse(r#"(?i)(password|pwd)\s*[:=]\s*["'][^"'\s]{6,}["']"#),
            64,
        );
        assert!(f.properties().minimum_len() == Some(3), "{f}");
        assert!(unfiltered_reason(&factor(&parse(r"[a-z]+"), 64)).is_some());
    }
}
