//! Hand-written GPU tests of every case WGSL leaves undefined, each against
//! values computed by plain Rust (and, where it runs, the CPU reference).
//!
//! Needs a wgpu adapter: on a machine without a GPU, Mesa's llvmpipe
//! (`apt-get install mesa-vulkan-drivers`) is enough.

use std::sync::OnceLock;

use vyre_core::cpu::CpuBackend;
use vyre_core::gpu::{AdapterChoice, WgpuBackend};
use vyre_core::{Backend, BufferDecl, DataType, Error, Expr, Literal, Node, Program};

fn gpu() -> &'static WgpuBackend {
    static GPU: OnceLock<WgpuBackend> = OnceLock::new();
    GPU.get_or_init(|| {
        let g = WgpuBackend::new()
            .expect("a wgpu adapter (install mesa-vulkan-drivers for the software one)");
        eprintln!(
            "adapter: {} (driver: {} {})",
            g.name(),
            g.adapter_info().driver,
            g.adapter_info().driver_info
        );
        g
    })
}

/// Runs `p` on the GPU; also on the CPU reference, whose result (when it runs)
/// must be identical, except that a NaN may be any NaN in a program that
/// computes with f32 (the spec allows any NaN bit pattern, and which one
/// `inf + -inf` gives depends on the host CPU, also for llvmpipe).
fn run(p: &Program, bufs: Vec<Vec<u32>>, groups: u32) -> Vec<Vec<u32>> {
    let mut g = bufs.clone();
    gpu()
        .run(p, &mut g, groups)
        .unwrap_or_else(|e| panic!("gpu run of `{}` failed: {e}\n{p}", p.name));
    let mut c = bufs;
    if CpuBackend::new().run(p, &mut c, groups).is_ok() {
        let ty = if p.to_string().contains("f32") {
            DataType::F32
        } else {
            DataType::U32
        };
        let agree = c.len() == g.len()
            && c.iter()
                .zip(&g)
                .all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(ty, *a, *b)));
        assert!(
            agree,
            "CPU reference and GPU disagree on\n{p}\ncpu: {c:?}\ngpu: {g:?}"
        );
    }
    g
}

fn v(name: &str) -> Expr {
    Expr::var(name)
}
fn u(x: u32) -> Expr {
    Expr::u32(x)
}
fn f32b(bits: u32) -> f32 {
    f32::from_bits(bits)
}

/// A literal of type `ty` with raw bits `bits`.
fn lit(ty: DataType, bits: u32) -> Expr {
    match ty {
        DataType::U32 => Expr::u32(bits),
        DataType::I32 => Expr::i32(bits as i32),
        DataType::F32 => Expr::Lit(Literal::F32(bits)),
        DataType::Bool => Expr::bool(bits != 0),
    }
}

/// Reinterprets a loaded u32 word as `ty`.
fn from_word(ty: DataType, w: Expr) -> Expr {
    match ty {
        DataType::U32 => w,
        DataType::Bool => Expr::ne(w, u(0)),
        t => Expr::bitcast(t, w),
    }
}

/// The bits of a value of type `ty` as a u32 word.
fn to_word(ty: DataType, e: Expr) -> Expr {
    match ty {
        DataType::U32 => e,
        DataType::Bool => Expr::cast(DataType::U32, e),
        t => Expr::bitcast(DataType::U32, Expr::bitcast(t, e)),
    }
}

/// Equal bits, or both NaN when `ty` is f32 (NaN payloads may differ).
fn same(ty: DataType, a: u32, b: u32) -> bool {
    a == b || (ty == DataType::F32 && f32b(a).is_nan() && f32b(b).is_nan())
}

/// `f(x, y)` of type `rt` for each pair, computed on the GPU twice: with `x`,
/// `y` loaded from buffers (run-time values) and with them as literals
/// (constant operands); both must equal `expected`.
fn check2(
    what: &str,
    types: (DataType, DataType, DataType),
    pairs: &[(u32, u32)],
    f: impl Fn(Expr, Expr) -> Expr,
    expected: impl Fn(u32, u32) -> u32,
) {
    check2_with(true, what, types, pairs, f, expected)
}

/// [`check2`] with run-time operands only.
fn check2_runtime(
    what: &str,
    types: (DataType, DataType, DataType),
    pairs: &[(u32, u32)],
    f: impl Fn(Expr, Expr) -> Expr,
    expected: impl Fn(u32, u32) -> u32,
) {
    check2_with(false, what, types, pairs, f, expected)
}

fn check2_with(
    with_constants: bool,
    what: &str,
    (tx, ty, rt): (DataType, DataType, DataType),
    pairs: &[(u32, u32)],
    f: impl Fn(Expr, Expr) -> Expr,
    expected: impl Fn(u32, u32) -> u32,
) {
    let n = pairs.len() as u32;
    let body = vec![
        Node::let_bind("i", Expr::global_id()),
        Node::if_then(
            Expr::lt(v("i"), Expr::len("a")),
            vec![
                Node::let_bind("x", from_word(tx, Expr::load("a", v("i")))),
                Node::let_bind("y", from_word(ty, Expr::load("b", v("i")))),
                Node::let_bind("r", f(v("x"), v("y"))),
                Node::store("out", v("i"), to_word(rt, v("r"))),
            ],
        ),
    ];
    let bufs = vec![
        BufferDecl::read("a", 0, DataType::U32),
        BufferDecl::read("b", 1, DataType::U32),
        BufferDecl::read_write("out", 2, DataType::U32),
    ];
    let p = Program::new(&format!("{what}_runtime"), bufs, 64, body);
    let a: Vec<u32> = pairs.iter().map(|p| p.0).collect();
    let b: Vec<u32> = pairs.iter().map(|p| p.1).collect();
    let got_rt = run(
        &p,
        vec![a, b, vec![0xdead_beef; pairs.len()]],
        n.div_ceil(64),
    )
    .remove(2);

    let mut body = Vec::new();
    for (k, &(x, y)) in pairs.iter().enumerate().filter(|_| with_constants) {
        body.push(Node::store(
            "out",
            u(k as u32),
            to_word(rt, f(lit(tx, x), lit(ty, y))),
        ));
    }
    let p = Program::new(
        &format!("{what}_const"),
        vec![BufferDecl::read_write("out", 0, DataType::U32)],
        1,
        body,
    );
    let got_const = if with_constants {
        run(&p, vec![vec![0xdead_beef; pairs.len()]], 1).remove(0)
    } else {
        got_rt.clone()
    };

    for (k, &(x, y)) in pairs.iter().enumerate() {
        let want = expected(x, y);
        assert!(
            same(rt, got_rt[k], want),
            "{what}({x:#x}, {y:#x}) with run-time operands: gpu {:#x}, expected {want:#x}",
            got_rt[k]
        );
        assert!(
            same(rt, got_const[k], want),
            "{what}({x:#x}, {y:#x}) with constant operands: gpu {:#x}, expected {want:#x}",
            got_const[k]
        );
    }
}

/// One-operand version of [`check2`].
fn check1(
    what: &str,
    (tx, rt): (DataType, DataType),
    xs: &[u32],
    f: impl Fn(Expr) -> Expr,
    expected: impl Fn(u32) -> u32,
) {
    let pairs: Vec<(u32, u32)> = xs.iter().map(|&x| (x, 0)).collect();
    check2(
        what,
        (tx, DataType::U32, rt),
        &pairs,
        |x, _| f(x),
        |x, _| expected(x),
    );
}

use DataType::{Bool, F32, I32, U32};

const MIN: u32 = i32::MIN as u32;
const NEG1: u32 = -1i32 as u32;

fn grid(xs: &[u32], ys: &[u32]) -> Vec<(u32, u32)> {
    xs.iter()
        .flat_map(|&x| ys.iter().map(move |&y| (x, y)))
        .collect()
}

#[test]
fn integer_division_and_remainder() {
    let us = [0, 1, 7, 13, u32::MAX, MIN];
    let pairs = grid(&us, &[0, 1, 2, 7, u32::MAX]);
    check2("div_u32", (U32, U32, U32), &pairs, Expr::div, |a, b| {
        a.checked_div(b).unwrap_or(0)
    });
    check2("rem_u32", (U32, U32, U32), &pairs, Expr::rem, |a, b| {
        if b == 0 {
            a
        } else {
            a % b
        }
    });
    let is = [0, 1, 7, -7i32 as u32, MIN, i32::MAX as u32, NEG1];
    let pairs = grid(&is, &[0, 1, 2, NEG1, -2i32 as u32, MIN]);
    let (s, w) = (|x: u32| x as i32, |x: i32| x as u32);
    check2("div_i32", (I32, I32, I32), &pairs, Expr::div, |a, b| {
        if b == 0 {
            0
        } else {
            w(s(a).wrapping_div(s(b)))
        }
    });
    check2("rem_i32", (I32, I32, I32), &pairs, Expr::rem, |a, b| {
        if b == 0 {
            a
        } else {
            w(s(a).wrapping_rem(s(b)))
        }
    });
}

#[test]
fn wrapping_arithmetic() {
    let us = [0, 1, 2, 0x7fff_ffff, MIN, u32::MAX, 0x1234_5678];
    let pairs = grid(&us, &us);
    check2(
        "add_u32",
        (U32, U32, U32),
        &pairs,
        Expr::add,
        u32::wrapping_add,
    );
    check2(
        "sub_u32",
        (U32, U32, U32),
        &pairs,
        Expr::sub,
        u32::wrapping_sub,
    );
    check2(
        "mul_u32",
        (U32, U32, U32),
        &pairs,
        Expr::mul,
        u32::wrapping_mul,
    );
    check2("add_i32", (I32, I32, I32), &pairs, Expr::add, |a, b| {
        (a as i32).wrapping_add(b as i32) as u32
    });
    check2("mul_i32", (I32, I32, I32), &pairs, Expr::mul, |a, b| {
        (a as i32).wrapping_mul(b as i32) as u32
    });
    check2("min_u32", (U32, U32, U32), &pairs, Expr::min, u32::min);
    check2("max_i32", (I32, I32, I32), &pairs, Expr::max, |a, b| {
        (a as i32).max(b as i32) as u32
    });
    check2("lt_i32", (I32, I32, Bool), &pairs, Expr::lt, |a, b| {
        ((a as i32) < (b as i32)) as u32
    });
    check2("ge_u32", (U32, U32, Bool), &pairs, Expr::ge, |a, b| {
        (a >= b) as u32
    });
    check1("neg_i32", (I32, I32), &us, Expr::neg, |a| {
        (a as i32).wrapping_neg() as u32
    });
    check1("neg_u32", (U32, U32), &us, Expr::neg, u32::wrapping_neg);
    check1("bitnot", (U32, U32), &us, Expr::bitnot, |a| !a);
}

#[test]
fn shifts_and_rotates() {
    let xs = [1, 0x8000_0001, 0xdead_beef, u32::MAX, MIN];
    let amounts = [0, 1, 4, 31, 32, 33, 40, 63, 64, u32::MAX];
    let pairs = grid(&xs, &amounts);
    check2("shl_u32", (U32, U32, U32), &pairs, Expr::shl, |a, b| {
        a << (b & 31)
    });
    check2("shr_u32", (U32, U32, U32), &pairs, Expr::shr, |a, b| {
        a >> (b & 31)
    });
    check2("shl_i32", (I32, U32, I32), &pairs, Expr::shl, |a, b| {
        ((a as i32) << (b & 31)) as u32
    });
    check2("shr_i32", (I32, U32, I32), &pairs, Expr::shr, |a, b| {
        ((a as i32) >> (b & 31)) as u32
    });
    check2("rotl_u32", (U32, U32, U32), &pairs, Expr::rotl, |a, b| {
        a.rotate_left(b & 31)
    });
    check2("rotr_u32", (U32, U32, U32), &pairs, Expr::rotr, |a, b| {
        a.rotate_right(b & 31)
    });
    check2("rotl_i32", (I32, U32, I32), &pairs, Expr::rotl, |a, b| {
        a.rotate_left(b & 31)
    });
    check2("rotr_i32", (I32, U32, I32), &pairs, Expr::rotr, |a, b| {
        a.rotate_right(b & 31)
    });
}

#[test]
fn bit_counts() {
    let xs = [0, 1, 2, 0x10, MIN, u32::MAX, 0x00f0_0f00];
    check1("clz_u32", (U32, U32), &xs, Expr::clz, u32::leading_zeros);
    check1("ctz_u32", (U32, U32), &xs, Expr::ctz, u32::trailing_zeros);
    check1(
        "popcount_u32",
        (U32, U32),
        &xs,
        Expr::popcount,
        u32::count_ones,
    );
    check1("clz_i32", (I32, I32), &xs, Expr::clz, u32::leading_zeros);
    check1("ctz_i32", (I32, I32), &xs, Expr::ctz, u32::trailing_zeros);
    check1(
        "popcount_i32",
        (I32, I32),
        &xs,
        Expr::popcount,
        u32::count_ones,
    );
}

const NAN: u32 = 0x7fc0_0000;
const INF: u32 = 0x7f80_0000;
const NEG_INF: u32 = 0xff80_0000;
const NEG_ZERO: u32 = 0x8000_0000;

fn fl(xs: &[f32]) -> Vec<u32> {
    xs.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn float_to_int_casts_saturate() {
    let mut xs = fl(&[
        -1.0,
        -0.5,
        0.0,
        0.5,
        1.5,
        123.99,
        16777216.0,
        4294967040.0,
        4294967296.0,
        1e10,
        2147483520.0,
        2147483648.0,
        -2147483648.0,
        -2147483904.0,
        -1e10,
        3e9,
    ]);
    xs.extend([NAN, 0xffc0_0000, INF, NEG_INF, NEG_ZERO]);
    check1(
        "f32_to_u32",
        (F32, U32),
        &xs,
        |x| Expr::cast(U32, x),
        |a| f32b(a) as u32,
    );
    check1(
        "f32_to_i32",
        (F32, I32),
        &xs,
        |x| Expr::cast(I32, x),
        |a| f32b(a) as i32 as u32,
    );
    check1(
        "f32_to_bool",
        (F32, Bool),
        &xs,
        |x| Expr::cast(Bool, x),
        |a| (f32b(a) != 0.0) as u32,
    );
}

#[test]
fn int_to_float_and_other_casts() {
    let xs = [
        0,
        1,
        16_777_216,
        16_777_217,
        16_777_219,
        0x7fff_ffff,
        MIN,
        0x8000_0081,
        0xffff_ff7f,
        0xffff_ff80,
        u32::MAX,
        12_345_678,
        0x0100_0001,
        NEG1,
        -16_777_217i32 as u32,
    ];
    check1(
        "u32_to_f32",
        (U32, F32),
        &xs,
        |x| Expr::cast(F32, x),
        |a| (a as f32).to_bits(),
    );
    check1(
        "i32_to_f32",
        (I32, F32),
        &xs,
        |x| Expr::cast(F32, x),
        |a| (a as i32 as f32).to_bits(),
    );
    check1("u32_to_i32", (U32, I32), &xs, |x| Expr::cast(I32, x), |a| a);
    check1("i32_to_u32", (I32, U32), &xs, |x| Expr::cast(U32, x), |a| a);
    check1(
        "u32_to_bool",
        (U32, Bool),
        &xs,
        |x| Expr::cast(Bool, x),
        |a| (a != 0) as u32,
    );
    check1(
        "i32_to_bool",
        (I32, Bool),
        &xs,
        |x| Expr::cast(Bool, x),
        |a| (a != 0) as u32,
    );
    check1(
        "bool_to_u32",
        (Bool, U32),
        &[0, 1],
        |x| Expr::cast(U32, x),
        |a| a,
    );
    check1(
        "bool_to_i32",
        (Bool, I32),
        &[0, 1],
        |x| Expr::cast(I32, x),
        |a| a,
    );
    check1(
        "bool_to_f32",
        (Bool, F32),
        &[0, 1],
        |x| Expr::cast(F32, x),
        |a| if a != 0 { 1.0f32.to_bits() } else { 0 },
    );
    check1("u32_to_u32", (U32, U32), &xs, |x| Expr::cast(U32, x), |a| a);
    check1(
        "bitcast_u32_f32",
        (U32, F32),
        &fl(&[1.5, -2.0]),
        |x| Expr::bitcast(F32, x),
        |a| a,
    );
}

/// The spec's f32 min: a NaN operand gives the other; min(-0, +0) = -0.
fn min_f(a: u32, b: u32) -> u32 {
    let (x, y) = (f32b(a), f32b(b));
    if x.is_nan() {
        b
    } else if y.is_nan() || x < y {
        a
    } else if y < x {
        b
    } else {
        a | b
    }
}

fn max_f(a: u32, b: u32) -> u32 {
    let (x, y) = (f32b(a), f32b(b));
    if x.is_nan() {
        b
    } else if y.is_nan() || x > y {
        a
    } else if y > x {
        b
    } else {
        a & b
    }
}

#[test]
fn float_ops() {
    // Run-time operands cover every special value. Constant operands keep to
    // finite non-zero values: without SPIR-V float controls
    // (naga emits none) Mesa/llvmpipe folds constant float expressions
    // assuming no signed zeros, NaN or Inf (e.g. `-0.0 + 0.0` -> -0.0,
    // `x - 0.0 * trunc(x / 0.0)` -> x, and it even rewrites the u32
    // `select(0x3f800000u, 0x80000000u, c)` as if it were `c ? -0.0 : 1.0`
    // with -0.0 == 0.0).
    // `x * 0.0` -> +0.0 for negative x
    let tame = fl(&[1.0, -1.5, 5.5, -5.5, 2.0, 1e10, 0.1, -0.75]);
    let mut all = tame.clone();
    all.extend([0, NAN, 0xffc0_0000, INF, NEG_INF, NEG_ZERO]);
    let (wild, calm) = (grid(&all, &all), grid(&tame, &tame));
    // The spec lets GPUs return any NaN bit pattern (and not round f32 div/rem
    // exactly): NVIDIA does both. Special values are held bit-exact only on
    // llvmpipe; other adapters get the finite non-zero grid.
    let exact = gpu()
        .adapter_info()
        .name
        .to_ascii_lowercase()
        .contains("llvmpipe");
    let runtime = if exact { &wild } else { &calm };
    let f = |name: &str,
             op: fn(Expr, Expr) -> Expr,
             rt: DataType,
             pairs: &[(u32, u32)],
             want: &dyn Fn(u32, u32) -> u32| {
        check2_runtime(name, (F32, F32, rt), runtime, op, want);
        check2(name, (F32, F32, rt), pairs, op, want);
    };
    let rem = |a: u32, b: u32| {
        let (x, y) = (f32b(a), f32b(b));
        (x - y * (x / y).trunc()).to_bits()
    };
    f("min_f32", Expr::min, F32, &calm, &min_f);
    f("max_f32", Expr::max, F32, &calm, &max_f);
    // The spec (ir/mod.rs, f32) does not promise bit-exact f32 div/rem on GPUs:
    // Vulkan allows 2.5 ULP and NVIDIA computes x * (1/y). Only llvmpipe, which
    // rounds correctly, is held to the exact values.
    if exact {
        f("rem_f32", Expr::rem, F32, &calm, &rem);
        f("div_f32", Expr::div, F32, &calm, &|a, b| {
            (f32b(a) / f32b(b)).to_bits()
        });
    } else {
        eprintln!(
            "float_ops: f32 div/rem not checked bit-exactly on {}",
            gpu().name()
        );
    }
    f("add_f32", Expr::add, F32, &calm, &|a, b| {
        (f32b(a) + f32b(b)).to_bits()
    });
    f("sub_f32", Expr::sub, F32, &calm, &|a, b| {
        (f32b(a) - f32b(b)).to_bits()
    });
    f("mul_f32", Expr::mul, F32, &calm, &|a, b| {
        (f32b(a) * f32b(b)).to_bits()
    });
    f("lt_f32", Expr::lt, Bool, &calm, &|a, b| {
        (f32b(a) < f32b(b)) as u32
    });
    f("le_f32", Expr::le, Bool, &calm, &|a, b| {
        (f32b(a) <= f32b(b)) as u32
    });
    f("eq_f32", Expr::eq, Bool, &calm, &|a, b| {
        (f32b(a) == f32b(b)) as u32
    });
    f("ne_f32", Expr::ne, Bool, &calm, &|a, b| {
        (f32b(a) != f32b(b)) as u32
    });
    let neg = |a: u32| (-f32b(a)).to_bits();
    let neg_in = if exact { &all } else { &tame };
    check2_runtime(
        "neg_f32",
        (F32, U32, F32),
        &neg_in.iter().map(|&x| (x, 0)).collect::<Vec<_>>(),
        |x, _| Expr::neg(x),
        |a, _| neg(a),
    );
    check1("neg_f32", (F32, F32), &tame, Expr::neg, neg);
}

#[test]
fn logic_and_select() {
    let pairs = grid(&[0, 1], &[0, 1]);
    check2("and", (Bool, Bool, Bool), &pairs, Expr::and, |a, b| a & b);
    check2("or", (Bool, Bool, Bool), &pairs, Expr::or, |a, b| a | b);
    check2("eq_bool", (Bool, Bool, Bool), &pairs, Expr::eq, |a, b| {
        (a == b) as u32
    });
    check1("not", (Bool, Bool), &[0, 1], Expr::not, |a| a ^ 1);
    let pairs = grid(&[0, 5, u32::MAX], &[7, 0]);
    check2(
        "select",
        (U32, U32, U32),
        &pairs,
        |x, y| Expr::select(Expr::gt(x.clone(), y.clone()), x, y),
        u32::max,
    );
}

#[test]
fn out_of_bounds_loads_stores_and_atomics() {
    const OOR: u32 = 0xffff_ffff;
    let body = vec![
        Node::store("out", u(0), Expr::add(Expr::load("input", u(OOR)), u(100))),
        Node::store("out", u(1), Expr::add(Expr::load("input", u(4)), u(200))),
        Node::store("out", u(2), Expr::add(Expr::load("uni", u(OOR)), u(300))),
        Node::store("out", u(3), Expr::load("uni", u(3))),
        Node::store("out", u(4), Expr::len("input")),
        Node::store("out", u(OOR), u(7)),
        Node::store("out", u(8), u(7)),
        Node::store("tile", u(2), u(9)),
        Node::store("tile", u(OOR), u(9)),
        Node::store(
            "out",
            u(5),
            Expr::add(Expr::load("tile", u(2)), Expr::load("tile", u(OOR))),
        ),
        Node::let_bind("a", Expr::atomic_add("acc", u(OOR), u(1))),
        Node::let_bind("b", Expr::atomic_compare_exchange("acc", u(2), u(0), u(5))),
        Node::let_bind("c", Expr::atomic_exchange("acc", u(OOR), u(5))),
        Node::store("out", u(6), Expr::add(Expr::add(v("a"), v("b")), v("c"))),
        Node::store("out", u(7), Expr::load("acc", u(OOR))),
        Node::store("acc", u(OOR), u(5)),
    ];
    let p = Program::new(
        "oob",
        vec![
            BufferDecl::read("input", 0, DataType::U32),
            BufferDecl::uniform("uni", 1, DataType::U32, 4),
            BufferDecl::read_write("out", 2, DataType::U32).with_len(8),
            BufferDecl::read_write("acc", 3, DataType::U32).with_len(2),
            BufferDecl::workgroup("tile", DataType::U32, 2),
        ],
        1,
        body,
    );
    let got = run(
        &p,
        vec![
            vec![1, 2, 3, 4],
            vec![10, 11, 12, 13],
            vec![0xaaaa; 8],
            vec![3, 4],
        ],
        1,
    );
    assert_eq!(got[2], vec![100, 200, 300, 13, 4, 0, 0, 0]);
    assert_eq!(
        got[3],
        vec![3, 4],
        "out-of-bounds atomics and stores must not touch the buffer"
    );
}

#[test]
fn every_atomic_returns_the_old_value() {
    use Expr as E;
    let i = |k| u(k);
    let ops: Vec<Expr> = vec![
        E::atomic_add("acc", i(0), u(5)),
        E::atomic_sub("acc", i(0), u(20)),
        E::atomic_max("acc", i(0), u(3)),
        E::atomic_min("acc", i(0), u(3)),
        E::atomic_and("acc", i(1), u(0x3c)),
        E::atomic_or("acc", i(1), u(0x01)),
        E::atomic_xor("acc", i(1), u(0xff)),
        E::atomic_exchange("acc", i(2), u(9)),
        E::atomic_compare_exchange("acc", i(2), u(9), u(11)),
        E::atomic_compare_exchange("acc", i(2), u(9), u(13)),
        E::atomic_store("acc", i(3), u(42)),
        E::atomic_load("acc", i(3)),
        E::atomic_add("acc", i(u32::MAX), u(1)),
        E::atomic_compare_exchange("acc", i(4), u(0), u(1)),
    ];
    let iops: Vec<Expr> = vec![
        E::atomic_max("acci", i(0), E::i32(-10)),
        E::atomic_min("acci", i(0), E::i32(-10)),
        E::atomic_max("acci", i(1), E::i32(2)),
        E::atomic_min("acci", i(1), E::i32(-1)),
        E::atomic_sub("acci", i(1), E::i32(i32::MAX)),
    ];
    let mut body = Vec::new();
    for (k, op) in ops.into_iter().enumerate() {
        let name = format!("r{k}");
        body.push(Node::let_bind(&name, op));
        body.push(Node::store("out", u(k as u32), v(&name)));
    }
    for (k, op) in iops.into_iter().enumerate() {
        let name = format!("s{k}");
        body.push(Node::let_bind(&name, op));
        body.push(Node::store(
            "out",
            u(16 + k as u32),
            Expr::bitcast(U32, v(&name)),
        ));
    }
    // Assign and eval forms; plain loads/stores of an atomic buffer.
    body.push(Node::let_bind("z", u(0)));
    body.push(Node::assign("z", E::atomic_add("acc", i(0), u(1))));
    body.push(Node::store("out", u(24), v("z")));
    body.push(Node::eval(E::atomic_add("acc", i(0), u(1))));
    body.push(Node::store("out", u(25), E::load("acc", i(3))));
    body.push(Node::store("acc", i(2), u(100)));
    let p = Program::new(
        "atomics",
        vec![
            BufferDecl::read_write("acc", 0, U32).with_len(4),
            BufferDecl::read_write("acci", 1, I32).with_len(2),
            BufferDecl::read_write("out", 2, U32).with_len(32),
        ],
        1,
        body,
    );
    let got = run(
        &p,
        vec![vec![10, 0xf0, 5, 7], vec![-5i32 as u32, 3], vec![0; 32]],
        1,
    );
    let out = &got[2];
    let expect = [
        10,
        15,
        0xffff_fffb,
        0xffff_fffb,
        0xf0,
        0x30,
        0x31,
        5,
        9,
        11,
        7,
        42,
        0,
        0,
    ];
    assert_eq!(&out[..14], &expect, "u32 atomics' old values");
    let iexp: Vec<u32> = [-5, -5, 3, 3, -1].iter().map(|&x: &i32| x as u32).collect();
    assert_eq!(
        &out[16..21],
        &iexp[..],
        "i32 atomics' old values (signed min/max)"
    );
    assert_eq!(out[24], 3);
    assert_eq!(out[25], 42);
    assert_eq!(got[0], vec![5, 0xce, 100, 42]);
    assert_eq!(
        got[1],
        vec![-10i32 as u32, (-1i32).wrapping_sub(i32::MAX) as u32]
    );
}

#[test]
fn concurrent_atomic_add_hands_out_each_ticket_once() {
    let body = vec![
        Node::let_bind("t", Expr::atomic_add("counter", u(0), u(1))),
        Node::store("tickets", Expr::global_id(), v("t")),
    ];
    let p = Program::new(
        "tickets",
        vec![
            BufferDecl::read_write("counter", 0, U32).with_len(1),
            BufferDecl::read_write("tickets", 1, U32),
        ],
        64,
        body,
    );
    let mut bufs = vec![vec![0], vec![0; 256]];
    gpu().run(&p, &mut bufs, 4).expect("gpu run");
    assert_eq!(bufs[0], vec![256]);
    let mut t = bufs[1].clone();
    t.sort_unstable();
    assert_eq!(t, (0..256).collect::<Vec<u32>>());
}

/// `for` counting iterations and the last value, stored at out[slot], out[slot + 1].
fn counted(slot: u32, start: u32, end: u32, step: u32) -> Vec<Node> {
    let (n, last) = (format!("n{slot}"), format!("last{slot}"));
    vec![
        Node::let_bind(&n, u(0)),
        Node::let_bind(&last, u(0xdead)),
        Node::for_step(
            "i",
            u(start),
            u(end),
            u(step),
            vec![
                Node::assign(&n, Expr::add(v(&n), u(1))),
                Node::assign(&last, v("i")),
            ],
        ),
        Node::store("out", u(slot), v(&n)),
        Node::store("out", u(slot + 1), v(&last)),
    ]
}

fn rust_count(start: u32, end: u32, step: u32) -> (u32, u32) {
    let step = step.max(1);
    let (mut n, mut last, mut i) = (0u32, 0xdead, start as u64);
    while i < end as u64 {
        n += 1;
        last = i as u32;
        i += step as u64;
    }
    (n, last)
}

#[test]
fn for_loops_never_wrap() {
    let m = u32::MAX;
    let cases = [
        (m - 5, m, 2),
        (m - 3, m, 0),
        (0, m, 0x8000_0000),
        (0, m, m),
        (5, 5, 1),
        (7, 3, 1),
        (m - 1, m, 1),
        (0, 10, 3),
        (m - 10, m, 4),
    ];
    let mut body = Vec::new();
    for (k, &(s, e, st)) in cases.iter().enumerate() {
        body.extend(counted(2 * k as u32, s, e, st));
    }
    let p = Program::new(
        "for_wrap",
        vec![BufferDecl::read_write("out", 0, U32).with_len(32)],
        1,
        body,
    );
    let got = run(&p, vec![vec![0; 32]], 1).remove(0);
    for (k, &(s, e, st)) in cases.iter().enumerate() {
        let (n, last) = rust_count(s, e, st);
        assert_eq!(
            (got[2 * k], got[2 * k + 1]),
            (n, last),
            "for i in {s}..{e} step {st}"
        );
    }
}

#[test]
fn break_continue_return_and_bounds_evaluated_once() {
    let body = vec![
        // for i in 0..10 { if i == 7 break; if i % 2 == 0 continue; sum += i }
        Node::let_bind("sum", u(0)),
        Node::for_range(
            "i",
            u(0),
            u(10),
            vec![
                Node::if_then(Expr::eq(v("i"), u(7)), vec![Node::Break]),
                Node::if_then(
                    Expr::eq(Expr::rem(v("i"), u(2)), u(0)),
                    vec![Node::Continue],
                ),
                Node::assign("sum", Expr::add(v("sum"), v("i"))),
            ],
        ),
        Node::store("out", u(0), v("sum")),
        // loop { n += 1; if n >= 5 break }
        Node::let_bind("n", u(0)),
        Node::loop_(vec![
            Node::assign("n", Expr::add(v("n"), u(1))),
            Node::if_then(Expr::ge(v("n"), u(5)), vec![Node::Break]),
        ]),
        Node::store("out", u(1), v("n")),
        // end is evaluated once: the body grows `lim`, the loop still runs 3 times.
        Node::let_bind("lim", u(3)),
        Node::let_bind("iters", u(0)),
        Node::for_range(
            "j",
            u(0),
            v("lim"),
            vec![
                Node::assign("lim", Expr::add(v("lim"), u(1))),
                Node::assign("iters", Expr::add(v("iters"), u(1))),
            ],
        ),
        Node::store("out", u(2), v("iters")),
        // continue inside loop { } with its own counter; nested break leaves only the inner loop.
        Node::let_bind("k", u(0)),
        Node::let_bind("odd", u(0)),
        Node::loop_(vec![
            Node::assign("k", Expr::add(v("k"), u(1))),
            Node::if_then(Expr::gt(v("k"), u(9)), vec![Node::Break]),
            Node::if_then(
                Expr::eq(Expr::bitand(v("k"), u(1)), u(0)),
                vec![Node::Continue],
            ),
            Node::loop_(vec![Node::Break]),
            Node::assign("odd", Expr::add(v("odd"), u(1))),
        ]),
        Node::store("out", u(3), v("odd")),
        // A `let` inside a loop starts afresh on every iteration: 5 + 6 + 7.
        Node::let_bind("tot", u(0)),
        Node::for_range(
            "q",
            u(0),
            u(3),
            vec![
                Node::let_bind("x5", u(5)),
                Node::assign("x5", Expr::add(v("x5"), v("q"))),
                Node::assign("tot", Expr::add(v("tot"), v("x5"))),
            ],
        ),
        Node::store("out", u(5), v("tot")),
        Node::if_then(
            Expr::bool(true),
            vec![Node::store("out", u(4), u(1)), Node::Return],
        ),
        Node::store("out", u(4), u(2)),
    ];
    let p = Program::new(
        "control",
        vec![BufferDecl::read_write("out", 0, U32).with_len(8)],
        1,
        body,
    );
    let got = run(&p, vec![vec![0; 8]], 1).remove(0);
    assert_eq!(&got[..6], &[1 + 3 + 5, 5, 3, 5, 1, 18]);
}

#[test]
fn workgroup_reduction_with_barriers() {
    let body = vec![
        Node::let_bind("lid", Expr::local_id()),
        Node::store("tile", v("lid"), Expr::load("input", Expr::global_id())),
        Node::Barrier,
        Node::let_bind("s", u(32)),
        Node::loop_(vec![
            Node::if_then(Expr::eq(v("s"), u(0)), vec![Node::Break]),
            Node::if_then(
                Expr::lt(v("lid"), v("s")),
                vec![Node::store(
                    "tile",
                    v("lid"),
                    Expr::add(
                        Expr::load("tile", v("lid")),
                        Expr::load("tile", Expr::add(v("lid"), v("s"))),
                    ),
                )],
            ),
            Node::Barrier,
            Node::assign("s", Expr::shr(v("s"), u(1))),
        ]),
        Node::if_then(
            Expr::eq(v("lid"), u(0)),
            vec![
                Node::store("sums", Expr::workgroup_id(), Expr::load("tile", u(0))),
                // Workgroup memory starts zeroed in every workgroup.
                Node::store("zeros", Expr::workgroup_id(), Expr::load("fresh", u(5))),
            ],
        ),
        Node::store("fresh", v("lid"), u(77)),
    ];
    let p = Program::new(
        "reduce",
        vec![
            BufferDecl::read("input", 0, U32),
            BufferDecl::read_write("sums", 1, U32),
            BufferDecl::read_write("zeros", 2, U32),
            BufferDecl::workgroup("tile", U32, 64),
            BufferDecl::workgroup("fresh", U32, 64),
        ],
        64,
        body,
    );
    let input: Vec<u32> = (0..256u32)
        .map(|x| x.wrapping_mul(2_654_435_761) >> 8)
        .collect();
    let got = run(&p, vec![input.clone(), vec![0; 4], vec![9; 4]], 4);
    let want: Vec<u32> = input
        .chunks(64)
        .map(|c| c.iter().fold(0u32, |a, &b| a.wrapping_add(b)))
        .collect();
    assert_eq!(got[1], want);
    assert_eq!(got[2], vec![0; 4]);
}

#[test]
fn uniform_load_shares_a_workgroup_value() {
    let body = vec![
        Node::let_bind("lid", Expr::local_id()),
        Node::if_then(
            Expr::eq(v("lid"), u(0)),
            vec![Node::store(
                "sh",
                u(1),
                Expr::add(Expr::mul(Expr::workgroup_id(), u(100)), u(7)),
            )],
        ),
        Node::let_bind("x", Expr::uniform_load("sh", u(1))),
        Node::let_bind("y", u(5)),
        Node::assign("y", Expr::uniform_load("sh", u(9))),
        Node::let_bind("fz", Expr::uniform_load("shf", Expr::u32(u32::MAX))),
        Node::store(
            "out",
            Expr::global_id(),
            Expr::add(v("x"), Expr::add(v("y"), Expr::cast(U32, v("fz")))),
        ),
    ];
    let p = Program::new(
        "uniform_load",
        vec![
            BufferDecl::read_write("out", 0, U32),
            BufferDecl::workgroup("sh", U32, 4),
            BufferDecl::workgroup("shf", F32, 4),
        ],
        32,
        body,
    );
    let got = run(&p, vec![vec![0; 64]], 2).remove(0);
    let want: Vec<u32> = (0..64u32).map(|g| (g / 32) * 100 + 7).collect();
    assert_eq!(got, want);
}

#[test]
fn uniform_buffers_of_each_type() {
    let body = vec![
        Node::store("out", u(0), Expr::load("uu", u(5))),
        Node::store("out", u(1), Expr::bitcast(U32, Expr::load("ui", u(2)))),
        Node::store("out", u(2), Expr::bitcast(U32, Expr::load("uf", u(3)))),
        Node::store(
            "out",
            u(3),
            Expr::add(Expr::len("uu"), Expr::load("uu", u(8))),
        ),
    ];
    let p = Program::new(
        "uniforms",
        vec![
            BufferDecl::uniform("uu", 0, U32, 8),
            BufferDecl::uniform("ui", 1, I32, 4),
            BufferDecl::uniform("uf", 2, F32, 4),
            BufferDecl::read_write("out", 3, U32).with_len(4),
        ],
        1,
        body,
    );
    let got = run(
        &p,
        vec![
            (10..18).collect(),
            vec![0, 0, -3i32 as u32, 0],
            fl(&[0.0, 0.0, 0.0, 2.5]),
            vec![0; 4],
        ],
        1,
    );
    assert_eq!(got[3], vec![15, -3i32 as u32, 2.5f32.to_bits(), 8]);
}

#[test]
fn names_that_are_wgsl_keywords_or_not_identifiers() {
    let body = vec![
        Node::let_bind("loop", u(1)),
        Node::let_bind("var", u(2)),
        Node::let_bind("fn", u(3)),
        Node::let_bind("main", u(4)),
        Node::let_bind("ptr", u(5)),
        Node::let_bind("_", u(6)),
        Node::let_bind("t_1", u(7)),
        Node::let_bind("vy_gid", u(8)),
        Node::let_bind(
            "sum",
            [
                v("loop"),
                v("var"),
                v("fn"),
                v("main"),
                v("ptr"),
                v("_"),
                v("t_1"),
                v("vy_gid"),
            ]
            .into_iter()
            .fold(Expr::load("array", u(0)), Expr::add),
        ),
        Node::for_range(
            "struct",
            u(0),
            u(2),
            vec![Node::assign("sum", Expr::add(v("sum"), v("struct")))],
        ),
        Node::store("u32", u(0), v("sum")),
    ];
    let p = Program::new(
        "keywords",
        vec![
            BufferDecl::read("array", 0, U32),
            BufferDecl::read_write("u32", 1, U32),
        ],
        1,
        body,
    );
    let got = run(&p, vec![vec![100], vec![0]], 1);
    assert_eq!(got[1], vec![100 + 36 + 1]);

    // The validator only admits identifiers, but the lowering itself copes
    // with any name (spelled in hex).
    let odd = Program::new(
        "odd names",
        vec![BufferDecl::read_write("out-put", 0, U32)],
        1,
        vec![
            Node::let_bind("a-b", u(5)),
            Node::let_bind("données", u(6)),
            Node::store("out-put", u(0), Expr::add(v("a-b"), v("données"))),
        ],
    );
    let wgsl = vyre_core::lower::to_wgsl(&odd).expect("lowering of odd names");
    assert!(
        wgsl.contains("vx612d62 = 5u;") && wgsl.contains("vx646f6e6ec3a96573"),
        "{wgsl}"
    );
}

#[test]
fn lowering_is_deterministic_and_naga_valid() {
    let p = Program::new(
        "det",
        vec![
            BufferDecl::read_write("out", 0, F32),
            BufferDecl::workgroup("w", I32, 8),
        ],
        16,
        vec![
            Node::let_bind("a", Expr::atomic_max("w", u(1), Expr::i32(-4))),
            Node::store(
                "out",
                u(0),
                Expr::cast(F32, Expr::div(v("a"), Expr::i32(i32::MIN))),
            ),
            Node::store("out", u(1), Expr::min(Expr::f32(f32::NAN), Expr::f32(-0.0))),
            Node::store("out", u(2), Expr::Lit(Literal::F32(1))),
        ],
    );
    let a = vyre_core::lower::to_wgsl(&p).expect("lowering");
    let b = vyre_core::lower::to_wgsl(&p.clone()).expect("lowering");
    assert_eq!(a, b);
    assert!(
        a.contains("var<workgroup> b_w: array<atomic<i32>, 8>;"),
        "{a}"
    );
    assert!(a.contains("@compute @workgroup_size(16)"), "{a}");
}

#[test]
fn lowering_rejects_misplaced_atomics() {
    let p = Program::new(
        "nested_atomic",
        vec![BufferDecl::read_write("out", 0, U32)],
        1,
        vec![Node::store(
            "out",
            u(0),
            Expr::add(Expr::atomic_add("out", u(0), u(1)), u(1)),
        )],
    );
    match vyre_core::lower::to_wgsl(&p) {
        Err(Error::Invalid { problems, .. }) => {
            assert!(problems[0].message.contains("Fix:"), "{problems:?}")
        }
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

#[test]
fn missing_adapter_lists_what_was_found() {
    let found = gpu().adapter_info().name.clone();
    match WgpuBackend::with_adapter(AdapterChoice::Named("no-such-gpu".into())) {
        Err(e @ Error::NoAdapter { .. }) => {
            let msg = e.to_string();
            eprintln!("{msg}");
            assert!(msg.contains("no-such-gpu"), "{msg}");
            assert!(
                msg.contains(&found),
                "the message should list `{found}`: {msg}"
            );
            assert!(msg.contains("Fix: install a Vulkan driver"), "{msg}");
            assert!(msg.contains("VYRE_ADAPTER"), "{msg}");
        }
        Err(e) => panic!("expected NoAdapter, got {e}"),
        Ok(_) => panic!("an adapter called no-such-gpu exists?"),
    }
}

#[test]
fn vyre_adapter_values() {
    assert_eq!(AdapterChoice::parse(""), None);
    assert_eq!(AdapterChoice::parse(" Default "), None);
    assert_eq!(AdapterChoice::parse("CPU"), Some(AdapterChoice::Cpu));
    assert_eq!(
        AdapterChoice::parse("llvmpipe"),
        Some(AdapterChoice::Named("llvmpipe".into()))
    );
}

#[test]
fn named_and_cpu_adapter_choices() {
    let name = gpu().adapter_info().name.clone();
    let g = WgpuBackend::with_adapter(AdapterChoice::Named(name.to_uppercase()))
        .expect("the same adapter by name");
    assert_eq!(g.adapter_info().name, name);
    if gpu().adapter_info().device_type == wgpu::DeviceType::Cpu {
        let c = WgpuBackend::with_adapter(AdapterChoice::Cpu).expect("the software adapter");
        assert!(c.name().starts_with("wgpu: "), "{}", c.name());
    }
}

/// Constant buffers of every element type, with lengths that are not a
/// multiple of 4 (the GPU pads the uniform rows): in-range and out-of-range
/// loads (0), `len`, and a load with the index of each invocation.
#[test]
fn constant_buffers() {
    let words = |n: u32, k: u32| {
        (0..n)
            .map(|i| i.wrapping_mul(2_654_435_761) ^ k)
            .collect::<Vec<u32>>()
    };
    let (tu, ti, tf) = (
        words(5, 1),
        words(7, 2),
        vec![1.5f32.to_bits(), (-2.25f32).to_bits(), 0],
    );
    let p = Program::new(
        "constants",
        vec![
            BufferDecl::read_write("out", 0, DataType::U32),
            BufferDecl::constant("tu", 1, DataType::U32, tu.clone()),
            BufferDecl::constant("ti", 2, DataType::I32, ti.clone()),
            BufferDecl::constant("tf", 3, DataType::F32, tf.clone()),
        ],
        8,
        vec![
            Node::let_bind("i", Expr::local_id()),
            Node::store("out", v("i"), Expr::load("tu", v("i"))),
            Node::store(
                "out",
                Expr::add(v("i"), u(8)),
                Expr::bitcast(DataType::U32, Expr::load("ti", v("i"))),
            ),
            Node::store(
                "out",
                Expr::add(v("i"), u(16)),
                Expr::bitcast(DataType::U32, Expr::load("tf", v("i"))),
            ),
            Node::if_then(
                Expr::eq(v("i"), u(0)),
                vec![Node::store(
                    "out",
                    u(24),
                    Expr::add(
                        Expr::add(Expr::len("tu"), Expr::mul(Expr::len("ti"), u(10))),
                        Expr::mul(Expr::len("tf"), u(100)),
                    ),
                )],
            ),
        ],
    );
    let got = run(&p, vec![vec![0; 25]], 1);
    let at = |t: &[u32], i: usize| t.get(i).copied().unwrap_or(0);
    let mut want = vec![0u32; 25];
    for i in 0..8 {
        want[i] = at(&tu, i);
        want[8 + i] = at(&ti, i);
        want[16 + i] = at(&tf, i);
    }
    want[24] = 5 + 70 + 300;
    assert_eq!(got[0], want);
}
