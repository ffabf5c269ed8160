//! syn control flow → [`crate::ast::Expr`]: blocks, `if`, `while`, `loop`,
//! `for` with its range, `break` and `continue`; labels, `while let`,
//! `if let` and iterator chains are rejected.

use syn::spanned::Spanned;
use syn::Expr as E;

use super::expr::strip;
use super::Parser;
use crate::ast::{Block, Expr, ExprKind, Range};

impl Parser<'_> {
    /// A block expression `{ .. }` (labels are rejected).
    pub(super) fn block_kind(&mut self, b: &syn::ExprBlock) -> ExprKind {
        if let Some(l) = &b.label {
            self.errs
                .unsupported(l.span(), "block labels", "restructure the code with `if`");
        }
        ExprKind::Block(self.block(&b.block))
    }

    /// `while cond { .. }`; `None` for the unsupported `while let`.
    pub(super) fn while_kind(&mut self, w: &syn::ExprWhile) -> Option<ExprKind> {
        self.no_label(&w.label);
        if let E::Let(l) = &*w.cond {
            self.errs
                .unsupported(l.span(), "`while let`", "use `loop` with `if` and `break`");
            return None;
        }
        let cond = self.expr(&w.cond);
        let body = self.block(&w.body);
        Some(ExprKind::While(Box::new(cond?), body))
    }

    /// `loop { .. }`.
    pub(super) fn loop_kind(&mut self, l: &syn::ExprLoop) -> ExprKind {
        self.no_label(&l.label);
        ExprKind::Loop(self.block(&l.body))
    }

    /// `break` (labels and values are rejected).
    pub(super) fn break_kind(&mut self, b: &syn::ExprBreak) -> ExprKind {
        if let Some(l) = &b.label {
            self.errs.unsupported(
                l.span(),
                "labeled `break`",
                "use a flag variable and break out of each loop",
            );
        }
        if let Some(v) = &b.expr {
            self.errs.unsupported(
                v.span(),
                "`break` with a value",
                "assign the value to a variable declared before the loop, then `break`",
            );
        }
        ExprKind::Break
    }

    /// `continue` (labels are rejected).
    pub(super) fn continue_kind(&mut self, c: &syn::ExprContinue) -> ExprKind {
        if let Some(l) = &c.label {
            self.errs
                .unsupported(l.span(), "labeled `continue`", "use a flag variable");
        }
        ExprKind::Continue
    }

    /// Rejects a loop label.
    fn no_label(&mut self, l: &Option<syn::Label>) {
        if let Some(l) = l {
            self.errs.unsupported(
                l.span(),
                "loop labels",
                "use a flag variable and `break` out of each loop",
            );
        }
    }

    /// `if cond { .. } else ..` (`if let` is rejected).
    pub(super) fn if_expr(&mut self, i: &syn::ExprIf) -> Option<Expr> {
        let span = i.span();
        if let E::Let(l) = &*i.cond {
            self.errs
                .unsupported(l.span(), "`if let`", "use a plain `if` condition");
            return None;
        }
        let cond = self.expr(&i.cond);
        let then = self.block(&i.then_branch);
        let otherwise = match &i.else_branch {
            None => None,
            Some((_, e)) => match &**e {
                E::Block(b) => Some(self.block(&b.block)),
                other => {
                    let inner = self.expr(other)?;
                    Some(Block {
                        stmts: Vec::new(),
                        tail: Some(Box::new(inner)),
                    })
                }
            },
        };
        Some(self.mk(span, ExprKind::If(Box::new(cond?), then, otherwise)))
    }

    /// `for name in range { .. }` over a plain name (or `_`).
    pub(super) fn for_loop(&mut self, f: &syn::ExprForLoop) -> Option<Expr> {
        let span = f.span();
        self.no_label(&f.label);
        let name = match &*f.pat {
            syn::Pat::Ident(pi)
                if pi.by_ref.is_none() && pi.subpat.is_none() && pi.mutability.is_none() =>
            {
                pi.ident.clone()
            }
            syn::Pat::Wild(w) => syn::Ident::new("_", w.span()),
            syn::Pat::Ident(pi) if pi.mutability.is_some() => {
                self.errs.unsupported(
                    pi.span(),
                    "`for mut` loop variables",
                    "copy it into a `let mut` inside the loop",
                );
                return None;
            }
            other => {
                self.errs.unsupported(
                    other.span(),
                    "patterns in `for`",
                    "use a plain name: `for i in 0..n`",
                );
                return None;
            }
        };
        self.check_name(&name);
        let range = self.range(&f.expr);
        let body = self.block(&f.body);
        let var = self.var_id();
        Some(self.mk(
            span,
            ExprKind::For {
                var,
                name,
                range: range?,
                body,
            },
        ))
    }

    /// The range of a `for`: `a..b`, `a..=b`, `(a..b).step_by(n)` or
    /// `lanes.range(a..b)`.
    fn range(&mut self, e: &E) -> Option<Range> {
        let fix = "iterate over `a..b`, `a..=b`, `(a..b).step_by(n)` or `lanes.range(a..b)`";
        match strip(e) {
            E::Range(r) => {
                let (Some(s), Some(t)) = (&r.start, &r.end) else {
                    self.errs
                        .unsupported(r.span(), "open ranges", "give both bounds: `a..b`");
                    return None;
                };
                let inclusive = matches!(r.limits, syn::RangeLimits::Closed(_));
                let start = self.expr(s);
                let end = self.expr(t);
                Some(Range::Plain {
                    start: Box::new(start?),
                    end: Box::new(end?),
                    inclusive,
                    step: None,
                })
            }
            E::MethodCall(m) if m.method == "step_by" && m.args.len() == 1 => {
                let step = self.expr(&m.args[0]);
                match self.range(&m.receiver)? {
                    Range::Plain {
                        start,
                        end,
                        inclusive,
                        step: None,
                    } => Some(Range::Plain {
                        start,
                        end,
                        inclusive,
                        step: Some(Box::new(step?)),
                    }),
                    _ => {
                        self.errs
                            .unsupported(m.span(), "`step_by` on this iterator", fix);
                        None
                    }
                }
            }
            E::MethodCall(m) if m.method == "range" && m.args.len() == 1 => {
                let lanes = self.index_base(&m.receiver)?;
                match strip(&m.args[0]) {
                    E::Range(r)
                        if matches!(r.limits, syn::RangeLimits::HalfOpen(_))
                            && r.start.is_some()
                            && r.end.is_some() =>
                    {
                        let start = self.expr(r.start.as_deref()?);
                        let end = self.expr(r.end.as_deref()?);
                        Some(Range::Lanes {
                            lanes,
                            start: Box::new(start?),
                            end: Box::new(end?),
                        })
                    }
                    other => {
                        self.errs.unsupported(
                            other.span(),
                            "this argument to `lanes.range`",
                            "pass a half-open range: `lanes.range(a..b)`",
                        );
                        None
                    }
                }
            }
            other => {
                let what = match other {
                    E::MethodCall(m) => {
                        self.errs.unsupported(
                            m.method.span(),
                            format!("iterator adapters (`.{}()`)", m.method),
                            super::call::ITERATOR_FIX,
                        );
                        return None;
                    }
                    E::Path(_) => "iterating over a buffer or variable".to_string(),
                    _ => "iterating over this".to_string(),
                };
                self.errs.unsupported(other.span(), what, fix);
                None
            }
        }
    }
}
