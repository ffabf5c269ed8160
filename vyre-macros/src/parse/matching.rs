//! syn `match` → [`crate::ast::ExprKind::Match`]: integer literal patterns,
//! `a | b`, ranges and `_`; bindings, guards and other patterns are rejected.

use syn::spanned::Spanned;
use syn::{Expr as E, Pat as P};

use super::Parser;
use crate::ast::{Arm, Block, Expr, ExprKind, Lit, Pat, PatKind, Scalar};

impl Parser<'_> {
    /// `match scrutinee { pat => body, .. }` on an integer.
    pub(super) fn match_expr(&mut self, m: &syn::ExprMatch) -> Option<Expr> {
        let span = m.span();
        let scrutinee = self.expr(&m.expr);
        let mut arms = Vec::new();
        let mut ok = true;
        for a in &m.arms {
            if let Some((_, g)) = &a.guard {
                self.errs.unsupported(
                    g.span(),
                    "`match` guards (`pat if cond`)",
                    "test the condition with `if` inside the arm's body",
                );
                ok = false;
            }
            let mut pats = Vec::new();
            ok &= self.pattern(&a.pat, &mut pats);
            let body = match &*a.body {
                E::Block(b) if b.label.is_none() => self.block(&b.block),
                other => match self.expr(other) {
                    Some(x) => Block {
                        stmts: Vec::new(),
                        tail: Some(Box::new(x)),
                    },
                    None => {
                        ok = false;
                        continue;
                    }
                },
            };
            arms.push(Arm {
                pats,
                body,
                span: a.pat.span(),
            });
        }
        let scrutinee = scrutinee?;
        if !ok {
            return None;
        }
        Some(self.mk(span, ExprKind::Match(Box::new(scrutinee), arms)))
    }

    /// The alternatives of pattern `p`, appended to `out`; false after an error.
    fn pattern(&mut self, p: &P, out: &mut Vec<Pat>) -> bool {
        let span = p.span();
        match p {
            P::Or(o) => {
                let mut ok = true;
                for c in &o.cases {
                    ok &= self.pattern(c, out);
                }
                ok
            }
            P::Paren(inner) => self.pattern(&inner.pat, out),
            P::Wild(_) => {
                out.push(Pat {
                    kind: PatKind::Wild,
                    suffix: None,
                    span,
                    bound_spans: (span, span),
                });
                true
            }
            P::Lit(l) => match self.pat_bound(&E::Lit(l.clone())) {
                Some((v, suffix)) => {
                    out.push(Pat {
                        kind: PatKind::Lit(v),
                        suffix,
                        span,
                        bound_spans: (span, span),
                    });
                    true
                }
                None => false,
            },
            P::Path(pp) => match self.pat_bound(&E::Path(pp.clone())) {
                Some((v, suffix)) => {
                    out.push(Pat {
                        kind: PatKind::Lit(v),
                        suffix,
                        span,
                        bound_spans: (span, span),
                    });
                    true
                }
                None => false,
            },
            P::Range(r) => {
                let lo = r.start.as_deref().map(|s| self.pat_bound(s));
                let hi = r.end.as_deref().map(|s| self.pat_bound(s));
                let (Some(lo), Some(hi)) =
                    (lo.unwrap_or(Some((0, None))), hi.unwrap_or(Some((0, None))))
                else {
                    return false;
                };
                let lo_v = r.start.as_ref().map(|_| lo.0);
                let mut hi_v = r.end.as_ref().map(|_| hi.0);
                if matches!(r.limits, syn::RangeLimits::HalfOpen(_)) {
                    hi_v = hi_v.map(|h| h - 1);
                }
                if let (Some(a), Some(b)) = (lo_v, hi_v) {
                    if a > b {
                        self.errs.push(span, "this range pattern is empty\nFix: write the lower bound first, `lo..=hi`");
                        return false;
                    }
                }
                let bspan = |b: &Option<Box<E>>| b.as_ref().map(|x| x.span()).unwrap_or(span);
                out.push(Pat {
                    kind: PatKind::Range(lo_v, hi_v),
                    suffix: lo.1.or(hi.1),
                    span,
                    bound_spans: (bspan(&r.start), bspan(&r.end)),
                });
                true
            }
            P::Ident(i) => {
                self.errs.unsupported(
                    i.span(),
                    format!("binding patterns in `match` (`{}`)", i.ident),
                    "match literals, ranges (`lo..=hi`) or `_`, and use the matched value itself in the arm",
                );
                false
            }
            other => {
                self.errs.unsupported(
                    other.span(),
                    "this pattern",
                    "match on integers with literals (`3`, `b'a'`), `a | b`, ranges (`lo..=hi`) or `_`",
                );
                false
            }
        }
    }

    /// An integer literal (possibly negative) or a `u8::MAX`-style limit
    /// in a pattern: its value and type suffix.
    fn pat_bound(&mut self, e: &E) -> Option<(i64, Option<Scalar>)> {
        if let E::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) = e
        {
            if let Some(digits) = i.base10_digits().strip_prefix('-') {
                let suffix = Scalar::from_name(i.suffix());
                if let (Ok(v), None | Some(Scalar::I32)) = (digits.parse::<i64>(), suffix) {
                    if v <= 1 << 31 {
                        return Some((-v, suffix));
                    }
                }
                self.errs.push(i.span(), "negative pattern out of range\nFix: negative patterns need an `i32` value in range");
                return None;
            }
        }
        let x = self.expr(e)?;
        match x.kind {
            ExprKind::Lit(Lit::Int(v, s)) => Some((v, s)),
            _ => {
                self.errs.unsupported(
                    x.span,
                    "this pattern",
                    "match on integers with literals (`3`, `b'a'`), `a | b`, ranges (`lo..=hi`) or `_`",
                );
                None
            }
        }
    }
}
