//! Literal pattern payloads built at run time (patterns come from the command line).

use vyre_core::ir::payload::{
    byte_load, byte_word_load, lane_count, lane_id, param_len, word_atomic,
};
use vyre_core::{AtomicOp, Error, Expr, Node, Param, ParamKind, Payload, Result};

/// Longest pattern `vyre scan -e` accepts.
pub const MAX_PATTERN: usize = 256;

/// A payload counting the (overlapping) occurrences of `pattern` that end at
/// an index `>= start` of its data; its look-behind is `pattern.len() - 1`.
///
/// Parameters: `data: &[u8]`, `#[vyre(start)] start: u32`, `lanes: Lanes`,
/// `#[vyre(len = 1)] count: &[AtomicU32]`. Each lane takes a word of end
/// positions at a time, compares the last (up to) 4 bytes of the pattern at
/// all 4 positions with word operations, checks the rest of a longer
/// pattern only where those match, counts its matches in a local variable
/// and adds it to the counter once.
pub fn pattern_payload(name: &str, pattern: &[u8]) -> Result<Payload> {
    if pattern.is_empty() || pattern.len() > MAX_PATTERN {
        return Err(Error::BadInput(format!(
            "pattern of {} bytes: patterns must have 1 to {MAX_PATTERN} bytes. Fix: give a non-empty pattern of at most {MAX_PATTERN} bytes",
            pattern.len()
        )));
    }
    let n = pattern.len() as u32;
    let params = vec![
        Param {
            name: "data".into(),
            kind: ParamKind::Bytes,
            len: None,
        },
        Param {
            name: "start".into(),
            kind: ParamKind::ChunkStart,
            len: None,
        },
        Param {
            name: "lanes".into(),
            kind: ParamKind::Lanes,
            len: None,
        },
        Param {
            name: "count".into(),
            kind: ParamKind::Accumulator,
            len: Some(1),
        },
    ];
    // Lanes take a word `x` (4 end positions `e = 4w + j`) per iteration,
    // with the word before it, `p`. The 4 bytes ending at `e` are the
    // little-endian word `(x:p) >> 8(j + 1)` of the pair, so each position's
    // last `min(n, 4)` bytes are compared at once (a mask and one compare per
    // position). Patterns of at most 4 bytes are then counted exactly; longer
    // ones compare their remaining bytes at the (rare) positions that pass.
    let tail = pattern.len().min(4);
    let mask = u32::MAX << (8 * (4 - tail));
    let want = pattern[pattern.len() - tail..]
        .iter()
        .enumerate()
        .fold(0u32, |acc, (i, &b)| {
            acc | (u32::from(b) << (8 * (4 - tail + i)))
        });
    // Word `k` of an iteration: `w + k * lanes`, in variables suffixed `k`.
    let v = |name: &str, k: u32| Expr::var(&format!("{name}{k}"));
    let window = |j: u32, k: u32| {
        if j == 3 {
            v("x", k)
        } else {
            Expr::bitor(
                Expr::shl(v("x", k), Expr::u32(24 - 8 * j)),
                Expr::shr(v("p", k), Expr::u32(8 * j + 8)),
            )
        }
    };
    let hits = |k: u32| {
        (0..4u32)
            .map(|j| {
                let eq = Expr::eq(Expr::bitand(window(j, k), Expr::u32(mask)), Expr::u32(want));
                Expr::select(eq, Expr::u32(1 << j), Expr::u32(0))
            })
            .reduce(Expr::bitor)
            .unwrap_or_else(|| Expr::u32(0))
    };
    // Positions `e` of word `k` with `first <= e < len`, as a 4-bit mask.
    let e0 = |k: u32| Expr::mul(v("w", k), Expr::u32(4));
    let sat_sub = |a: Expr, b: Expr| Expr::sub(a.clone(), Expr::min(a, b));
    let valid = |k: u32| {
        let below = Expr::min(sat_sub(Expr::var("first"), e0(k)), Expr::u32(4));
        let inside = Expr::min(sat_sub(param_len("data"), e0(k)), Expr::u32(4));
        Expr::bitand(
            Expr::bitand(Expr::shl(Expr::u32(0xf), below), Expr::u32(0xf)),
            Expr::sub(Expr::shl(Expr::u32(1), inside), Expr::u32(1)),
        )
    };
    let count = |k: u32| -> Vec<Node> {
        if pattern.len() <= 4 {
            return vec![Node::assign(
                "local",
                Expr::add(Expr::var("local"), Expr::popcount(v("m", k))),
            )];
        }
        // Bytes e - (n - 1) + i for i < n - 4, compared at each passing `e`.
        let e = format!("e{k}");
        let ok = format!("ok{k}");
        let mut check = vec![Node::let_bind(&ok, Expr::bool(true))];
        for (i, b) in pattern.iter().enumerate().take(pattern.len() - 4) {
            let at = Expr::add(
                Expr::sub(Expr::var(&e), Expr::u32(n - 1)),
                Expr::u32(i as u32),
            );
            let eq = Expr::eq(byte_load("data", at), Expr::u32(u32::from(*b)));
            check.push(Node::if_then(Expr::var(&ok), vec![Node::assign(&ok, eq)]));
        }
        check.push(Node::if_then(
            Expr::var(&ok),
            vec![Node::assign(
                "local",
                Expr::add(Expr::var("local"), Expr::u32(1)),
            )],
        ));
        let j = format!("j{k}");
        let passes = Expr::ne(
            Expr::bitand(Expr::shr(v("m", k), Expr::var(&j)), Expr::u32(1)),
            Expr::u32(0),
        );
        vec![Node::if_then(
            Expr::ne(v("m", k), Expr::u32(0)),
            vec![Node::for_step(
                &j,
                Expr::u32(0),
                Expr::u32(4),
                Expr::u32(1),
                vec![Node::if_then(
                    passes,
                    [
                        vec![Node::let_bind(&e, Expr::add(e0(k), Expr::var(&j)))],
                        check,
                    ]
                    .concat(),
                )],
            )],
        )]
    };
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
            byte_word_load("data", v("w", k)),
        ));
        step.push(Node::let_bind(
            &format!("p{k}"),
            byte_word_load(
                "data",
                Expr::sub(Expr::max(v("w", k), Expr::u32(1)), Expr::u32(1)),
            ),
        ));
    }
    for k in 0..WORDS {
        step.push(Node::let_bind(
            &format!("m{k}"),
            Expr::bitand(hits(k), valid(k)),
        ));
        step.extend(count(k));
    }
    let body = vec![
        Node::let_bind("local", Expr::u32(0)),
        Node::let_bind("first", Expr::max(Expr::var("start"), Expr::u32(n - 1))),
        Node::for_step(
            "w",
            Expr::add(
                Expr::shr(Expr::var("first"), Expr::u32(2)),
                lane_id("lanes"),
            ),
            words,
            Expr::mul(Expr::u32(WORDS), lane_count("lanes")),
            step,
        ),
        Node::if_then(
            Expr::gt(Expr::var("local"), Expr::u32(0)),
            vec![Node::eval(word_atomic(
                AtomicOp::Add,
                "count",
                Expr::u32(0),
                Expr::var("local"),
                None,
            ))],
        ),
    ];
    Ok(Payload {
        name: name.to_string(),
        params,
        look_behind: n - 1,
        body,
    })
}

/// Overlapping occurrences of `pattern` in `hay`: the reference the payload must equal.
pub fn count_overlapping(hay: &[u8], pattern: &[u8]) -> u64 {
    if pattern.is_empty() || hay.len() < pattern.len() {
        return 0;
    }
    hay.windows(pattern.len()).filter(|w| *w == pattern).count() as u64
}
