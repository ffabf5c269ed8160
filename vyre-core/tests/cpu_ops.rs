//! Hand-written cases for the CPU reference: every op, every edge case of the
//! spec in `vyre_core::ir`, barriers, budgets and input errors. Expected
//! values are computed by hand or by plain Rust.

use vyre_core::cpu::CpuBackend;
use vyre_core::ir::{AtomicOp, BufferDecl, DataType, Expr, Node, Program};
use vyre_core::{Backend, Error};

type E = Expr;
type N = Node;

fn cpu() -> CpuBackend {
    CpuBackend::new()
}

/// Evaluates `expr` (of type `ty`) in one invocation and returns its bits
/// (bools as 0/1).
fn value(expr: Expr, ty: DataType) -> u32 {
    let (elem, value) = match ty {
        DataType::Bool => (DataType::U32, E::cast(DataType::U32, expr)),
        t => (t, expr),
    };
    let p = Program::new(
        "value",
        vec![BufferDecl::read_write("out", 0, elem).with_len(1)],
        1,
        vec![N::store("out", E::u32(0), value)],
    );
    let mut bufs = vec![vec![0xDEAD_BEEF]];
    cpu().run(&p, &mut bufs, 1).expect("run");
    bufs[0][0]
}

fn u(e: Expr) -> u32 {
    value(e, DataType::U32)
}
fn i(e: Expr) -> i32 {
    value(e, DataType::I32) as i32
}
fn f(e: Expr) -> f32 {
    f32::from_bits(value(e, DataType::F32))
}
fn b(e: Expr) -> bool {
    match value(e, DataType::Bool) {
        0 => false,
        1 => true,
        other => panic!("bool came back as {other}"),
    }
}

/// Runs `body` over one read_write u32 buffer `out` of `len` zeroed words.
fn run_out(body: Vec<Node>, workgroup_size: u32, workgroups: u32, len: usize) -> Vec<u32> {
    let p = Program::new(
        "t",
        vec![BufferDecl::read_write("out", 0, DataType::U32)],
        workgroup_size,
        body,
    );
    let mut bufs = vec![vec![0u32; len]];
    cpu().run(&p, &mut bufs, workgroups).expect("run");
    bufs.pop().unwrap()
}

fn expect_bad(p: &Program, bufs: &mut [Vec<u32>], workgroups: u32, needle: &str) {
    match cpu().run(p, bufs, workgroups) {
        Err(e @ Error::BadInput { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(needle), "message {msg:?} lacks {needle:?}");
            assert!(msg.contains("Fix:"), "message {msg:?} has no Fix:");
        }
        other => panic!("expected BadInput containing {needle:?}, got {other:?}"),
    }
}

#[test]
fn name_is_cpu_reference() {
    assert_eq!(cpu().name(), "cpu-reference");
    assert_eq!(CpuBackend::default(), CpuBackend::new());
    assert_eq!(CpuBackend::with_step_budget(7).step_budget(), 7);
}

#[test]
fn u32_wrapping_arithmetic() {
    assert_eq!(u(E::add(E::u32(u32::MAX), E::u32(2))), 1);
    assert_eq!(u(E::sub(E::u32(1), E::u32(3))), u32::MAX - 1);
    assert_eq!(u(E::mul(E::u32(0x8000_0001), E::u32(4))), 4);
    assert_eq!(
        u(E::mul(E::u32(123_456_789), E::u32(987_654_321))),
        123_456_789u32.wrapping_mul(987_654_321)
    );
    assert_eq!(u(E::neg(E::u32(1))), u32::MAX);
    assert_eq!(u(E::neg(E::u32(0))), 0);
}

#[test]
fn i32_wrapping_arithmetic() {
    assert_eq!(i(E::add(E::i32(i32::MAX), E::i32(1))), i32::MIN);
    assert_eq!(i(E::sub(E::i32(i32::MIN), E::i32(1))), i32::MAX);
    assert_eq!(i(E::mul(E::i32(i32::MIN), E::i32(-1))), i32::MIN);
    assert_eq!(i(E::mul(E::i32(-7), E::i32(6))), -42);
    assert_eq!(i(E::neg(E::i32(i32::MIN))), i32::MIN);
    assert_eq!(i(E::neg(E::i32(5))), -5);
}

#[test]
fn integer_division_and_remainder() {
    // u32
    assert_eq!(u(E::div(E::u32(7), E::u32(2))), 3);
    assert_eq!(u(E::rem(E::u32(7), E::u32(2))), 1);
    assert_eq!(u(E::div(E::u32(7), E::u32(0))), 0);
    assert_eq!(u(E::rem(E::u32(7), E::u32(0))), 7);
    assert_eq!(u(E::div(E::u32(u32::MAX), E::u32(1))), u32::MAX);
    // i32: truncation toward zero, remainder has the dividend's sign
    assert_eq!(i(E::div(E::i32(-7), E::i32(2))), -3);
    assert_eq!(i(E::rem(E::i32(-7), E::i32(2))), -1);
    assert_eq!(i(E::div(E::i32(7), E::i32(-2))), -3);
    assert_eq!(i(E::rem(E::i32(7), E::i32(-2))), 1);
    assert_eq!(i(E::div(E::i32(-7), E::i32(0))), 0);
    assert_eq!(i(E::rem(E::i32(-7), E::i32(0))), -7);
    assert_eq!(i(E::div(E::i32(i32::MIN), E::i32(-1))), i32::MIN);
    assert_eq!(i(E::rem(E::i32(i32::MIN), E::i32(-1))), 0);
    // (x / y) * y + x % y == x, always
    let xs = [0, 1, -1, 7, -7, i32::MIN, i32::MAX, 12345];
    let ys = [0, 1, -1, 2, -2, 3, i32::MIN, i32::MAX];
    for &x in &xs {
        for &y in &ys {
            let q = E::div(E::i32(x), E::i32(y));
            let r = E::rem(E::i32(x), E::i32(y));
            assert_eq!(i(E::add(E::mul(q, E::i32(y)), r)), x, "{x} {y}");
            let (ux, uy) = (x as u32, y as u32);
            let q = E::div(E::u32(ux), E::u32(uy));
            let r = E::rem(E::u32(ux), E::u32(uy));
            assert_eq!(u(E::add(E::mul(q, E::u32(uy)), r)), ux, "{ux} {uy}");
        }
    }
}

#[test]
fn shifts_and_rotates_mask_the_amount() {
    assert_eq!(u(E::shl(E::u32(1), E::u32(31))), 0x8000_0000);
    assert_eq!(u(E::shl(E::u32(5), E::u32(32))), 5);
    assert_eq!(u(E::shl(E::u32(5), E::u32(33))), 10);
    assert_eq!(u(E::shr(E::u32(0x8000_0000), E::u32(31))), 1);
    assert_eq!(u(E::shr(E::u32(0x8000_0000), E::u32(35))), 0x1000_0000);
    assert_eq!(u(E::shr(E::u32(0xF0), E::u32(u32::MAX))), 0); // amount 31
    assert_eq!(i(E::shr(E::i32(-8), E::u32(1))), -4);
    assert_eq!(i(E::shr(E::i32(i32::MIN), E::u32(31))), -1);
    assert_eq!(i(E::shr(E::i32(-8), E::u32(64))), -8);
    assert_eq!(i(E::shl(E::i32(-1), E::u32(4))), -16);
    assert_eq!(u(E::rotl(E::u32(0x8000_0001), E::u32(1))), 3);
    assert_eq!(u(E::rotl(E::u32(0x1234_5678), E::u32(36))), 0x2345_6781);
    assert_eq!(u(E::rotr(E::u32(3), E::u32(1))), 0x8000_0001);
    assert_eq!(u(E::rotr(E::u32(0x1234_5678), E::u32(32))), 0x1234_5678);
    assert_eq!(i(E::rotr(E::i32(1), E::u32(1))), i32::MIN);
}

#[test]
fn min_max_and_compare_by_signedness() {
    assert_eq!(u(E::min(E::u32(u32::MAX), E::u32(1))), 1);
    assert_eq!(u(E::max(E::u32(u32::MAX), E::u32(1))), u32::MAX);
    assert_eq!(i(E::min(E::i32(-1), E::i32(1))), -1);
    assert_eq!(i(E::max(E::i32(-1), E::i32(1))), 1);
    assert!(b(E::gt(E::u32(u32::MAX), E::u32(1))));
    assert!(b(E::lt(E::i32(-1), E::i32(1))));
    assert!(b(E::le(E::i32(3), E::i32(3))));
    assert!(!b(E::ge(E::i32(i32::MIN), E::i32(0))));
    assert!(b(E::ge(E::u32(0x8000_0000), E::u32(0))));
    assert!(b(E::eq(E::i32(-5), E::i32(-5))));
    assert!(b(E::ne(E::u32(1), E::u32(2))));
    assert!(!b(E::ne(E::bool(true), E::bool(true))));
}

#[test]
fn bit_counting_and_complement() {
    assert_eq!(u(E::clz(E::u32(0))), 32);
    assert_eq!(u(E::ctz(E::u32(0))), 32);
    assert_eq!(u(E::clz(E::u32(1))), 31);
    assert_eq!(u(E::ctz(E::u32(0x8000_0000))), 31);
    assert_eq!(u(E::popcount(E::u32(0xF0F0_0001))), 9);
    assert_eq!(i(E::clz(E::i32(-1))), 0);
    assert_eq!(i(E::ctz(E::i32(-8))), 3);
    assert_eq!(i(E::popcount(E::i32(-1))), 32);
    assert_eq!(i(E::clz(E::i32(0))), 32);
    assert_eq!(u(E::bitnot(E::u32(0x0F0F_0F0F))), 0xF0F0_F0F0);
    assert_eq!(i(E::bitnot(E::i32(0))), -1);
    assert_eq!(u(E::bitand(E::u32(0b1100), E::u32(0b1010))), 0b1000);
    assert_eq!(u(E::bitor(E::u32(0b1100), E::u32(0b1010))), 0b1110);
    assert_eq!(u(E::bitxor(E::u32(0b1100), E::u32(0b1010))), 0b0110);
}

#[test]
fn logic_and_select() {
    for (x, y) in [(false, false), (false, true), (true, false), (true, true)] {
        assert_eq!(b(E::and(E::bool(x), E::bool(y))), x && y);
        assert_eq!(b(E::or(E::bool(x), E::bool(y))), x || y);
    }
    assert!(!b(E::not(E::bool(true))));
    assert_eq!(u(E::select(E::bool(true), E::u32(1), E::u32(2))), 1);
    assert_eq!(u(E::select(E::bool(false), E::u32(1), E::u32(2))), 2);
    // A comparison whose right operand is a short-circuit result.
    let (t, f) = (|| E::bool(true), || E::bool(false));
    assert!(b(E::eq(f(), E::and(f(), t()))));
    assert!(!b(E::ne(t(), E::or(t(), f()))));
    assert!(b(E::eq(
        E::and(t(), E::or(f(), t())),
        E::or(f(), E::and(t(), t()))
    )));
    assert!(!b(E::and(E::or(f(), f()), E::and(t(), t()))));
    // Short circuit: the right side (an out-of-bounds load, harmless) is not needed.
    assert!(!b(E::and(
        E::bool(false),
        E::eq(E::load("out", E::u32(9)), E::u32(0))
    )));
}

#[test]
fn f32_arithmetic() {
    assert_eq!(f(E::add(E::f32(0.1), E::f32(0.2))), 0.1f32 + 0.2f32);
    assert_eq!(f(E::mul(E::f32(1.5), E::f32(-4.0))), -6.0);
    assert_eq!(f(E::div(E::f32(1.0), E::f32(0.0))), f32::INFINITY);
    assert_eq!(f(E::div(E::f32(-1.0), E::f32(0.0))), f32::NEG_INFINITY);
    assert!(f(E::div(E::f32(0.0), E::f32(0.0))).is_nan());
    assert_eq!(f(E::neg(E::f32(2.5))), -2.5);
    assert_eq!(f(E::neg(E::f32(0.0))).to_bits(), (-0.0f32).to_bits());
    // rem = x - y * trunc(x / y)
    assert_eq!(f(E::rem(E::f32(5.5), E::f32(2.0))), 1.5);
    assert_eq!(f(E::rem(E::f32(-5.5), E::f32(2.0))), -1.5);
    assert_eq!(f(E::rem(E::f32(5.5), E::f32(-2.0))), 1.5);
    for (x, y) in [(10.3f32, 3.1f32), (-7.25, 0.5), (1e10, 3.0), (0.7, 0.1)] {
        assert_eq!(
            f(E::rem(E::f32(x), E::f32(y))).to_bits(),
            (x - y * (x / y).trunc()).to_bits(),
            "{x} % {y}"
        );
    }
    assert!(f(E::rem(E::f32(1.0), E::f32(0.0))).is_nan());
    // min/max: a NaN operand gives the other operand
    assert_eq!(f(E::min(E::f32(f32::NAN), E::f32(3.0))), 3.0);
    assert_eq!(f(E::min(E::f32(3.0), E::f32(f32::NAN))), 3.0);
    assert_eq!(f(E::max(E::f32(f32::NAN), E::f32(-3.0))), -3.0);
    assert_eq!(f(E::max(E::f32(-3.0), E::f32(f32::NAN))), -3.0);
    assert!(f(E::max(E::f32(f32::NAN), E::f32(f32::NAN))).is_nan());
    assert_eq!(f(E::min(E::f32(-1.0), E::f32(2.0))), -1.0);
    assert_eq!(f(E::max(E::f32(-1.0), E::f32(2.0))), 2.0);
    // Documented choice for signed zeros.
    assert_eq!(
        f(E::min(E::f32(0.0), E::f32(-0.0))).to_bits(),
        (-0.0f32).to_bits()
    );
    assert_eq!(
        f(E::max(E::f32(-0.0), E::f32(0.0))).to_bits(),
        0.0f32.to_bits()
    );
}

#[test]
fn f32_comparisons() {
    let nan = || E::f32(f32::NAN);
    assert!(!b(E::eq(nan(), nan())));
    assert!(b(E::ne(nan(), nan())));
    assert!(!b(E::lt(nan(), E::f32(1.0))));
    assert!(!b(E::le(nan(), E::f32(1.0))));
    assert!(!b(E::gt(nan(), E::f32(1.0))));
    assert!(!b(E::ge(E::f32(1.0), nan())));
    assert!(b(E::eq(E::f32(0.0), E::f32(-0.0))));
    assert!(b(E::lt(E::f32(-1.0), E::f32(0.5))));
    assert!(b(E::ge(E::f32(f32::INFINITY), E::f32(f32::MAX))));
}

#[test]
fn casts() {
    use DataType::*;
    // f32 -> integer: truncate, saturate, NaN -> 0
    assert_eq!(u(E::cast(U32, E::f32(3.9))), 3);
    assert_eq!(u(E::cast(U32, E::f32(-1.5))), 0);
    assert_eq!(u(E::cast(U32, E::f32(1e20))), u32::MAX);
    assert_eq!(u(E::cast(U32, E::f32(f32::INFINITY))), u32::MAX);
    assert_eq!(u(E::cast(U32, E::f32(f32::NEG_INFINITY))), 0);
    assert_eq!(u(E::cast(U32, E::f32(f32::NAN))), 0);
    assert_eq!(i(E::cast(I32, E::f32(-3.9))), -3);
    assert_eq!(i(E::cast(I32, E::f32(1e20))), i32::MAX);
    assert_eq!(i(E::cast(I32, E::f32(-1e20))), i32::MIN);
    assert_eq!(i(E::cast(I32, E::f32(f32::NAN))), 0);
    assert_eq!(i(E::cast(I32, E::f32(f32::NEG_INFINITY))), i32::MIN);
    // integer -> f32: round to nearest even
    assert_eq!(f(E::cast(F32, E::u32(16_777_217))), 16_777_216.0);
    assert_eq!(f(E::cast(F32, E::u32(16_777_219))), 16_777_220.0);
    assert_eq!(f(E::cast(F32, E::u32(u32::MAX))), 4_294_967_296.0);
    assert_eq!(f(E::cast(F32, E::i32(-1))), -1.0);
    assert_eq!(f(E::cast(F32, E::i32(i32::MIN))), -2_147_483_648.0);
    // u32 <-> i32: same bits
    assert_eq!(i(E::cast(I32, E::u32(u32::MAX))), -1);
    assert_eq!(u(E::cast(U32, E::i32(i32::MIN))), 0x8000_0000);
    // bool <-> others
    assert_eq!(u(E::cast(U32, E::bool(true))), 1);
    assert_eq!(i(E::cast(I32, E::bool(false))), 0);
    assert_eq!(f(E::cast(F32, E::bool(true))), 1.0);
    assert_eq!(f(E::cast(F32, E::bool(false))).to_bits(), 0);
    assert!(b(E::cast(Bool, E::u32(0x100))));
    assert!(!b(E::cast(Bool, E::i32(0))));
    assert!(b(E::cast(Bool, E::f32(f32::NAN))));
    assert!(!b(E::cast(Bool, E::f32(-0.0))));
    assert!(b(E::cast(Bool, E::f32(1e-30))));
    // identity
    assert_eq!(u(E::cast(U32, E::u32(77))), 77);
    assert_eq!(f(E::cast(F32, E::f32(-2.5))), -2.5);
    // bitcast
    assert_eq!(u(E::bitcast(U32, E::f32(1.0))), 0x3F80_0000);
    assert_eq!(f(E::bitcast(F32, E::u32(0xC000_0000))), -2.0);
    assert_eq!(i(E::bitcast(I32, E::f32(-0.0))), i32::MIN);
}

fn mem_program(body: Vec<Node>) -> Program {
    Program::new(
        "mem",
        vec![
            BufferDecl::read_write("b", 0, DataType::U32),
            BufferDecl::read_write("out", 1, DataType::U32),
        ],
        1,
        body,
    )
}

#[test]
fn out_of_bounds_memory() {
    let body = vec![
        N::store("out", E::u32(0), E::load("b", E::u32(4))),
        N::store("out", E::u32(1), E::load("b", E::u32(u32::MAX))),
        N::store("b", E::u32(4), E::u32(99)),
        N::store("b", E::u32(u32::MAX), E::u32(99)),
        N::let_bind("a", E::atomic_add("b", E::u32(4), E::u32(5))),
        N::store("out", E::u32(2), E::var("a")),
        N::let_bind(
            "c",
            E::atomic_compare_exchange("b", E::u32(100), E::u32(0), E::u32(5)),
        ),
        N::store("out", E::u32(3), E::var("c")),
        N::store("out", E::u32(4), E::len("b")),
        N::store("out", E::u32(5), E::load("b", E::u32(3))),
    ];
    let mut bufs = vec![vec![10, 20, 30, 40], vec![7; 6]];
    cpu().run(&mem_program(body), &mut bufs, 1).unwrap();
    assert_eq!(bufs[0], vec![10, 20, 30, 40]);
    assert_eq!(bufs[1], vec![0, 0, 0, 0, 4, 40]);
}

/// Runs atomic `op` on an element holding `old` and returns (returned, new).
fn atomic_case(
    elem: DataType,
    op: AtomicOp,
    old: u32,
    value: Expr,
    expected: Option<Expr>,
) -> (u32, u32) {
    let atomic = Expr::Atomic {
        op,
        buffer: "b".into(),
        index: Box::new(E::u32(1)),
        value: Box::new(value),
        expected: expected.map(Box::new),
    };
    let p = Program::new(
        "atomic",
        vec![
            BufferDecl::read_write("b", 0, elem).with_len(2),
            BufferDecl::read_write("out", 1, elem).with_len(1),
        ],
        1,
        vec![
            N::let_bind("r", atomic),
            N::store("out", E::u32(0), E::var("r")),
        ],
    );
    let mut bufs = vec![vec![0, old], vec![0]];
    cpu().run(&p, &mut bufs, 1).unwrap();
    assert_eq!(bufs[0][0], 0, "neighbour untouched");
    (bufs[1][0], bufs[0][1])
}

#[test]
fn atomics_return_old_value() {
    use AtomicOp::*;
    use DataType::*;
    let m = u32::MAX;
    assert_eq!(atomic_case(U32, Load, 5, E::u32(0), None), (5, 5));
    assert_eq!(atomic_case(U32, Store, 5, E::u32(9), None), (5, 9));
    assert_eq!(atomic_case(U32, Add, m, E::u32(3), None), (m, 2));
    assert_eq!(atomic_case(U32, Sub, 1, E::u32(3), None), (1, m - 1));
    assert_eq!(atomic_case(U32, Max, 5, E::u32(m), None), (5, m));
    assert_eq!(atomic_case(U32, Min, 5, E::u32(m), None), (5, 5));
    assert_eq!(
        atomic_case(U32, And, 0b1100, E::u32(0b1010), None),
        (0b1100, 0b1000)
    );
    assert_eq!(
        atomic_case(U32, Or, 0b1100, E::u32(0b1010), None),
        (0b1100, 0b1110)
    );
    assert_eq!(
        atomic_case(U32, Xor, 0b1100, E::u32(0b1010), None),
        (0b1100, 0b0110)
    );
    assert_eq!(atomic_case(U32, Exchange, 5, E::u32(6), None), (5, 6));
    // signed max/min on i32 buffers
    assert_eq!(atomic_case(I32, Max, 5, E::i32(-1), None), (5, 5));
    assert_eq!(
        atomic_case(I32, Min, 5, E::i32(-1), None),
        (5, (-1i32) as u32)
    );
    assert_eq!(
        atomic_case(I32, Add, i32::MAX as u32, E::i32(1), None),
        (i32::MAX as u32, i32::MIN as u32)
    );
    // compare-exchange: success stores, failure does not; both return old
    assert_eq!(
        atomic_case(U32, CompareExchange, 5, E::u32(9), Some(E::u32(5))),
        (5, 9)
    );
    assert_eq!(
        atomic_case(U32, CompareExchange, 5, E::u32(9), Some(E::u32(4))),
        (5, 5)
    );
    assert_eq!(
        atomic_case(
            I32,
            CompareExchange,
            (-2i32) as u32,
            E::i32(3),
            Some(E::i32(-2))
        ),
        ((-2i32) as u32, 3)
    );
}

#[test]
fn atomic_in_eval_has_effect() {
    let out = run_out(
        vec![N::eval(E::atomic_add("out", E::u32(0), E::u32(1)))],
        4,
        3,
        1,
    );
    assert_eq!(out, vec![12]);
}

#[test]
fn builtins() {
    let v = |x: Expr, y: u32| E::add(E::mul(x, E::u32(1000)), E::u32(y));
    let body = vec![
        N::let_bind("g", E::global_id()),
        N::store("out", E::mul(E::var("g"), E::u32(4)), v(E::local_id(), 0)),
        N::store(
            "out",
            E::add(E::mul(E::var("g"), E::u32(4)), E::u32(1)),
            E::workgroup_id(),
        ),
        N::store(
            "out",
            E::add(E::mul(E::var("g"), E::u32(4)), E::u32(2)),
            E::num_workgroups(),
        ),
        N::store(
            "out",
            E::add(E::mul(E::var("g"), E::u32(4)), E::u32(3)),
            E::workgroup_size(),
        ),
    ];
    let out = run_out(body, 4, 3, 48);
    for g in 0..12u32 {
        let gi = g as usize * 4;
        assert_eq!(&out[gi..gi + 4], &[(g % 4) * 1000, g / 4, 3, 4], "gid {g}");
    }
}

/// Runs a `for` loop with the given bounds and records each counter value.
fn for_values(start: u32, end: u32, step: u32, cap: usize) -> Vec<u32> {
    let body = vec![
        N::let_bind("n", E::u32(0)),
        N::for_step(
            "i",
            E::u32(start),
            E::u32(end),
            E::u32(step),
            vec![
                N::store("out", E::add(E::var("n"), E::u32(1)), E::var("i")),
                N::assign("n", E::add(E::var("n"), E::u32(1))),
            ],
        ),
        N::store("out", E::u32(0), E::var("n")),
    ];
    let out = run_out(body, 1, 1, cap + 1);
    let n = out[0] as usize;
    assert!(n <= cap, "{n} iterations");
    out[1..=n].to_vec()
}

#[test]
fn for_loop_edges() {
    let m = u32::MAX;
    assert_eq!(for_values(0, 5, 1, 10), vec![0, 1, 2, 3, 4]);
    assert_eq!(for_values(1, 10, 3, 10), vec![1, 4, 7]);
    assert_eq!(for_values(2, 5, 0, 10), vec![2, 3, 4]); // step 0 counts as 1
    assert_eq!(for_values(5, 5, 1, 10), Vec::<u32>::new());
    assert_eq!(for_values(6, 5, 1, 10), Vec::<u32>::new());
    assert_eq!(for_values(m - 3, m, 1, 10), vec![m - 3, m - 2, m - 1]);
    assert_eq!(for_values(m - 5, m, 4, 10), vec![m - 5, m - 1]);
    assert_eq!(for_values(m - 2, m, 2, 10), vec![m - 2]);
    // counter would wrap past u32::MAX: stops instead
    assert_eq!(for_values(0xFFFF_FFF0, m, 0x10, 10), vec![0xFFFF_FFF0]);
    assert_eq!(for_values(0, m, 0x8000_0000, 10), vec![0, 0x8000_0000]);
}

#[test]
fn for_bounds_are_evaluated_once() {
    let body = vec![
        N::let_bind("n", E::u32(5)),
        N::let_bind("count", E::u32(0)),
        N::for_range(
            "i",
            E::u32(0),
            E::var("n"),
            vec![
                N::assign("n", E::add(E::var("n"), E::u32(1))),
                N::assign("count", E::add(E::var("count"), E::u32(1))),
            ],
        ),
        N::store("out", E::u32(0), E::var("count")),
        N::store("out", E::u32(1), E::var("n")),
    ];
    assert_eq!(run_out(body, 1, 1, 2), vec![5, 10]);
}

#[test]
fn break_continue_return() {
    // sum of odd i < 10, stop at i == 7: 1 + 3 + 5 = 9; continue advances the counter
    let body = vec![
        N::let_bind("s", E::u32(0)),
        N::for_range(
            "i",
            E::u32(0),
            E::u32(10),
            vec![
                N::if_then(E::eq(E::var("i"), E::u32(7)), vec![N::Break]),
                N::if_then(
                    E::eq(E::rem(E::var("i"), E::u32(2)), E::u32(0)),
                    vec![N::block(vec![N::Continue])],
                ),
                N::assign("s", E::add(E::var("s"), E::var("i"))),
            ],
        ),
        N::store("out", E::u32(0), E::var("s")),
        // loop with continue and break; nested loop's break leaves only the inner loop
        N::let_bind("k", E::u32(0)),
        N::let_bind("inner", E::u32(0)),
        N::loop_(vec![
            N::assign("k", E::add(E::var("k"), E::u32(1))),
            N::loop_(vec![
                N::assign("inner", E::add(E::var("inner"), E::u32(1))),
                N::Break,
            ]),
            N::if_then(E::lt(E::var("k"), E::u32(5)), vec![N::Continue]),
            N::Break,
        ]),
        N::store("out", E::u32(1), E::var("k")),
        N::store("out", E::u32(2), E::var("inner")),
        // return from inside a loop ends the invocation
        N::for_range(
            "j",
            E::u32(0),
            E::u32(100),
            vec![
                N::store("out", E::u32(3), E::var("j")),
                N::if_then(E::eq(E::var("j"), E::u32(3)), vec![N::Return]),
            ],
        ),
        N::store("out", E::u32(4), E::u32(1234)),
    ];
    assert_eq!(run_out(body, 1, 1, 5), vec![9, 5, 5, 3, 0]);
}

#[test]
fn return_ends_only_this_invocation() {
    let body = vec![
        N::if_then(E::eq(E::local_id(), E::u32(1)), vec![N::Return]),
        N::store("out", E::global_id(), E::add(E::global_id(), E::u32(100))),
    ];
    assert_eq!(run_out(body, 2, 2, 4), vec![100, 0, 102, 0]);
}

#[test]
fn sibling_blocks_reuse_names() {
    let body = vec![
        N::block(vec![
            N::let_bind("x", E::u32(1)),
            N::store("out", E::u32(0), E::var("x")),
        ]),
        N::block(vec![
            N::let_bind("x", E::u32(2)),
            N::store("out", E::u32(1), E::var("x")),
        ]),
        N::if_else(
            E::bool(true),
            vec![
                N::let_bind("y", E::u32(3)),
                N::store("out", E::u32(2), E::var("y")),
            ],
            vec![N::let_bind("y", E::u32(4))],
        ),
    ];
    assert_eq!(run_out(body, 1, 1, 3), vec![1, 2, 3]);
}

#[test]
fn host_buffers_follow_binding_order() {
    let p = Program::new(
        "order",
        vec![
            BufferDecl::read_write("second", 5, DataType::U32),
            BufferDecl::workgroup("shared", DataType::U32, 4),
            BufferDecl::read("first", 2, DataType::U32),
        ],
        1,
        vec![N::store(
            "second",
            E::u32(0),
            E::add(E::load("first", E::u32(0)), E::len("second")),
        )],
    );
    let mut bufs = vec![vec![40], vec![0, 0, 0]];
    cpu().run(&p, &mut bufs, 1).unwrap();
    assert_eq!(bufs, vec![vec![40], vec![43, 0, 0]]);
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
fn barrier_makes_neighbour_writes_visible() {
    // invocation i reads what invocation i+1 wrote before the barrier
    let body = vec![
        N::store(
            "sh",
            E::local_id(),
            E::add(E::mul(E::local_id(), E::u32(10)), E::workgroup_id()),
        ),
        N::Barrier,
        N::store(
            "out",
            E::global_id(),
            E::load("sh", E::rem(E::add(E::local_id(), E::u32(1)), E::u32(4))),
        ),
    ];
    let p = shared_program(4, body);
    let mut bufs = vec![vec![0; 8]];
    cpu().run(&p, &mut bufs, 2).unwrap();
    assert_eq!(bufs[0], vec![10, 20, 30, 0, 11, 21, 31, 1]);
}

#[test]
fn workgroup_tree_reduction() {
    // 8 invocations per workgroup sum 8 inputs through shared memory.
    let size = 8;
    let p = Program::new(
        "reduce",
        vec![
            BufferDecl::read("input", 0, DataType::U32),
            BufferDecl::read_write("out", 1, DataType::U32),
            BufferDecl::workgroup("sh", DataType::U32, size),
        ],
        size,
        vec![
            N::store("sh", E::local_id(), E::load("input", E::global_id())),
            N::Barrier,
            N::let_bind("s", E::u32(size / 2)),
            N::loop_(vec![
                N::if_then(E::eq(E::var("s"), E::u32(0)), vec![N::Break]),
                N::if_then(
                    E::lt(E::local_id(), E::var("s")),
                    vec![N::store(
                        "sh",
                        E::local_id(),
                        E::add(
                            E::load("sh", E::local_id()),
                            E::load("sh", E::add(E::local_id(), E::var("s"))),
                        ),
                    )],
                ),
                N::Barrier,
                N::assign("s", E::shr(E::var("s"), E::u32(1))),
            ]),
            N::if_then(
                E::eq(E::local_id(), E::u32(0)),
                vec![N::store("out", E::workgroup_id(), E::load("sh", E::u32(0)))],
            ),
        ],
    );
    let input: Vec<u32> = (0..24).map(|x| x * x + 1).collect();
    let expected: Vec<u32> = input.chunks(8).map(|c| c.iter().sum()).collect();
    let mut bufs = vec![input, vec![0; 3]];
    cpu().run(&p, &mut bufs, 3).unwrap();
    assert_eq!(bufs[1], expected);
}

#[test]
fn workgroup_memory_is_zeroed_per_workgroup() {
    let body = vec![
        N::store(
            "out",
            E::global_id(),
            E::add(E::load("sh", E::u32(0)), E::u32(1)),
        ),
        N::store("sh", E::local_id(), E::u32(99)),
        N::eval(E::atomic_add("sh", E::u32(0), E::u32(1))),
    ];
    let p = shared_program(2, body);
    let mut bufs = vec![vec![0; 6]];
    cpu().run(&p, &mut bufs, 3).unwrap();
    // Without a barrier invocations run in order: invocation 1 sees 99 + 1 from invocation 0.
    assert_eq!(bufs[0], vec![1, 101, 1, 101, 1, 101]);
}

#[test]
fn uniform_load_shares_one_value() {
    let body = vec![
        N::if_then(
            E::eq(E::local_id(), E::u32(0)),
            vec![N::store(
                "sh",
                E::u32(0),
                E::add(E::u32(42), E::workgroup_id()),
            )],
        ),
        N::let_bind("v", E::uniform_load("sh", E::u32(0))),
        // Invocation 0 overwrites right after: others must still see the loaded value.
        N::if_then(
            E::eq(E::local_id(), E::u32(0)),
            vec![N::store("sh", E::u32(0), E::u32(7))],
        ),
        N::store("out", E::global_id(), E::var("v")),
        N::assign("v", E::uniform_load("sh", E::u32(0))),
        N::store("out", E::add(E::global_id(), E::u32(8)), E::var("v")),
    ];
    let p = shared_program(4, body);
    let mut bufs = vec![vec![0; 16]];
    cpu().run(&p, &mut bufs, 2).unwrap();
    assert_eq!(
        bufs[0],
        vec![42, 42, 42, 42, 43, 43, 43, 43, 7, 7, 7, 7, 7, 7, 7, 7]
    );
}

#[test]
fn step_budget_stops_infinite_loops() {
    let p = Program::new(
        "spin",
        vec![BufferDecl::read_write("out", 0, DataType::U32)],
        1,
        vec![N::loop_(vec![])],
    );
    let mut bufs = vec![vec![5, 6]];
    match CpuBackend::with_step_budget(10_000).run(&p, &mut bufs, 1) {
        Err(Error::StepBudget { program, budget }) => {
            assert_eq!((program.as_str(), budget), ("spin", 10_000))
        }
        other => panic!("expected StepBudget, got {other:?}"),
    }
    assert_eq!(bufs, vec![vec![5, 6]], "buffers are handed back");
    // A long counted loop and a huge dispatch also stop.
    let p = Program::new(
        "long",
        vec![BufferDecl::read_write("out", 0, DataType::U32)],
        1,
        vec![N::for_range("i", E::u32(0), E::u32(u32::MAX), vec![])],
    );
    assert!(matches!(
        CpuBackend::with_step_budget(1 << 20).run(&p, &mut bufs, 1),
        Err(Error::StepBudget { .. })
    ));
    let p = Program::new(
        "wide",
        vec![BufferDecl::read_write("out", 0, DataType::U32)],
        256,
        vec![],
    );
    assert!(matches!(
        CpuBackend::with_step_budget(1 << 20).run(&p, &mut bufs, u32::MAX),
        Err(Error::StepBudget { .. })
    ));
    // A barrier loop that never ends stops too.
    let p = shared_program(4, vec![N::loop_(vec![N::Barrier])]);
    let mut bufs = vec![vec![0]];
    assert!(matches!(
        CpuBackend::with_step_budget(1 << 16).run(&p, &mut bufs, 1),
        Err(Error::StepBudget { .. })
    ));
}

#[test]
fn bad_buffers_are_rejected() {
    let p = Program::new(
        "two",
        vec![
            BufferDecl::read("a", 0, DataType::U32),
            BufferDecl::read_write("b", 1, DataType::U32).with_len(2),
        ],
        1,
        vec![],
    );
    expect_bad(&p, &mut [vec![1]], 1, "supplied");
    expect_bad(&p, &mut [vec![1], vec![1, 2], vec![3]], 1, "supplied");
    expect_bad(&p, &mut [vec![], vec![1, 2]], 1, "empty");
    expect_bad(&p, &mut [vec![1], vec![1, 2, 3]], 1, "declared with 2");
    expect_bad(&p, &mut [vec![1], vec![1, 2]], 0, "0 workgroups");
    assert!(cpu().run(&p, &mut [vec![1], vec![1, 2]], 1).is_ok());
}

#[test]
fn invalid_programs_are_rejected_by_the_validator() {
    let out = || BufferDecl::read_write("out", 0, DataType::U32);
    let cases = vec![
        vec![N::store("out", E::u32(0), E::var("nope"))],
        vec![N::store("out", E::u32(0), E::add(E::u32(1), E::i32(1)))],
        vec![N::store("missing", E::u32(0), E::u32(1))],
        vec![N::Break],
        vec![N::store(
            "out",
            E::u32(0),
            E::add(E::atomic_add("out", E::u32(0), E::u32(1)), E::u32(1)),
        )],
    ];
    for body in cases {
        let p = Program::new("bad", vec![out()], 1, body);
        match cpu().run(&p, &mut [vec![0]], 1) {
            Err(e @ Error::Invalid { .. }) => assert!(e.to_string().contains("Fix:"), "{e}"),
            other => panic!("expected Error::Invalid, got {other:?}"),
        }
    }
    // A barrier after a divergent return is rejected too (see the unit tests
    // for what the interpreter itself would do).
    let p = shared_program(
        4,
        vec![
            N::if_then(E::eq(E::local_id(), E::u32(0)), vec![N::Return]),
            N::Barrier,
        ],
    );
    assert!(matches!(
        cpu().run(&p, &mut [vec![0]], 1),
        Err(Error::Invalid { .. })
    ));
}
