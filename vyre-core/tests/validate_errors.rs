//! The validator: one test per kind of problem, valid programs that must pass,
//! limits, and a fuzz test that garbage never panics.

use proptest::prelude::*;
use vyre_core::ir::{
    payload, Access, AtomicOp, BinOp, BufferDecl, DataType, Expr, Node, Param, ParamKind, Payload,
    Program, UnOp,
};
use vyre_core::validate::{validate, validate_or_error, validate_with_limits, Diagnostic, Limits};
use vyre_core::Error;

use DataType::{Bool, F32, I32, U32};

fn bufs() -> Vec<BufferDecl> {
    vec![
        BufferDecl::read("input", 0, U32),
        BufferDecl::read_write("out", 1, U32),
        BufferDecl::read_write("fout", 2, F32),
        BufferDecl::uniform("params", 3, U32, 4),
        BufferDecl::workgroup("wg", U32, 64),
        BufferDecl::read_write("acc", 4, U32),
        BufferDecl::workgroup("wacc", I32, 4),
    ]
}

fn prog(body: Vec<Node>) -> Program {
    Program::new("t", bufs(), 64, body)
}

fn ok(p: &Program) {
    if let Err(problems) = validate(p) {
        panic!("expected a valid program, got:\n{}", render(&problems));
    }
}

fn render(problems: &[Diagnostic]) -> String {
    problems.iter().map(|d| format!("  {d}\n")).collect()
}

/// Validates `p`, expecting a diagnostic whose location contains `place` and
/// whose message contains `text`; every diagnostic must name the program and
/// end with a `Fix:`.
fn expect(p: &Program, place: &str, text: &str) -> Vec<Diagnostic> {
    let problems = validate(p).expect_err("expected the program to be invalid");
    for d in &problems {
        assert!(
            d.location.starts_with(&format!("program `{}`", p.name)),
            "location without program: {d}"
        );
        assert!(d.message.contains("Fix:"), "message without Fix: {d}");
    }
    assert!(
        problems
            .iter()
            .any(|d| d.location.contains(place) && d.message.contains(text)),
        "no diagnostic at `{place}` containing `{text}`; got:\n{}",
        render(&problems)
    );
    problems
}

fn lid() -> Expr {
    Expr::local_id()
}

// ---------------------------------------------------------------- program and buffers

#[test]
fn workgroup_size_out_of_range() {
    for size in [0, 257, u32::MAX] {
        let p = Program::new("t", bufs(), size, vec![]);
        expect(&p, "workgroup_size", "1..=256");
    }
    ok(&Program::new("t", bufs(), 256, vec![]));
}

#[test]
fn duplicate_buffer_name() {
    let mut b = bufs();
    b.push(BufferDecl::read("input", 9, U32));
    expect(
        &Program::new("t", b, 64, vec![]),
        "buffer `input` (buffers[7])",
        "already declared at buffers[0]",
    );
}

#[test]
fn duplicate_binding() {
    let mut b = bufs();
    b.push(BufferDecl::read("other", 1, U32));
    expect(
        &Program::new("t", b, 64, vec![]),
        "buffer `other` (buffers[7])",
        "binding 1 is already used",
    );
}

#[test]
fn workgroup_buffers_do_not_need_bindings() {
    let mut b = bufs();
    b.push(BufferDecl::workgroup("wg2", U32, 4)); // binding u32::MAX like `wg`
    ok(&Program::new("t", b, 64, vec![]));
}

#[test]
fn bool_element_type() {
    let b = vec![BufferDecl::read("flags", 0, Bool)];
    expect(
        &Program::new("t", b, 64, vec![]),
        "buffer `flags`",
        "element type is bool",
    );
}

#[test]
fn workgroup_and_uniform_need_len() {
    let mut wg = BufferDecl::workgroup("w", U32, 4);
    wg.len = None;
    let mut un = BufferDecl::uniform("u", 0, U32, 4);
    un.len = None;
    let p = Program::new("t", vec![wg, un], 64, vec![]);
    expect(&p, "buffer `w`", "needs a fixed length");
    expect(&p, "buffer `u`", "needs a fixed length");
}

#[test]
fn zero_length() {
    let p = Program::new(
        "t",
        vec![BufferDecl::read("a", 0, U32).with_len(0)],
        64,
        vec![],
    );
    expect(&p, "buffer `a`", "fixed length is 0");
}

#[test]
fn uniform_len_multiple_of_4() {
    let p = Program::new("t", vec![BufferDecl::uniform("u", 0, U32, 6)], 64, vec![]);
    expect(&p, "buffer `u`", "multiple of 4");
}

#[test]
fn uniform_too_big() {
    let p = Program::new(
        "t",
        vec![BufferDecl::uniform("u", 0, U32, 16388)],
        64,
        vec![],
    );
    expect(&p, "buffer `u`", "at most 16384 elements");
    ok(&Program::new(
        "t",
        vec![BufferDecl::uniform("u", 0, U32, 16384)],
        64,
        vec![],
    ));
}

#[test]
fn workgroup_memory_too_big() {
    let b = vec![
        BufferDecl::workgroup("a", U32, 4096),
        BufferDecl::workgroup("b", F32, 1),
    ];
    expect(
        &Program::new("t", b, 64, vec![]),
        "buffer `b` (buffers[1])",
        "16 KiB",
    );
    ok(&Program::new(
        "t",
        vec![BufferDecl::workgroup("a", U32, 4096)],
        64,
        vec![],
    ));
}

#[test]
fn buffer_names_are_identifiers() {
    for name in ["my-buf", "__x", "", "1a", "é"] {
        let p = Program::new("t", vec![BufferDecl::read(name, 0, U32)], 64, vec![]);
        expect(&p, "buffers[0]", "Fix: name buffers with an identifier");
    }
}

// ---------------------------------------------------------------- variables

#[test]
fn unknown_variable() {
    let p = prog(vec![
        Node::let_bind("a", Expr::u32(1)),
        Node::store("out", Expr::u32(0), Expr::var("b")),
    ]);
    expect(&p, "body[1] (store out)", "unknown variable `b`");
}

#[test]
fn variable_out_of_scope_after_block() {
    let p = prog(vec![
        Node::block(vec![Node::let_bind("x", Expr::u32(1))]),
        Node::store("out", Expr::u32(0), Expr::var("x")),
    ]);
    expect(&p, "body[1] (store out)", "unknown variable `x`");
}

#[test]
fn let_cannot_use_itself() {
    let p = prog(vec![Node::let_bind(
        "x",
        Expr::add(Expr::var("x"), Expr::u32(1)),
    )]);
    expect(&p, "body[0] (let x)", "unknown variable `x`");
}

#[test]
fn shadowing_is_rejected() {
    let p = prog(vec![
        Node::let_bind("x", Expr::u32(1)),
        Node::if_then(Expr::bool(true), vec![Node::let_bind("x", Expr::u32(2))]),
    ]);
    expect(&p, "body[1].then[0] (let x)", "already declared");
}

#[test]
fn for_variable_shadowing_is_rejected() {
    let p = prog(vec![
        Node::let_bind("i", Expr::u32(1)),
        Node::for_range("i", Expr::u32(0), Expr::u32(4), vec![]),
        Node::for_range(
            "j",
            Expr::u32(0),
            Expr::u32(4),
            vec![Node::let_bind("j", Expr::u32(0))],
        ),
    ]);
    expect(&p, "body[1] (for i)", "already declared");
    expect(
        &p,
        "body[2].body[0] (let j)",
        "`for` variable of that name is in scope",
    );
}

#[test]
fn variable_names_are_identifiers() {
    let p = prog(vec![
        Node::let_bind("a b", Expr::u32(1)),
        Node::let_bind("__t", Expr::u32(1)),
    ]);
    expect(
        &p,
        "body[0] (let a b)",
        "Fix: name variables with an identifier",
    );
    expect(&p, "body[1] (let __t)", "reserved");
}

#[test]
fn assign_to_undeclared() {
    let p = prog(vec![Node::assign("y", Expr::u32(1))]);
    expect(&p, "body[0] (assign y)", "not a declared variable");
}

#[test]
fn assign_to_for_variable() {
    let p = prog(vec![Node::for_range(
        "i",
        Expr::u32(0),
        Expr::u32(4),
        vec![Node::assign("i", Expr::u32(9))],
    )]);
    expect(&p, "body[0].body[0] (assign i)", "read-only");
}

#[test]
fn assign_wrong_type() {
    let p = prog(vec![
        Node::let_bind("x", Expr::u32(1)),
        Node::assign("x", Expr::f32(1.0)),
    ]);
    expect(&p, "body[1] (assign x)", "declared as u32 but is assigned");
}

// ---------------------------------------------------------------- types

fn let_x(e: Expr) -> Program {
    prog(vec![Node::let_bind("x", e)])
}

#[test]
fn binary_operand_types_differ() {
    expect(
        &let_x(Expr::add(Expr::u32(1), Expr::i32(1))),
        "body[0] (let x)",
        "different types, u32 and i32",
    );
    expect(
        &let_x(Expr::eq(Expr::u32(1), Expr::f32(1.0))),
        "body[0] (let x)",
        "different types, u32 and f32",
    );
}

#[test]
fn shift_amount_must_be_u32() {
    expect(
        &let_x(Expr::shl(Expr::i32(1), Expr::i32(1))),
        "body[0] (let x)",
        "amount of `shl` must be u32",
    );
    ok(&let_x(Expr::shr(Expr::i32(-8), Expr::u32(1))));
}

#[test]
fn shift_value_must_be_integer() {
    expect(
        &let_x(Expr::rotl(Expr::f32(1.0), Expr::u32(1))),
        "body[0] (let x)",
        "shifted by `rotl` must be u32 or i32",
    );
}

#[test]
fn arithmetic_on_bool() {
    expect(
        &let_x(Expr::add(Expr::bool(true), Expr::bool(false))),
        "body[0] (let x)",
        "arithmetic `add` on bools",
    );
    expect(
        &let_x(Expr::neg(Expr::bool(true))),
        "body[0] (let x)",
        "`neg` needs a u32, i32 or f32 operand",
    );
}

#[test]
fn bit_ops_need_integers() {
    expect(
        &let_x(Expr::bitand(Expr::bool(true), Expr::bool(false))),
        "body[0] (let x)",
        "use `and` / `or` for bools",
    );
    expect(
        &let_x(Expr::bitxor(Expr::f32(1.0), Expr::f32(2.0))),
        "body[0] (let x)",
        "`bitxor` needs u32 or i32",
    );
    expect(
        &let_x(Expr::bitnot(Expr::f32(1.0))),
        "body[0] (let x)",
        "`bitnot` needs a u32 or i32 operand",
    );
}

#[test]
fn count_ops_need_integers() {
    for op in [UnOp::Clz, UnOp::Ctz, UnOp::Popcount] {
        expect(
            &let_x(Expr::unary(op, Expr::f32(1.0))),
            "body[0] (let x)",
            "needs a u32 or i32 operand",
        );
    }
}

#[test]
fn ordering_bools_is_rejected() {
    expect(
        &let_x(Expr::lt(Expr::bool(true), Expr::bool(false))),
        "body[0] (let x)",
        "orders numbers, not bools",
    );
    ok(&let_x(Expr::ne(Expr::bool(true), Expr::bool(false))));
}

#[test]
fn logic_needs_bools() {
    expect(
        &let_x(Expr::and(Expr::u32(1), Expr::bool(true))),
        "body[0] (let x)",
        "`and` takes bools, not u32",
    );
    expect(
        &let_x(Expr::not(Expr::u32(1))),
        "body[0] (let x)",
        "`not` needs a bool operand",
    );
}

#[test]
fn select_types() {
    expect(
        &let_x(Expr::select(Expr::u32(1), Expr::u32(1), Expr::u32(2))),
        "body[0] (let x)",
        "select condition must be bool",
    );
    expect(
        &let_x(Expr::select(Expr::bool(true), Expr::u32(1), Expr::i32(2))),
        "body[0] (let x)",
        "two choices of select",
    );
}

#[test]
fn bitcast_only_between_numbers() {
    expect(
        &let_x(Expr::bitcast(Bool, Expr::u32(1))),
        "body[0] (let x)",
        "bitcast only converts",
    );
    expect(
        &let_x(Expr::bitcast(U32, Expr::bool(true))),
        "body[0] (let x)",
        "bitcast only converts",
    );
    ok(&let_x(Expr::bitcast(F32, Expr::i32(1))));
    ok(&let_x(Expr::cast(Bool, Expr::f32(1.0))));
}

#[test]
fn if_condition_must_be_bool() {
    let p = prog(vec![Node::if_then(Expr::u32(1), vec![])]);
    expect(&p, "body[0] (if)", "`if` condition must be bool");
}

#[test]
fn for_bounds_must_be_u32() {
    let p = prog(vec![Node::for_step(
        "i",
        Expr::i32(0),
        Expr::u32(4),
        Expr::f32(1.0),
        vec![],
    )]);
    expect(&p, "body[0] (for i)", "`for` start must be u32");
    expect(&p, "body[0] (for i)", "`for` step must be u32");
}

#[test]
fn index_must_be_u32() {
    let p = prog(vec![
        Node::let_bind("x", Expr::load("input", Expr::i32(0))),
        Node::store("out", Expr::f32(0.0), Expr::u32(1)),
    ]);
    expect(
        &p,
        "body[0] (let x)",
        "index of the load from `input` must be u32",
    );
    expect(&p, "body[1] (store out)", "store index must be u32");
}

#[test]
fn stored_value_type() {
    let p = prog(vec![Node::store("fout", Expr::u32(0), Expr::u32(1))]);
    expect(
        &p,
        "body[0] (store fout)",
        "has type u32 but buffer `fout` holds f32",
    );
}

#[test]
fn len_of_workgroup_buffer() {
    expect(
        &let_x(Expr::len("wg")),
        "body[0] (let x)",
        "len only applies to host-visible buffers",
    );
    ok(&let_x(Expr::len("params")));
}

// ---------------------------------------------------------------- memory

#[test]
fn unknown_buffer() {
    let p = prog(vec![
        Node::let_bind("x", Expr::load("nope", Expr::u32(0))),
        Node::store("nada", Expr::u32(0), Expr::u32(0)),
    ]);
    expect(&p, "body[0] (let x)", "load from unknown buffer `nope`");
    expect(&p, "body[1] (store nada)", "store to unknown buffer `nada`");
}

#[test]
fn store_to_read_only_or_uniform() {
    let p = prog(vec![
        Node::store("input", Expr::u32(0), Expr::u32(1)),
        Node::store("params", Expr::u32(0), Expr::u32(1)),
    ]);
    expect(
        &p,
        "body[0] (store input)",
        "a `read` buffer, which the program may not write",
    );
    expect(&p, "body[1] (store params)", "a `uniform` buffer");
}

#[test]
fn atomic_needs_writable_integer_buffer() {
    let p = prog(vec![
        Node::eval(Expr::atomic_add("input", Expr::u32(0), Expr::u32(1))),
        Node::eval(Expr::atomic_add("fout", Expr::u32(0), Expr::f32(1.0))),
    ]);
    expect(
        &p,
        "body[0] (eval)",
        "atomics need a `read_write` or `workgroup` buffer",
    );
    expect(&p, "body[1] (eval)", "atomics need u32 or i32 elements");
}

#[test]
fn atomic_operand_types() {
    let p = prog(vec![
        Node::eval(Expr::atomic_add("wacc", Expr::u32(0), Expr::u32(1))),
        Node::let_bind(
            "a",
            Expr::atomic_compare_exchange("acc", Expr::u32(0), Expr::i32(0), Expr::u32(1)),
        ),
        Node::let_bind("b", Expr::atomic_load("wacc", Expr::u32(0))), // atomic_load ignores its value
    ]);
    expect(
        &p,
        "body[0] (eval)",
        "has type u32 but buffer `wacc` holds i32",
    );
    expect(&p, "body[1] (let a)", "expected value");
    assert_eq!(validate(&p).unwrap_err().len(), 2);
}

#[test]
fn atomic_expected_operand() {
    let missing = Expr::Atomic {
        op: AtomicOp::CompareExchange,
        buffer: "acc".into(),
        index: Box::new(Expr::u32(0)),
        value: Box::new(Expr::u32(1)),
        expected: None,
    };
    let extra = Expr::Atomic {
        op: AtomicOp::Add,
        buffer: "acc".into(),
        index: Box::new(Expr::u32(0)),
        value: Box::new(Expr::u32(1)),
        expected: Some(Box::new(Expr::u32(0))),
    };
    let p = prog(vec![Node::eval(missing), Node::eval(extra)]);
    expect(&p, "body[0] (eval)", "has no expected value");
    expect(&p, "body[1] (eval)", "only atomic_compare_exchange takes");
}

#[test]
fn atomic_only_as_whole_value() {
    let p = prog(vec![
        Node::let_bind(
            "x",
            Expr::add(
                Expr::atomic_add("acc", Expr::u32(0), Expr::u32(1)),
                Expr::u32(1),
            ),
        ),
        Node::if_then(
            Expr::eq(Expr::atomic_load("acc", Expr::u32(0)), Expr::u32(0)),
            vec![],
        ),
    ]);
    expect(
        &p,
        "body[0] (let x)",
        "an atomic may only be the whole value",
    );
    expect(&p, "body[1] (if)", "an atomic may only be the whole value");
}

#[test]
fn uniform_load_only_as_whole_value() {
    let p = prog(vec![Node::let_bind(
        "x",
        Expr::add(Expr::uniform_load("wg", Expr::u32(0)), Expr::u32(1)),
    )]);
    expect(
        &p,
        "body[0] (let x)",
        "uniform_load may only be the whole value",
    );
}

#[test]
fn uniform_load_in_eval() {
    let p = prog(vec![Node::eval(Expr::uniform_load("wg", Expr::u32(0)))]);
    expect(&p, "body[0] (eval)", "evaluated for effect only");
}

#[test]
fn uniform_load_needs_non_atomic_workgroup_buffer() {
    let p = prog(vec![
        Node::let_bind("a", Expr::uniform_load("input", Expr::u32(0))),
        Node::eval(Expr::atomic_add("wacc", Expr::u32(0), Expr::i32(1))),
        Node::let_bind("b", Expr::uniform_load("wacc", Expr::u32(0))),
    ]);
    expect(&p, "body[0] (let a)", "only reads workgroup buffers");
    expect(&p, "body[2] (let b)", "target of atomics");
}

#[test]
fn eval_without_effect() {
    let p = prog(vec![Node::eval(Expr::add(Expr::u32(1), Expr::u32(2)))]);
    expect(&p, "body[0] (eval)", "has no effect");
}

#[test]
fn break_and_continue_outside_loop() {
    let p = prog(vec![
        Node::if_then(Expr::bool(true), vec![Node::Break]),
        Node::Continue,
    ]);
    expect(&p, "body[0].then[0] (break)", "`break` is not inside");
    expect(&p, "body[1] (continue)", "`continue` is not inside");
}

// ---------------------------------------------------------------- uniformity

#[test]
fn barrier_under_non_uniform_if() {
    let p = prog(vec![Node::if_then(
        Expr::lt(lid(), Expr::u32(4)),
        vec![Node::Barrier],
    )]);
    let d = expect(&p, "body[0].then[0] (barrier)", "non-uniform control flow");
    assert!(
        d[0].message
            .contains("the condition of the `if` at body[0] (if)"),
        "{}",
        d[0]
    );
    assert!(d[0].message.contains("@local_id"), "{}", d[0]);
}

#[test]
fn barrier_under_condition_on_non_uniform_variable() {
    let p = prog(vec![
        Node::let_bind("g", Expr::global_id()),
        Node::let_bind("c", Expr::load("input", Expr::u32(0))),
        Node::if_then(
            Expr::eq(Expr::var("g"), Expr::var("c")),
            vec![Node::Barrier],
        ),
    ]);
    let d = expect(
        &p,
        "body[2].then[0] (barrier)",
        "variable `g` (let at body[0] (let g))",
    );
    assert!(d[0].message.contains("@global_id"), "{}", d[0]);
}

#[test]
fn barrier_in_for_with_non_uniform_bounds() {
    let p = prog(vec![Node::for_range(
        "i",
        Expr::u32(0),
        Expr::load("input", lid()),
        vec![Node::Barrier],
    )]);
    expect(&p, "body[0].body[0] (barrier)", "a load from `input`");
}

#[test]
fn barrier_in_loop_with_non_uniform_break() {
    let p = prog(vec![Node::loop_(vec![
        Node::Barrier,
        Node::if_then(Expr::eq(lid(), Expr::u32(0)), vec![Node::Break]),
    ])]);
    expect(
        &p,
        "body[0].body[0] (barrier)",
        "the early exits of the loop at body[0] (loop)",
    );
}

#[test]
fn barrier_after_non_uniform_return() {
    let p = prog(vec![
        Node::if_then(Expr::gt(lid(), Expr::u32(10)), vec![Node::Return]),
        Node::Barrier,
    ]);
    let d = expect(
        &p,
        "body[1] (barrier)",
        "the `return` at body[0].then[0] (return)",
    );
    assert!(
        d[0].message.contains("the code after body[0] (if)"),
        "{}",
        d[0]
    );
}

#[test]
fn barrier_after_non_uniform_continue() {
    let p = prog(vec![Node::for_range(
        "i",
        Expr::u32(0),
        Expr::u32(4),
        vec![
            Node::if_then(Expr::eq(lid(), Expr::var("i")), vec![Node::Continue]),
            Node::Barrier,
        ],
    )]);
    expect(&p, "body[0].body[1] (barrier)", "break/continue");
}

#[test]
fn variable_assigned_in_non_uniform_flow() {
    let p = prog(vec![
        Node::let_bind("x", Expr::u32(0)),
        Node::if_then(
            Expr::eq(lid(), Expr::u32(0)),
            vec![Node::assign("x", Expr::u32(1))],
        ),
        Node::if_then(Expr::eq(Expr::var("x"), Expr::u32(1)), vec![Node::Barrier]),
    ]);
    expect(
        &p,
        "body[2].then[0] (barrier)",
        "the assignment to `x` at body[1].then[0] (assign x)",
    );
}

#[test]
fn loop_carried_non_uniform_assignment() {
    // x is uniform on the first iteration only: the later assignment taints it.
    let p = prog(vec![
        Node::let_bind("x", Expr::u32(0)),
        Node::for_range(
            "i",
            Expr::u32(0),
            Expr::u32(4),
            vec![
                Node::if_then(Expr::eq(Expr::var("x"), Expr::u32(0)), vec![Node::Barrier]),
                Node::assign("x", lid()),
            ],
        ),
    ]);
    expect(&p, "body[1].body[0].then[0] (barrier)", "variable `x`");
}

#[test]
fn uniform_load_in_non_uniform_flow_or_index() {
    let p = prog(vec![
        Node::if_then(
            Expr::eq(lid(), Expr::u32(0)),
            vec![Node::let_bind("a", Expr::uniform_load("wg", Expr::u32(0)))],
        ),
        Node::let_bind("b", Expr::uniform_load("wg", lid())),
    ]);
    expect(
        &p,
        "body[0].then[0] (let a)",
        "uniform_load needs uniform control flow and a uniform index",
    );
    expect(
        &p,
        "body[1] (let b)",
        "the control flow and index of the uniform_load at body[1] (let b)",
    );
}

// ---------------------------------------------------------------- limits

/// Drops a deep program without recursion (Rust's drop glue would recurse).
fn dismantle(body: Vec<Node>) {
    let mut nodes = body;
    let mut exprs: Vec<Expr> = Vec::new();
    while let Some(n) = nodes.pop() {
        match n {
            Node::If {
                cond,
                then,
                otherwise,
            } => {
                exprs.push(cond);
                nodes.extend(then);
                nodes.extend(otherwise);
            }
            Node::For {
                start,
                end,
                step,
                body,
                ..
            } => {
                exprs.extend([start, end, step]);
                nodes.extend(body);
            }
            Node::Loop { body } | Node::Block(body) => nodes.extend(body),
            Node::Let { value, .. } | Node::Assign { value, .. } | Node::Eval(value) => {
                exprs.push(value)
            }
            Node::Store { index, value, .. } => exprs.extend([index, value]),
            Node::Break | Node::Continue | Node::Barrier | Node::Return => {}
        }
        while let Some(e) = exprs.pop() {
            match e {
                Expr::Load { index: a, .. } | Expr::UniformLoad { index: a, .. } => exprs.push(*a),
                Expr::Unary { arg: a, .. }
                | Expr::Cast { arg: a, .. }
                | Expr::Bitcast { arg: a, .. } => exprs.push(*a),
                Expr::Binary { lhs, rhs, .. } => exprs.extend([*lhs, *rhs]),
                Expr::Select {
                    cond,
                    on_true,
                    on_false,
                } => exprs.extend([*cond, *on_true, *on_false]),
                Expr::Atomic {
                    index,
                    value,
                    expected,
                    ..
                } => {
                    exprs.extend([*index, *value]);
                    exprs.extend(expected.map(|x| *x));
                }
                _ => {}
            }
        }
    }
}

fn nested_blocks(depth: usize, leaf: Node) -> Vec<Node> {
    let mut body = vec![leaf];
    for _ in 0..depth {
        body = vec![Node::block(body)];
    }
    body
}

#[test]
fn nesting_limit() {
    // 64 levels: fine (the leaf is at depth 64).
    let p = prog(nested_blocks(63, Node::let_bind("x", Expr::u32(1))));
    ok(&p);
    dismantle(p.body);
    // Absurdly deep: a diagnostic, no stack overflow (the test thread has a small stack).
    let mut p = prog(nested_blocks(200_000, Node::Barrier));
    let d = expect(&p, "body[0].block[0]", "nested more than 64 levels deep");
    assert_eq!(d.len(), 1, "{}", render(&d));
    dismantle(std::mem::take(&mut p.body));
}

#[test]
fn expression_depth_limit() {
    let mut e = Expr::u32(1);
    for _ in 0..63 {
        e = Expr::bitnot(e);
    }
    ok(&let_x(e.clone()));
    for _ in 0..300_000 {
        e = Expr::add(e, Expr::u32(1));
    }
    let mut p = prog(vec![
        Node::let_bind("a", Expr::u32(0)),
        Node::store("out", Expr::u32(0), e),
    ]);
    expect(
        &p,
        "body[1] (store out)",
        "stored value expression is nested more than 64 levels",
    );
    dismantle(std::mem::take(&mut p.body));
}

#[test]
fn node_count_limit() {
    let limits = Limits {
        max_nodes: 1000,
        ..Limits::DEFAULT
    };
    let body: Vec<Node> = (0..1001).map(|_| Node::Barrier).collect();
    let d = validate_with_limits(&prog(body.clone()), &limits).unwrap_err();
    assert!(
        d.iter()
            .any(|d| d.message.contains("more than 1000 statements")),
        "{}",
        render(&d)
    );
    assert!(validate_with_limits(&prog(body[..1000].to_vec()), &limits).is_ok());
    let limits = Limits {
        max_exprs: 10,
        ..Limits::DEFAULT
    };
    let body: Vec<Node> = (0..11)
        .map(|_| Node::let_bind("x", Expr::u32(0)))
        .map(|n| Node::block(vec![n]))
        .collect();
    let d = validate_with_limits(&prog(body), &limits).unwrap_err();
    assert!(
        d.iter()
            .any(|d| d.message.contains("more than 10 expression nodes")),
        "{}",
        render(&d)
    );
}

#[test]
fn huge_program_at_default_limits() {
    // A million and one statements: rejected quickly, with one diagnostic.
    let body: Vec<Node> = (0..1_000_001).map(|_| Node::Return).collect();
    let d = validate(&prog(body)).unwrap_err();
    assert_eq!(d.len(), 1, "{}", render(&d));
    assert!(d[0].message.contains("more than 1000000 statements"));
}

#[test]
fn diagnostic_cap() {
    let body: Vec<Node> = (0..50).map(|_| Node::Break).collect();
    let limits = Limits {
        max_diagnostics: 10,
        ..Limits::DEFAULT
    };
    let d = validate_with_limits(&prog(body.clone()), &limits).unwrap_err();
    assert_eq!(d.len(), 11);
    assert!(d[10].message.contains("40 more problem(s)"), "{}", d[10]);
    assert_eq!(validate(&prog(body)).unwrap_err().len(), 50);
}

// ---------------------------------------------------------------- all at once

#[test]
fn all_problems_are_reported() {
    let mut b = bufs();
    b.push(BufferDecl::read("input", 7, U32));
    let p = Program::new(
        "many",
        b,
        0,
        vec![
            Node::let_bind("x", Expr::var("nope")),
            Node::store("input", Expr::u32(0), Expr::u32(1)),
            Node::if_then(Expr::u32(1), vec![Node::Break]),
            Node::if_then(Expr::eq(lid(), Expr::u32(0)), vec![Node::Barrier]),
            Node::eval(Expr::u32(3)),
        ],
    );
    let d = validate(&p).unwrap_err();
    let wanted = [
        ("workgroup_size", "1..=256"),
        ("buffers[7]", "already declared"),
        ("body[0] (let x)", "unknown variable `nope`"),
        ("body[1] (store input)", "may not write"),
        ("body[2] (if)", "must be bool"),
        ("body[2].then[0] (break)", "not inside"),
        ("body[3].then[0] (barrier)", "non-uniform"),
        ("body[4] (eval)", "no effect"),
    ];
    for (place, text) in wanted {
        assert!(
            d.iter()
                .any(|x| x.location.contains(place) && x.message.contains(text)),
            "missing {place}: {text} in\n{}",
            render(&d)
        );
    }
    assert_eq!(d.len(), wanted.len(), "{}", render(&d));
    match validate_or_error(&p) {
        Err(Error::Invalid { program, problems }) => {
            assert_eq!(program, "many");
            assert_eq!(problems, d);
        }
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
    let text = validate_or_error(&p).unwrap_err().to_string();
    assert!(
        text.contains("program `many` is invalid (8 problem(s))"),
        "{text}"
    );
}

// ---------------------------------------------------------------- valid programs

#[test]
fn valid_copy() {
    let p = prog(vec![
        Node::let_bind("i", Expr::global_id()),
        Node::if_then(
            Expr::lt(Expr::var("i"), Expr::len("input")),
            vec![Node::store(
                "out",
                Expr::var("i"),
                Expr::load("input", Expr::var("i")),
            )],
        ),
    ]);
    ok(&p);
    assert!(validate_or_error(&p).is_ok());
}

#[test]
fn valid_barriers_in_uniform_flow() {
    // Workgroup tree reduction: uniform loop bounds, non-uniform work between barriers.
    let p = prog(vec![
        Node::store("wg", lid(), Expr::load("input", Expr::global_id())),
        Node::Barrier,
        Node::let_bind("s", Expr::shr(Expr::workgroup_size(), Expr::u32(1))),
        Node::loop_(vec![
            Node::if_then(Expr::eq(Expr::var("s"), Expr::u32(0)), vec![Node::Break]),
            Node::if_then(
                Expr::lt(lid(), Expr::var("s")),
                vec![Node::store(
                    "wg",
                    lid(),
                    Expr::add(
                        Expr::load("wg", lid()),
                        Expr::load("wg", Expr::add(lid(), Expr::var("s"))),
                    ),
                )],
            ),
            Node::Barrier,
            Node::assign("s", Expr::shr(Expr::var("s"), Expr::u32(1))),
        ]),
        Node::for_step(
            "k",
            Expr::load("params", Expr::u32(0)),
            Expr::len("input"),
            Expr::workgroup_id(),
            vec![Node::Barrier],
        ),
        Node::if_then(
            Expr::eq(Expr::workgroup_id(), Expr::u32(0)),
            vec![Node::Return],
        ),
        Node::Barrier,
        Node::if_then(
            Expr::eq(lid(), Expr::u32(0)),
            vec![
                Node::store("out", Expr::workgroup_id(), Expr::load("wg", Expr::u32(0))),
                Node::Return,
            ],
        ),
    ]);
    ok(&p);
}

#[test]
fn valid_shadowing_in_sibling_blocks() {
    let p = prog(vec![
        Node::if_else(
            Expr::bool(true),
            vec![Node::let_bind("x", Expr::u32(1))],
            vec![Node::let_bind("x", Expr::f32(1.0))],
        ),
        Node::for_range(
            "i",
            Expr::u32(0),
            Expr::u32(2),
            vec![Node::let_bind("t", Expr::var("i"))],
        ),
        Node::for_range(
            "i",
            Expr::u32(0),
            Expr::u32(2),
            vec![Node::let_bind("t", Expr::cast(I32, Expr::var("i")))],
        ),
        Node::block(vec![Node::let_bind("x", Expr::i32(3))]),
        Node::let_bind("x", Expr::bool(false)),
    ]);
    ok(&p);
}

#[test]
fn valid_uniform_load_results_in_conditions_around_barriers() {
    let p = prog(vec![
        Node::let_bind("round", Expr::u32(0)),
        Node::loop_(vec![
            Node::if_then(
                Expr::eq(lid(), Expr::u32(0)),
                vec![Node::store(
                    "wg",
                    Expr::u32(0),
                    Expr::load("input", Expr::var("round")),
                )],
            ),
            Node::let_bind("stop", Expr::uniform_load("wg", Expr::u32(0))),
            Node::if_then(Expr::ne(Expr::var("stop"), Expr::u32(0)), vec![Node::Break]),
            Node::Barrier,
            Node::assign("round", Expr::add(Expr::var("round"), Expr::var("stop"))),
            Node::assign("round", Expr::uniform_load("wg", Expr::var("round"))),
            Node::if_then(
                Expr::gt(Expr::var("round"), Expr::u32(9)),
                vec![Node::Barrier, Node::Break],
            ),
        ]),
        Node::Barrier,
    ]);
    ok(&p);
}

#[test]
fn valid_atomics() {
    let p = prog(vec![
        Node::let_bind("old", Expr::atomic_add("acc", Expr::u32(0), Expr::u32(1))),
        Node::assign(
            "old",
            Expr::atomic_compare_exchange("acc", Expr::u32(1), Expr::u32(0), Expr::var("old")),
        ),
        Node::eval(Expr::atomic_max("wacc", Expr::u32(0), Expr::i32(-1))),
        Node::store("acc", Expr::u32(2), Expr::u32(7)),
        Node::let_bind(
            "v",
            Expr::binary(
                BinOp::Add,
                Expr::load("acc", Expr::u32(2)),
                Expr::var("old"),
            ),
        ),
    ]);
    ok(&p);
}

#[test]
fn valid_payload_program() {
    let body = vec![Node::for_range(
        "i",
        Expr::u32(0),
        payload::param_len("data"),
        vec![
            Node::let_bind("b", payload::byte_load("data", Expr::var("i"))),
            Node::eval(payload::word_atomic(
                AtomicOp::Add,
                "acc",
                Expr::var("b"),
                Expr::u32(1),
                None,
            )),
        ],
    )];
    let payload = Payload {
        tables: Vec::new(),
        name: "count".into(),
        params: vec![
            Param {
                name: "data".into(),
                kind: ParamKind::Bytes,
                len: None,
                reduce: Default::default(),
            },
            Param {
                name: "acc".into(),
                kind: ParamKind::Accumulator,
                len: Some(256),
                reduce: Default::default(),
            },
        ],
        look_behind: 0,
        body,
        combine: None,
        native: Default::default(),
    };
    ok(&payload.to_program(64));
}

// ---------------------------------------------------------------- fuzz

const NAMES: &[&str] = &[
    "x", "y", "i", "input", "out", "fout", "params", "wg", "acc", "wacc", "", "__r", "é", "a-b",
];

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES).prop_map(str::to_string)
}

fn dtype() -> impl Strategy<Value = DataType> {
    prop::sample::select(&[U32, I32, F32, Bool][..])
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        any::<u32>().prop_map(Expr::u32),
        any::<i32>().prop_map(Expr::i32),
        any::<bool>().prop_map(Expr::bool),
        any::<u32>().prop_map(|b| Expr::f32(f32::from_bits(b))),
        name().prop_map(|n| Expr::var(&n)),
        name().prop_map(|n| Expr::len(&n)),
        prop::sample::select(&[0u8, 1, 2, 3, 4][..]).prop_map(|b| match b {
            0 => Expr::global_id(),
            1 => Expr::local_id(),
            2 => Expr::workgroup_id(),
            3 => Expr::num_workgroups(),
            _ => Expr::workgroup_size(),
        }),
    ];
    leaf.prop_recursive(6, 48, 3, |inner| {
        let unops = [
            UnOp::Neg,
            UnOp::BitNot,
            UnOp::Not,
            UnOp::Clz,
            UnOp::Ctz,
            UnOp::Popcount,
        ];
        let binops = [
            BinOp::Add,
            BinOp::Sub,
            BinOp::Mul,
            BinOp::Div,
            BinOp::Rem,
            BinOp::BitAnd,
            BinOp::BitOr,
            BinOp::BitXor,
            BinOp::Shl,
            BinOp::Shr,
            BinOp::RotateLeft,
            BinOp::RotateRight,
            BinOp::Min,
            BinOp::Max,
            BinOp::Eq,
            BinOp::Ne,
            BinOp::Lt,
            BinOp::Le,
            BinOp::Gt,
            BinOp::Ge,
            BinOp::And,
            BinOp::Or,
        ];
        let atomics = [
            AtomicOp::Load,
            AtomicOp::Store,
            AtomicOp::Add,
            AtomicOp::Sub,
            AtomicOp::Max,
            AtomicOp::Min,
            AtomicOp::And,
            AtomicOp::Or,
            AtomicOp::Xor,
            AtomicOp::Exchange,
            AtomicOp::CompareExchange,
        ];
        prop_oneof![
            (prop::sample::select(unops.to_vec()), inner.clone())
                .prop_map(|(op, a)| Expr::unary(op, a)),
            (
                prop::sample::select(binops.to_vec()),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, a, b)| Expr::binary(op, a, b)),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, a, b)| Expr::select(c, a, b)),
            (dtype(), inner.clone()).prop_map(|(t, a)| Expr::cast(t, a)),
            (dtype(), inner.clone()).prop_map(|(t, a)| Expr::bitcast(t, a)),
            (name(), inner.clone()).prop_map(|(n, i)| Expr::load(&n, i)),
            (name(), inner.clone()).prop_map(|(n, i)| Expr::uniform_load(&n, i)),
            (
                prop::sample::select(atomics.to_vec()),
                name(),
                inner.clone(),
                inner.clone(),
                prop::option::of(inner.clone())
            )
                .prop_map(|(op, n, i, v, x)| Expr::Atomic {
                    op,
                    buffer: n,
                    index: Box::new(i),
                    value: Box::new(v),
                    expected: x.map(Box::new),
                }),
        ]
    })
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        (name(), expr()).prop_map(|(n, e)| Node::let_bind(&n, e)),
        (name(), expr()).prop_map(|(n, e)| Node::assign(&n, e)),
        (name(), expr(), expr()).prop_map(|(b, i, v)| Node::store(&b, i, v)),
        expr().prop_map(Node::eval),
        Just(Node::Break),
        Just(Node::Continue),
        Just(Node::Barrier),
        Just(Node::Return),
    ];
    leaf.prop_recursive(8, 64, 4, |inner| {
        let block = prop::collection::vec(inner, 0..4);
        prop_oneof![
            (expr(), block.clone(), block.clone()).prop_map(|(c, t, e)| Node::if_else(c, t, e)),
            (name(), expr(), expr(), expr(), block.clone())
                .prop_map(|(v, s, e, st, b)| Node::for_step(&v, s, e, st, b)),
            block.clone().prop_map(Node::loop_),
            block.prop_map(Node::block),
        ]
    })
}

fn access() -> impl Strategy<Value = Access> {
    prop::sample::select(
        &[
            Access::ReadOnly,
            Access::ReadWrite,
            Access::Uniform,
            Access::Workgroup,
            Access::Constant,
        ][..],
    )
}

fn buffer() -> impl Strategy<Value = BufferDecl> {
    (
        name(),
        0u32..6,
        dtype(),
        access(),
        prop::option::of(prop_oneof![Just(0u32), 1u32..10_000, Just(u32::MAX)]),
    )
        .prop_map(|(name, binding, elem, access, len)| BufferDecl {
            name,
            binding,
            elem,
            access,
            // Constant buffers get words to match their length (capped).
            data: match (access, len) {
                (Access::Constant, Some(n)) => vec![7; n.min(64) as usize],
                _ => Vec::new(),
            },
            len,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn garbage_never_panics(
        buffers in prop::collection::vec(buffer(), 0..6),
        body in prop::collection::vec(node(), 0..8),
        size in prop_oneof![Just(0u32), 1u32..300, Just(u32::MAX)],
        limit in 1u32..8,
    ) {
        let p = Program::new("fuzz", buffers, size, body);
        for result in [validate(&p), validate_with_limits(&p, &Limits { max_node_depth: limit, max_expr_depth: limit, max_nodes: 40, max_exprs: 200, max_diagnostics: 5 })] {
            if let Err(problems) = result {
                prop_assert!(!problems.is_empty());
                for d in &problems {
                    prop_assert!(d.location.starts_with("program `fuzz`"), "{}", d);
                    prop_assert!(d.message.contains("Fix:"), "{}", d);
                }
            }
        }
    }

    #[test]
    fn valid_buffers_in_random_programs(body in prop::collection::vec(node(), 0..8)) {
        // With the standard buffers most names resolve, so the deeper checks run.
        let p = prog(body);
        let _ = validate(&p);
    }
}

/// Constant buffers: loads are fine (also with a uniform index), stores and
/// atomics are refused, the words must match the length, data on another
/// buffer is refused, and they count against workgroup memory.
#[test]
fn constant_buffers() {
    let with = |extra: BufferDecl, body: Vec<Node>| {
        let mut b = bufs();
        b.push(extra);
        Program::new("t", b, 64, body)
    };
    let table = || BufferDecl::constant("tab", 9, U32, vec![1, 2, 3]);
    ok(&with(
        table(),
        vec![Node::store(
            "out",
            Expr::u32(0),
            Expr::load("tab", Expr::local_id()),
        )],
    ));
    expect(
        &with(
            table(),
            vec![Node::store("tab", Expr::u32(0), Expr::u32(1))],
        ),
        "body",
        "a `constant` buffer",
    );
    expect(
        &with(
            table(),
            vec![Node::eval(Expr::atomic_add(
                "tab",
                Expr::u32(0),
                Expr::u32(1),
            ))],
        ),
        "body",
        "tab",
    );
    let mut short = table();
    short.data.pop();
    expect(&with(short, vec![]), "tab", "holds 2 words");
    let mut stray = BufferDecl::read("stray", 9, U32);
    stray.data = vec![1];
    expect(&with(stray, vec![]), "stray", "only constant buffers");
    // bufs() has 68 workgroup words; 4030 more go past 16 KiB.
    let big = BufferDecl::constant("big", 9, U32, vec![0; 4030]);
    expect(&with(big, vec![]), "big", "workgroup and constant buffers");
    // A binding shared with a host buffer.
    let clash = BufferDecl::constant("clash", 0, U32, vec![1]);
    expect(&with(clash, vec![]), "clash", "binding 0");
}
