//! Typing of expressions: the dispatch over expression kinds, and the typing
//! of values and operators (literals, names, unary and binary operators,
//! casts, methods and helper calls). Buffer accesses are typed in
//! [`super::access`], control flow in [`super::control`].

use proc_macro2::Span;
use syn::Ident;

use super::{Checker, Deferred, Res, Ty};
use crate::ast::{BinOp, ConstValue, Expr, ExprKind, Lit, Method, ParamKind, Scalar, UnOp};

impl Checker<'_> {
    /// Types `e`, recording its type.
    pub(super) fn expr(&mut self, e: &Expr) -> Ty {
        let t = self.expr_inner(e);
        self.expr_ty[e.id] = t;
        t
    }

    /// Reports `name` as not declared in the function.
    pub(super) fn unknown(&mut self, name: &Ident) {
        self.errs.push(
            name.span(),
            format!("cannot find `{name}` in this vyre function\nFix: declare it inside the function (`let` or `const`); module-level items are not visible to #[vyre::payload]"),
        );
    }

    /// Types `e` by its kind, without recording the type.
    fn expr_inner(&mut self, e: &Expr) -> Ty {
        match &e.kind {
            ExprKind::Lit(l) => self.lit_ty(e, *l),
            ExprKind::Name(n) => self.name_ty(e, n),
            ExprKind::Unary(UnOp::Neg, x) => self.neg_ty(e, x),
            ExprKind::Unary(UnOp::Not, x) => self.not_ty(e, x),
            ExprKind::Binary(op, l, r) => {
                let lt = self.expr(l);
                self.binop(*op, lt, r, e.span)
            }
            ExprKind::Cast(x, to) => self.cast_ty(e, x, *to),
            ExprKind::Index(name, idx) => self.index_ty(e, name, idx),
            ExprKind::Len(name) => self.len_ty(e, name),
            ExprKind::Word(name, w) => self.word_ty(e, name, w),
            ExprKind::LaneId(name) | ExprKind::LaneCount(name) => self.lane_ty(e, name),
            ExprKind::Method(recv, m, args) => self.method(e, recv, *m, args),
            ExprKind::Atomic {
                acc,
                index,
                op,
                values,
                cx,
                ..
            } => self.atomic_ty(e, acc, index, *op, values, *cx),
            ExprKind::Call(_, args) => self.call_ty(args),
            ExprKind::Assign(name, v) => self.assign_ty(e, name, v),
            ExprKind::CompoundAssign(op, name, v) => self.compound_assign_ty(e, *op, name, v),
            ExprKind::StoreOut(name, idx, v) => self.store_out_ty(e, name, idx, v),
            ExprKind::CompoundStoreOut(op, name, idx, v) => {
                self.compound_store_out_ty(e, *op, name, idx, v)
            }
            ExprKind::If(c, then, otherwise) => self.if_ty(e, c, then, otherwise.as_ref()),
            ExprKind::Match(scrutinee, arms) => self.match_ty(e, scrutinee, arms),
            ExprKind::FromBits(u) => {
                let t = self.expr(u);
                self.unify(
                    t,
                    Ty::S(Scalar::U32),
                    u.span,
                    "`f32::from_bits` (which takes `u32`)",
                );
                Ty::S(Scalar::F32)
            }
            ExprKind::Block(b) => self.block(b),
            ExprKind::While(c, body) => self.while_ty(c, body),
            ExprKind::Loop(body) => self.loop_ty(body),
            ExprKind::For {
                var,
                name,
                range,
                body,
            } => self.for_ty(*var, name, range, body),
            ExprKind::Break | ExprKind::Continue => self.break_ty(e),
            ExprKind::Return(v) => self.return_ty(e, v.as_deref()),
        }
    }

    /// A literal: its suffix's type, `f32`, `bool`, or for an unsuffixed
    /// integer a fresh integer variable (its range is checked at the end).
    fn lit_ty(&mut self, e: &Expr, l: Lit) -> Ty {
        match l {
            Lit::Int(_, Some(s)) => Ty::S(s),
            Lit::Int(v, None) => {
                let t = self.fresh(true);
                self.lits.push((e.id, v, e.span, t));
                t
            }
            Lit::Float(_) => Ty::S(Scalar::F32),
            Lit::Bool(_) => Ty::S(Scalar::Bool),
        }
    }

    /// A name used as a value: a local, a scalar parameter or a scalar
    /// constant (buffers and constant arrays are rejected).
    fn name_ty(&mut self, e: &Expr, n: &Ident) -> Ty {
        let Some((res, _)) = self.lookup(n) else {
            self.unknown(n);
            return Ty::S(Scalar::U32);
        };
        self.res.insert(e.id, res);
        match res {
            Res::Local(v) if self.var_len[v].is_some() => {
                self.errs.unsupported(
                    n.span(),
                    format!("using the array `{n}` as a value"),
                    format!("index it (`{n}[i]`) or take its length (`{n}.len()`); arrays cannot be copied, passed to helpers or returned"),
                );
                self.var_ty[v]
            }
            Res::Local(v) => self.var_ty[v],
            Res::Param(i) => match self.f.params[i].kind {
                ParamKind::Scalar(s) => Ty::S(s),
                ParamKind::ChunkStart => Ty::S(Scalar::U32),
                _ => {
                    self.errs.unsupported(
                        n.span(),
                        format!("using the buffer `{n}` as a value"),
                        format!("index it (`{n}[i]`) or take its length (`{n}.len()`)"),
                    );
                    Ty::S(Scalar::U32)
                }
            },
            Res::Const(i) => match &self.consts[i] {
                ConstValue::Scalar { ty, .. } => Ty::S(*ty),
                ConstValue::Bytes(..) | ConstValue::Table { .. } => {
                    self.errs.unsupported(
                        n.span(),
                        format!("using the constant array `{n}` as a value"),
                        format!("index it (`{n}[i]`) or take its length (`{n}.len()`)"),
                    );
                    Ty::S(Scalar::U32)
                }
            },
        }
    }

    /// `-x`: `i32` or `f32` (checked later); an unconstrained operand becomes `i32`.
    fn neg_ty(&mut self, e: &Expr, x: &Expr) -> Ty {
        let t = self.expr(x);
        self.deferred.push(Deferred::Signed(t, e.span));
        if let Ty::Var(_) = self.shallow(t) {
            return self.unify(t, Ty::S(Scalar::I32), e.span, "a negation");
        }
        t
    }

    /// `!x`: an integer or `bool` (checked later), of the operand's type.
    fn not_ty(&mut self, e: &Expr, x: &Expr) -> Ty {
        let t = self.expr(x);
        self.deferred.push(Deferred::IntOrBool(t, e.span, "`!`"));
        t
    }

    /// `x as to`: any scalar to `to`, except `bool` to `f32` and `()`.
    fn cast_ty(&mut self, e: &Expr, x: &Expr, to: Scalar) -> Ty {
        let t = self.expr(x);
        if self.shallow(t) == Ty::S(Scalar::Bool) && to == Scalar::F32 {
            self.errs.push(
                e.span,
                "cannot cast `bool` to `f32`\nFix: write `if b { 1.0 } else { 0.0 }`",
            );
        }
        if matches!(self.shallow(t), Ty::Unit | Ty::Never) {
            self.errs.push(
                x.span,
                "cannot cast a value of type `()`\nFix: cast a scalar value",
            );
        }
        Ty::S(to)
    }

    /// A call of a helper: scalar arguments, and a fresh result variable
    /// (guessed from the first argument at the end when unconstrained).
    fn call_ty(&mut self, args: &[Expr]) -> Ty {
        let mut first = None;
        for a in args {
            if let ExprKind::Name(n) = &a.kind {
                if let Some((Res::Local(v), _)) = self.lookup(n) {
                    if self.var_len[v].is_some() {
                        self.errs.unsupported(
                            a.span,
                            format!("passing the array `{n}` to a helper"),
                            format!("pass its elements (`{n}[0]`, `{n}[1]`, ...) as scalar arguments; helpers take and return scalars only"),
                        );
                        first.get_or_insert(Ty::Unit);
                        continue;
                    }
                }
            }
            let t = self.expr(a);
            if first.is_none() {
                first = Some(if matches!(a.kind, ExprKind::Lit(Lit::Int(_, None))) {
                    Ty::Unit
                } else {
                    t
                });
            }
            if matches!(self.shallow(t), Ty::Unit | Ty::Never) {
                self.errs.push(
                    a.span,
                    "helper arguments must be scalar values\nFix: pass a value",
                );
            }
        }
        let ret = self.fresh(false);
        self.calls.push((ret, first));
        ret
    }

    /// The binary operation `lt op r` (also the `op=` forms): its result type.
    pub(super) fn binop(&mut self, op: BinOp, lt: Ty, r: &Expr, span: Span) -> Ty {
        match op {
            BinOp::Shl | BinOp::Shr => {
                let rt = self.expr(r);
                self.deferred.push(Deferred::Int(lt, span, "a shift"));
                self.deferred
                    .push(Deferred::Int(rt, r.span, "a shift amount"));
                lt
            }
            BinOp::And | BinOp::Or => {
                self.unify(lt, Ty::S(Scalar::Bool), span, "`&&`/`||`");
                let rt = self.expr(r);
                self.unify(rt, Ty::S(Scalar::Bool), r.span, "`&&`/`||`")
            }
            _ => {
                let rt = self.expr(r);
                let t = self.unify(rt, lt, r.span, "this operation");
                match op {
                    BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor => self
                        .deferred
                        .push(Deferred::IntOrBool(t, span, "a bit operation")),
                    BinOp::Eq | BinOp::Ne => {}
                    BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => self
                        .deferred
                        .push(Deferred::Numeric(t, span, "an ordering comparison")),
                    _ => self.deferred.push(Deferred::Numeric(t, span, "arithmetic")),
                }
                if op.is_cmp() {
                    Ty::S(Scalar::Bool)
                } else {
                    t
                }
            }
        }
    }

    /// A method call on a scalar, `recv.m(args)`: its result type.
    fn method(&mut self, e: &Expr, recv: &Expr, m: Method, args: &[Expr]) -> Ty {
        let rt = self.expr(recv);
        let what = match m {
            Method::WrappingAdd | Method::WrappingSub | Method::WrappingMul => "`wrapping_*`",
            Method::Min | Method::Max => "`min`/`max`",
            Method::CountOnes | Method::LeadingZeros | Method::TrailingZeros => "bit counting",
            Method::RotateLeft | Method::RotateRight => "a rotate",
            Method::ToBits => "`to_bits`",
            Method::Abs => "`abs`",
        };
        match m {
            Method::WrappingAdd | Method::WrappingSub | Method::WrappingMul => {
                self.deferred.push(Deferred::Int(rt, e.span, what));
                let at = self.expr(&args[0]);
                self.unify(at, rt, args[0].span, what)
            }
            Method::Min | Method::Max => {
                self.deferred.push(Deferred::Numeric(rt, e.span, what));
                let at = self.expr(&args[0]);
                self.unify(at, rt, args[0].span, what)
            }
            Method::CountOnes | Method::LeadingZeros | Method::TrailingZeros => {
                self.deferred.push(Deferred::Int(rt, e.span, what));
                Ty::S(Scalar::U32)
            }
            Method::ToBits => {
                self.unify(
                    rt,
                    Ty::S(Scalar::F32),
                    recv.span,
                    "`to_bits` (an `f32` method)",
                );
                Ty::S(Scalar::U32)
            }
            Method::Abs => {
                self.deferred.push(Deferred::Float(rt, e.span, what));
                rt
            }
            Method::RotateLeft | Method::RotateRight => {
                self.deferred.push(Deferred::Word(rt, e.span, what));
                let at = self.expr(&args[0]);
                self.unify(
                    at,
                    Ty::S(Scalar::U32),
                    args[0].span,
                    "a rotate amount (which is `u32`)",
                );
                rt
            }
        }
    }
}
