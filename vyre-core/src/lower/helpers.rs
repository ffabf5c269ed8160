//! The helper functions the lowering emits: explicit definitions of every
//! case WGSL leaves undefined, and bounds-checked buffer accesses.

use std::collections::BTreeSet;

use super::{mangle, wgsl_type, zero};
use crate::ir::{Access, AtomicOp, BinOp, DataType, Program};

/// A helper function. The derived order is the order of emission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Helper {
    /// `vy_rt_<ty>`: opaque identity, blocks parse-time constant folding.
    Rt(DataType),
    /// `vy_is_nan`.
    IsNan,
    DivU32,
    DivI32,
    RemU32,
    RemI32,
    RemF32,
    RotlU32,
    RotrU32,
    /// `vy_f32_key`: total order of f32 bit patterns.
    F32Key,
    /// `vy_f32_ord`: [`Helper::F32Key`] with -0 folded into +0 (IEEE order).
    F32Ord,
    /// `vy_<op>_f32`: IEEE comparison (index into `F32_COMPARISONS`).
    CmpF32(u8),
    MinF32,
    MaxF32,
    U32ToF32,
    I32ToF32,
    F32ToU32,
    F32ToI32,
    F32ToBool,
    /// `ld_<buffer>`: bounds-checked load of buffer (index into `program.buffers`).
    Load(usize),
    /// `st_<buffer>`: bounds-checked store.
    Store(usize),
    /// `at_<op>_<buffer>`: bounds-checked atomic (op: [`AtomicOp::code`]).
    Atomic(usize, u8),
}

/// `set` plus the helpers they call, in emission order.
pub(crate) fn with_dependencies(set: &BTreeSet<Helper>) -> BTreeSet<Helper> {
    let mut all = set.clone();
    for h in set {
        match h {
            Helper::MinF32 | Helper::MaxF32 => {
                all.insert(Helper::IsNan);
                all.insert(Helper::F32Key);
            }
            Helper::F32ToU32 | Helper::F32ToI32 => {
                all.insert(Helper::IsNan);
            }
            Helper::CmpF32(_) => {
                all.extend([Helper::IsNan, Helper::F32Key, Helper::F32Ord]);
            }
            Helper::I32ToF32 => {
                all.insert(Helper::U32ToF32);
            }
            _ => {}
        }
    }
    all
}

/// The WGSL text of helper `h`.
pub(crate) fn text(h: Helper, program: &Program, atomic: &[bool]) -> String {
    let s: &str = match h {
        Helper::Rt(ty) => {
            let t = wgsl_type(ty);
            return format!(
                "// Opaque identity: keeps naga from folding constant-only expressions at parse time.\n\
                 fn vy_rt_{t}(x: {t}) -> {t} {{\n    return x;\n}}\n"
            );
        }
        Helper::IsNan => {
            "fn vy_is_nan(x: f32) -> bool {\n    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;\n}\n"
        }
        Helper::DivU32 => "// x / 0 == 0.\nfn vy_div_u32(a: u32, b: u32) -> u32 {\n    if (b == 0u) { return 0u; }\n    return a / b;\n}\n",
        Helper::DivI32 => {
            "// x / 0 == 0; i32::MIN / -1 == i32::MIN (wrapping negation).\n\
             fn vy_div_i32(a: i32, b: i32) -> i32 {\n    if (b == 0i) { return 0i; }\n    if (b == -1i) { return 0i - a; }\n    return a / b;\n}\n"
        }
        Helper::RemU32 => "// x % 0 == x.\nfn vy_rem_u32(a: u32, b: u32) -> u32 {\n    if (b == 0u) { return a; }\n    return a % b;\n}\n",
        Helper::RemI32 => {
            "// x % 0 == x; i32::MIN % -1 == 0; the sign is the dividend's.\n\
             fn vy_rem_i32(a: i32, b: i32) -> i32 {\n    if (b == 0i) { return a; }\n    if (b == -1i) { return 0i; }\n    return a % b;\n}\n"
        }
        Helper::RemF32 => "fn vy_rem_f32(x: f32, y: f32) -> f32 {\n    return x - y * trunc(x / y);\n}\n",
        Helper::RotlU32 => {
            "// Rotate by n & 31; an amount of 0 gives x (x >> 0 | x << 0).\n\
             fn vy_rotl_u32(x: u32, n: u32) -> u32 {\n    let s = n & 31u;\n    return (x << s) | (x >> ((32u - s) & 31u));\n}\n"
        }
        Helper::RotrU32 => {
            "fn vy_rotr_u32(x: u32, n: u32) -> u32 {\n    let s = n & 31u;\n    return (x >> s) | (x << ((32u - s) & 31u));\n}\n"
        }
        Helper::F32Key => {
            "// Orders f32 bit patterns as u32 (-inf < ... < -0 < +0 < ... < +inf), so\n\
             // min/max never depend on how a driver treats signed zeros or subnormals.\n\
             fn vy_f32_key(b: u32) -> u32 {\n    return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);\n}\n"
        }
        Helper::F32Ord => {
            "fn vy_f32_ord(b: u32) -> u32 {\n    return vy_f32_key(select(b, 0u, (b & 0x7fffffffu) == 0u));\n}\n"
        }
        Helper::CmpF32(i) => return compare(i),
        Helper::MinF32 => {
            "// A NaN operand gives the other operand; min(-0, +0) == -0.\n\
             fn vy_min_f32(a: f32, b: f32) -> f32 {\n    if (vy_is_nan(a)) { return b; }\n    if (vy_is_nan(b)) { return a; }\n    \
             let x = bitcast<u32>(a);\n    let y = bitcast<u32>(b);\n    \
             return bitcast<f32>(select(y, x, vy_f32_key(x) < vy_f32_key(y)));\n}\n"
        }
        Helper::MaxF32 => {
            "// A NaN operand gives the other operand; max(-0, +0) == +0.\n\
             fn vy_max_f32(a: f32, b: f32) -> f32 {\n    if (vy_is_nan(a)) { return b; }\n    if (vy_is_nan(b)) { return a; }\n    \
             let x = bitcast<u32>(a);\n    let y = bitcast<u32>(b);\n    \
             return bitcast<f32>(select(y, x, vy_f32_key(x) > vy_f32_key(y)));\n}\n"
        }
        Helper::U32ToF32 => {
            "// Round to nearest even: both halves convert exactly, the add rounds once.\n\
             fn vy_u32_to_f32(x: u32) -> f32 {\n    return f32(x >> 16u) * 65536.0f + f32(x & 0xffffu);\n}\n"
        }
        Helper::I32ToF32 => {
            "fn vy_i32_to_f32(x: i32) -> f32 {\n    let m = select(bitcast<u32>(x), 0u - bitcast<u32>(x), x < 0i);\n    \
             let f = vy_u32_to_f32(m);\n    return select(f, -f, x < 0i);\n}\n"
        }
        Helper::F32ToU32 => {
            "// Truncate, saturate, NaN -> 0 (Rust `as`).\n\
             fn vy_f32_to_u32(x: f32) -> u32 {\n    if (vy_is_nan(x) || x <= 0.0f) { return 0u; }\n    \
             if (x >= 4294967296.0f) { return 4294967295u; }\n    return u32(x);\n}\n"
        }
        Helper::F32ToI32 => {
            "// Truncate, saturate, NaN -> 0 (Rust `as`).\n\
             fn vy_f32_to_i32(x: f32) -> i32 {\n    if (vy_is_nan(x)) { return 0i; }\n    \
             if (x >= 2147483648.0f) { return 2147483647i; }\n    \
             if (x <= -2147483648.0f) { return bitcast<i32>(0x80000000u); }\n    return i32(x);\n}\n"
        }
        Helper::F32ToBool => {
            "// x != 0.0, NaN -> true.\nfn vy_f32_to_bool(x: f32) -> bool {\n    return (bitcast<u32>(x) & 0x7fffffffu) != 0u;\n}\n"
        }
        Helper::Load(b) => return load(program, b, atomic),
        Helper::Store(b) => return store(program, b, atomic),
        Helper::Atomic(b, op) => {
            let op = AtomicOp::from_code(op).unwrap_or(AtomicOp::Load);
            return atomic_fn(program, b, op);
        }
    };
    s.to_string()
}

/// The f32 comparisons, in `Helper::CmpF32` index order, with the integer
/// operator that compares their [`Helper::F32Ord`] keys.
pub(crate) const F32_COMPARISONS: [(BinOp, &str); 6] = [
    (BinOp::Eq, "=="),
    (BinOp::Ne, "!="),
    (BinOp::Lt, "<"),
    (BinOp::Le, "<="),
    (BinOp::Gt, ">"),
    (BinOp::Ge, ">="),
];

/// An IEEE comparison computed on the bits: WGSL lets implementations assume
/// there are no NaNs (naga emits an ordered `!=`, and drivers fold float
/// comparisons), so NaN and signed zeros are handled with integer operations.
fn compare(i: u8) -> String {
    let (op, sym) = F32_COMPARISONS[i as usize % F32_COMPARISONS.len()];
    let name = op.name();
    let nan = if op == BinOp::Ne { "true" } else { "false" };
    format!(
        "fn vy_{name}_f32(a: f32, b: f32) -> bool {{\n    if (vy_is_nan(a) || vy_is_nan(b)) {{ return {nan}; }}\n    \
         return vy_f32_ord(bitcast<u32>(a)) {sym} vy_f32_ord(bitcast<u32>(b));\n}}\n"
    )
}

/// `i < len` for buffer `b`.
fn in_bounds(program: &Program, b: usize) -> String {
    let decl = &program.buffers[b];
    match (decl.access, decl.len) {
        (Access::Uniform | Access::Workgroup | Access::Constant, Some(n)) => format!("i < {n}u"),
        _ => format!("i < arrayLength(&{})", mangle("b", &decl.name)),
    }
}

fn load(program: &Program, b: usize, atomic: &[bool]) -> String {
    let decl = &program.buffers[b];
    let t = wgsl_type(decl.elem);
    let buf = mangle("b", &decl.name);
    let value = if atomic[b] {
        format!("atomicLoad(&{buf}[i])")
    } else if decl.access == Access::Uniform {
        let word = format!("{buf}[i / 4u][i % 4u]");
        if decl.elem == DataType::U32 {
            word
        } else {
            format!("bitcast<{t}>({word})")
        }
    } else {
        format!("{buf}[i]")
    };
    format!(
        "fn {}(i: u32) -> {t} {{\n    if ({}) {{\n        return {value};\n    }}\n    return {};\n}}\n",
        mangle("ld", &decl.name),
        in_bounds(program, b),
        zero(decl.elem)
    )
}

fn store(program: &Program, b: usize, atomic: &[bool]) -> String {
    let decl = &program.buffers[b];
    let buf = mangle("b", &decl.name);
    let stmt = if atomic[b] {
        format!("atomicStore(&{buf}[i], v);")
    } else {
        format!("{buf}[i] = v;")
    };
    format!(
        "fn {}(i: u32, v: {}) {{\n    if ({}) {{\n        {stmt}\n    }}\n}}\n",
        mangle("st", &decl.name),
        wgsl_type(decl.elem),
        in_bounds(program, b)
    )
}

fn atomic_fn(program: &Program, b: usize, op: AtomicOp) -> String {
    let decl = &program.buffers[b];
    let t = wgsl_type(decl.elem);
    let buf = mangle("b", &decl.name);
    let name = mangle(&format!("at_{}", atomic_short(op)), &decl.name);
    let cond = in_bounds(program, b);
    let z = zero(decl.elem);
    let (params, body) = match op {
        AtomicOp::Load => (String::new(), format!("return atomicLoad(&{buf}[i]);")),
        AtomicOp::CompareExchange => (
            format!(", e: {t}, v: {t}"),
            // A weak compare-exchange may fail spuriously: retry until it
            // succeeds or sees a different value.
            format!(
                "loop {{\n            let r = atomicCompareExchangeWeak(&{buf}[i], e, v);\n            \
                 if (r.exchanged || r.old_value != e) {{ return r.old_value; }}\n        }}"
            ),
        ),
        _ => {
            let f = match op {
                AtomicOp::Add => "atomicAdd",
                AtomicOp::Sub => "atomicSub",
                AtomicOp::Max => "atomicMax",
                AtomicOp::Min => "atomicMin",
                AtomicOp::And => "atomicAnd",
                AtomicOp::Or => "atomicOr",
                AtomicOp::Xor => "atomicXor",
                // Store returns the old value too, so it is an exchange.
                _ => "atomicExchange",
            };
            (format!(", v: {t}"), format!("return {f}(&{buf}[i], v);"))
        }
    };
    format!("fn {name}(i: u32{params}) -> {t} {{\n    if ({cond}) {{\n        {body}\n    }}\n    return {z};\n}}\n")
}

/// `add` for `atomic_add`, ...: the helper name's middle part.
pub(crate) fn atomic_short(op: AtomicOp) -> &'static str {
    op.name().trim_start_matches("atomic_")
}
