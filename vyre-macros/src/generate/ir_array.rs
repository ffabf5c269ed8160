//! Lowering of local arrays without IR arrays: an array `a` of `N` elements
//! is `N` variables `a__e0 .. a__e{N-1}`. A read `a[i]` is a tree of
//! selects (0 past the end), a write assigns each element a select of the
//! new and the old value (dropped past the end), as for buffers.

use proc_macro2::TokenStream;
use quote::quote;

use super::ir::{zero, Gen};
use super::ir_expr::{bin, simple};
use crate::ast::{ArrayInit, BinOp, Expr, ExprKind, Lit, VarId};
use crate::valid::Res;

impl Gen<'_> {
    /// The array variable that the access `e` resolves to, if any.
    pub(super) fn array_of(&self, e: &Expr) -> Option<(VarId, u32)> {
        match self.t.res.get(&e.id) {
            Some(Res::Local(v)) => self.t.var_len[*v].map(|n| (*v, n)),
            _ => None,
        }
    }

    /// The IR name of element `k` of array variable `v`.
    fn elem_name(&self, v: VarId, k: u32) -> String {
        let base = self.var_names.get(&v).cloned().unwrap_or_default();
        format!("{base}__e{k}")
    }

    /// `let a = [v; N]` / `[x, y, ..]`: one `Let` per element.
    pub(super) fn let_array(
        &mut self,
        var: VarId,
        name: &str,
        len: u32,
        init: &ArrayInit,
        out: &mut Vec<TokenStream>,
    ) {
        let vals: Vec<TokenStream> = match init {
            ArrayInit::Repeat(x) => {
                let v = self.expr(x, out);
                let v = if simple(x) { v } else { self.spill(out, v) };
                (0..len).map(|_| v.clone()).collect()
            }
            ArrayInit::List(xs) => {
                let mut vals = Vec::new();
                for x in xs {
                    let v = self.expr(x, out);
                    vals.push(if simple(x) { v } else { self.spill(out, v) });
                }
                vals
            }
        };
        self.declare(var, name);
        for (k, v) in vals.into_iter().enumerate() {
            let n = self.name(&self.elem_name(var, k as u32));
            Self::push(out, quote!(::vyre::ir::Node::Let { name: #n, value: #v }));
        }
    }

    /// `a[i]`: the element for a literal index, else a chain of selects;
    /// 0 past the end.
    pub(super) fn array_read(
        &mut self,
        v: VarId,
        len: u32,
        i: &Expr,
        out: &mut Vec<TokenStream>,
    ) -> TokenStream {
        let ty = self.t.var_ty[v];
        if let ExprKind::Lit(Lit::Int(k, _)) = i.kind {
            return if (0..len as i64).contains(&k) {
                self.var(&self.elem_name(v, k as u32))
            } else {
                zero(ty)
            };
        }
        let idx = self.expr(i, out);
        let idx = if simple(i) { idx } else { self.spill(out, idx) };
        // A balanced tree of selects on `idx < mid`: log2(N) deep, so that
        // 64 elements stay well within the IR's expression depth.
        let tree = self.select_tree(v, &idx, 0, len);
        let z = zero(ty);
        quote!(::vyre::ir::Expr::select(::vyre::ir::Expr::lt(#idx.clone(), ::vyre::ir::Expr::u32(#len)), #tree, #z))
    }

    /// Element `idx` of array `v`, known to be in `lo..hi`.
    fn select_tree(&self, v: VarId, idx: &TokenStream, lo: u32, hi: u32) -> TokenStream {
        if hi - lo <= 1 {
            return self.var(&self.elem_name(v, lo));
        }
        let mid = lo + (hi - lo) / 2;
        let (a, b) = (
            self.select_tree(v, idx, lo, mid),
            self.select_tree(v, idx, mid, hi),
        );
        quote!(::vyre::ir::Expr::select(::vyre::ir::Expr::lt(#idx.clone(), ::vyre::ir::Expr::u32(#mid)), #a, #b))
    }

    /// `a[i] = val` (`op: None`) or `a[i] op= val`: each element takes the
    /// new value where `i` is its index; nothing happens past the end.
    pub(super) fn array_store(
        &mut self,
        v: VarId,
        len: u32,
        op: Option<BinOp>,
        i: &Expr,
        val: &Expr,
        out: &mut Vec<TokenStream>,
    ) {
        let ty = self.t.var_ty[v];
        let vty = self.ty(val);
        let lit_index = match i.kind {
            ExprKind::Lit(Lit::Int(k, _)) => Some(k),
            _ => None,
        };
        let idx = self.expr(i, out);
        let idx = if simple(i) { idx } else { self.spill(out, idx) };
        let x = self.expr(val, out);
        let x = if simple(val) { x } else { self.spill(out, x) };
        for k in 0..len {
            if lit_index.is_some_and(|l| l != k as i64) {
                continue;
            }
            let name = self.elem_name(v, k);
            let old = self.var(&name);
            let new = match op {
                None => x.clone(),
                Some(op) => {
                    let ety = if matches!(op, BinOp::Shl | BinOp::Shr) {
                        ty
                    } else {
                        vty
                    };
                    self.arith(op, old.clone(), x.clone(), ety, vty)
                }
            };
            let value = if lit_index.is_some() {
                new
            } else {
                let c = bin(
                    "eq",
                    quote!(#idx.clone()),
                    quote!(::vyre::ir::Expr::u32(#k)),
                );
                quote!(::vyre::ir::Expr::select(#c, #new, #old))
            };
            let n = self.name(&name);
            Self::push(
                out,
                quote!(::vyre::ir::Node::Assign { name: #n, value: #value }),
            );
        }
    }

    /// `a.len()` of a local array: its constant length.
    pub(super) fn array_len(len: u32) -> TokenStream {
        quote!(::vyre::ir::Expr::u32(#len))
    }
}
