//! Regular expressions (`vyre scan -r/--regex`) on the host: each pattern
//! compiled with `regex-automata` (`meta::Regex`, the engine behind the
//! `regex` crate) for line-oriented search, counted like `rg -c -o`.
//!
//! **Semantics.** A file is a sequence of lines: the bytes between `\n`s
//! (a final line without `\n` is a line; nothing follows a final `\n`).
//! Per pattern and per file the count is the number of leftmost-first,
//! non-overlapping matches (`regex::bytes::Regex::find_iter`) summed over
//! the lines, each line searched on its own, the `\n` excluded. So a match
//! never spans a `\n`; `^` and `$` (and `\A`, `\z`) match at the start and
//! end of every line; empty matches count as the `regex` crate finds them
//! (`x*` on the line `ab` matches 3 times), which is what
//! `rg -c -o` prints too (ripgrep 13: `rg -c -o 'x*'` counts 4 empty
//! matches in `abc`).
//!
//! **Compiling.** A pattern is parsed with the `regex` crate's syntax
//! (Unicode on, `regex::bytes` rules, multi-line), then rewritten so that a
//! search over many lines at once finds exactly the matches of the lines
//! one by one: `\n` is removed from every class (`[^a]`, `\s`, `(?s).` never
//! match it, as in ripgrep), `\A`/`\z` become the line anchors. Refused,
//! with a `Fix:`: a pattern whose literal text holds `\n` or a class that is
//! only `\n` (it would need multi-line search), CRLF mode (`(?R)`: its
//! anchors differ between `\r` and `\n`), and every pattern the `regex`
//! crate refuses (look-around and backreferences are syntax errors there).
//!
//! **Chunks.** The feeder gives a chunk its own bytes (and look-behind,
//! which this engine ignores). [`Regexes::chunk`] cuts them at the first
//! and the last `\n`: the lines wholly inside are searched at once in the
//! worker; the *head* (bytes before the first `\n`) and the *tail* (after
//! the last) go back with the chunk result, and the fold
//! (`lines::LineJoin`) joins the previous chunk's tail, any chunks without `\n`
//! and the head into the line that straddles the boundary, then searches
//! it. A joined line longer than [`MAX_LINE`] fails its file.
//!
//! **On a GPU** the lines wholly inside a chunk go through the device line
//! filter first ([`super::regex_filter`]): a regex it filters searches only
//! the lines where the device saw its factor match, with the same results.

use memchr::{memchr, memrchr};
use rayon::prelude::*;
use regex_automata::meta;
use regex_automata::util::syntax;
use regex_syntax::hir::{self, Class, Hir, HirKind, Look};
use vyre_core::feeder::ChunkDesc;
use vyre_core::{Error, Result};

use super::literals::{ChunkCounts, Literals};
use super::matches::{bound, resolve, ChunkFound, Hit, Kind};
use super::options::escape_bytes;
use super::regex_filter::{self, ChunkCandidates, RegexFilter};

/// Most regular expressions one scan takes.
pub const MAX_REGEXES: usize = 4096;

/// Longest line a regex scan joins across chunks: 64 MiB. A longer line
/// fails its file (with a `Fix:`) rather than growing without bound.
pub const MAX_LINE: usize = 64 << 20;

/// The scan's regular expressions, each compiled for line-oriented search.
pub struct Regexes {
    res: Vec<meta::Regex>,
    /// The patterns rewritten for lines ([`for_lines`]).
    hirs: Vec<Hir>,
    /// The device line filter, built on first use.
    filter: std::sync::OnceLock<std::result::Result<std::sync::Arc<RegexFilter>, String>>,
    /// Per regex: search a chunk's lines one by one ([`build`]).
    per_line: Vec<bool>,
    patterns: Vec<String>,
    /// `--matches`: locate up to this many matches per file.
    locate: Option<usize>,
}

impl std::fmt::Debug for Regexes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Regexes")
            .field("patterns", &self.patterns)
            .finish()
    }
}

fn bad(pattern: &str, why: impl std::fmt::Display, fix: &str) -> Error {
    Error::bad_input(
        format!("regex /{}/ {why}", escape_bytes(pattern.as_bytes())),
        fix,
    )
}

/// Rewrites `h` for many-lines-at-once search (see the module docs).
fn for_lines(pattern: &str, h: &Hir) -> Result<Hir> {
    let nl_fix = "a match never spans lines: remove the \\n (to find a line end, use $)";
    Ok(match h.kind() {
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(hir::Literal(bytes)) => {
            if bytes.contains(&b'\n') {
                return Err(bad(
                    pattern,
                    "matches a \\n, which would need multi-line search",
                    nl_fix,
                ));
            }
            h.clone()
        }
        HirKind::Class(c) => {
            let c = match c {
                Class::Unicode(u) => {
                    let mut u = u.clone();
                    u.difference(&hir::ClassUnicode::new([hir::ClassUnicodeRange::new(
                        '\n', '\n',
                    )]));
                    Class::Unicode(u)
                }
                Class::Bytes(b) => {
                    let mut b = b.clone();
                    b.difference(&hir::ClassBytes::new([hir::ClassBytesRange::new(
                        b'\n', b'\n',
                    )]));
                    Class::Bytes(b)
                }
            };
            let empty = match &c {
                Class::Unicode(u) => u.ranges().is_empty(),
                Class::Bytes(b) => b.ranges().is_empty(),
            };
            if empty {
                return Err(bad(
                    pattern,
                    "has a class that matches only \\n, which would need multi-line search",
                    nl_fix,
                ));
            }
            Hir::class(c)
        }
        HirKind::Look(look) => Hir::look(match look {
            Look::Start | Look::StartLF => Look::StartLF,
            Look::End | Look::EndLF => Look::EndLF,
            Look::StartCRLF | Look::EndCRLF => {
                return Err(bad(
                    pattern,
                    "uses CRLF mode (the R flag), whose ^ and $ treat \\r\\n as one line end",
                    "leave out the R flag: lines end at \\n (match an optional \\r with \\r?$)",
                ))
            }
            other => *other,
        }),
        HirKind::Repetition(r) => Hir::repetition(hir::Repetition {
            sub: Box::new(for_lines(pattern, &r.sub)?),
            ..r.clone()
        }),
        HirKind::Capture(c) => Hir::capture(hir::Capture {
            sub: Box::new(for_lines(pattern, &c.sub)?),
            ..c.clone()
        }),
        HirKind::Concat(subs) => Hir::concat(
            subs.iter()
                .map(|s| for_lines(pattern, s))
                .collect::<Result<_>>()?,
        ),
        HirKind::Alternation(subs) => Hir::alternation(
            subs.iter()
                .map(|s| for_lines(pattern, s))
                .collect::<Result<_>>()?,
        ),
    })
}

/// Compiles one pattern for line-oriented search with `regex::bytes`'s
/// configuration (Unicode on, empty matches may split a UTF-8 sequence,
/// the same size limits), multi-line.
pub fn compile(pattern: &str) -> Result<meta::Regex> {
    build(pattern).map(|(re, _, _)| re)
}

/// [`compile`], and whether the regex has a Unicode word boundary (`\b`
/// without `(?-u)`): `regex-automata`'s DFAs give up on those at the first
/// non-ASCII byte, so such regexes search a chunk's lines one by one
/// (short haystacks, where the bounded backtracker runs) rather than all
/// at once (where the slower PikeVM would run over the whole chunk).
fn build(pattern: &str) -> Result<(meta::Regex, bool, Hir)> {
    if pattern.is_empty() {
        return Err(Error::bad_input(
            "an empty regex matches once on every line",
            "give a regex with at least one character (or count lines with --lines)",
        ));
    }
    let cfg = syntax::Config::new().utf8(false).multi_line(true);
    let parsed = syntax::parse_with(pattern, &cfg).map_err(|e| {
        bad(
            pattern,
            format!("is not a valid regex: {e}"),
            "write it in Rust regex syntax (https://docs.rs/regex/latest/regex/#syntax); look-around and backreferences are not supported; a literal backslash is \\\\",
        )
    })?;
    let hir = for_lines(pattern, &parsed)?;
    let per_line = hir.properties().look_set().contains_word_unicode();
    let metac = meta::Config::new()
        .match_kind(regex_automata::MatchKind::LeftmostFirst)
        .utf8_empty(false)
        .nfa_size_limit(Some(10 << 20))
        .hybrid_cache_capacity(2 << 20);
    let re = meta::Builder::new()
        .configure(metac)
        .build_from_hir(&hir)
        .map_err(|e| {
            bad(
                pattern,
                format!("could not be compiled: {e}"),
                "make it smaller (fewer or shorter repetitions, e.g. \\w{1,100} instead of \\w{1,10000})",
            )
        })?;
    Ok((re, per_line, hir))
}

/// The line engine of a scan: its regexes, located with `--matches`, and
/// the pattern texts locations report; `None` when the scan has neither
/// regexes nor `--matches` (which runs it without regexes too: it
/// locates the literals' matches).
pub(super) fn line_engine(
    cfg: &super::ScanConfig,
) -> Result<(
    Option<Regexes>,
    Option<std::sync::Arc<super::matches::Names>>,
)> {
    if cfg.regexes.is_empty() && cfg.match_locations.is_none() {
        return Ok((None, None));
    }
    let re = Regexes::new(&cfg.regexes)?.locating(cfg.match_locations);
    let names = cfg.match_locations.map(|_| {
        std::sync::Arc::new(super::matches::Names {
            regexes: cfg.regexes.iter().map(|r| r.as_str().into()).collect(),
            literals: cfg
                .patterns
                .iter()
                .map(|p| escape_bytes(p).into())
                .collect(),
        })
    });
    Ok((Some(re), names))
}

/// The `-r` regexes, then those of the regex files (`--regex-file`,
/// [`parse_regex_file`]), in order.
pub fn with_regex_files(
    mut regexes: Vec<String>,
    files: &[std::path::PathBuf],
) -> Result<Vec<String>> {
    for f in files {
        let name = f.display().to_string();
        let text = std::fs::read(f).map_err(|e| {
            Error::bad_input(
                format!("cannot read regex file {name}: {e}"),
                "give a readable file with one regex per line",
            )
        })?;
        regexes.extend(parse_regex_file(&text, &name)?);
    }
    Ok(regexes)
}

/// The regexes of a regex file (`vyre scan --regex-file FILE`): one per
/// line, lines ended by `\n` (a `\r` before it is dropped; the last line
/// needs no `\n`), each as written (no escapes beyond the regex syntax's).
/// `name` names the file in errors. Invalid UTF-8, an empty line or a file
/// without any regex is an error saying which line and, after `Fix:`,
/// what to do. The regexes are compiled later ([`Regexes::new`]).
pub fn parse_regex_file(text: &[u8], name: &str) -> Result<Vec<String>> {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    if body.is_empty() {
        return Err(Error::bad_input(
            format!("regex file {name} has no regexes"),
            "put one regex per line in it (or leave out --regex-file)",
        ));
    }
    body.split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                return Err(Error::bad_input(
                    format!("regex file {name}, line {}: an empty line is an empty regex, which matches on every line", i + 1),
                    "remove empty lines from the regex file",
                ));
            }
            std::str::from_utf8(line).map(str::to_string).map_err(|_| {
                Error::bad_input(
                    format!("regex file {name}, line {} is not valid UTF-8", i + 1),
                    "write the regex in UTF-8; match other bytes with (?-u:\\xHH)",
                )
            })
        })
        .collect()
}

/// One chunk's part of a regex scan: its lines' counts and what is left
/// for the fold to join.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegexChunk {
    /// Whether the chunk holds a `\n`. Without one, `head` is all its
    /// bytes (the middle of a line) and there is no tail.
    pub newline: bool,
    /// The bytes before the first `\n`: the end of the line that started
    /// in an earlier chunk (or the file's first line).
    pub head: Vec<u8>,
    /// The bytes after the last `\n`: the start of a line that ends in a
    /// later chunk (or the file's last line, without `\n`).
    pub tail: Vec<u8>,
    /// (regex index, matches) in the lines between the first and the last
    /// `\n`, for the regexes found there, in regex order.
    pub counts: ChunkCounts,
    /// `\n`s in the chunk's own bytes.
    pub newlines: u64,
    /// File offset of the tail's first byte.
    pub tail_start: u64,
    /// With `--matches`: the chunk's locations.
    pub found: Option<ChunkFound>,
}

impl Regexes {
    /// Compiles `patterns` ([`compile`] each); at most [`MAX_REGEXES`].
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Regexes> {
        if patterns.len() > MAX_REGEXES {
            return Err(Error::bad_input(
                format!(
                    "{} regexes are more than the maximum {MAX_REGEXES}",
                    patterns.len()
                ),
                format!("split them over several scans of at most {MAX_REGEXES}"),
            ));
        }
        let mut res = Vec::with_capacity(patterns.len());
        let mut per_line = Vec::with_capacity(patterns.len());
        let mut hirs = Vec::with_capacity(patterns.len());
        for p in patterns {
            let (re, line, hir) = build(p.as_ref())?;
            res.push(re);
            per_line.push(line);
            hirs.push(hir);
        }
        Ok(Regexes {
            res,
            hirs,
            filter: std::sync::OnceLock::new(),
            per_line,
            patterns: patterns.iter().map(|p| p.as_ref().to_string()).collect(),
            locate: None,
        })
    }

    /// Also locates matches (`--matches`): the chunks report where the
    /// regex matches and the literal matches are (at most `max` of each
    /// kind per chunk; see [`super::matches`]).
    pub fn locating(mut self, max: Option<usize>) -> Regexes {
        self.locate = max;
        self
    }

    /// The most matches located per file, when locating.
    pub fn locate(&self) -> Option<usize> {
        self.locate
    }

    /// The device line filter of these regexes ([`RegexFilter`]), built
    /// once; an error says why there is none (then every line is searched).
    pub fn device_filter(&self) -> std::result::Result<std::sync::Arc<RegexFilter>, String> {
        self.filter
            .get_or_init(|| RegexFilter::new(&self.hirs).map(std::sync::Arc::new))
            .clone()
    }

    /// The patterns as given.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Number of regexes.
    pub fn len(&self) -> usize {
        self.res.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.res.is_empty()
    }

    /// Adds each regex's matches in `lines` (one or more whole lines joined
    /// by `\n`, without a final `\n`; an empty slice is one empty line)
    /// into `counts[i]`.
    pub fn count_lines(&self, lines: &[u8], counts: &mut [u64]) {
        for (re, c) in self.res.iter().zip(counts.iter_mut()) {
            *c += re.find_iter(lines).count() as u64;
        }
    }

    /// Adds each regex's matches in `line` (one whole line, without `\n`)
    /// into `counts[i]`; when locating, also the first [`Regexes::locate`]
    /// matches of each as (regex, offset in `line`).
    pub fn search_line(&self, line: &[u8], counts: &mut [u64], hits: &mut Vec<(u32, usize)>) {
        let Some(max) = self.locate else {
            return self.count_lines(line, counts);
        };
        for (i, (re, c)) in self.res.iter().zip(counts.iter_mut()).enumerate() {
            for (k, m) in re.find_iter(line).enumerate() {
                *c += 1;
                if k < max {
                    hits.push((i as u32, m.start()));
                }
            }
        }
    }

    /// The chunk result of a chunk: `data` holds look-behind up to `start`
    /// (used only by the literals' locations), then the chunk's own bytes,
    /// which begin at file offset `at`. `literals` are located with
    /// `--matches`. With `filter`, a filtered regex searches only the lines
    /// with a candidate of the chunk's (see [`super::regex_filter`]).
    pub fn chunk(
        &self,
        data: &[u8],
        start: usize,
        at: u64,
        literals: Option<&Literals>,
        filter: Option<(&RegexFilter, &[(u32, u32)])>,
    ) -> RegexChunk {
        let owned = &data[start.min(data.len())..];
        let newlines = match self.locate {
            Some(_) => memchr::memchr_iter(b'\n', owned).count() as u64,
            None => 0,
        };
        let cut = memchr(b'\n', owned).zip(memrchr(b'\n', owned));
        let mut out = RegexChunk {
            newline: cut.is_some(),
            newlines,
            tail_start: at + owned.len() as u64,
            ..RegexChunk::default()
        };
        let mut body = Vec::new();
        if let Some((first, last)) = cut {
            out.head = owned[..first].to_vec();
            out.tail = owned[last + 1..].to_vec();
            out.tail_start = at + last as u64 + 1;
            if first < last {
                let lines = &owned[first + 1..last];
                for (i, re) in self.res.iter().enumerate() {
                    let mut n = 0u32;
                    let mut found = |start: usize| {
                        if self.locate.is_some_and(|max| (n as usize) < max) {
                            body.push(Hit {
                                offset: at + (first + 1 + start) as u64,
                                kind: Kind::Regex,
                                pattern: i as u32,
                            });
                        }
                        n += 1;
                    };
                    let only = filter
                        .filter(|(f, _)| f.is_filtered(i))
                        .map(|(_, c)| regex_filter::of_regex(c, i as u32))
                        .filter(|c| c.last().is_none_or(|&(_, q)| q != regex_filter::ANYWHERE));
                    if let Some(c) = only {
                        for line in regex_filter::candidate_lines(owned, first, last, c) {
                            let from = line.start - (first + 1);
                            re.find_iter(&owned[line])
                                .for_each(|m| found(from + m.start()));
                        }
                    } else if self.per_line[i] {
                        let mut from = 0;
                        for line in lines.split(|&b| b == b'\n') {
                            re.find_iter(line).for_each(|m| found(from + m.start()));
                            from += line.len() + 1;
                        }
                    } else {
                        re.find_iter(lines).for_each(|m| found(m.start()));
                    }
                    if n > 0 {
                        out.counts.push((i as u32, n));
                    }
                }
            }
        } else {
            out.head = owned.to_vec();
        }
        if let Some(max) = self.locate {
            let mut found = ChunkFound::default();
            if let Some(lit) = literals {
                lit.for_each_owned(data, start, |p, s| {
                    let off = at as i64 + s as i64 - start as i64;
                    let hit = Hit {
                        offset: off.max(0) as u64,
                        kind: Kind::Literal,
                        pattern: p,
                    };
                    let rel = s as i64 - start as i64;
                    match cut {
                        Some((first, _)) if rel < first as i64 => found.head.push(hit),
                        Some((_, last)) if rel > last as i64 => found.tail.push(hit),
                        Some(_) => body.push(hit),
                        None => found.head.push(hit),
                    }
                    bound(&mut found.head, max, false);
                    bound(&mut found.tail, max, false);
                    bound(&mut body, max, false);
                });
            }
            bound(&mut found.head, max, true);
            bound(&mut found.tail, max, true);
            bound(&mut body, max, true);
            (found.records, found.lines) = resolve(owned, at, &body);
            out.found = Some(found);
        }
        out
    }

    /// [`Regexes::chunk`] of every chunk of a batch (`bytes` is its arena),
    /// in parallel on the current rayon pool; with `filter`, each chunk's
    /// candidates (one entry per chunk).
    pub fn chunk_batch(
        &self,
        bytes: &[u8],
        chunks: &[ChunkDesc],
        literals: Option<&Literals>,
        filter: Option<(&RegexFilter, &[ChunkCandidates])>,
    ) -> Vec<RegexChunk> {
        chunks
            .par_iter()
            .enumerate()
            .map(|(i, c)| {
                let full = c.look_behind as usize + c.len as usize;
                let data = bytes
                    .get(c.arena_offset..c.arena_offset.saturating_add(full))
                    .unwrap_or(&[]);
                let filter = filter.and_then(|(f, all)| Some((f, all.get(i)?.as_slice())));
                self.chunk(
                    data,
                    c.look_behind as usize,
                    c.file_offset,
                    literals,
                    filter,
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newline_patterns_and_crlf_are_refused() {
        for p in [
            "a\nb", r"a\nb", r"[\n]", "(?R)^a", "", "a(", r"(?<=a)b", r"(a)\1",
        ] {
            let e = compile(p).expect_err(p).to_string();
            assert!(e.contains("Fix:"), "{p}: {e}");
        }
    }
}
