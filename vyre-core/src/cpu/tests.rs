//! Unit tests that bypass the validator, to reach the interpreter's own
//! defences and behaviours only invalid programs can show. The op-by-op
//! tests are in `vyre-core/tests/cpu_ops.rs`.

use super::CpuBackend;
use crate::ir::{BinOp, BufferDecl, DataType, Expr, Node, Program, UnOp};
use crate::Error;

type E = Expr;
type N = Node;

fn run(p: &Program, bufs: &mut [Vec<u32>], workgroups: u32) -> crate::Result<()> {
    CpuBackend::new().run_unvalidated(p, bufs, workgroups)
}

fn expect_bad(p: &Program, bufs: &mut [Vec<u32>], workgroups: u32, needle: &str) {
    match run(p, bufs, workgroups) {
        Err(e @ Error::BadInput { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(needle), "message {msg:?} lacks {needle:?}");
            assert!(msg.contains("Fix:"), "message {msg:?} has no Fix:");
        }
        other => panic!("expected BadInput containing {needle:?}, got {other:?}"),
    }
}

fn shared_program(size: u32, body: Vec<Node>) -> Program {
    Program::new(
        "shared",
        vec![
            BufferDecl::read_write("out", 0, DataType::U32),
            BufferDecl::workgroup("sh", DataType::U32, size),
        ],
        size,
        body,
    )
}

#[test]
fn deep_expressions_need_no_deep_stack() {
    // Expressions compile to flat code: depth is no problem, even on a small stack.
    let mut deep = E::u32(0);
    let mut short_circuit = E::bool(true);
    for k in 0..3000 {
        deep = if k % 2 == 0 {
            E::add(deep, E::u32(1))
        } else {
            E::add(E::u32(1), deep)
        };
        short_circuit = E::and(E::or(E::bool(false), short_circuit), E::bool(true));
    }
    let body = vec![
        N::store("out", E::u32(0), deep),
        N::store("out", E::u32(1), E::cast(DataType::U32, short_circuit)),
    ];
    let p = Program::new(
        "deep",
        vec![BufferDecl::read_write("out", 0, DataType::U32)],
        1,
        body,
    );
    let out = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            let mut bufs = vec![vec![0, 0]];
            let r = run(&p, &mut bufs, 1);
            std::mem::forget(p); // dropping a 3000-deep Box chain is the caller's recursion, not ours
            r.map(|()| bufs)
        })
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(out, vec![vec![3000, 1]]);
}

#[test]
fn finished_invocations_do_not_block_the_barrier() {
    // Documented CPU behaviour (the validator rejects this program): invocation
    // 0 returns; the others still meet at the barrier and go on.
    let body = vec![
        N::if_then(E::eq(E::local_id(), E::u32(0)), vec![N::Return]),
        N::store("sh", E::local_id(), E::local_id()),
        N::Barrier,
        N::store(
            "out",
            E::local_id(),
            E::add(
                E::load("sh", E::rem(E::add(E::local_id(), E::u32(1)), E::u32(4))),
                E::u32(10),
            ),
        ),
    ];
    let p = shared_program(4, body);
    let mut bufs = vec![vec![0; 4]];
    run(&p, &mut bufs, 1).unwrap();
    assert_eq!(bufs[0], vec![0, 12, 13, 10]);
}

fn one_out(body: Vec<Node>) -> Program {
    Program::new(
        "bad",
        vec![
            BufferDecl::read_write("out", 0, DataType::U32),
            BufferDecl::read("ro", 1, DataType::U32),
        ],
        1,
        body,
    )
}

#[test]
fn interpreter_rejects_what_it_cannot_run() {
    let check = |body: Vec<Node>, needle: &str| {
        expect_bad(&one_out(body), &mut [vec![0], vec![0]], 1, needle)
    };
    check(vec![N::store("out", E::u32(0), E::var("nope"))], "`nope`");
    check(vec![N::assign("nope", E::u32(1))], "undeclared");
    check(vec![N::store("missing", E::u32(0), E::u32(1))], "`missing`");
    check(
        vec![N::store("out", E::u32(0), E::load("missing", E::u32(0)))],
        "`missing`",
    );
    check(
        vec![N::store("out", E::u32(0), E::add(E::u32(1), E::i32(1)))],
        "add",
    );
    check(vec![N::store("out", E::u32(0), E::i32(1))], "stored value");
    check(
        vec![N::store("out", E::u32(0), E::shl(E::u32(1), E::i32(1)))],
        "shl",
    );
    check(vec![N::store("out", E::u32(0), E::clz(E::f32(1.0)))], "clz");
    check(
        vec![N::store(
            "out",
            E::u32(0),
            E::cast(DataType::U32, E::not(E::u32(1))),
        )],
        "not",
    );
    check(vec![N::store("out", E::f32(0.0), E::u32(1))], "index");
    check(vec![N::if_then(E::u32(1), vec![])], "condition");
    check(vec![N::store("ro", E::u32(0), E::u32(1))], "read");
    check(
        vec![N::eval(E::atomic_add("ro", E::u32(0), E::u32(1)))],
        "atomic",
    );
    check(
        vec![N::store(
            "out",
            E::u32(0),
            E::add(E::atomic_add("out", E::u32(0), E::u32(1)), E::u32(1)),
        )],
        "atomic_add",
    );
    check(vec![N::Break], "outside a loop");
    check(
        vec![N::for_range(
            "i",
            E::u32(0),
            E::u32(2),
            vec![N::assign("i", E::u32(5))],
        )],
        "read-only",
    );
    check(
        vec![
            N::let_bind("x", E::u32(0)),
            N::block(vec![N::let_bind("x", E::u32(1))]),
        ],
        "shadowing",
    );
    check(
        vec![N::let_bind("x", E::u32(0)), N::assign("x", E::i32(1))],
        "assigning",
    );
    check(
        vec![
            N::block(vec![N::let_bind("x", E::u32(0))]),
            N::store("out", E::u32(0), E::var("x")),
        ],
        "`x`",
    );
    check(
        vec![N::store(
            "out",
            E::u32(0),
            E::cast(DataType::U32, E::bitcast(DataType::Bool, E::u32(1))),
        )],
        "bitcast",
    );
    check(
        vec![N::let_bind("v", E::uniform_load("out", E::u32(0)))],
        "uniform_load",
    );
    check(
        vec![N::eval(E::binary(BinOp::And, E::u32(1), E::u32(1)))],
        "and",
    );
    check(
        vec![N::store(
            "out",
            E::u32(0),
            E::bitand(E::f32(1.0), E::f32(1.0)),
        )],
        "bitand",
    );
    check(
        vec![N::store(
            "out",
            E::u32(0),
            E::select(E::u32(1), E::u32(1), E::u32(2)),
        )],
        "select",
    );
    check(
        vec![N::store(
            "out",
            E::u32(0),
            E::select(E::bool(true), E::u32(1), E::i32(2)),
        )],
        "select",
    );
    check(
        vec![N::let_bind(
            "v",
            E::add(E::uniform_load("out", E::u32(0)), E::u32(1)),
        )],
        "uniform_load",
    );
    check(
        vec![N::store("out", E::u32(0), E::len("missing"))],
        "`missing`",
    );
    check(
        vec![N::let_bind("c", E::atomic_add("out", E::u32(0), E::i32(1)))],
        "atomic operand",
    );
    let no_expected = Expr::Atomic {
        op: crate::ir::AtomicOp::CompareExchange,
        buffer: "out".into(),
        index: Box::new(E::u32(0)),
        value: Box::new(E::u32(1)),
        expected: None,
    };
    check(vec![N::eval(no_expected)], "expected value");
    check(
        vec![N::store(
            "out",
            E::u32(0),
            E::unary(UnOp::Neg, E::bool(true)),
        )],
        "neg",
    );
    // Very deep statement nesting is refused, not a stack overflow.
    let mut deep_nodes = vec![N::store("out", E::u32(0), E::u32(1))];
    for _ in 0..5000 {
        deep_nodes = vec![N::block(deep_nodes)];
    }
    check(deep_nodes, "nested");
    // Bad declarations.
    let p = Program::new(
        "wg0",
        vec![BufferDecl::read_write("out", 0, DataType::U32)],
        0,
        vec![],
    );
    expect_bad(&p, &mut [vec![0]], 1, "workgroup size");
    let p = Program::new(
        "dup",
        vec![
            BufferDecl::read_write("out", 0, DataType::U32),
            BufferDecl::read("out", 1, DataType::U32),
        ],
        1,
        vec![],
    );
    expect_bad(&p, &mut [vec![0], vec![0]], 1, "share a name");
    let mut wg = BufferDecl::workgroup("sh", DataType::U32, 4);
    wg.len = None;
    let p = Program::new(
        "wglen",
        vec![BufferDecl::read_write("out", 0, DataType::U32), wg],
        1,
        vec![],
    );
    expect_bad(&p, &mut [vec![0]], 1, "fixed length");
    let p = Program::new(
        "wgbig",
        vec![
            BufferDecl::read_write("out", 0, DataType::U32),
            BufferDecl::workgroup("sh", DataType::U32, u32::MAX),
        ],
        1,
        vec![],
    );
    expect_bad(&p, &mut [vec![0]], 1, "workgroup memory");
}
