//! The interpreter loop, built as vyre IR and placed in the megakernel's
//! opcode dispatch for opcodes of loaded programs.
//!
//! Per slot, the lanes that run the program (all lanes for payloads that
//! take `Lanes`, else lane 0) loop: fetch the instruction at `pc`, load its
//! operand registers from the lane's frame of `regs`, compute the op (a
//! balanced binary tree of `if`s over the op code; each leaf is the IR op the
//! bytecode op stands for), write the destination register. A per-lane step
//! counter bounds the loop on devices that cut long loops (llvmpipe): past
//! `CTRL_STEP_LIMIT` steps the slot ends FAULT(`FAULT_STEPS`) instead of
//! being cut short silently.

use super::{op, ATOMIC_KINDS, BUILTINS, INSTR_WORDS, OP_COUNT};
use crate::ir::payload::OUT_OF_RANGE;
use crate::ir::{AtomicOp, DataType, Expr, Node};
use crate::megakernel::abi::{ARENA, CONTROL, DEBUG, IO, RESULTS, RING};
pub use crate::megakernel::abi::{CODE, REGS};
use crate::megakernel::embed::confine;
use crate::megakernel::protocol::*;

const STEPS: &str = "ip_steps";
const STEP_LIMIT: &str = "ip_step_limit";

/// Kernel-level declarations the interpreter needs (before the claim loop):
/// the step counter runs across all slots an invocation handles in one
/// dispatch, because a device's loop limit counts the whole invocation.
pub fn prelude() -> Vec<Node> {
    vec![
        Node::let_bind(STEPS, Expr::u32(0)),
        Node::let_bind(STEP_LIMIT, Expr::load(CONTROL, Expr::u32(CTRL_STEP_LIMIT))),
    ]
}

fn v(n: &str) -> Expr {
    Expr::var(n)
}

fn f(x: &str) -> Expr {
    Expr::bitcast(DataType::F32, v(x))
}
fn i(x: &str) -> Expr {
    Expr::bitcast(DataType::I32, v(x))
}
fn from_f(e: Expr) -> Expr {
    Expr::bitcast(DataType::U32, e)
}
fn from_i(e: Expr) -> Expr {
    Expr::bitcast(DataType::U32, e)
}
fn from_b(e: Expr) -> Expr {
    Expr::cast(DataType::U32, e)
}
fn truthy(x: &str) -> Expr {
    Expr::ne(v(x), Expr::u32(0))
}

fn set(e: Expr) -> Vec<Node> {
    vec![Node::assign("ip_r", e)]
}

/// The `regs` index of register `x` of this lane's frame (nowhere when
/// `x` is outside the frame).
fn reg(x: &str) -> Expr {
    Expr::select(
        Expr::lt(v(x), v("ip_frame")),
        Expr::add(v("ip_fb"), v(x)),
        Expr::u32(OUT_OF_RANGE),
    )
}

/// `vc = regs[c]`, for the ops whose `c` is a register.
fn load_vc() -> Node {
    Node::assign("vc", Expr::load(REGS, reg("i_c")))
}

/// The `code` index an [`op::LDT`] reads: word `va` of the table at `c` of
/// `vb` words; nowhere when `va >= vb` (the IR's table load past the end)
/// or when the word lies outside the program's own table words
/// (`ip_t0`, `ip_tn`), whatever `c` and `vb` say. `c + va < ip_tn` is
/// tested as `c < ip_tn && va < ip_tn - c`, which cannot wrap.
fn table_word() -> Expr {
    let inside = Expr::and(
        Expr::lt(v("va"), v("vb")),
        Expr::and(
            Expr::lt(v("i_c"), v("ip_tn")),
            Expr::lt(v("va"), Expr::sub(v("ip_tn"), v("i_c"))),
        ),
    );
    Expr::select(
        inside,
        Expr::add(v("ip_t0"), Expr::add(v("i_c"), v("va"))),
        Expr::u32(OUT_OF_RANGE),
    )
}

/// Ends the payload for this lane (the interpreter loop).
fn stop() -> Vec<Node> {
    vec![Node::assign("ip_w", Expr::bool(false)), Node::Break]
}

fn no_write(mut body: Vec<Node>) -> Vec<Node> {
    body.insert(0, Node::assign("ip_w", Expr::bool(false)));
    body
}

/// `ip_r = atomic o(buffer[index], vb)`.
fn atomic(o: AtomicOp, buffer: &str, index: Expr) -> Node {
    Node::assign(
        "ip_r",
        Expr::Atomic {
            op: o,
            buffer: buffer.to_string(),
            index: Box::new(index),
            value: Box::new(v("vb")),
            expected: None,
        },
    )
}

/// A binary tree of `if key < mid` over `cases` (sorted by key).
fn tree(key: &str, cases: &[(u32, Vec<Node>)], default: Vec<Node>) -> Vec<Node> {
    match cases {
        [] => default,
        [(k, body)] => vec![Node::if_else(
            Expr::eq(v(key), Expr::u32(*k)),
            body.clone(),
            default,
        )],
        _ => {
            let mid = cases.len() / 2;
            vec![Node::if_else(
                Expr::lt(v(key), Expr::u32(cases[mid].0)),
                tree(key, &cases[..mid], default.clone()),
                tree(key, &cases[mid..], default),
            )]
        }
    }
}

/// What each op does (the leaves of the dispatch tree).
fn leaves() -> Vec<(u32, Vec<Node>)> {
    let res = |x: Expr| confine(x, "ip_res_lo", "ip_res_n");
    let arena = |x: Expr| confine(x, "ip_ar_lo", "ip_ar_n");
    let atomics = |buffer: &'static str, index: Expr| -> Vec<Node> {
        let cases: Vec<(u32, Vec<Node>)> = ATOMIC_KINDS
            .iter()
            .enumerate()
            .map(|(k, o)| (k as u32, vec![atomic(*o, buffer, index.clone())]))
            .collect();
        tree("i_c", &cases, vec![])
    };
    let cas = |buffer: &str, index: Expr| {
        vec![
            load_vc(),
            Node::assign(
                "ip_r",
                Expr::atomic_compare_exchange(buffer, index, v("vb"), v("vc")),
            ),
        ]
    };
    let mut builtin = Expr::u32(0);
    for (code, b) in BUILTINS.iter().enumerate().rev() {
        builtin = Expr::select(
            Expr::eq(v("i_c"), Expr::u32(code as u32)),
            Expr::Builtin(*b),
            builtin,
        );
    }
    let mut cases = vec![
        (op::RET, stop()),
        (op::MOV, set(v("va"))),
        (op::CONST, set(v("i_c"))),
        (op::ADD, set(Expr::add(v("va"), v("vb")))),
        (op::SUB, set(Expr::sub(v("va"), v("vb")))),
        (op::MUL, set(Expr::mul(v("va"), v("vb")))),
        (op::UDIV, set(Expr::div(v("va"), v("vb")))),
        (op::UREM, set(Expr::rem(v("va"), v("vb")))),
        (op::IDIV, set(from_i(Expr::div(i("va"), i("vb"))))),
        (op::IREM, set(from_i(Expr::rem(i("va"), i("vb"))))),
        (op::AND, set(Expr::bitand(v("va"), v("vb")))),
        (op::OR, set(Expr::bitor(v("va"), v("vb")))),
        (op::XOR, set(Expr::bitxor(v("va"), v("vb")))),
        (op::SHL, set(Expr::shl(v("va"), v("vb")))),
        (op::USHR, set(Expr::shr(v("va"), v("vb")))),
        (op::ISHR, set(from_i(Expr::shr(i("va"), v("vb"))))),
        (op::ROTL, set(Expr::rotl(v("va"), v("vb")))),
        (op::ROTR, set(Expr::rotr(v("va"), v("vb")))),
        (op::UMIN, set(Expr::min(v("va"), v("vb")))),
        (op::UMAX, set(Expr::max(v("va"), v("vb")))),
        (op::IMIN, set(from_i(Expr::min(i("va"), i("vb"))))),
        (op::IMAX, set(from_i(Expr::max(i("va"), i("vb"))))),
        (op::EQ, set(from_b(Expr::eq(v("va"), v("vb"))))),
        (op::NE, set(from_b(Expr::ne(v("va"), v("vb"))))),
        (op::ULT, set(from_b(Expr::lt(v("va"), v("vb"))))),
        (op::ULE, set(from_b(Expr::le(v("va"), v("vb"))))),
        (op::ILT, set(from_b(Expr::lt(i("va"), i("vb"))))),
        (op::ILE, set(from_b(Expr::le(i("va"), i("vb"))))),
        (op::NEG, set(from_i(Expr::neg(i("va"))))),
        (op::BITNOT, set(Expr::bitnot(v("va")))),
        (op::NOT, set(from_b(Expr::not(truthy("va"))))),
        (op::CLZ, set(Expr::clz(v("va")))),
        (op::CTZ, set(Expr::ctz(v("va")))),
        (op::POPCNT, set(Expr::popcount(v("va")))),
        (
            op::SEL,
            vec![
                load_vc(),
                Node::assign("ip_r", Expr::select(truthy("va"), v("vb"), v("vc"))),
            ],
        ),
        (op::FADD, set(from_f(Expr::add(f("va"), f("vb"))))),
        (op::FSUB, set(from_f(Expr::sub(f("va"), f("vb"))))),
        (op::FMUL, set(from_f(Expr::mul(f("va"), f("vb"))))),
        (op::FDIV, set(from_f(Expr::div(f("va"), f("vb"))))),
        (op::FREM, set(from_f(Expr::rem(f("va"), f("vb"))))),
        (op::FMIN, set(from_f(Expr::min(f("va"), f("vb"))))),
        (op::FMAX, set(from_f(Expr::max(f("va"), f("vb"))))),
        (op::FEQ, set(from_b(Expr::eq(f("va"), f("vb"))))),
        (op::FNE, set(from_b(Expr::ne(f("va"), f("vb"))))),
        (op::FLT, set(from_b(Expr::lt(f("va"), f("vb"))))),
        (op::FLE, set(from_b(Expr::le(f("va"), f("vb"))))),
        (op::FNEG, set(from_f(Expr::neg(f("va"))))),
        (op::CVT_UF, set(from_f(Expr::cast(DataType::F32, v("va"))))),
        (op::CVT_IF, set(from_f(Expr::cast(DataType::F32, i("va"))))),
        (op::CVT_FU, set(Expr::cast(DataType::U32, f("va")))),
        (op::CVT_FI, set(from_i(Expr::cast(DataType::I32, f("va"))))),
        (
            op::CVT_BF,
            set(from_f(Expr::cast(DataType::F32, truthy("va")))),
        ),
        (op::CVT_XB, set(from_b(truthy("va")))),
        (op::CVT_FB, set(from_b(Expr::cast(DataType::Bool, f("va"))))),
        (op::LDA, set(Expr::load(ARENA, arena(v("va"))))),
        (op::LDR, set(Expr::load(RESULTS, res(v("va"))))),
        (op::LDQ, set(Expr::load(IO, v("va")))),
        (
            op::STR,
            no_write(vec![Node::store(RESULTS, res(v("va")), v("vb"))]),
        ),
        (op::STQ, no_write(vec![Node::store(IO, v("va"), v("vb"))])),
        (op::ATR, atomics(RESULTS, res(v("va")))),
        (op::ATQ, atomics(IO, v("va"))),
        (op::CASR, cas(RESULTS, res(v("va")))),
        (op::CASQ, cas(IO, v("va"))),
        (op::BUILTIN, set(builtin)),
        (
            op::SLOTW,
            set(Expr::load(
                RING,
                Expr::select(
                    Expr::lt(v("i_c"), Expr::u32(SLOT_WORDS)),
                    Expr::add(v("base"), v("i_c")),
                    Expr::u32(OUT_OF_RANGE),
                ),
            )),
        ),
        (op::SLOTIX, set(Expr::div(v("base"), Expr::u32(SLOT_WORDS)))),
        (
            op::CTRLW,
            set(Expr::load(
                CONTROL,
                Expr::select(
                    Expr::or(
                        Expr::eq(v("i_c"), Expr::u32(CTRL_IO_CAP)),
                        Expr::eq(v("i_c"), Expr::u32(CTRL_DEBUG_CAP)),
                    ),
                    v("i_c"),
                    Expr::u32(OUT_OF_RANGE),
                ),
            )),
        ),
        (op::LDG, set(Expr::load(DEBUG, v("va")))),
        (
            op::STG,
            no_write(vec![Node::store(DEBUG, v("va"), v("vb"))]),
        ),
        (op::ATG, atomics(DEBUG, v("va"))),
        (op::CASG, cas(DEBUG, v("va"))),
        (op::LDT, set(Expr::load(CODE, table_word()))),
        (op::JMP, no_write(vec![Node::assign("ip_pc", v("i_c"))])),
        (
            op::JZ,
            no_write(vec![Node::if_then(
                Expr::eq(v("va"), Expr::u32(0)),
                vec![Node::assign("ip_pc", v("i_c"))],
            )]),
        ),
        (
            op::ITER,
            no_write(vec![
                Node::assign("ip_iters", Expr::add(v("ip_iters"), Expr::u32(1))),
                Node::if_then(
                    Expr::gt(v("ip_iters"), v("ip_budget")),
                    vec![
                        Node::assign("ip_fault", Expr::u32(FAULT_BUDGET)),
                        Node::Break,
                    ],
                ),
            ]),
        ),
        (
            op::FORNEXT,
            no_write(vec![
                // d is the counter (va/vb hold end and step).
                Node::let_bind("fn_v", Expr::load(REGS, reg("i_d"))),
                Node::let_bind("fn_next", Expr::add(v("fn_v"), v("vb"))),
                Node::if_then(
                    Expr::and(
                        Expr::gt(v("fn_next"), v("fn_v")),
                        Expr::lt(v("fn_next"), v("va")),
                    ),
                    vec![
                        Node::store(REGS, reg("i_d"), v("fn_next")),
                        Node::assign("ip_pc", v("i_c")),
                        Node::assign("ip_iters", Expr::add(v("ip_iters"), Expr::u32(1))),
                        Node::if_then(
                            Expr::gt(v("ip_iters"), v("ip_budget")),
                            vec![
                                Node::assign("ip_fault", Expr::u32(FAULT_BUDGET)),
                                Node::Break,
                            ],
                        ),
                    ],
                ),
            ]),
        ),
    ];
    cases.sort_by_key(|c| c.0);
    debug_assert_eq!(cases.len() as u32, OP_COUNT);
    cases
}

/// The statements that run loaded program number `op - first_op` on the
/// slot whose first ring word is the variable `base` (variables `op` and
/// `base` are set by the kernel's dispatch).
pub fn interpreter(first_op: u32) -> Vec<Node> {
    let field = |w: u32| Expr::load(RING, Expr::add(v("base"), Expr::u32(w)));

    let bits = |shift: u32| Expr::bitand(Expr::shr(v("i_w"), Expr::u32(shift)), Expr::u32(255));
    let mut step = vec![
        Node::assign(STEPS, Expr::add(v(STEPS), Expr::u32(1))),
        Node::if_then(
            Expr::gt(v(STEPS), v(STEP_LIMIT)),
            vec![
                Node::assign("ip_fault", Expr::u32(FAULT_STEPS)),
                Node::Break,
            ],
        ),
        Node::let_bind("i_at", Expr::add(v("ip_entry"), v("ip_pc"))),
        Node::let_bind("i_w", Expr::load(CODE, v("i_at"))),
        Node::let_bind("i_c", Expr::load(CODE, Expr::add(v("i_at"), Expr::u32(1)))),
        Node::let_bind("i_op", bits(0)),
        Node::let_bind("i_d", bits(8)),
        Node::let_bind("i_a", bits(16)),
        Node::let_bind("i_b", Expr::shr(v("i_w"), Expr::u32(24))),
        Node::let_bind("va", Expr::load(REGS, reg("i_a"))),
        Node::let_bind("vb", Expr::load(REGS, reg("i_b"))),
        // vc is loaded by the few ops whose c is a register.
        Node::let_bind("vc", Expr::u32(0)),
        Node::assign("ip_pc", Expr::add(v("ip_pc"), Expr::u32(INSTR_WORDS))),
        Node::let_bind("ip_r", Expr::u32(0)),
        Node::let_bind("ip_w", Expr::bool(true)),
    ];
    step.extend(tree("i_op", &leaves(), stop()));
    step.push(Node::if_then(
        v("ip_w"),
        vec![Node::store(REGS, reg("i_d"), v("ip_r"))],
    ));
    let runs = Expr::or(
        Expr::ne(
            Expr::bitand(v("ip_flags"), Expr::u32(CODE_FLAG_ALL_LANES)),
            Expr::u32(0),
        ),
        Expr::eq(Expr::local_id(), Expr::u32(0)),
    );
    vec![Node::block(vec![
        Node::let_bind("ip_i", Expr::sub(v("op"), Expr::u32(first_op))),
        Node::let_bind(
            "ip_entry",
            Expr::load(CODE, Expr::add(Expr::u32(CODE_ENTRY), v("ip_i"))),
        ),
        Node::let_bind(
            "ip_flags",
            Expr::load(CODE, Expr::add(Expr::u32(CODE_FLAGS), v("ip_i"))),
        ),
        // The word before the program's entry holds its table count and
        // the tables lie just before it (`Megakernel::load_payload` writes
        // both); the count is clipped so they never reach the code header.
        Node::let_bind("ip_tw", Expr::sub(v("ip_entry"), Expr::u32(1))),
        Node::let_bind(
            "ip_tn",
            Expr::min(
                Expr::load(CODE, v("ip_tw")),
                Expr::sub(
                    v("ip_tw"),
                    Expr::min(v("ip_tw"), Expr::u32(CODE_HEADER_WORDS)),
                ),
            ),
        ),
        Node::let_bind("ip_t0", Expr::sub(v("ip_tw"), v("ip_tn"))),
        Node::let_bind("ip_frame", Expr::load(CONTROL, Expr::u32(CTRL_REG_FRAME))),
        Node::let_bind("ip_fb", Expr::mul(Expr::global_id(), v("ip_frame"))),
        Node::let_bind(
            "ip_budget",
            Expr::load(CONTROL, Expr::u32(CTRL_ITER_BUDGET)),
        ),
        Node::let_bind("ip_res_lo", field(SLOT_OUT_OFF)),
        Node::let_bind("ip_res_n", field(SLOT_OUT_LEN)),
        Node::let_bind("ip_ar_lo", field(SLOT_DATA_OFF)),
        Node::let_bind(
            "ip_ar_n",
            Expr::shr(Expr::add(field(SLOT_DATA_LEN), Expr::u32(3)), Expr::u32(2)),
        ),
        Node::let_bind("ip_iters", Expr::u32(0)),
        Node::let_bind("ip_fault", Expr::u32(0)),
        Node::let_bind("ip_pc", Expr::u32(0)),
        Node::if_then(
            runs,
            vec![
                Node::loop_(step),
                Node::if_then(
                    Expr::ne(v("ip_fault"), Expr::u32(0)),
                    vec![Node::store(
                        RING,
                        Expr::add(v("base"), Expr::u32(SLOT_FAULT_REASON)),
                        v("ip_fault"),
                    )],
                ),
            ],
        ),
    ])]
}
