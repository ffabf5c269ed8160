//! Typing of control flow: `if`, `while`, `loop`, `for` (plain and lane
//! ranges), `break`/`continue` and `return`.

use syn::Ident;

use super::{Checker, Deferred, Res, Ty};
use crate::ast::{Block, Expr, ExprKind, FnKind, ParamKind, Range, Scalar, Stmt, VarId};

impl Checker<'_> {
    /// Checks that the condition `c` is a `bool`.
    fn bool_cond(&mut self, c: &Expr) {
        let t = self.expr(c);
        self.unify(t, Ty::S(Scalar::Bool), c.span, "this condition");
    }

    /// Types a loop body, which must produce `()`, with `break` allowed.
    fn loop_body(&mut self, body: &Block) {
        self.loops += 1;
        let t = self.block(body);
        if let Some(tail) = &body.tail {
            self.unify(t, Ty::Unit, tail.span, "a loop body");
        }
        self.loops -= 1;
    }

    /// `if c { then } else { otherwise }`: both branches have one type; without
    /// `else` the `then` branch must produce `()`.
    pub(super) fn if_ty(
        &mut self,
        e: &Expr,
        c: &Expr,
        then: &Block,
        otherwise: Option<&Block>,
    ) -> Ty {
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

    /// `while c { body }`: `()`.
    pub(super) fn while_ty(&mut self, c: &Expr, body: &Block) -> Ty {
        self.bool_cond(c);
        self.loop_body(body);
        Ty::Unit
    }

    /// `loop { body }`: `()` when the body can `break`, else `!`.
    pub(super) fn loop_ty(&mut self, body: &Block) -> Ty {
        self.loop_body(body);
        if has_break(body) {
            Ty::Unit
        } else {
            Ty::Never
        }
    }

    /// `for name in range { body }`: declares the loop variable `var` with
    /// the range's type for the body; `()`.
    pub(super) fn for_ty(&mut self, var: VarId, name: &Ident, range: &Range, body: &Block) -> Ty {
        let t = self.range_ty(range);
        self.var_ty[var] = t;
        self.scopes.push(Vec::new());
        self.declare(name, Res::Local(var), false);
        self.loop_body(body);
        self.scopes.pop();
        Ty::Unit
    }

    /// The type of a `for` range's values: the bounds' common type (checked
    /// later to be `u32` or `usize`) for `a..b` and `(a..b).step_by(n)`,
    /// `u32` for `lanes.range(a..b)`.
    fn range_ty(&mut self, range: &Range) -> Ty {
        match range {
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
        }
    }

    /// `break` / `continue`, only inside a loop: `!`.
    pub(super) fn break_ty(&mut self, e: &Expr) -> Ty {
        if self.loops == 0 {
            self.errs.push(
                e.span,
                "`break`/`continue` outside a loop\nFix: use them inside `for`, `while` or `loop`",
            );
        }
        Ty::Never
    }

    /// `return` / `return v`: a payload returns nothing, a helper its result
    /// type; `!`.
    pub(super) fn return_ty(&mut self, e: &Expr, v: Option<&Expr>) -> Ty {
        match (self.f.kind, v, self.f.ret) {
            (FnKind::Payload | FnKind::Combine, Some(v), _) => {
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

/// True when `b` contains a `break` that targets the innermost loop around it.
fn has_break(b: &Block) -> bool {
    fn e(x: &Expr) -> bool {
        match &x.kind {
            ExprKind::Break => true,
            ExprKind::If(_, t, o) => has_break(t) || o.as_ref().is_some_and(has_break),
            ExprKind::Match(_, arms) => arms.iter().any(|a| has_break(&a.body)),
            ExprKind::Block(b) => has_break(b),
            _ => false,
        }
    }
    b.stmts.iter().any(|s| matches!(s, Stmt::Expr(x) if e(x))) || b.tail.as_deref().is_some_and(e)
}
