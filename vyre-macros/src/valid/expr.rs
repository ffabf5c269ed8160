//! Typing of expressions.

use proc_macro2::Span;
use syn::Ident;

use super::{has_break, Checker, Deferred, Res, Ty};
use crate::ast::{
    AtomicMethod, BinOp, ConstValue, CxUse, Expr, ExprKind, FnKind, Lit, Method, ParamKind, Range,
    Scalar, UnOp,
};

/// What a buffer-like name is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Base {
    Bytes,
    Output,
    Accumulator,
    ConstBytes,
    Table,
    Lanes,
    Scalar,
    Unknown,
}

impl Checker<'_> {
    /// Types `e`, recording its type.
    pub(super) fn expr(&mut self, e: &Expr) -> Ty {
        let t = self.expr_inner(e);
        self.expr_ty[e.id] = t;
        t
    }

    fn base(&mut self, e: &Expr, name: &Ident) -> Base {
        let Some((res, _)) = self.lookup(name) else {
            self.unknown(name);
            return Base::Unknown;
        };
        self.res.insert(e.id, res);
        match res {
            Res::Param(i) => match self.f.params[i].kind {
                ParamKind::Bytes => Base::Bytes,
                ParamKind::Output => Base::Output,
                ParamKind::Accumulator => Base::Accumulator,
                ParamKind::Lanes => Base::Lanes,
                ParamKind::Scalar(_) | ParamKind::ChunkStart => Base::Scalar,
            },
            Res::Const(i) => match self.consts[i] {
                ConstValue::Bytes(..) => Base::ConstBytes,
                ConstValue::Table { .. } => Base::Table,
                ConstValue::Scalar { .. } => Base::Scalar,
            },
            Res::Local(_) => Base::Scalar,
        }
    }

    fn unknown(&mut self, name: &Ident) {
        self.errs.push(
            name.span(),
            format!("cannot find `{name}` in this vyre function\nFix: declare it inside the function (`let` or `const`); module-level items are not visible to #[vyre::payload]"),
        );
    }

    fn index_ty(&mut self, idx: &Expr) {
        self.typed_index(
            idx,
            ("buffer indices", "`usize`", "`data[i as usize]`"),
            Scalar::Usize,
            "this index",
        );
    }

    /// Checks that index `idx` has type `want`; `(what, want_name, example)`
    /// word the error and its fix.
    fn typed_index(
        &mut self,
        idx: &Expr,
        (what, want_name, example): (&str, &str, &str),
        want: Scalar,
        label: &str,
    ) {
        let t = self.expr(idx);
        let t2 = self.shallow(t);
        if matches!(t2, Ty::S(s) if s != want) {
            self.errs.push(
                idx.span,
                format!(
                    "{what} are {want_name}, found {}\nFix: convert the index, e.g. {example}",
                    self.describe(t2)
                ),
            );
        } else {
            self.unify(t, Ty::S(want), idx.span, label);
        }
    }

    fn bool_cond(&mut self, c: &Expr) {
        let t = self.expr(c);
        self.unify(t, Ty::S(Scalar::Bool), c.span, "this condition");
    }

    fn binop(&mut self, op: BinOp, lt: Ty, r: &Expr, span: Span) -> Ty {
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

    fn assign_target(&mut self, e: &Expr, name: &Ident) -> Ty {
        let Some((res, mutable)) = self.lookup(name) else {
            self.unknown(name);
            return Ty::S(Scalar::U32);
        };
        self.res.insert(e.id, res);
        match res {
            Res::Local(v) if mutable => self.var_ty[v],
            Res::Param(i) if mutable => match self.f.params[i].kind {
                ParamKind::Scalar(s) => Ty::S(s),
                _ => Ty::S(Scalar::U32),
            },
            Res::Param(i)
                if !matches!(
                    self.f.params[i].kind,
                    ParamKind::Scalar(_) | ParamKind::ChunkStart
                ) =>
            {
                self.errs.unsupported(
                    name.span(),
                    format!("assigning to the buffer parameter `{name}`"),
                    "assign to an element of an output, `out[i] = v`",
                );
                Ty::S(Scalar::U32)
            }
            Res::Const(_) => {
                self.errs.push(
                    name.span(),
                    format!(
                        "cannot assign to the constant `{name}`\nFix: use a `let mut` variable"
                    ),
                );
                Ty::S(Scalar::U32)
            }
            Res::Local(v) => {
                self.errs.push(name.span(), format!("cannot assign to `{name}`, which is not `mut`\nFix: declare it `let mut {name}`"));
                self.var_ty[v]
            }
            Res::Param(i) => {
                let s = match self.f.params[i].kind {
                    ParamKind::Scalar(s) => s,
                    _ => Scalar::U32,
                };
                self.errs.push(name.span(), format!("cannot assign to the parameter `{name}`, which is not `mut`\nFix: declare it `mut {name}: {}`", s.name()));
                Ty::S(s)
            }
        }
    }

    fn store_target(&mut self, e: &Expr, name: &Ident, idx: &Expr) {
        match self.base(e, name) {
            Base::Output => {}
            Base::Bytes | Base::ConstBytes => {
                self.errs.unsupported(name.span(), format!("mutating the input `{name}`"), "inputs are read-only; write results to a `&mut [u32]` output parameter");
            }
            Base::Table => {
                self.errs.unsupported(name.span(), format!("writing to the constant table `{name}`"), "tables are read-only; write results to a `&mut [u32]` output parameter");
            }
            Base::Accumulator => {
                self.errs.push(name.span(), format!("accumulator elements are atomic: `{name}[i] = v` is not allowed\nFix: write `{name}[i].store(v, Ordering::Relaxed)` or use `fetch_add`"));
            }
            Base::Scalar | Base::Lanes => self.errs.push(name.span(), format!("cannot index `{name}`: it is not a buffer\nFix: index a `&[u8]` input, a `&mut [u32]` output or a byte-string constant")),
            Base::Unknown => {}
        }
        self.index_ty(idx);
    }

    fn expr_inner(&mut self, e: &Expr) -> Ty {
        match &e.kind {
            ExprKind::Lit(Lit::Int(v, Some(s))) => {
                let _ = v;
                Ty::S(*s)
            }
            ExprKind::Lit(Lit::Int(v, None)) => {
                let t = self.fresh(true);
                self.lits.push((e.id, *v, e.span, t));
                t
            }
            ExprKind::Lit(Lit::Float(_)) => Ty::S(Scalar::F32),
            ExprKind::Lit(Lit::Bool(_)) => Ty::S(Scalar::Bool),
            ExprKind::Name(n) => {
                let Some((res, _)) = self.lookup(n) else {
                    self.unknown(n);
                    return Ty::S(Scalar::U32);
                };
                self.res.insert(e.id, res);
                match res {
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
            ExprKind::Unary(UnOp::Neg, x) => {
                let t = self.expr(x);
                self.deferred.push(Deferred::Signed(t, e.span));
                if let Ty::Var(_) = self.shallow(t) {
                    return self.unify(t, Ty::S(Scalar::I32), e.span, "a negation");
                }
                t
            }
            ExprKind::Unary(UnOp::Not, x) => {
                let t = self.expr(x);
                self.deferred.push(Deferred::IntOrBool(t, e.span, "`!`"));
                t
            }
            ExprKind::Binary(op, l, r) => {
                let lt = self.expr(l);
                self.binop(*op, lt, r, e.span)
            }
            ExprKind::Cast(x, to) => {
                let t = self.expr(x);
                if self.shallow(t) == Ty::S(Scalar::Bool) && *to == Scalar::F32 {
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
                Ty::S(*to)
            }
            ExprKind::Index(name, idx) => {
                let b = self.base(e, name);
                match b {
                    Base::Bytes | Base::ConstBytes | Base::Table => {}
                    Base::Output => {}
                    Base::Accumulator => self.errs.push(
                        e.span,
                        format!("accumulator elements are atomic and cannot be read directly\nFix: read with `{name}[i].load(Ordering::Relaxed)`"),
                    ),
                    Base::Scalar | Base::Lanes => self.errs.push(
                        name.span(),
                        format!("cannot index `{name}`: it is not a buffer\nFix: index a `&[u8]` input, a `&mut [u32]` output or a byte-string constant"),
                    ),
                    Base::Unknown => {}
                }
                self.index_ty(idx);
                match b {
                    Base::Bytes | Base::ConstBytes => Ty::S(Scalar::U8),
                    _ => Ty::S(Scalar::U32),
                }
            }
            ExprKind::Len(name) => {
                match self.base(e, name) {
                    Base::Scalar | Base::Lanes => self.errs.push(name.span(), format!("`{name}` has no length: it is not a buffer\nFix: call `.len()` on a buffer parameter or a byte-string constant")),
                    _ => {}
                }
                Ty::S(Scalar::Usize)
            }
            ExprKind::Word(name, w) => {
                if !matches!(self.base(e, name), Base::Bytes | Base::Unknown) {
                    self.errs.push(name.span(), format!("`.word(w)` reads a `&[u8]` input parameter, and `{name}` is not one\nFix: call `.word(w)` on the payload's `&[u8]` parameter, or index `{name}[i]`"));
                }
                self.typed_index(
                    w,
                    ("word indices", "`u32`", "`data.word(i as u32)`"),
                    Scalar::U32,
                    "this word index",
                );
                Ty::S(Scalar::U32)
            }
            ExprKind::LaneId(name) | ExprKind::LaneCount(name) => {
                if !matches!(self.base(e, name), Base::Lanes | Base::Unknown) {
                    self.errs.push(name.span(), format!("`{name}` is not a `vyre::Lanes` parameter\nFix: call `.id()`/`.count()` on the `Lanes` parameter"));
                }
                Ty::S(Scalar::U32)
            }
            ExprKind::Method(recv, m, args) => self.method(e, recv, *m, args),
            ExprKind::Atomic {
                acc,
                index,
                op,
                values,
                cx,
                ..
            } => {
                match self.base(e, acc) {
                    Base::Accumulator | Base::Unknown => {}
                    Base::Bytes | Base::ConstBytes | Base::Table => {
                        self.errs.unsupported(acc.span(), format!("atomics on the input or constant `{acc}`"), "declare an accumulator parameter `acc: &[AtomicU32]` for atomic results")
                    }
                    Base::Output => self.errs.push(acc.span(), format!("`{acc}` is an output (`&mut [u32]`), not an accumulator\nFix: write plain `{acc}[i] = v`, or declare it `&[AtomicU32]`")),
                    Base::Scalar | Base::Lanes => self.errs.push(acc.span(), format!("cannot index `{acc}`: it is not a buffer\nFix: use an accumulator parameter `&[AtomicU32]`")),
                }
                self.index_ty(index);
                for v in values {
                    let t = self.expr(v);
                    self.unify(t, Ty::S(Scalar::U32), v.span, "this atomic operand");
                }
                match (op, cx) {
                    (AtomicMethod::Store, _) | (AtomicMethod::CompareExchange, CxUse::Discard) => {
                        Ty::Unit
                    }
                    (AtomicMethod::CompareExchange, _) => Ty::S(Scalar::Bool),
                    _ => Ty::S(Scalar::U32),
                }
            }
            ExprKind::Call(path, args) => {
                let mut first = None;
                for a in args {
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
                let _ = path;
                let ret = self.fresh(false);
                self.calls.push((ret, first));
                ret
            }
            ExprKind::Assign(name, v) => {
                let target = self.assign_target(e, name);
                let t = self.expr(v);
                self.unify(t, target, v.span, "this assignment");
                Ty::Unit
            }
            ExprKind::CompoundAssign(op, name, v) => {
                let target = self.assign_target(e, name);
                if op.is_cmp() || matches!(op, BinOp::And | BinOp::Or) {
                    return Ty::Unit;
                }
                self.binop(*op, target, v, e.span);
                Ty::Unit
            }
            ExprKind::StoreOut(name, idx, v) => {
                self.store_target(e, name, idx);
                let t = self.expr(v);
                self.unify(
                    t,
                    Ty::S(Scalar::U32),
                    v.span,
                    "a store to an output (outputs hold `u32`)",
                );
                Ty::Unit
            }
            ExprKind::CompoundStoreOut(op, name, idx, v) => {
                self.store_target(e, name, idx);
                self.binop(*op, Ty::S(Scalar::U32), v, e.span);
                Ty::Unit
            }
            ExprKind::If(c, then, otherwise) => {
                self.bool_cond(c);
                let tt = self.block(then);
                match otherwise {
                    None => {
                        if let Some(tail) = &then.tail {
                            self.unify(tt, Ty::Unit, tail.span, "an `if` without `else`");
                        }
                        Ty::Unit
                    }
                    Some(o) => {
                        let ot = self.block(o);
                        let span = o.tail.as_ref().map(|t| t.span).unwrap_or(e.span);
                        self.unify(ot, tt, span, "the `else` branch")
                    }
                }
            }
            ExprKind::Block(b) => self.block(b),
            ExprKind::While(c, body) => {
                self.bool_cond(c);
                self.loop_body(body);
                Ty::Unit
            }
            ExprKind::Loop(body) => {
                self.loop_body(body);
                if has_break(body) {
                    Ty::Unit
                } else {
                    Ty::Never
                }
            }
            ExprKind::For {
                var,
                name,
                range,
                body,
            } => {
                let t = match range {
                    Range::Plain {
                        start, end, step, ..
                    } => {
                        let st = self.expr(start);
                        let et = self.expr(end);
                        let t = self.unify(et, st, end.span, "the range");
                        self.deferred.push(Deferred::RangeTy(
                            t,
                            start.span.join(end.span).unwrap_or(start.span),
                        ));
                        if let Some(s) = step {
                            let stt = self.expr(s);
                            self.unify(
                                stt,
                                Ty::S(Scalar::Usize),
                                s.span,
                                "`step_by` (which takes `usize`)",
                            );
                        }
                        t
                    }
                    Range::Lanes { lanes, start, end } => {
                        let ok = matches!(self.lookup(lanes), Some((Res::Param(i), _)) if self.f.params[i].kind == ParamKind::Lanes);
                        if !ok {
                            self.errs.push(lanes.span(), format!("`{lanes}` is not a `vyre::Lanes` parameter\nFix: call `.range(a..b)` on the `Lanes` parameter"));
                        }
                        for x in [start, end] {
                            let t = self.expr(x);
                            self.unify(
                                t,
                                Ty::S(Scalar::U32),
                                x.span,
                                "`lanes.range` (which takes `u32`)",
                            );
                        }
                        Ty::S(Scalar::U32)
                    }
                };
                self.var_ty[*var] = t;
                self.scopes.push(Vec::new());
                self.declare(name, Res::Local(*var), false);
                self.loop_body(body);
                self.scopes.pop();
                Ty::Unit
            }
            ExprKind::Break | ExprKind::Continue => {
                if self.loops == 0 {
                    self.errs.push(e.span, "`break`/`continue` outside a loop\nFix: use them inside `for`, `while` or `loop`");
                }
                Ty::Never
            }
            ExprKind::Return(v) => {
                match (self.f.kind, v, self.f.ret) {
                    (FnKind::Payload, Some(v), _) => {
                        self.expr(v);
                        self.errs.unsupported(
                            v.span,
                            "returning a value from a payload",
                            "write results to an output or accumulator and use a bare `return;`",
                        );
                    }
                    (FnKind::Helper, Some(v), Some((r, _))) => {
                        let t = self.expr(v);
                        self.unify(t, Ty::S(r), v.span, "the returned value");
                    }
                    (FnKind::Helper, None, Some(_)) => self.errs.push(
                        e.span,
                        "a helper must return a value\nFix: write `return value;`",
                    ),
                    _ => {}
                }
                Ty::Never
            }
        }
    }

    fn loop_body(&mut self, body: &crate::ast::Block) {
        self.loops += 1;
        let t = self.block(body);
        if let Some(tail) = &body.tail {
            self.unify(t, Ty::Unit, tail.span, "a loop body");
        }
        self.loops -= 1;
    }

    fn method(&mut self, e: &Expr, recv: &Expr, m: Method, args: &[Expr]) -> Ty {
        let rt = self.expr(recv);
        let what = match m {
            Method::WrappingAdd | Method::WrappingSub | Method::WrappingMul => "`wrapping_*`",
            Method::Min | Method::Max => "`min`/`max`",
            Method::CountOnes | Method::LeadingZeros | Method::TrailingZeros => "bit counting",
            Method::RotateLeft | Method::RotateRight => "a rotate",
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
