//! Evaluation of compiled expressions and the exact semantics of every
//! operation (see [`crate::ir`]). Values are raw 32-bit words; bools are 0/1.
//! Nothing here can fail: the compiler has checked types and names, and
//! expressions are flat postfix code run on a scratch stack (no recursion).

use super::form::{Atom, Bin, CExpr, Conv, Op, Un};
use crate::ir::Builtin;

/// The ids of one invocation.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ids {
    pub global: u32,
    pub local: u32,
    pub workgroup: u32,
    pub num_workgroups: u32,
    pub workgroup_size: u32,
}

/// What an expression can see: the invocation's variables, memory, ids.
pub(crate) struct Env<'a> {
    pub slots: &'a [u32],
    pub mem: &'a [Vec<u32>],
    pub ids: &'a Ids,
}

/// `mem[buf][index]`, 0 when out of bounds.
#[inline]
pub(crate) fn load(mem: &[Vec<u32>], buf: u32, index: u32) -> u32 {
    mem.get(buf as usize)
        .and_then(|b| b.get(index as usize))
        .copied()
        .unwrap_or(0)
}

/// Evaluates a pure expression; `stack` is scratch space.
pub(crate) fn eval(e: &CExpr, env: &Env<'_>, stack: &mut Vec<u32>) -> u32 {
    let code = &e.0[..];
    match code {
        [Op::Lit(v)] => return *v,
        [Op::Var(slot)] => return env.slots.get(*slot as usize).copied().unwrap_or(0),
        _ => {}
    }
    stack.clear();
    let mut pc = 0;
    while let Some(&op) = code.get(pc) {
        pc += 1;
        match op {
            Op::Lit(v) => stack.push(v),
            Op::Var(slot) => stack.push(env.slots.get(slot as usize).copied().unwrap_or(0)),
            Op::Len(buf) => stack.push(env.mem.get(buf as usize).map_or(0, |b| b.len() as u32)),
            Op::Builtin(b) => stack.push(match b {
                Builtin::GlobalId => env.ids.global,
                Builtin::LocalId => env.ids.local,
                Builtin::WorkgroupId => env.ids.workgroup,
                Builtin::NumWorkgroups => env.ids.num_workgroups,
                Builtin::WorkgroupSize => env.ids.workgroup_size,
            }),
            Op::Load(buf) => {
                if let Some(top) = stack.last_mut() {
                    *top = load(env.mem, buf, *top);
                }
            }
            Op::Un(u) => {
                if let Some(top) = stack.last_mut() {
                    *top = unary(u, *top);
                }
            }
            Op::Bin(b) => {
                let rhs = stack.pop().unwrap_or(0);
                if let Some(lhs) = stack.last_mut() {
                    *lhs = binary(b, *lhs, rhs);
                }
            }
            Op::BinLit(b, rhs) => {
                if let Some(lhs) = stack.last_mut() {
                    *lhs = binary(b, *lhs, rhs);
                }
            }
            Op::BinVar(b, slot) => {
                let rhs = env.slots.get(slot as usize).copied().unwrap_or(0);
                if let Some(lhs) = stack.last_mut() {
                    *lhs = binary(b, *lhs, rhs);
                }
            }
            Op::Select => {
                let on_false = stack.pop().unwrap_or(0);
                let on_true = stack.pop().unwrap_or(0);
                if let Some(top) = stack.last_mut() {
                    *top = if *top != 0 { on_true } else { on_false };
                }
            }
            Op::Conv(c) => {
                if let Some(top) = stack.last_mut() {
                    *top = convert(c, *top);
                }
            }
            Op::JumpIfFalse(target) => {
                if stack.last() == Some(&0) {
                    pc = target as usize;
                } else {
                    stack.pop();
                }
            }
            Op::JumpIfTrue(target) => {
                if stack.last().is_some_and(|&v| v != 0) {
                    pc = target as usize;
                } else {
                    stack.pop();
                }
            }
        }
    }
    stack.pop().unwrap_or(0)
}

#[inline]
fn f(x: u32) -> f32 {
    f32::from_bits(x)
}

#[inline]
fn fb(x: f32) -> u32 {
    x.to_bits()
}

/// A unary op on raw bits.
#[inline]
pub(crate) fn unary(op: Un, x: u32) -> u32 {
    match op {
        Un::NegI => x.wrapping_neg(),
        Un::NegF => fb(-f(x)),
        Un::BitNot => !x,
        Un::Not => (x == 0) as u32,
        Un::Clz => x.leading_zeros(),
        Un::Ctz => x.trailing_zeros(),
        Un::Popcount => x.count_ones(),
    }
}

/// f32 minimum: a NaN operand yields the other operand; `min(-0, +0)` is -0.
#[inline]
fn min_f(a: u32, b: u32) -> u32 {
    let (x, y) = (f(a), f(b));
    if x.is_nan() {
        b
    } else if y.is_nan() || x < y {
        a
    } else if y < x {
        b
    } else {
        // Equal: identical bits, or +0 and -0 (the OR sets the sign: -0).
        a | b
    }
}

/// f32 maximum: a NaN operand yields the other operand; `max(-0, +0)` is +0.
#[inline]
fn max_f(a: u32, b: u32) -> u32 {
    let (x, y) = (f(a), f(b));
    if x.is_nan() {
        b
    } else if y.is_nan() || x > y {
        a
    } else if y > x {
        b
    } else {
        // Equal: identical bits, or +0 and -0 (the AND clears the sign: +0).
        a & b
    }
}

#[inline]
fn s(x: u32) -> i32 {
    x as i32
}

/// A binary op on raw bits.
#[inline]
pub(crate) fn binary(op: Bin, a: u32, b: u32) -> u32 {
    match op {
        Bin::AddI => a.wrapping_add(b),
        Bin::SubI => a.wrapping_sub(b),
        Bin::MulI => a.wrapping_mul(b),
        Bin::DivU => a.checked_div(b).unwrap_or(0),
        Bin::DivS => {
            if b == 0 {
                0
            } else {
                s(a).wrapping_div(s(b)) as u32
            }
        }
        Bin::RemU => a.checked_rem(b).unwrap_or(a),
        Bin::RemS => {
            if b == 0 {
                a
            } else {
                s(a).wrapping_rem(s(b)) as u32
            }
        }
        Bin::AddF => fb(f(a) + f(b)),
        Bin::SubF => fb(f(a) - f(b)),
        Bin::MulF => fb(f(a) * f(b)),
        Bin::DivF => fb(f(a) / f(b)),
        Bin::RemF => {
            let (x, y) = (f(a), f(b));
            fb(x - y * (x / y).trunc())
        }
        Bin::BitAnd => a & b,
        Bin::BitOr => a | b,
        Bin::BitXor => a ^ b,
        Bin::Shl => a << (b & 31),
        Bin::ShrU => a >> (b & 31),
        Bin::ShrS => (s(a) >> (b & 31)) as u32,
        Bin::Rotl => a.rotate_left(b & 31),
        Bin::Rotr => a.rotate_right(b & 31),
        Bin::MinU => a.min(b),
        Bin::MinS => s(a).min(s(b)) as u32,
        Bin::MinF => min_f(a, b),
        Bin::MaxU => a.max(b),
        Bin::MaxS => s(a).max(s(b)) as u32,
        Bin::MaxF => max_f(a, b),
        Bin::EqBits => (a == b) as u32,
        Bin::NeBits => (a != b) as u32,
        Bin::EqF => (f(a) == f(b)) as u32,
        Bin::NeF => (f(a) != f(b)) as u32,
        Bin::LtU => (a < b) as u32,
        Bin::LtS => (s(a) < s(b)) as u32,
        Bin::LtF => (f(a) < f(b)) as u32,
        Bin::LeU => (a <= b) as u32,
        Bin::LeS => (s(a) <= s(b)) as u32,
        Bin::LeF => (f(a) <= f(b)) as u32,
        Bin::GtU => (a > b) as u32,
        Bin::GtS => (s(a) > s(b)) as u32,
        Bin::GtF => (f(a) > f(b)) as u32,
        Bin::GeU => (a >= b) as u32,
        Bin::GeS => (s(a) >= s(b)) as u32,
        Bin::GeF => (f(a) >= f(b)) as u32,
    }
}

/// A value conversion on raw bits (Rust `as` gives exactly the spec'd rules:
/// round to nearest even into f32; truncate, saturate, NaN -> 0 out of f32).
#[inline]
pub(crate) fn convert(conv: Conv, x: u32) -> u32 {
    match conv {
        Conv::Id => x,
        Conv::U2F => fb(x as f32),
        Conv::S2F => fb(s(x) as f32),
        Conv::F2U => f(x) as u32,
        Conv::F2S => f(x) as i32 as u32,
        Conv::B2F => fb(if x != 0 { 1.0 } else { 0.0 }),
        Conv::I2B => (x != 0) as u32,
        Conv::F2B => (f(x) != 0.0) as u32,
    }
}

/// Applies an atomic to `cell`; returns the previous value.
#[inline]
pub(crate) fn atomic(op: Atom, cell: &mut u32, value: u32, expected: u32) -> u32 {
    let old = *cell;
    *cell = match op {
        Atom::Load => old,
        Atom::Store | Atom::Exchange => value,
        Atom::Add => old.wrapping_add(value),
        Atom::Sub => old.wrapping_sub(value),
        Atom::MaxU => old.max(value),
        Atom::MaxS => s(old).max(s(value)) as u32,
        Atom::MinU => old.min(value),
        Atom::MinS => s(old).min(s(value)) as u32,
        Atom::And => old & value,
        Atom::Or => old | value,
        Atom::Xor => old ^ value,
        Atom::CmpXchg => {
            if old == expected {
                value
            } else {
                old
            }
        }
    };
    old
}
