//! `let (a, b) = (x, y);` and `let (a, b) = if c { (x, y) } else { (y, x) };`:
//! tuple destructuring, desugared into scalar `let`s. Every component is
//! evaluated (in order) into a hidden variable before any name is bound, so
//! `let (a, b) = (b, a);` swaps; the condition of a tuple-valued `if` is
//! evaluated once.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr as E, Ident, Pat, Type};

use super::expr::strip;
use super::Parser;
use crate::ast::{Block, Expr, ExprKind, Scalar, Stmt};

/// Fix for tuple forms outside the subset.
const FIX: &str = "destructure a tuple literal, `let (a, b) = (x, y);`, or a tuple-valued `if c { (x, y) } else { (y, x) }`; otherwise bind each value with its own `let`";

impl Parser<'_> {
    /// A hidden variable name (`__` is reserved for generated names).
    fn hidden(&mut self, what: &str, k: usize, span: Span) -> Ident {
        Ident::new(&format!("__vyre_{what}{}_{k}", self.next_var), span)
    }

    /// `let (p, q, ..)[: (T, U, ..)] = init;` into `out`.
    pub(super) fn local_tuple(&mut self, local: &syn::Local, out: &mut Vec<Stmt>) {
        let (pat, ty) = match &local.pat {
            Pat::Type(pt) => (&*pt.pat, Some(&*pt.ty)),
            other => (other, None),
        };
        let Pat::Tuple(pt) = pat else { return };
        let mut names = Vec::new();
        for p in &pt.elems {
            match p {
                Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                    self.check_name(&pi.ident);
                    names.push(Some((pi.ident.clone(), pi.mutability.is_some())));
                }
                Pat::Wild(_) => names.push(None),
                other => {
                    self.errs.unsupported(
                        other.span(),
                        "this pattern in a tuple `let`",
                        "bind each component to a plain name or `_`",
                    );
                    return;
                }
            }
        }
        let n = names.len();
        let tys: Vec<Option<(Scalar, Span)>> = match ty {
            None => vec![None; n],
            Some(Type::Tuple(tt)) if tt.elems.len() == n => tt
                .elems
                .iter()
                .map(|t| {
                    self.scalar_type(t, "tuple component type")
                        .map(|s| (s, t.span()))
                })
                .collect(),
            Some(other) => {
                self.errs.push(
                    other.span(),
                    format!(
                        "this type does not match a tuple of {n} values\nFix: write `({})`",
                        vec!["T"; n].join(", ")
                    ),
                );
                return;
            }
        };
        let Some(init) = &local.init else {
            self.errs.push(local.span(), "a tuple `let` needs an initial value in a vyre payload\nFix: initialize it, e.g. `let (a, b) = (0, 0);`");
            return;
        };
        if let Some((_, diverge)) = &init.diverge {
            self.errs
                .unsupported(diverge.span(), "`let ... else`", "use `if` and `return`");
        }
        let Some(values) = self.tuple_values(&init.expr, n, out) else {
            return;
        };
        let mut temps = Vec::new();
        for (k, (v, ty)) in values.into_iter().zip(tys).enumerate() {
            let t = self.hidden("tup", k, v.span);
            temps.push((t.clone(), v.span, ty));
            out.push(Stmt::Let {
                var: self.var_id(),
                name: t,
                mutable: false,
                ty,
                init: v,
            });
        }
        for (name, (t, span, ty)) in names.into_iter().zip(temps) {
            if let Some((name, mutable)) = name {
                let init = self.mk(span, ExprKind::Name(t));
                out.push(Stmt::Let {
                    var: self.var_id(),
                    name,
                    mutable,
                    ty,
                    init,
                });
            }
        }
    }

    /// The `n` component values of a tuple literal or tuple-valued `if`
    /// (whose condition goes into a hidden `let` in `out`).
    fn tuple_values(&mut self, e: &E, n: usize, out: &mut Vec<Stmt>) -> Option<Vec<Expr>> {
        match strip(e) {
            E::Tuple(t) if t.elems.len() == n => {
                let vals: Vec<Option<Expr>> = t.elems.iter().map(|x| self.expr(x)).collect();
                vals.into_iter().collect()
            }
            E::If(i) if !matches!(*i.cond, E::Let(_)) => {
                let Some((_, E::Block(o))) = i.else_branch.as_ref().map(|(t, e)| (t, &**e)) else {
                    self.errs.unsupported(
                        i.span(),
                        "this tuple-valued `if` (it needs a plain `else { (..) }`)",
                        FIX,
                    );
                    return None;
                };
                let cond = self.expr(&i.cond);
                let then = self.tuple_tail(&i.then_branch, n);
                let other = self.tuple_tail(&o.block, n);
                let (cond, then, other) = (cond?, then?, other?);
                let c = self.hidden("cond", 0, cond.span);
                let span = i.span();
                out.push(Stmt::Let {
                    var: self.var_id(),
                    name: c.clone(),
                    mutable: false,
                    ty: None,
                    init: cond,
                });
                let mut vals = Vec::new();
                for (x, y) in then.into_iter().zip(other) {
                    let cv = self.mk(span, ExprKind::Name(c.clone()));
                    let tb = Block {
                        stmts: Vec::new(),
                        tail: Some(Box::new(x)),
                    };
                    let ob = Block {
                        stmts: Vec::new(),
                        tail: Some(Box::new(y)),
                    };
                    vals.push(self.mk(span, ExprKind::If(Box::new(cv), tb, Some(ob))));
                }
                Some(vals)
            }
            E::Tuple(t) => {
                self.errs.push(
                    t.span(),
                    format!(
                        "this tuple has {} values, the pattern {n}\nFix: make them agree",
                        t.elems.len()
                    ),
                );
                None
            }
            other => {
                self.errs.unsupported(
                    other.span(),
                    "tuple values other than `(a, b)` literals and tuple-valued `if`",
                    FIX,
                );
                None
            }
        }
    }

    /// The `n` values of a branch `{ (x, y) }` (no statements).
    fn tuple_tail(&mut self, b: &syn::Block, n: usize) -> Option<Vec<Expr>> {
        match b.stmts.as_slice() {
            [syn::Stmt::Expr(e, None)] => match strip(e) {
                E::Tuple(t) if t.elems.len() == n => {
                    let vals: Vec<Option<Expr>> = t.elems.iter().map(|x| self.expr(x)).collect();
                    vals.into_iter().collect()
                }
                E::If(_) => {
                    self.errs
                        .unsupported(e.span(), "`else if` in a tuple-valued `if`", FIX);
                    None
                }
                other => {
                    self.errs.unsupported(other.span(), format!("this branch value in a tuple-valued `if` (each branch ends with a tuple of {n} values)"), FIX);
                    None
                }
            },
            _ => {
                self.errs.unsupported(b.span(), "statements in a branch of a tuple-valued `if`", "compute the values into variables before the `if`, and make each branch just `(x, y)`");
                None
            }
        }
    }
}
