//! The JIT (`vyre_core::jit`): payloads compiled to machine code give
//! exactly what the CPU reference gives for the same payload run by one
//! lane: hundreds of random payloads (random programs rewritten into
//! payloads, half of them reading a table, two thirds reading the data
//! through the data helpers the JIT lowers as idioms), every operation on
//! edge values, atomics; a runaway loop spends the iteration budget; what
//! the JIT cannot compile is refused. (Memory confinement, tables and the
//! data helpers at their edges: `tests/jit_data.rs`.)
//!
//! `VYRE_JIT_CASES` sets the number of random payloads (default 400).

mod support;

use support::jit::{param, payload, reference, run_jit, slot_params};
use support::progen::{random_program, Rng};
use vyre_core::ir::payload::{
    byte_load, byte_word_load, param_var, table_load, word_atomic, word_load, word_store, Table,
};
use vyre_core::{
    jit, Access, AtomicOp, BinOp, Builtin, DataType, Expr, NativeSlot, Node, Param, ParamKind,
    Payload, Program, UnOp,
};

/// Output words of random payloads (as many as 64 lanes would own).
const OUT_WORDS: u32 = 64 * 8;

// ---- random payloads -------------------------------------------------

/// The table random payloads with a table read instead of `ii`.
const II_TABLE: &str = "II";

/// Rewrites a random program into a payload (as `tests/interp.rs` does):
/// `iu`/`ii` → words of the slot's bytes (or, `seed` odd, `ii` → a table
/// of 40 to 71 words), `out` → bounded accesses of the output, `acc` →
/// bounded atomics of the accumulator, invocation ids → the lane's.
fn to_payload(p: &Program, seed: u64) -> Option<Payload> {
    if p.buffers.iter().any(|b| b.access == Access::Workgroup) {
        return None; // barriers: the JIT refuses them (tested below)
    }
    let table = seed % 2 == 1;
    let read = match (seed / 2) % 3 {
        0 => Read::Raw,
        1 => Read::Word,
        _ => Read::Byte,
    };
    let body = p.body.iter().map(|n| node(n, table, read)).collect();
    let mut rng = Rng::new(seed ^ 0x7AB1E);
    let words: Vec<u32> = (0..40 + rng.below(32)).map(|_| rng.next() as u32).collect();
    let tables = if table {
        vec![Table::new(II_TABLE, &words)]
    } else {
        Vec::new()
    };
    Some(payload(&p.name, slot_params(OUT_WORDS, 8), tables, body))
}

/// How random payloads read `iu`: plain loads of `data`'s words, or the
/// data helpers (`byte_word_load`, `byte_load`), which the JIT lowers as
/// idioms (`jit/idiom.rs`), at the random index.
#[derive(Clone, Copy)]
enum Read {
    Raw,
    Word,
    Byte,
}

fn word(index: Expr, skip: u32) -> Expr {
    let base = Expr::shr(Expr::var(&param_var("data", "off")), Expr::u32(2));
    Expr::load("data", Expr::add(Expr::add(base, Expr::u32(skip)), index))
}

fn node(n: &Node, table: bool, read: Read) -> Node {
    let nodes = |ns: &[Node]| ns.iter().map(|n| node(n, table, read)).collect::<Vec<_>>();
    let expr = |e: &Expr| expr(e, table, read);
    match n {
        Node::Let { name, value } => Node::let_bind(name, expr(value)),
        Node::Assign { name, value } => Node::assign(name, expr(value)),
        Node::Store { index, value, .. } => word_store("out", expr(index), expr(value)),
        Node::Eval(e) => Node::Eval(expr(e)),
        Node::If {
            cond,
            then,
            otherwise,
        } => Node::if_else(expr(cond), nodes(then), nodes(otherwise)),
        Node::For {
            var,
            start,
            end,
            step,
            body,
        } => Node::for_step(var, expr(start), expr(end), expr(step), nodes(body)),
        Node::Loop { body } => Node::loop_(nodes(body)),
        Node::Block(b) => Node::block(nodes(b)),
        other => other.clone(),
    }
}

fn expr(e: &Expr, table: bool, read: Read) -> Expr {
    let b = |x: &Expr| Box::new(expr(x, table, read));
    let expr = |x: &Expr| expr(x, table, read);
    match e {
        Expr::Load { buffer, index } if buffer == "iu" => match read {
            Read::Raw => word(expr(index), 0),
            Read::Word => byte_word_load("data", expr(index)),
            Read::Byte => byte_load("data", expr(index)),
        },
        Expr::Load { buffer, index } if buffer == "ii" && table => {
            Expr::bitcast(DataType::I32, table_load(II_TABLE, expr(index)))
        }
        Expr::Load { buffer, index } if buffer == "ii" => {
            Expr::bitcast(DataType::I32, word(expr(index), 64))
        }
        Expr::Load { index, .. } => word_load("out", expr(index)),
        Expr::Len(_) => Expr::shr(Expr::var(&param_var("data", "len")), Expr::u32(2)),
        Expr::Builtin(Builtin::GlobalId | Builtin::LocalId) => Expr::var(&param_var("lanes", "id")),
        Expr::Builtin(Builtin::WorkgroupSize) => Expr::var(&param_var("lanes", "count")),
        Expr::Builtin(Builtin::WorkgroupId) => Expr::u32(0),
        Expr::Builtin(Builtin::NumWorkgroups) => Expr::u32(1),
        Expr::Atomic {
            op,
            index,
            value,
            expected,
            ..
        } => word_atomic(
            *op,
            "acc",
            expr(index),
            expr(value),
            expected.as_deref().map(expr),
        ),
        Expr::Unary { op, arg } => Expr::Unary {
            op: *op,
            arg: b(arg),
        },
        Expr::Binary { op, lhs, rhs } => Expr::Binary {
            op: *op,
            lhs: b(lhs),
            rhs: b(rhs),
        },
        Expr::Select {
            cond,
            on_true,
            on_false,
        } => Expr::Select {
            cond: b(cond),
            on_true: b(on_true),
            on_false: b(on_false),
        },
        Expr::Cast { to, arg } => Expr::Cast {
            to: *to,
            arg: b(arg),
        },
        Expr::Bitcast { to, arg } => Expr::Bitcast {
            to: *to,
            arg: b(arg),
        },
        other => other.clone(),
    }
}

fn slot_data(rng: &mut Rng) -> Vec<u8> {
    // 128 words (iu then ii), sometimes short so some loads fall outside
    // (and the last word is partly past the end).
    let len = if rng.chance(20) { rng.below(512) } else { 512 };
    (0..len).map(|_| rng.next() as u8).collect()
}

#[test]
fn random_payloads_jit_equals_cpu_reference() {
    let cases: usize = std::env::var("VYRE_JIT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let mut rng = Rng::new(21);
    let mut ran = 0;
    for seed in 0.. {
        if ran == cases {
            break;
        }
        let Some(p) = to_payload(&random_program(seed), seed) else {
            continue;
        };
        let init = vec![0u32; OUT_WORDS as usize + 8];
        for _ in 0..2 {
            let data = slot_data(&mut rng);
            let Ok(want) = reference(&p, &data, &init) else {
                continue; // the reference's step budget: not comparable
            };
            let (got, spent) = run_jit(&p, &data, &init, u64::MAX - 1);
            assert!(!spent);
            assert_eq!(
                got,
                want,
                "seed {seed}: JIT != CPU reference (data {} bytes)\n{}",
                data.len(),
                vyre_core::ir::nodes_to_text(&p.body, 0)
            );
        }
        ran += 1;
    }
}

// ---- every operation on edge values -----------------------------------

const EDGE_INT: [u32; 12] = [
    0,
    1,
    2,
    3,
    31,
    32,
    33,
    0x7fff_ffff,
    0x8000_0000,
    0x8000_0001,
    0xffff_fffe,
    u32::MAX,
];

fn edge_f32() -> Vec<u32> {
    [
        0.0f32,
        -0.0,
        1.0,
        -1.0,
        2.5,
        -3.75,
        f32::NAN,
        -f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MIN_POSITIVE,
        -f32::from_bits(1),
        f32::from_bits(1),
        f32::from_bits(0x007f_ffff),
        f32::MAX,
        f32::MIN,
        2147483648.0,
        4294967296.0,
        -2147483904.0,
        1e-40,
    ]
    .iter()
    .map(|f| f.to_bits())
    .collect()
}

fn edges(ty: DataType) -> Vec<u32> {
    match ty {
        DataType::F32 => edge_f32(),
        DataType::Bool => vec![0, 1],
        _ => EDGE_INT.to_vec(),
    }
}

/// Operand `k` (a data word) as a value of type `ty`.
fn operand(ty: DataType, k: Expr) -> Expr {
    let w = Expr::load("data", k);
    match ty {
        DataType::U32 => w,
        DataType::Bool => Expr::ne(w, Expr::u32(0)),
        t => Expr::bitcast(t, w),
    }
}

fn as_word(ty: DataType, e: Expr) -> Expr {
    match ty {
        DataType::U32 => e,
        DataType::Bool => Expr::cast(DataType::U32, e),
        t => {
            let _ = t;
            Expr::bitcast(DataType::U32, e)
        }
    }
}

/// Runs `f(a, b)` for every pair of edge values of `ta` (`a`) and `tb`
/// (`b`) on the JIT and the CPU reference; f32 results that are NaN on
/// both may differ in their bits (the spec allows any NaN).
fn check_pairs(
    what: &str,
    ta: DataType,
    tb: DataType,
    out: DataType,
    f: impl Fn(Expr, Expr) -> Expr,
) {
    let (va, vb) = (edges(ta), edges(tb));
    let (na, nb) = (va.len() as u32, vb.len() as u32);
    let data: Vec<u8> = va.iter().chain(&vb).flat_map(|w| w.to_le_bytes()).collect();
    let a = operand(ta, Expr::var("i"));
    let b = operand(tb, Expr::add(Expr::var("j"), Expr::u32(na)));
    let at = Expr::add(Expr::mul(Expr::var("i"), Expr::u32(nb)), Expr::var("j"));
    let body = vec![Node::for_range(
        "i",
        Expr::u32(0),
        Expr::u32(na),
        vec![Node::for_range(
            "j",
            Expr::u32(0),
            Expr::u32(nb),
            vec![word_store("out", at, as_word(out, f(a, b)))],
        )],
    )];
    let p = payload(what, slot_params(na * nb, 1), vec![], body);
    let init = vec![0u32; (na * nb + 1) as usize];
    let want = reference(&p, &data, &init).unwrap_or_else(|e| panic!("{what}: {e}"));
    let (got, _) = run_jit(&p, &data, &init, u64::MAX - 1);
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        let nan = |x: u32| f32::from_bits(x).is_nan();
        if out == DataType::F32 && nan(*g) && nan(*w) {
            continue;
        }
        let (i, j) = (k / nb as usize, k % nb as usize);
        assert_eq!(
            g,
            w,
            "{what}: a = {:#x}, b = {:#x}: JIT {g:#x}, CPU reference {w:#x}",
            va.get(i).copied().unwrap_or(0),
            vb.get(j).copied().unwrap_or(0)
        );
    }
}

const TYPES: [DataType; 4] = [DataType::U32, DataType::I32, DataType::F32, DataType::Bool];

#[test]
fn every_binary_op_on_edge_values() {
    use BinOp::*;
    for ty in [DataType::U32, DataType::I32] {
        for op in [
            Add,
            Sub,
            Mul,
            Div,
            Rem,
            BitAnd,
            BitOr,
            BitXor,
            Min,
            Max,
            Shl,
            Shr,
            RotateLeft,
            RotateRight,
        ] {
            let tb = if op.is_shift() { DataType::U32 } else { ty };
            check_pairs(&format!("{op:?} {ty}"), ty, tb, ty, |a, b| {
                Expr::binary(op, a, b)
            });
        }
    }
    for op in [Add, Sub, Mul, Div, Rem, Min, Max] {
        let f = DataType::F32;
        check_pairs(&format!("{op:?} f32"), f, f, f, |a, b| {
            Expr::binary(op, a, b)
        });
    }
    for ty in TYPES {
        for op in [Eq, Ne, Lt, Le, Gt, Ge] {
            if ty == DataType::Bool && !matches!(op, Eq | Ne) {
                continue;
            }
            check_pairs(&format!("{op:?} {ty}"), ty, ty, DataType::Bool, |a, b| {
                Expr::binary(op, a, b)
            });
        }
    }
    for op in [And, Or] {
        let b = DataType::Bool;
        check_pairs(&format!("{op:?}"), b, b, b, |x, y| Expr::binary(op, x, y));
    }
}

#[test]
fn every_unary_op_cast_and_select_on_edge_values() {
    let b = DataType::Bool;
    for ty in [DataType::U32, DataType::I32] {
        for op in [
            UnOp::Neg,
            UnOp::BitNot,
            UnOp::Clz,
            UnOp::Ctz,
            UnOp::Popcount,
        ] {
            check_pairs(&format!("{op:?} {ty}"), ty, b, ty, |a, _| {
                Expr::unary(op, a)
            });
        }
    }
    let f = DataType::F32;
    check_pairs("neg f32", f, b, f, |a, _| Expr::neg(a));
    check_pairs("not", b, b, b, |a, _| Expr::not(a));
    for from in TYPES {
        for to in TYPES {
            check_pairs(&format!("cast {from} -> {to}"), from, b, to, |a, _| {
                Expr::cast(to, a)
            });
        }
    }
    for ty in TYPES {
        check_pairs(&format!("select {ty}"), ty, ty, ty, |a, c| {
            Expr::select(Expr::lt(Expr::var("i"), Expr::var("j")), a, c)
        });
    }
}

#[test]
fn every_atomic_op_on_edge_values() {
    use AtomicOp::*;
    for op in [
        Load,
        Store,
        Add,
        Sub,
        Max,
        Min,
        And,
        Or,
        Xor,
        Exchange,
        CompareExchange,
    ] {
        // Two words of acc, preset; every pair's old value to out.
        let expected = (op == CompareExchange).then(|| operand(DataType::U32, Expr::var("j")));
        let v = operand(DataType::U32, Expr::var("i"));
        let n = EDGE_INT.len() as u32;
        let at = Expr::add(Expr::mul(Expr::var("i"), Expr::u32(n)), Expr::var("j"));
        let body = vec![Node::for_range(
            "i",
            Expr::u32(0),
            Expr::u32(n),
            vec![Node::for_range(
                "j",
                Expr::u32(0),
                Expr::u32(n),
                vec![
                    Node::let_bind(
                        "old",
                        word_atomic(
                            op,
                            "acc",
                            Expr::rem(Expr::var("j"), Expr::u32(3)),
                            v.clone(),
                            expected.clone(),
                        ),
                    ),
                    word_store("out", at, Expr::var("old")),
                ],
            )],
        )];
        let p = payload(
            &format!("atomic {op:?}"),
            slot_params(n * n, 2),
            vec![],
            body,
        );
        let data: Vec<u8> = EDGE_INT.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut init = vec![0u32; (n * n) as usize];
        init.extend([0x8000_0000, 7]);
        let want = reference(&p, &data, &init).unwrap();
        let (got, _) = run_jit(&p, &data, &init, u64::MAX - 1);
        assert_eq!(got, want, "atomic {op:?}");
    }
}

// ---- budget, refusals (memory confinement: `tests/jit_data.rs`) -------

/// A runaway loop spends the budget (the slot would be FAULT_BUDGET);
/// a loop of `n` iterations runs in a budget of `n` and not of `n - 1`.
#[test]
fn runaway_loops_spend_the_budget() {
    let params = || slot_params(1, 1);
    let spin = payload(
        "spin",
        params(),
        vec![],
        vec![
            Node::let_bind("n", Expr::u32(0)),
            Node::loop_(vec![Node::assign(
                "n",
                Expr::add(Expr::var("n"), Expr::u32(1)),
            )]),
        ],
    );
    let (_, spent) = run_jit(&spin, &[], &[0, 0], 100_000);
    assert!(spent, "an endless loop must spend the budget");
    let long_for = payload(
        "long_for",
        params(),
        vec![],
        vec![Node::for_range(
            "i",
            Expr::u32(0),
            Expr::u32(u32::MAX),
            vec![],
        )],
    );
    assert!(run_jit(&long_for, &[], &[0, 0], 1 << 20).1);
    let hundred = payload(
        "hundred",
        params(),
        vec![],
        vec![Node::for_range(
            "i",
            Expr::u32(0),
            Expr::u32(100),
            vec![word_store(
                "out",
                Expr::u32(0),
                Expr::add(Expr::var("i"), Expr::u32(1)),
            )],
        )],
    );
    let (r, spent) = run_jit(&hundred, &[], &[0, 0], 100);
    assert!(!spent);
    assert_eq!(r[0], 100);
    assert!(run_jit(&hundred, &[], &[0, 0], 99).1);
    // Without a budget (direct calls) loops never stop early.
    let code = jit::compile(&hundred).unwrap();
    let mut res = [0u32; 2];
    let mut slot = NativeSlot {
        data: &[],
        start: 0,
        args: &[],
        chunk_offset: 0,
        chunk_offset_hi: 0,
        file_len: 0,
        file_len_hi: 0,
        chunk_index: 0,
        results: &mut res,
    };
    code.call(&mut slot);
    assert_eq!(res[0], 100);
}

/// Scalars and position words bind as the slot ABI does; results split
/// in declaration order, clipped.
#[test]
fn parameters_bind_like_the_slot_abi() {
    let body = vec![
        word_store("a", Expr::u32(0), Expr::var("x")),
        word_store("a", Expr::u32(1), Expr::var("y")),
        word_store("b", Expr::u32(0), Expr::var("s")),
        word_store("b", Expr::u32(1), Expr::var("fl")),
        word_store("b", Expr::u32(2), Expr::var("b__off")),
        word_store("b", Expr::u32(3), Expr::var("b__len")),
        word_store("b", Expr::u32(4), Expr::var("ci")),
    ];
    let p = payload(
        "binds",
        vec![
            param("x", ParamKind::Scalar, None),
            param("s", ParamKind::ChunkStart, None),
            param("a", ParamKind::Output, Some(2)),
            param("y", ParamKind::Scalar, None),
            param("fl", ParamKind::FileLen, None),
            param("ci", ParamKind::ChunkIndex, None),
            param("b", ParamKind::Output, Some(8)),
        ],
        vec![],
        body,
    );
    let code = jit::compile(&p).unwrap();
    let mut res = [0u32; 7];
    let mut slot = NativeSlot {
        data: b"abc",
        start: 2,
        args: &[11, 22],
        chunk_offset: 0,
        chunk_offset_hi: 0,
        file_len: 99,
        file_len_hi: 0,
        chunk_index: 3,
        results: &mut res,
    };
    code.call(&mut slot);
    assert_eq!(res, [11, 22, 2, 99, 2, 5, 3]);
}

#[test]
fn what_the_jit_cannot_compile_is_refused() {
    let with = |body: Vec<Node>, extra: Option<Param>| {
        let mut params = slot_params(1, 1);
        params.extend(extra);
        payload("refused", params, vec![], body)
    };
    let refused = [
        with(vec![Node::Barrier], None),
        with(vec![Node::let_bind("g", Expr::global_id())], None),
        with(vec![Node::let_bind("n", Expr::len("out"))], None),
        with(vec![], Some(param("q", ParamKind::IoQueue, None))),
        with(vec![], Some(param("g", ParamKind::Debug, None))),
    ];
    for p in &refused {
        let e = jit::compile(p)
            .err()
            .unwrap_or_else(|| panic!("compiled: {}", vyre_core::ir::nodes_to_text(&p.body, 0)));
        assert!(e.to_string().contains("JIT cannot compile"), "{e}");
    }
}
