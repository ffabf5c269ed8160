//! Compiles an expression tree into postfix code ([`CExpr`]), type-checking
//! it and resolving every operation by operand type.
//!
//! The walk uses an explicit work stack, not recursion, so no expression is
//! too deep to compile (or, since the code is flat, to evaluate or drop).

use super::form::{Bin, CExpr, Conv, Op, Un};
use crate::error::Error;
use crate::ir::{BinOp, DataType, Expr, UnOp};

/// What an expression may refer to.
pub(crate) trait Scope {
    /// Slot and type of variable `name`, if in scope.
    fn var(&self, name: &str) -> Option<(u32, DataType)>;
    /// Memory index and element type of buffer `name`, or the error message.
    fn buffer(&self, name: &str) -> Result<(u32, DataType), Error>;
}

enum Work<'e> {
    /// Emit the operands of this expression (then `Finish` it).
    Visit(&'e Expr),
    /// Operands are emitted: emit the operation itself.
    Finish(&'e Expr),
    /// Left operand of `and` (true) / `or` (false) emitted: emit the jump.
    ShortCircuit(bool),
    /// Right operand of `and`/`or` emitted: patch the jump.
    ShortCircuitEnd(BinOp),
}

fn internal() -> Error {
    Error::internal("malformed expression code in the CPU reference")
}

/// Compiles `root` into postfix code and returns it with its type. Errors
/// are [`Error::BadInput`]s (or [`Error::Internal`]).
pub(crate) fn compile_expr(root: &Expr, scope: &impl Scope) -> Result<(CExpr, DataType), Error> {
    use DataType::*;
    let mut work = vec![Work::Visit(root)];
    let mut code: Vec<Op> = Vec::new();
    let mut types: Vec<DataType> = Vec::new();
    let mut jumps: Vec<usize> = Vec::new();
    // The latest jump target: the code position some jump lands on.
    let mut jump_target: Option<usize> = None;
    while let Some(item) = work.pop() {
        match item {
            Work::Visit(e) => {
                match e {
                    Expr::Lit(l) => {
                        code.push(Op::Lit(l.bits()));
                        types.push(l.ty());
                    }
                    Expr::Var(name) => {
                        let (slot, ty) = scope.var(name).ok_or_else(|| {
                        Error::bad_input(format!("variable `{name}` is not in scope"), "declare it with `let` before use, in this block or an enclosing one")
                    })?;
                        code.push(Op::Var(slot));
                        types.push(ty);
                    }
                    Expr::Len(buffer) => {
                        code.push(Op::Len(scope.buffer(buffer)?.0));
                        types.push(U32);
                    }
                    Expr::Builtin(b) => {
                        code.push(Op::Builtin(*b));
                        types.push(U32);
                    }
                    Expr::Load { index: arg, .. }
                    | Expr::Unary { arg, .. }
                    | Expr::Cast { arg, .. }
                    | Expr::Bitcast { arg, .. } => {
                        work.push(Work::Finish(e));
                        work.push(Work::Visit(arg));
                    }
                    Expr::Binary {
                        op: op @ (BinOp::And | BinOp::Or),
                        lhs,
                        rhs,
                    } => {
                        work.push(Work::ShortCircuitEnd(*op));
                        work.push(Work::Visit(rhs));
                        work.push(Work::ShortCircuit(*op == BinOp::And));
                        work.push(Work::Visit(lhs));
                    }
                    Expr::Binary { lhs, rhs, .. } => {
                        work.push(Work::Finish(e));
                        work.push(Work::Visit(rhs));
                        work.push(Work::Visit(lhs));
                    }
                    Expr::Select {
                        cond,
                        on_true,
                        on_false,
                    } => {
                        work.push(Work::Finish(e));
                        work.push(Work::Visit(on_false));
                        work.push(Work::Visit(on_true));
                        work.push(Work::Visit(cond));
                    }
                    Expr::Atomic { op, .. } => return Err(Error::bad_input(
                        format!("{} inside a larger expression", op.name()),
                        "make the atomic the whole value of a `let`, an assignment or an `eval`",
                    )),
                    Expr::UniformLoad { .. } => {
                        return Err(Error::bad_input(
                            "uniform_load inside a larger expression or an `eval`",
                            "make it the whole value of a `let` or an assignment",
                        ))
                    }
                }
            }
            Work::ShortCircuit(is_and) => {
                jumps.push(code.len());
                code.push(if is_and {
                    Op::JumpIfFalse(0)
                } else {
                    Op::JumpIfTrue(0)
                });
            }
            Work::ShortCircuitEnd(op) => {
                let rt = types.pop().ok_or_else(internal)?;
                let lt = types.pop().ok_or_else(internal)?;
                if lt != Bool || rt != Bool {
                    return Err(Error::bad_input(
                        format!("`{}` does not apply to ({lt}, {rt})", op.name()),
                        "compare the operands to get bools",
                    ));
                }
                let target = code.len() as u32;
                jump_target = Some(code.len());
                match jumps.pop().and_then(|at| code.get_mut(at)) {
                    Some(Op::JumpIfFalse(t) | Op::JumpIfTrue(t)) => *t = target,
                    _ => return Err(internal()),
                }
                types.push(Bool);
            }
            Work::Finish(e) => {
                let (op, ty) = finish(e, &mut types, scope)?;
                // Fuse a constant or variable right operand into the op,
                // unless a jump lands right after it (its target would move).
                let fusable = jump_target != Some(code.len());
                let fused = match (op, code.last()) {
                    (Some(Op::Bin(bin)), Some(&Op::Lit(v))) if fusable => Some(Op::BinLit(bin, v)),
                    (Some(Op::Bin(bin)), Some(&Op::Var(slot))) if fusable => {
                        Some(Op::BinVar(bin, slot))
                    }
                    _ => None,
                };
                if let Some(fused) = fused {
                    code.pop();
                    code.push(fused);
                } else if let Some(op) = op {
                    code.push(op);
                }
                types.push(ty);
            }
        }
    }
    match (types.pop(), types.is_empty()) {
        (Some(ty), true) => Ok((CExpr(code.into_boxed_slice()), ty)),
        _ => Err(internal()),
    }
}

/// The operation of `e`, whose operand types are on top of `types` (popped
/// here), and its result type. `None`: no code needed (identity).
fn finish(
    e: &Expr,
    types: &mut Vec<DataType>,
    scope: &impl Scope,
) -> Result<(Option<Op>, DataType), Error> {
    use DataType::*;
    let mut pop = || types.pop().ok_or_else(internal);
    Ok(match e {
        Expr::Load { buffer, .. } => {
            let ty = pop()?;
            if !ty.is_integer() {
                return Err(Error::bad_input(
                    format!("index into `{buffer}` has type {ty} but must be u32"),
                    "cast it to u32",
                ));
            }
            let (mem, elem) = scope.buffer(buffer)?;
            (Some(Op::Load(mem)), elem)
        }
        Expr::Unary { op, .. } => {
            let ty = pop()?;
            (Some(Op::Un(unary(*op, ty)?)), ty)
        }
        Expr::Binary { op, .. } => {
            let rt = pop()?;
            let lt = pop()?;
            let (bin, ty) = binary(*op, lt, rt)?;
            (Some(Op::Bin(bin)), ty)
        }
        Expr::Select { .. } => {
            let ft = pop()?;
            let tt = pop()?;
            let ct = pop()?;
            if ct != Bool || tt != ft {
                return Err(Error::bad_input(format!("select({ct}, {tt}, {ft}): the condition must be bool and both values the same type"), "cast the operands"));
            }
            (Some(Op::Select), tt)
        }
        Expr::Cast { to, .. } => {
            let conv = cast(pop()?, *to);
            ((conv != Conv::Id).then_some(Op::Conv(conv)), *to)
        }
        Expr::Bitcast { to, .. } => {
            let from = pop()?;
            if from == Bool || *to == Bool {
                return Err(Error::bad_input(
                    format!("bitcast from {from} to {to}: bool has no bit pattern"),
                    "use a cast for bools",
                ));
            }
            (None, *to)
        }
        _ => return Err(internal()),
    })
}

fn unary(op: UnOp, ty: DataType) -> Result<Un, Error> {
    let int = ty.is_integer();
    Ok(match op {
        UnOp::Neg if int => Un::NegI,
        UnOp::Neg if ty == DataType::F32 => Un::NegF,
        UnOp::BitNot if int => Un::BitNot,
        UnOp::Not if ty == DataType::Bool => Un::Not,
        UnOp::Clz if int => Un::Clz,
        UnOp::Ctz if int => Un::Ctz,
        UnOp::Popcount if int => Un::Popcount,
        _ => {
            return Err(Error::bad_input(
                format!("`{}` does not apply to {ty}", op.name()),
                "cast the operand to a type it accepts",
            ))
        }
    })
}

/// A value conversion: every pair of types has one (see [`crate::ir`]).
fn cast(from: DataType, to: DataType) -> Conv {
    use DataType::*;
    match (from, to) {
        (U32, F32) => Conv::U2F,
        (I32, F32) => Conv::S2F,
        (F32, U32) => Conv::F2U,
        (F32, I32) => Conv::F2S,
        (Bool, F32) => Conv::B2F,
        (U32 | I32, Bool) => Conv::I2B,
        (F32, Bool) => Conv::F2B,
        // Same type, u32 <-> i32, bool -> integer: the bits are already right.
        (U32 | I32 | F32 | Bool, _) => Conv::Id,
    }
}

/// Resolves a binary op (not `and`/`or`) by operand types; returns it with
/// the result type.
fn binary(op: BinOp, lt: DataType, rt: DataType) -> Result<(Bin, DataType), Error> {
    use DataType::*;
    let mismatch = || {
        Error::bad_input(
            format!("`{}` does not apply to ({lt}, {rt})", op.name()),
            "cast the operands (same type; shift amounts u32)",
        )
    };
    let shapes_ok = if op.is_shift() {
        lt.is_integer() && rt == U32
    } else {
        lt == rt
    };
    if !shapes_ok {
        return Err(mismatch());
    }
    let (int, signed, float, boolean) = (lt.is_integer(), lt == I32, lt == F32, lt == Bool);
    let pick = |u: Bin, s: Bin, f: Bin| -> Option<Bin> {
        if float {
            Some(f)
        } else if signed {
            Some(s)
        } else if int {
            Some(u)
        } else {
            None
        }
    };
    let bin = match op {
        BinOp::Add => pick(Bin::AddI, Bin::AddI, Bin::AddF),
        BinOp::Sub => pick(Bin::SubI, Bin::SubI, Bin::SubF),
        BinOp::Mul => pick(Bin::MulI, Bin::MulI, Bin::MulF),
        BinOp::Div => pick(Bin::DivU, Bin::DivS, Bin::DivF),
        BinOp::Rem => pick(Bin::RemU, Bin::RemS, Bin::RemF),
        BinOp::Min => pick(Bin::MinU, Bin::MinS, Bin::MinF),
        BinOp::Max => pick(Bin::MaxU, Bin::MaxS, Bin::MaxF),
        BinOp::Lt => pick(Bin::LtU, Bin::LtS, Bin::LtF),
        BinOp::Le => pick(Bin::LeU, Bin::LeS, Bin::LeF),
        BinOp::Gt => pick(Bin::GtU, Bin::GtS, Bin::GtF),
        BinOp::Ge => pick(Bin::GeU, Bin::GeS, Bin::GeF),
        BinOp::Eq if float => Some(Bin::EqF),
        BinOp::Eq => Some(Bin::EqBits),
        BinOp::Ne if float => Some(Bin::NeF),
        BinOp::Ne => Some(Bin::NeBits),
        BinOp::BitAnd if int || boolean => Some(Bin::BitAnd),
        BinOp::BitOr if int || boolean => Some(Bin::BitOr),
        BinOp::BitXor if int || boolean => Some(Bin::BitXor),
        BinOp::Shl => Some(Bin::Shl),
        BinOp::Shr if signed => Some(Bin::ShrS),
        BinOp::Shr => Some(Bin::ShrU),
        BinOp::RotateLeft => Some(Bin::Rotl),
        BinOp::RotateRight => Some(Bin::Rotr),
        // Bitwise ops on f32; `and`/`or` (compiled as short-circuit jumps).
        BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor | BinOp::And | BinOp::Or => None,
    };
    let bin = bin.ok_or_else(mismatch)?;
    Ok((bin, if op.is_comparison() { Bool } else { lt }))
}
