//! Lowering of expressions used as statements to IR-building code:
//! assignments, stores, atomics, `if`, blocks, loops, `break`/`continue` and
//! `return`; also `if` used as a value.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;

use super::ir::{contains_return, zero, Gen};
use super::ir_expr::simple;
use crate::ast::{BinOp, Block, Expr, ExprKind, FnKind, ParamKind, Range, Scalar};
use crate::valid::Res;

impl Gen<'_> {
    /// Lowers `e` as a statement.
    pub fn stmt_expr(&mut self, e: &Expr, out: &mut Vec<TokenStream>) {
        match &e.kind {
            ExprKind::Atomic { .. } => {
                let (a, _) = self.atomic(e, out);
                Self::push(out, quote!(::vyre::ir::Node::Eval(#a)));
            }
            ExprKind::Assign(_, v) => self.assign_stmt(e, v, out),
            ExprKind::CompoundAssign(op, name, v) => {
                self.compound_assign_stmt(e, *op, name, v, out)
            }
            ExprKind::StoreOut(_, i, v) | ExprKind::CompoundStoreOut(_, _, i, v)
                if self.array_of(e).is_some() =>
            {
                let (var, len) = self.array_of(e).unwrap_or_default();
                let op = match &e.kind {
                    ExprKind::CompoundStoreOut(op, ..) => Some(*op),
                    _ => None,
                };
                self.array_store(var, len, op, i, v, out);
            }
            ExprKind::StoreOut(name, i, v) => self.store_out_stmt(name, i, v, out),
            ExprKind::CompoundStoreOut(op, name, i, v) => {
                self.compound_store_out_stmt(*op, name, i, v, out)
            }
            ExprKind::If(c, t, o) => self.if_stmt(c, t, o.as_ref(), out),
            ExprKind::Match(s, arms) => self.match_stmt(s, arms, out),
            ExprKind::Block(b) => {
                let inner = self.nested(|g, o| g.block_unit(b, o));
                Self::push(out, quote!(::vyre::ir::Node::Block(#inner)));
            }
            ExprKind::While(c, b) => self.while_stmt(c, b, out),
            ExprKind::Loop(b) => {
                let body = self.nested(|g, o| g.block_unit(b, o));
                Self::push(out, quote!(::vyre::ir::Node::Loop { body: #body }));
                self.after_loop(b, out);
            }
            ExprKind::For {
                var,
                name,
                range,
                body,
            } => self.for_loop(*var, &name.to_string(), range, body, out),
            ExprKind::Break => Self::push(out, quote!(::vyre::ir::Node::Break)),
            ExprKind::Continue => Self::push(out, quote!(::vyre::ir::Node::Continue)),
            ExprKind::Return(v) => self.return_stmt(v.as_deref(), out),
            _ => {
                // A value computed for nothing: keep its effects (hoisted statements) only.
                let _ = self.expr(e, out);
            }
        }
    }

    /// `name = v` (the target is resolved from `e`).
    fn assign_stmt(&mut self, e: &Expr, v: &Expr, out: &mut Vec<TokenStream>) {
        let val = self.expr(v, out);
        let n = self.assign_name(e);
        Self::push(
            out,
            quote!(::vyre::ir::Node::Assign { name: #n, value: #val }),
        );
    }

    /// `name op= v`, as `name = name op v`.
    fn compound_assign_stmt(
        &mut self,
        e: &Expr,
        op: BinOp,
        name: &Ident,
        v: &Expr,
        out: &mut Vec<TokenStream>,
    ) {
        let cur = {
            let fake = Expr {
                id: e.id,
                span: e.span,
                kind: ExprKind::Name(name.clone()),
            };
            self.expr(&fake, out)
        };
        let ty = if matches!(op, BinOp::Shl | BinOp::Shr) {
            self.target_ty(e)
        } else {
            self.ty(v)
        };
        let val = self.expr(v, out);
        let new = self.arith(op, cur, val, ty, self.ty(v));
        let n = self.assign_name(e);
        Self::push(
            out,
            quote!(::vyre::ir::Node::Assign { name: #n, value: #new }),
        );
    }

    /// The type of the variable assigned by `e`.
    fn target_ty(&self, e: &Expr) -> Scalar {
        match self.t.res.get(&e.id) {
            Some(Res::Local(v)) => self.t.var_ty[*v],
            Some(Res::Param(i)) => match self.f.params[*i].kind {
                ParamKind::Scalar(s) => s,
                _ => Scalar::U32,
            },
            _ => Scalar::U32,
        }
    }

    /// The IR name of the variable assigned by `e`.
    fn assign_name(&self, e: &Expr) -> TokenStream {
        match self.t.res.get(&e.id) {
            Some(Res::Local(v)) => self.name(
                self.var_names
                    .get(v)
                    .map(String::as_str)
                    .unwrap_or_default(),
            ),
            Some(Res::Param(i)) => self.name(&self.f.params[*i].name.to_string()),
            _ => self.name("invalid"),
        }
    }

    /// `if` as a statement: an IR `If` node.
    fn if_stmt(&mut self, c: &Expr, t: &Block, o: Option<&Block>, out: &mut Vec<TokenStream>) {
        let cv = self.expr(c, out);
        let tb = self.nested(|g, o| g.block_unit(t, o));
        let ob = match o {
            Some(o) => self.nested(|g, out| g.block_unit(o, out)),
            None => quote!(::std::vec::Vec::new()),
        };
        Self::push(
            out,
            quote!(::vyre::ir::Node::If { cond: #cv, then: #tb, otherwise: #ob }),
        );
    }

    /// `if` used as a value: a select when both branches are pure values,
    /// else a temporary assigned in each branch.
    pub(super) fn if_value(
        &mut self,
        e: &Expr,
        c: &Expr,
        t: &Block,
        o: Option<&Block>,
        out: &mut Vec<TokenStream>,
    ) -> TokenStream {
        let ty = self.ty(e);
        let cv = self.expr(c, out);
        let Some(o) = o else { return zero(ty) };
        // A pure `if a { x } else { y }` becomes a select.
        if t.stmts.is_empty() && o.stmts.is_empty() {
            if let (Some(x), Some(y)) = (t.tail.as_deref(), o.tail.as_deref()) {
                let (mut sx, mut sy) = (Vec::new(), Vec::new());
                let (xv, yv) = (self.expr(x, &mut sx), self.expr(y, &mut sy));
                if sx.is_empty() && sy.is_empty() {
                    return quote!(::vyre::ir::Expr::select(#cv, #xv, #yv));
                }
            }
        }
        let tmp = self.tmp();
        let n = self.name(&tmp);
        let z = zero(ty);
        Self::push(out, quote!(::vyre::ir::Node::Let { name: #n, value: #z }));
        let branch = |g: &mut Self, b: &Block| {
            let tmp = tmp.clone();
            g.nested(|g, o| {
                if let Some(tail) = g.block_stmts(b, o) {
                    let v = g.expr(tail, o);
                    if g.t.expr_ty[tail.id].is_some() {
                        let n = g.name(&tmp);
                        Self::push(o, quote!(::vyre::ir::Node::Assign { name: #n, value: #v }));
                    }
                }
            })
        };
        let (tb, ob) = (branch(self, t), branch(self, o));
        Self::push(
            out,
            quote!(::vyre::ir::Node::If { cond: #cv, then: #tb, otherwise: #ob }),
        );
        self.var(&tmp)
    }

    /// `while c { b }`: a `Loop` that breaks when `c` is false.
    fn while_stmt(&mut self, c: &Expr, b: &Block, out: &mut Vec<TokenStream>) {
        let body = self.nested(|g, o| {
            let cv = g.expr(c, o);
            Self::push(o, quote!(::vyre::ir::Node::If { cond: ::vyre::ir::Expr::not(#cv), then: ::std::vec![::vyre::ir::Node::Break], otherwise: ::std::vec::Vec::new() }));
            g.block_unit(b, o);
        });
        Self::push(out, quote!(::vyre::ir::Node::Loop { body: #body }));
        self.after_loop(b, out);
    }

    /// `for name in range { body }` as an IR `For` node.
    fn for_loop(
        &mut self,
        var: usize,
        name: &str,
        range: &Range,
        body: &Block,
        out: &mut Vec<TokenStream>,
    ) {
        let (start, end, step) = match range {
            Range::Plain {
                start,
                end,
                inclusive,
                step,
            } => {
                let s = self.expr(start, out);
                let s = if simple(start) { s } else { self.spill(out, s) };
                let mut t = self.expr(end, out);
                if *inclusive {
                    let tv = if simple(end) { t } else { self.spill(out, t) };
                    t = quote!(::vyre::ir::Expr::select(::vyre::ir::Expr::eq(#tv.clone(), ::vyre::ir::Expr::u32(u32::MAX)), ::vyre::ir::Expr::u32(u32::MAX), ::vyre::ir::Expr::add(#tv, ::vyre::ir::Expr::u32(1))));
                }
                let st = match step {
                    Some(x) => self.expr(x, out),
                    None => quote!(::vyre::ir::Expr::u32(1)),
                };
                (s, t, st)
            }
            Range::Lanes { lanes, start, end } => {
                let l = lanes.to_string();
                let s = self.expr(start, out);
                let s = if simple(start) { s } else { self.spill(out, s) };
                let t = self.expr(end, out);
                let sum =
                    quote!(::vyre::ir::Expr::add(#s.clone(), ::vyre::ir::payload::lane_id(#l)));
                // Saturating `start + id`, as `Lanes::range` does.
                let sat = quote!(::vyre::ir::Expr::select(::vyre::ir::Expr::lt(#sum.clone(), #s), ::vyre::ir::Expr::u32(u32::MAX), #sum));
                (sat, t, quote!(::vyre::ir::payload::lane_count(#l)))
            }
        };
        self.scopes_push();
        let ir = self.declare(var, name);
        let n = self.name(&ir);
        let b = self.nested(|g, o| g.block_unit(body, o));
        self.scopes_pop();
        Self::push(
            out,
            quote!(::vyre::ir::Node::For { var: #n, start: #start, end: #end, step: #step, body: #b }),
        );
        self.after_loop(body, out);
    }

    /// After a loop in a helper: leaves the enclosing loop too once a `return`
    /// inside it has run.
    fn after_loop(&mut self, b: &Block, out: &mut Vec<TokenStream>) {
        if self.f.kind == FnKind::Helper && self.ret_flag && contains_return(b) {
            let d = self.var("done__");
            Self::push(
                out,
                quote!(::vyre::ir::Node::If { cond: #d, then: ::std::vec![::vyre::ir::Node::Break], otherwise: ::std::vec::Vec::new() }),
            );
        }
    }

    /// `return`: a payload returns; a helper stores its result in `ret__`,
    /// sets `done__` when a `return` inside a loop needs it, and breaks.
    fn return_stmt(&mut self, v: Option<&Expr>, out: &mut Vec<TokenStream>) {
        if self.f.kind != FnKind::Helper {
            Self::push(out, quote!(::vyre::ir::Node::Return));
            return;
        }
        if let Some(v) = v {
            let val = self.expr(v, out);
            let rn = self.name("ret__");
            Self::push(
                out,
                quote!(::vyre::ir::Node::Assign { name: #rn, value: #val }),
            );
        }
        if self.ret_flag {
            let dn = self.name("done__");
            Self::push(
                out,
                quote!(::vyre::ir::Node::Assign { name: #dn, value: ::vyre::ir::Expr::bool(true) }),
            );
        }
        Self::push(out, quote!(::vyre::ir::Node::Break));
    }
}
