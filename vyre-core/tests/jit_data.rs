//! The JIT (`vyre_core::jit`) reading and writing memory: loads past the
//! data's end, stores and atomics outside the results and table reads
//! past a table are confined as the CPU reference confines them; the data
//! helpers (`byte_word_load`, `byte_load`), which the JIT lowers as one
//! access each (`jit/idiom.rs`), read what the reference reads at every
//! edge. (Random payloads reading through the helpers: `tests/jit.rs`.)

mod support;

use support::jit::{param, payload, reference, run_jit};
use vyre_core::ir::payload::{byte_load, byte_word_load, param_var, table_load, Table};
use vyre_core::{Expr, Node, ParamKind};

/// Loads past the data's end give 0 (a partial last word keeps its bytes);
/// stores and atomics outside the result words do nothing; table reads
/// past the table give 0.
#[test]
fn out_of_range_accesses_are_confined() {
    let data = [1u8, 2, 3, 4, 5, 6, 7];
    let st = |i: u32, e: Expr| Node::store("out", Expr::u32(i), e);
    let body = vec![
        st(0, Expr::load("data", Expr::u32(0))),
        st(1, Expr::load("data", Expr::u32(1))),
        st(2, Expr::load("data", Expr::u32(2))),
        st(3, Expr::load("data", Expr::u32(u32::MAX))),
        st(4, table_load("T", Expr::u32(1))),
        st(5, table_load("T", Expr::u32(2))),
        st(6, Expr::len("T")),
        Node::store("out", Expr::u32(8), Expr::u32(9)),
        Node::store("out", Expr::u32(u32::MAX), Expr::u32(9)),
        Node::let_bind("o", Expr::atomic_add("out", Expr::u32(8), Expr::u32(5))),
        Node::let_bind(
            "p",
            Expr::atomic_add("out", Expr::u32(u32::MAX), Expr::u32(5)),
        ),
        st(
            7,
            Expr::add(
                Expr::var("o"),
                Expr::add(Expr::var("p"), Expr::load("out", Expr::u32(8))),
            ),
        ),
    ];
    let p = payload(
        "confined",
        vec![
            param("data", ParamKind::Bytes, None),
            param("out", ParamKind::Output, Some(8)),
        ],
        vec![Table::new("T", &[10, 20])],
        body,
    );
    let (got, _) = run_jit(&p, &data, &[0; 8], u64::MAX - 1);
    assert_eq!(
        got,
        [0x0403_0201, 0x0007_0605, 0, 0, 20, 0, 2, 0],
        "JIT confinement"
    );
}

/// The data helpers (`byte_word_load`, `byte_load`), which the JIT lowers
/// as one access each (`jit/idiom.rs`), read what the reference reads at
/// every edge: lengths 0 to 13 (partial last words), indices at, just past
/// and far past the end (up to `u32::MAX`, where `4w` wraps), in a loop;
/// and a body that reassigns `data__len` or `data__off` gets the
/// reassigned values' semantics (the idiom must not apply).
#[test]
fn data_helpers_read_like_the_reference_at_the_edges() {
    let words = [
        0,
        1,
        2,
        3,
        4,
        (1 << 30) - 1,
        1 << 30,
        (1 << 30) + 1,
        u32::MAX / 4,
        u32::MAX,
    ];
    let bytes = [
        0,
        1,
        2,
        3,
        4,
        5,
        7,
        8,
        9,
        12,
        13,
        14,
        1 << 31,
        u32::MAX - 1,
        u32::MAX,
    ];
    let mut body = Vec::new();
    let mut at = 0u32;
    for &w in &words {
        body.push(Node::store(
            "out",
            Expr::u32(at),
            byte_word_load("data", Expr::u32(w)),
        ));
        at += 1;
    }
    for &i in &bytes {
        body.push(Node::store(
            "out",
            Expr::u32(at),
            byte_load("data", Expr::u32(i)),
        ));
        at += 1;
    }
    // In a loop: the index is the loop variable (and derived from it).
    body.push(Node::for_range(
        "w",
        Expr::u32(0),
        Expr::u32(5),
        vec![
            Node::store(
                "out",
                Expr::add(Expr::u32(at), Expr::var("w")),
                byte_word_load("data", Expr::var("w")),
            ),
            Node::store(
                "out",
                Expr::add(Expr::u32(at + 5), Expr::var("w")),
                byte_load(
                    "data",
                    Expr::add(Expr::mul(Expr::var("w"), Expr::u32(3)), Expr::u32(1)),
                ),
            ),
        ],
    ));
    let out = at + 10;
    let p = payload(
        "helpers",
        vec![
            param("data", ParamKind::Bytes, None),
            param("out", ParamKind::Output, Some(out)),
        ],
        vec![],
        body,
    );
    for len in 0..=13u8 {
        let data: Vec<u8> = (1..=len).map(|b| b.wrapping_mul(37) | 1).collect();
        let init = vec![0xDEAD_BEEF; out as usize];
        let want = reference(&p, &data, &init).unwrap();
        let (got, spent) = run_jit(&p, &data, &init, u64::MAX - 1);
        assert!(!spent);
        assert_eq!(got, want, "data helpers on {len} bytes");
        // The reference itself: word 0 and byte 1 as the spec says.
        let w0 = data
            .iter()
            .take(4)
            .rev()
            .fold(0u32, |a, &b| (a << 8) | u32::from(b));
        assert_eq!(want[0], w0, "{len} bytes");
        assert_eq!(
            want[words.len() + 1],
            data.get(1).map_or(0, |&b| u32::from(b))
        );
    }
    // Reassigned bindings: `data__len = 2` masks word 0 to 2 bytes and
    // ends the bytes at 2; `data__off = 4` moves the data one word on.
    let reassigned = |var: &str, v: u32| {
        payload(
            "reassigned",
            vec![
                param("data", ParamKind::Bytes, None),
                param("out", ParamKind::Output, Some(3)),
            ],
            vec![],
            vec![
                Node::assign(&param_var("data", var), Expr::u32(v)),
                Node::store("out", Expr::u32(0), byte_word_load("data", Expr::u32(0))),
                Node::store("out", Expr::u32(1), byte_load("data", Expr::u32(2))),
                Node::store("out", Expr::u32(2), byte_load("data", Expr::u32(1))),
            ],
        )
    };
    let data = [1u8, 2, 3, 4, 5, 6, 7, 8];
    for (var, v, expect) in [("len", 2, [0x0201, 0, 2]), ("off", 4, [0x0807_0605, 7, 6])] {
        let p = reassigned(var, v);
        let want = reference(&p, &data, &[0; 3]).unwrap();
        assert_eq!(want, expect, "reference with data__{var} = {v}");
        assert_eq!(
            run_jit(&p, &data, &[0; 3], u64::MAX - 1).0,
            want,
            "data__{var} = {v}"
        );
    }
}
