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
/// positions at a time, skips it unless it holds the pattern's last byte,
/// counts its matches in a local variable and adds it to the counter once.
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
    // Lanes take a word (4 end positions) per iteration. A word is skipped
    // unless one of its bytes equals the pattern's last byte (SWAR: a byte
    // of `t` is zero exactly where `x` has that byte, and
    // `(t - 0x01..) & !t & 0x80..` is nonzero exactly when `t` has a zero
    // byte); otherwise each end position `e` in it with `first <= e < len`
    // whose byte matches is compared in full, backwards.
    let last = u32::from(pattern[pattern.len() - 1]);
    let first = Expr::max(Expr::var("start"), Expr::u32(n - 1));
    let mut check = vec![Node::let_bind("ok", Expr::bool(true))];
    for (k, b) in pattern.iter().enumerate().rev().skip(1) {
        // Byte at e - (n - 1) + k.
        let at = Expr::add(
            Expr::sub(Expr::var("e"), Expr::u32(n - 1)),
            Expr::u32(k as u32),
        );
        let eq = Expr::eq(byte_load("data", at), Expr::u32(*b as u32));
        check.push(Node::if_then(Expr::var("ok"), vec![Node::assign("ok", eq)]));
    }
    check.push(Node::if_then(
        Expr::var("ok"),
        vec![Node::assign(
            "local",
            Expr::add(Expr::var("local"), Expr::u32(1)),
        )],
    ));
    let byte_j = Expr::bitand(
        Expr::shr(Expr::var("x"), Expr::mul(Expr::var("j"), Expr::u32(8))),
        Expr::u32(0xff),
    );
    let candidate = Expr::and(
        Expr::and(
            Expr::ge(Expr::var("e"), Expr::var("first")),
            Expr::lt(Expr::var("e"), param_len("data")),
        ),
        Expr::eq(byte_j, Expr::u32(last)),
    );
    let per_position = Node::for_step(
        "j",
        Expr::u32(0),
        Expr::u32(4),
        Expr::u32(1),
        vec![
            Node::let_bind(
                "e",
                Expr::add(Expr::mul(Expr::var("w"), Expr::u32(4)), Expr::var("j")),
            ),
            Node::if_then(candidate, check),
        ],
    );
    let t = Expr::bitxor(Expr::var("x"), Expr::u32(last * 0x0101_0101));
    let has_last = Expr::bitand(
        Expr::bitand(
            Expr::sub(t.clone(), Expr::u32(0x0101_0101)),
            Expr::bitnot(t),
        ),
        Expr::u32(0x8080_8080),
    );
    let len = param_len("data");
    let words = Expr::add(
        Expr::shr(len.clone(), Expr::u32(2)),
        Expr::select(
            Expr::ne(Expr::bitand(len, Expr::u32(3)), Expr::u32(0)),
            Expr::u32(1),
            Expr::u32(0),
        ),
    );
    let body = vec![
        Node::let_bind("local", Expr::u32(0)),
        Node::let_bind("first", first),
        Node::for_step(
            "w",
            Expr::add(
                Expr::shr(Expr::var("first"), Expr::u32(2)),
                lane_id("lanes"),
            ),
            words,
            lane_count("lanes"),
            vec![
                Node::let_bind("x", byte_word_load("data", Expr::var("w"))),
                Node::if_then(Expr::ne(has_last, Expr::u32(0)), vec![per_position]),
            ],
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
