//! Literal pattern payloads built at run time (patterns come from the command line).

use vyre_core::ir::payload::{byte_load, lane_count, lane_id, param_len, word_atomic};
use vyre_core::{AtomicOp, Error, Expr, Node, Param, ParamKind, Payload, Result};

/// Longest pattern `vyre scan -e` accepts.
pub const MAX_PATTERN: usize = 256;

/// A payload counting the (overlapping) occurrences of `pattern` that end at
/// an index `>= start` of its data; its look-behind is `pattern.len() - 1`.
///
/// Parameters: `data: &[u8]`, `#[vyre(start)] start: u32`, `lanes: Lanes`,
/// `#[vyre(len = 1)] count: &[AtomicU32]`. Each lane counts its positions in
/// a local variable and adds it to the counter once.
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
    // First end index: max(start, n - 1).
    let first = Expr::max(Expr::var("start"), Expr::u32(n - 1));
    let mut check = vec![Node::let_bind("ok", Expr::bool(true))];
    for (k, b) in pattern.iter().enumerate() {
        // Byte at e - (n - 1) + k.
        let at = Expr::add(
            Expr::sub(Expr::var("e"), Expr::u32(n - 1)),
            Expr::u32(k as u32),
        );
        let eq = Expr::eq(byte_load("data", at), Expr::u32(*b as u32));
        if k == 0 {
            check.push(Node::assign("ok", eq));
        } else {
            check.push(Node::if_then(Expr::var("ok"), vec![Node::assign("ok", eq)]));
        }
    }
    check.push(Node::if_then(
        Expr::var("ok"),
        vec![Node::assign(
            "local",
            Expr::add(Expr::var("local"), Expr::u32(1)),
        )],
    ));
    let body = vec![
        Node::let_bind("local", Expr::u32(0)),
        Node::for_step(
            "e",
            Expr::add(first, lane_id("lanes")),
            param_len("data"),
            lane_count("lanes"),
            check,
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
