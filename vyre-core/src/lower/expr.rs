//! Lowering of expressions.

use super::helpers::{atomic_short, Helper, F32_COMPARISONS};
use super::{mangle, wgsl_type, zero, Lowerer};
use crate::error::Result;
use crate::ir::{Access, AtomicOp, BinOp, Builtin, DataType, Expr, Literal, UnOp};

/// A lowered expression.
pub(crate) struct Lowered {
    /// WGSL text (self-delimiting: a name, a call or parenthesised).
    pub code: String,
    /// Its type.
    pub ty: DataType,
    /// True when naga would treat it as a constant expression (evaluate it at
    /// parse time).
    pub konst: bool,
}

impl Lowered {
    /// A constant.
    pub fn constant(code: &str, ty: DataType) -> Self {
        Lowered {
            code: code.to_string(),
            ty,
            konst: true,
        }
    }

    fn runtime(code: String, ty: DataType) -> Self {
        Lowered {
            code,
            ty,
            konst: false,
        }
    }
}

/// The WGSL text of a literal; `None` for f32 values naga cannot take as a
/// literal (NaN, infinities, subnormals), which are built from their bits.
fn literal(l: Literal) -> Option<String> {
    Some(match l {
        Literal::U32(v) => format!("{v}u"),
        Literal::I32(i32::MIN) => "bitcast<i32>(0x80000000u)".to_string(),
        Literal::I32(v) if v < 0 => format!("({v}i)"),
        Literal::I32(v) => format!("{v}i"),
        Literal::Bool(b) => b.to_string(),
        Literal::F32(bits) => {
            let v = f32::from_bits(bits);
            if !(v.is_normal() || v == 0.0) {
                return None;
            }
            // `{:?}` is the shortest text that parses back to the same f32.
            if v.is_sign_negative() {
                format!("({v:?}f)")
            } else {
                format!("{v:?}f")
            }
        }
    })
}

impl Lowerer<'_> {
    /// Lowers `e` and checks that its type is `ty`.
    pub(crate) fn expr_of(&mut self, e: &Expr, ty: DataType, what: &str) -> Result<Lowered> {
        let l = self.expr(e)?;
        if l.ty != ty {
            return Err(self.invalid(format!(
                "{what} `{e}` has type {} but {ty} is needed. Fix: cast it",
                l.ty
            )));
        }
        Ok(l)
    }

    /// `x` routed through the opaque identity function of its type.
    fn launder(&mut self, x: &Lowered) -> String {
        self.helpers.insert(Helper::Rt(x.ty));
        format!("vy_rt_{}({})", wgsl_type(x.ty), x.code)
    }

    /// A WGSL operator or builtin applied to `args`. When every operand is a
    /// constant, the first is laundered so naga does not fold the operation at
    /// parse time (where overflow, division by zero or non-finite results are
    /// errors instead of the run-time behaviour).
    pub(crate) fn op(
        &mut self,
        args: Vec<Lowered>,
        ty: DataType,
        f: impl FnOnce(&[String]) -> String,
    ) -> Lowered {
        let mut codes: Vec<String> = args.iter().map(|a| a.code.clone()).collect();
        if args.iter().all(|a| a.konst) {
            if let Some(first) = args.first() {
                codes[0] = self.launder(first);
            }
        }
        Lowered::runtime(f(&codes), ty)
    }

    /// A call of a generated helper function.
    fn call(&mut self, h: Helper, name: &str, args: &[&Lowered], ty: DataType) -> Lowered {
        self.helpers.insert(h);
        let args: Vec<&str> = args.iter().map(|a| a.code.as_str()).collect();
        Lowered::runtime(format!("{name}({})", args.join(", ")), ty)
    }

    /// Lowers a pure expression (no atomics, no uniform loads).
    pub(crate) fn expr(&mut self, e: &Expr) -> Result<Lowered> {
        Ok(match e {
            Expr::Lit(l) => match literal(*l) {
                Some(code) => Lowered::constant(&code, l.ty()),
                None => {
                    self.helpers.insert(Helper::Rt(DataType::U32));
                    Lowered::runtime(format!("bitcast<f32>(vy_rt_u32(0x{:08x}u))", l.bits()), DataType::F32)
                }
            },
            Expr::Var(name) => {
                let var = self.lookup(name).ok_or_else(|| {
                    self.invalid(format!("unknown variable `{name}`. Fix: declare it with `let` before use"))
                })?;
                Lowered::runtime(mangle("v", name), var.ty)
            }
            Expr::Load { buffer, index } => {
                let (bi, decl) = self.buffer(buffer)?;
                let i = self.expr_of(index, DataType::U32, "load index")?;
                self.call(Helper::Load(bi), &mangle("ld", buffer), &[&i], decl.elem)
            }
            Expr::Len(buffer) => {
                let (_, decl) = self.buffer(buffer)?;
                match (decl.access, decl.len) {
                    (Access::Uniform | Access::Workgroup | Access::Constant, Some(n)) => Lowered::constant(&format!("{n}u"), DataType::U32),
                    _ => Lowered::runtime(format!("arrayLength(&{})", mangle("b", buffer)), DataType::U32),
                }
            }
            Expr::Builtin(b) => match b {
                Builtin::GlobalId => Lowered::runtime("vy_gid.x".into(), DataType::U32),
                Builtin::LocalId => Lowered::runtime("vy_lid.x".into(), DataType::U32),
                Builtin::WorkgroupId => Lowered::runtime("vy_wid.x".into(), DataType::U32),
                Builtin::NumWorkgroups => Lowered::runtime("vy_nwg.x".into(), DataType::U32),
                Builtin::WorkgroupSize => Lowered::constant(&format!("{}u", self.program.workgroup_size), DataType::U32),
            },
            Expr::Unary { op, arg } => self.unary(*op, arg)?,
            Expr::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs)?,
            Expr::Select { cond, on_true, on_false } => {
                let c = self.expr_of(cond, DataType::Bool, "select condition")?;
                let t = self.expr(on_true)?;
                let f = self.expr_of(on_false, t.ty, "select's false value")?;
                let ty = t.ty;
                self.op(vec![f, t, c], ty, |a| format!("select({}, {}, {})", a[0], a[1], a[2]))
            }
            Expr::Cast { to, arg } => self.cast(*to, arg)?,
            Expr::Bitcast { to, arg } => {
                let x = self.expr(arg)?;
                if x.ty == DataType::Bool || *to == DataType::Bool {
                    return Err(self.invalid(format!("bitcast `{e}` involves bool. Fix: use cast<> for bools")));
                }
                if x.ty == *to {
                    x
                } else {
                    let t = wgsl_type(*to);
                    self.op(vec![x], *to, |a| format!("bitcast<{t}>({})", a[0]))
                }
            }
            Expr::Atomic { .. } | Expr::UniformLoad { .. } => {
                return Err(self.invalid(format!(
                    "`{e}` is nested inside an expression. Fix: bind it with `let` first (atomics and uniform loads must be the whole value of a let, assignment or eval)"
                )))
            }
        })
    }

    fn unary(&mut self, op: UnOp, arg: &Expr) -> Result<Lowered> {
        let x = self.expr(arg)?;
        let ty = x.ty;
        let ok = match op {
            UnOp::Neg => ty != DataType::Bool,
            UnOp::Not => ty == DataType::Bool,
            UnOp::BitNot | UnOp::Clz | UnOp::Ctz | UnOp::Popcount => ty.is_integer(),
        };
        if !ok {
            return Err(self.invalid(format!(
                "`{}` does not apply to {ty}. Fix: cast the operand",
                op.name()
            )));
        }
        Ok(match op {
            // WGSL has no unary minus on u32: wrapping 0 - x.
            UnOp::Neg if ty == DataType::U32 => {
                self.op(vec![Lowered::constant("0u", ty), x], ty, |a| {
                    format!("({} - {})", a[0], a[1])
                })
            }
            UnOp::Neg => self.op(vec![x], ty, |a| format!("(-{})", a[0])),
            UnOp::Not => self.op(vec![x], ty, |a| format!("(!{})", a[0])),
            UnOp::BitNot => self.op(vec![x], ty, |a| format!("(~{})", a[0])),
            UnOp::Clz => self.op(vec![x], ty, |a| format!("countLeadingZeros({})", a[0])),
            UnOp::Ctz => self.op(vec![x], ty, |a| format!("countTrailingZeros({})", a[0])),
            UnOp::Popcount => self.op(vec![x], ty, |a| format!("countOneBits({})", a[0])),
        })
    }

    fn binary(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr) -> Result<Lowered> {
        use DataType::*;
        let a = self.expr(lhs)?;
        let ty = a.ty;
        if op.is_shift() {
            let b = self.expr_of(rhs, U32, "shift amount")?;
            if !ty.is_integer() {
                return Err(self.invalid(format!(
                    "`{}` of a {ty} value. Fix: shifts take u32 or i32",
                    op.name()
                )));
            }
            return Ok(self.shift(op, a, b));
        }
        let b = self.expr_of(rhs, ty, &format!("right operand of `{}`", op.name()))?;
        let ok = match op {
            BinOp::Add
            | BinOp::Sub
            | BinOp::Mul
            | BinOp::Div
            | BinOp::Rem
            | BinOp::Min
            | BinOp::Max => ty != Bool,
            BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor => ty.is_integer(),
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => ty != Bool,
            BinOp::Eq | BinOp::Ne => true,
            BinOp::And | BinOp::Or => ty == Bool,
            BinOp::Shl | BinOp::Shr | BinOp::RotateLeft | BinOp::RotateRight => true,
        };
        if !ok {
            return Err(self.invalid(format!(
                "`{}` does not apply to {ty}. Fix: cast the operands",
                op.name()
            )));
        }
        let infix = |s: &'static str| move |x: &[String]| format!("({} {s} {})", x[0], x[1]);
        Ok(match op {
            BinOp::Add => self.op(vec![a, b], ty, infix("+")),
            BinOp::Sub => self.op(vec![a, b], ty, infix("-")),
            BinOp::Mul => self.op(vec![a, b], ty, infix("*")),
            BinOp::Div if ty == F32 => self.op(vec![a, b], ty, infix("/")),
            BinOp::Div if ty == U32 => self.call(Helper::DivU32, "vy_div_u32", &[&a, &b], ty),
            BinOp::Div => self.call(Helper::DivI32, "vy_div_i32", &[&a, &b], ty),
            BinOp::Rem if ty == F32 => self.call(Helper::RemF32, "vy_rem_f32", &[&a, &b], ty),
            BinOp::Rem if ty == U32 => self.call(Helper::RemU32, "vy_rem_u32", &[&a, &b], ty),
            BinOp::Rem => self.call(Helper::RemI32, "vy_rem_i32", &[&a, &b], ty),
            BinOp::BitAnd => self.op(vec![a, b], ty, infix("&")),
            BinOp::BitOr => self.op(vec![a, b], ty, infix("|")),
            BinOp::BitXor => self.op(vec![a, b], ty, infix("^")),
            BinOp::Min if ty == F32 => self.call(Helper::MinF32, "vy_min_f32", &[&a, &b], ty),
            BinOp::Max if ty == F32 => self.call(Helper::MaxF32, "vy_max_f32", &[&a, &b], ty),
            BinOp::Min => self.op(vec![a, b], ty, |x| format!("min({}, {})", x[0], x[1])),
            BinOp::Max => self.op(vec![a, b], ty, |x| format!("max({}, {})", x[0], x[1])),
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge if ty == F32 => {
                let i = F32_COMPARISONS.iter().position(|c| c.0 == op).unwrap_or(0);
                self.call(
                    Helper::CmpF32(i as u8),
                    &format!("vy_{}_f32", op.name()),
                    &[&a, &b],
                    Bool,
                )
            }
            BinOp::Eq => self.op(vec![a, b], Bool, infix("==")),
            BinOp::Ne => self.op(vec![a, b], Bool, infix("!=")),
            BinOp::Lt => self.op(vec![a, b], Bool, infix("<")),
            BinOp::Le => self.op(vec![a, b], Bool, infix("<=")),
            BinOp::Gt => self.op(vec![a, b], Bool, infix(">")),
            BinOp::Ge => self.op(vec![a, b], Bool, infix(">=")),
            BinOp::And => self.op(vec![a, b], Bool, infix("&&")),
            BinOp::Or => self.op(vec![a, b], Bool, infix("||")),
            BinOp::Shl | BinOp::Shr | BinOp::RotateLeft | BinOp::RotateRight => unreachable_shift(),
        })
    }

    /// Shifts use `amount & 31`; `>>` on i32 is arithmetic in WGSL. Rotates go
    /// through helpers on the u32 bit pattern.
    fn shift(&mut self, op: BinOp, a: Lowered, b: Lowered) -> Lowered {
        let ty = a.ty;
        match op {
            BinOp::Shl | BinOp::Shr => {
                // `b & 31u` cannot fail when folded, so it keeps b's constness.
                let amount = Lowered {
                    code: format!("({} & 31u)", b.code),
                    ty: DataType::U32,
                    konst: b.konst,
                };
                let sym = if op == BinOp::Shl { "<<" } else { ">>" };
                self.op(vec![a, amount], ty, |x| {
                    format!("({} {sym} {})", x[0], x[1])
                })
            }
            _ => {
                let (h, name) = if op == BinOp::RotateLeft {
                    (Helper::RotlU32, "vy_rotl_u32")
                } else {
                    (Helper::RotrU32, "vy_rotr_u32")
                };
                if ty == DataType::U32 {
                    self.call(h, name, &[&a, &b], ty)
                } else {
                    let bits = Lowered::runtime(format!("bitcast<u32>({})", a.code), DataType::U32);
                    let r = self.call(h, name, &[&bits, &b], DataType::U32);
                    Lowered::runtime(format!("bitcast<i32>({})", r.code), ty)
                }
            }
        }
    }

    fn cast(&mut self, to: DataType, arg: &Expr) -> Result<Lowered> {
        use DataType::*;
        let x = self.expr(arg)?;
        let from = x.ty;
        if from == to {
            return Ok(x);
        }
        Ok(match (from, to) {
            (U32, I32) | (I32, U32) => {
                let t = wgsl_type(to);
                self.op(vec![x], to, |a| format!("bitcast<{t}>({})", a[0]))
            }
            (U32, F32) => self.call(Helper::U32ToF32, "vy_u32_to_f32", &[&x], to),
            (I32, F32) => self.call(Helper::I32ToF32, "vy_i32_to_f32", &[&x], to),
            (F32, U32) => self.call(Helper::F32ToU32, "vy_f32_to_u32", &[&x], to),
            (F32, I32) => self.call(Helper::F32ToI32, "vy_f32_to_i32", &[&x], to),
            (F32, Bool) => self.call(Helper::F32ToBool, "vy_f32_to_bool", &[&x], to),
            (U32 | I32, Bool) => {
                let z = Lowered::constant(zero(from), from);
                self.op(vec![x, z], to, |a| format!("({} != {})", a[0], a[1]))
            }
            (Bool, _) => {
                let (one, z) = match to {
                    U32 => ("1u", "0u"),
                    I32 => ("1i", "0i"),
                    _ => ("1.0f", "0.0f"),
                };
                let args = vec![Lowered::constant(z, to), Lowered::constant(one, to), x];
                self.op(args, to, |a| {
                    format!("select({}, {}, {})", a[0], a[1], a[2])
                })
            }
            _ => {
                return Err(self.invalid(format!(
                    "no cast from {from} to {to}. Fix: this is a vyre bug"
                )))
            }
        })
    }

    /// An atomic as the whole value of a let, an assignment or an eval.
    pub(crate) fn atomic(
        &mut self,
        op: AtomicOp,
        buffer: &str,
        index: &Expr,
        value: &Expr,
        expected: Option<&Expr>,
    ) -> Result<(String, DataType)> {
        let (bi, decl) = self.buffer(buffer)?;
        let i = self.expr_of(index, DataType::U32, "atomic index")?;
        let name = format!(
            "{}({}",
            mangle(&format!("at_{}", atomic_short(op)), buffer),
            i.code
        );
        let code = match (op, expected) {
            (AtomicOp::Load, _) => format!("{name})"),
            (AtomicOp::CompareExchange, Some(exp)) => {
                let e = self.expr_of(exp, decl.elem, "expected value")?;
                let v = self.expr_of(value, decl.elem, "atomic operand")?;
                format!("{name}, {}, {})", e.code, v.code)
            }
            (AtomicOp::CompareExchange, None) | (_, Some(_)) => {
                return Err(self.invalid(format!(
                    "`{}` on `{buffer}` has the wrong operands. Fix: only atomic_compare_exchange takes an expected value, and it needs one",
                    op.name()
                )))
            }
            _ => {
                let v = self.expr_of(value, decl.elem, "atomic operand")?;
                format!("{name}, {})", v.code)
            }
        };
        self.helpers.insert(Helper::Atomic(bi, op.code()));
        Ok((code, decl.elem))
    }
}

fn unreachable_shift() -> Lowered {
    // Shifts return early in `binary`; keep a harmless value instead of a panic.
    Lowered::runtime("0u".into(), DataType::U32)
}
