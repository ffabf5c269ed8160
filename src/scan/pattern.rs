//! Literal pattern payloads built at run time (patterns come from the command line).

use vyre_core::ir::payload::{byte_word_load, lane_count, lane_id, param_len, word_atomic};
use vyre_core::{AtomicOp, Error, Expr, Node, Param, ParamKind, Payload, Result};

/// Longest pattern `vyre scan -e` accepts.
pub const MAX_PATTERN: usize = 256;

/// Most patterns one payload counts (`vyre scan` splits more over several).
pub const MAX_PATTERNS_PER_PAYLOAD: usize = 16;

/// A payload counting the (overlapping) occurrences of `pattern` that end at
/// an index `>= start` of its data; its look-behind is `pattern.len() - 1`.
/// The same as [`patterns_payload`] with one pattern.
pub fn pattern_payload(name: &str, pattern: &[u8]) -> Result<Payload> {
    patterns_payload(name, &[pattern])
}

/// A payload counting, for each of `patterns`, its (overlapping)
/// occurrences that end at an index `>= start` of its data, into
/// `count[i]`; its look-behind is the longest pattern's length - 1.
///
/// Parameters: `data: &[u8]`, `#[vyre(start)] start: u32`, `lanes: Lanes`,
/// `#[vyre(len = patterns.len())] count: &[AtomicU32]`. Each lane takes 4
/// words of end positions per iteration (loaded together), and for every
/// pattern compares its last (up to) 4 bytes at all 4 positions of a word
/// with word operations; the rest of a longer pattern is checked only where
/// those match. The words are loaded and the windows cut once for all the
/// patterns. A lane counts its matches in local variables and adds each to
/// its counter once.
pub fn patterns_payload<P: AsRef<[u8]>>(name: &str, patterns: &[P]) -> Result<Payload> {
    if patterns.is_empty() || patterns.len() > MAX_PATTERNS_PER_PAYLOAD {
        return Err(Error::bad_input(
            format!(
                "{} patterns for one payload: it counts 1 to {MAX_PATTERNS_PER_PAYLOAD}",
                patterns.len()
            ),
            "split the patterns over several payloads",
        ));
    }
    for pattern in patterns {
        let len = pattern.as_ref().len();
        if len == 0 || len > MAX_PATTERN {
            return Err(Error::bad_input(
                format!("pattern of {len} bytes: patterns must have 1 to {MAX_PATTERN} bytes"),
                format!("give a non-empty pattern of at most {MAX_PATTERN} bytes"),
            ));
        }
    }
    let patterns: Vec<&[u8]> = patterns.iter().map(|p| p.as_ref()).collect();
    let params = vec![
        Param {
            name: "data".into(),
            kind: ParamKind::Bytes,
            len: None,
            reduce: Default::default(),
        },
        Param {
            name: "start".into(),
            kind: ParamKind::ChunkStart,
            len: None,
            reduce: Default::default(),
        },
        Param {
            name: "lanes".into(),
            kind: ParamKind::Lanes,
            len: None,
            reduce: Default::default(),
        },
        Param {
            name: "count".into(),
            kind: ParamKind::Accumulator,
            len: Some(patterns.len() as u32),
            reduce: Default::default(),
        },
    ];
    let shortest = patterns.iter().map(|p| p.len()).min().unwrap_or(1) as u32;
    let longest = patterns.iter().map(|p| p.len()).max().unwrap_or(1) as u32;
    let len = param_len("data");
    let words = Expr::add(
        Expr::shr(len.clone(), Expr::u32(2)),
        Expr::select(
            Expr::ne(Expr::bitand(len, Expr::u32(3)), Expr::u32(0)),
            Expr::u32(1),
            Expr::u32(0),
        ),
    );
    // Each iteration takes WORDS words, `lanes` words apart, and loads them
    // (and the words before them) before comparing, so that the loads are in
    // flight together. Words at or past the end read 0 and have no valid
    // positions. For w = 0 the bytes taken from `p` lie before the data; they
    // are masked off, since e >= n - 1 keeps the compared bytes at index >= 0.
    const WORDS: u32 = 4;
    let mut step = Vec::new();
    for k in 0..WORDS {
        let wk = Expr::add(Expr::var("w"), Expr::mul(Expr::u32(k), lane_count("lanes")));
        step.push(Node::let_bind(&format!("w{k}"), wk));
        step.push(Node::let_bind(
            &format!("x{k}"),
            byte_word_load("data", Expr::var(&format!("w{k}"))),
        ));
        step.push(Node::let_bind(
            &format!("p{k}"),
            byte_word_load(
                "data",
                Expr::sub(
                    Expr::max(Expr::var(&format!("w{k}")), Expr::u32(1)),
                    Expr::u32(1),
                ),
            ),
        ));
    }
    for k in 0..WORDS {
        for (i, pattern) in patterns.iter().enumerate() {
            step.extend(count_in_word(pattern, i, k));
        }
    }
    for (i, pattern) in patterns.iter().enumerate() {
        if pattern.len() > 4 {
            step.extend(check_long(pattern, i, WORDS));
        }
    }
    let mut body = vec![Node::let_bind(
        "first",
        Expr::max(Expr::var("start"), Expr::u32(shortest - 1)),
    )];
    for (i, pattern) in patterns.iter().enumerate() {
        body.push(Node::let_bind(&format!("local{i}"), Expr::u32(0)));
        body.push(Node::let_bind(
            &format!("first{i}"),
            Expr::max(Expr::var("start"), Expr::u32(pattern.len() as u32 - 1)),
        ));
    }
    body.push(Node::for_step(
        "w",
        Expr::add(
            Expr::shr(Expr::var("first"), Expr::u32(2)),
            lane_id("lanes"),
        ),
        words,
        Expr::mul(Expr::u32(WORDS), lane_count("lanes")),
        step,
    ));
    for i in 0..patterns.len() {
        let local = format!("local{i}");
        body.push(Node::if_then(
            Expr::gt(Expr::var(&local), Expr::u32(0)),
            vec![Node::eval(word_atomic(
                AtomicOp::Add,
                "count",
                Expr::u32(i as u32),
                Expr::var(&local),
                None,
            ))],
        ));
    }
    Ok(Payload {
        tables: Vec::new(),
        name: name.to_string(),
        params,
        look_behind: longest - 1,
        body,
        combine: None,
        native: native_patterns(&patterns, WORDS),
    })
}

/// The nodes that set `m{i}_k`, the 4-bit mask of the end positions in word
/// `k` of an iteration (variables `w{k}`, `x{k}`: the word, `p{k}`: the word
/// before) where pattern `i`'s last (up to) 4 bytes match; for a pattern of
/// at most 4 bytes they also add those matches to `local{i}`.
fn count_in_word(pattern: &[u8], i: usize, k: u32) -> Vec<Node> {
    // The 4 bytes ending at `e = 4w + j` are the little-endian word
    // `(x:p) >> 8(j + 1)` of the pair, so each position's last `min(n, 4)`
    // bytes are compared at once (a mask and one compare per position).
    let tail = pattern.len().min(4);
    let mask = u32::MAX << (8 * (4 - tail));
    let want = pattern[pattern.len() - tail..]
        .iter()
        .enumerate()
        .fold(0u32, |acc, (b, &byte)| {
            acc | (u32::from(byte) << (8 * (4 - tail + b)))
        });
    let v = |name: &str| Expr::var(&format!("{name}{k}"));
    let window = |j: u32| {
        if j == 3 {
            v("x")
        } else {
            Expr::bitor(
                Expr::shl(v("x"), Expr::u32(24 - 8 * j)),
                Expr::shr(v("p"), Expr::u32(8 * j + 8)),
            )
        }
    };
    let hits = (0..4u32)
        .map(|j| {
            let eq = Expr::eq(Expr::bitand(window(j), Expr::u32(mask)), Expr::u32(want));
            Expr::select(eq, Expr::u32(1 << j), Expr::u32(0))
        })
        .reduce(Expr::bitor)
        .unwrap_or_else(|| Expr::u32(0));
    // Positions `e` of the word with `first{i} <= e < len`, as a 4-bit mask.
    let e0 = || Expr::mul(v("w"), Expr::u32(4));
    let sat_sub = |a: Expr, b: Expr| Expr::sub(a.clone(), Expr::min(a, b));
    let below = Expr::min(sat_sub(Expr::var(&format!("first{i}")), e0()), Expr::u32(4));
    let inside = Expr::min(sat_sub(param_len("data"), e0()), Expr::u32(4));
    let valid = Expr::bitand(
        Expr::bitand(Expr::shl(Expr::u32(0xf), below), Expr::u32(0xf)),
        Expr::sub(Expr::shl(Expr::u32(1), inside), Expr::u32(1)),
    );
    let m = format!("m{i}_{k}");
    let local = format!("local{i}");
    let mut nodes = vec![Node::let_bind(&m, Expr::bitand(hits, valid))];
    if pattern.len() <= 4 {
        nodes.push(Node::assign(
            &local,
            Expr::add(Expr::var(&local), Expr::popcount(Expr::var(&m))),
        ));
        return nodes;
    }
    nodes
}

/// For a pattern `i` of more than 4 bytes: the nodes that compare its other
/// bytes at each end position whose last 4 bytes matched (bit `4k + j` of
/// the masks `m{i}_k`) and add the full matches to `local{i}`. One copy for
/// all the words of an iteration, so a long pattern's byte checks are not
/// repeated per word.
fn check_long(pattern: &[u8], i: usize, words: u32) -> Vec<Node> {
    let n = pattern.len() as u32;
    let all = format!("all{i}");
    let local = format!("local{i}");
    let combined = (0..words)
        .map(|k| Expr::shl(Expr::var(&format!("m{i}_{k}")), Expr::u32(4 * k)))
        .reduce(Expr::bitor)
        .unwrap_or_else(|| Expr::u32(0));
    // Bytes e - (n - 1) + b for b < n - 4, compared at each passing `e`
    // 4 at a time, branch-free: chunk t is the unaligned word at byte
    // a0 + 4t (a0 = e - (n - 1) >= 0), cut from the aligned words u_t and
    // u_{t+1}; `diff` collects the differing bits.
    let e = format!("e{i}");
    let rest = &pattern[..pattern.len() - 4];
    let chunks = rest.len().div_ceil(4);
    let a0 = Expr::sub(Expr::var(&e), Expr::u32(n - 1));
    let sh = format!("sh{i}");
    let u = |t: usize| Expr::var(&format!("u{i}_{t}"));
    let mut check = vec![Node::let_bind(
        &sh,
        Expr::mul(Expr::bitand(a0.clone(), Expr::u32(3)), Expr::u32(8)),
    )];
    for t in 0..=chunks {
        check.push(Node::let_bind(
            &format!("u{i}_{t}"),
            byte_word_load(
                "data",
                Expr::add(Expr::shr(a0.clone(), Expr::u32(2)), Expr::u32(t as u32)),
            ),
        ));
    }
    let diff = format!("diff{i}");
    check.push(Node::let_bind(&diff, Expr::u32(0)));
    for t in 0..chunks {
        let bytes = &rest[4 * t..(4 * t + 4).min(rest.len())];
        let (want, mask) = bytes
            .iter()
            .enumerate()
            .fold((0u32, 0u32), |(w, m), (b, &byte)| {
                (w | (u32::from(byte) << (8 * b)), m | (0xff << (8 * b)))
            });
        let high = Expr::select(
            Expr::eq(Expr::var(&sh), Expr::u32(0)),
            Expr::u32(0),
            Expr::shl(u(t + 1), Expr::sub(Expr::u32(32), Expr::var(&sh))),
        );
        let v = Expr::bitor(Expr::shr(u(t), Expr::var(&sh)), high);
        let bits = Expr::bitand(Expr::bitxor(v, Expr::u32(want)), Expr::u32(mask));
        check.push(Node::assign(&diff, Expr::bitor(Expr::var(&diff), bits)));
    }
    check.push(Node::if_then(
        Expr::eq(Expr::var(&diff), Expr::u32(0)),
        vec![Node::assign(
            &local,
            Expr::add(Expr::var(&local), Expr::u32(1)),
        )],
    ));
    let q = format!("q{i}");
    let passes = Expr::ne(
        Expr::bitand(Expr::shr(Expr::var(&all), Expr::var(&q)), Expr::u32(1)),
        Expr::u32(0),
    );
    // Position `j = q % 4` of word `k = q / 4`: 4 (w + k lanes) + j.
    let end = Expr::add(
        Expr::mul(
            Expr::add(
                Expr::var("w"),
                Expr::mul(Expr::shr(Expr::var(&q), Expr::u32(2)), lane_count("lanes")),
            ),
            Expr::u32(4),
        ),
        Expr::bitand(Expr::var(&q), Expr::u32(3)),
    );
    vec![
        Node::let_bind(&all, combined),
        Node::if_then(
            Expr::ne(Expr::var(&all), Expr::u32(0)),
            vec![Node::for_step(
                &q,
                Expr::u32(0),
                Expr::u32(4 * words),
                Expr::u32(1),
                vec![Node::if_then(
                    passes,
                    [vec![Node::let_bind(&e, end)], check].concat(),
                )],
            )],
        ),
    ]
}

/// Overlapping occurrences of `pattern` in `hay`: the reference the payload must equal.
pub fn count_overlapping(hay: &[u8], pattern: &[u8]) -> u64 {
    if pattern.is_empty() || hay.len() < pattern.len() {
        return 0;
    }
    hay.windows(pattern.len()).filter(|w| *w == pattern).count() as u64
}

/// The native code of [`patterns_payload`]: for pattern `i` of `n` bytes,
/// the (overlapping) occurrences that end at an index `e >= max(start,
/// n - 1)` of the data, added (wrapping) to `count[i]` ([`memchr::memmem`]
/// finds them). It charges the iteration budget what one lane of the IR
/// loop would run over the whole range (`words` words per iteration).
fn native_patterns(patterns: &[&[u8]], words: u32) -> vyre_core::NativePayload {
    let finders: Vec<memchr::memmem::Finder<'static>> = patterns
        .iter()
        .map(|p| memchr::memmem::Finder::new(p).into_owned())
        .collect();
    let shortest = patterns.iter().map(|p| p.len()).min().unwrap_or(1) as u32;
    vyre_core::NativePayload::from_fn(move |s: &mut vyre_core::NativeSlot<'_>| {
        let len = s.data.len() as u32;
        let first_word = s.start.max(shortest - 1) >> 2;
        let total_words = len.div_ceil(4);
        let iterations = total_words.saturating_sub(first_word).div_ceil(words);
        if !vyre_core::native::charge(u64::from(iterations)) {
            return;
        }
        for (i, f) in finders.iter().enumerate() {
            let n = f.needle().len() as u32;
            // A match ending at e >= first starts at e - n + 1 >= first - n + 1.
            let from = s.start.max(n - 1) - (n - 1);
            let hay = s.data.get(from as usize..).unwrap_or(&[]);
            let (mut count, mut at) = (0u32, 0usize);
            while let Some(k) = hay.get(at..).and_then(|h| f.find(h)) {
                count = count.wrapping_add(1);
                at += k + 1;
            }
            if let Some(c) = s.results.get_mut(i) {
                *c = c.wrapping_add(count);
            }
        }
    })
}
