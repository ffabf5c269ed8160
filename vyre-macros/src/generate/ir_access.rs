//! Lowering of buffer accesses to IR-building code: loads from inputs,
//! outputs, byte-string constants and tables, lengths, `.word(w)`, atomics
//! on accumulator elements and stores to outputs.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;

use super::ir::{zero, Gen};
use super::ir_expr::{bin, simple};
use crate::ast::{AtomicMethod, BinOp, ConstValue, CxUse, Expr, ExprKind, Lit, ParamKind, Scalar};
use crate::valid::Res;

impl Gen<'_> {
    /// The parameter name and kind that `e` (an access) resolves to.
    fn param(&self, e: &Expr) -> Option<(String, ParamKind)> {
        match self.t.res.get(&e.id) {
            Some(Res::Param(i)) => self.f.params.get(*i).map(|p| (p.name.to_string(), p.kind)),
            _ => None,
        }
    }

    /// The constant that `e` (an access) resolves to.
    fn const_of(&self, e: &Expr) -> Option<&ConstValue> {
        match self.t.res.get(&e.id) {
            Some(Res::Const(i)) => self.t.consts.get(*i),
            _ => None,
        }
    }

    /// `n[i]`: a byte of an input or byte-string constant, a word of a
    /// table or output.
    pub(super) fn index_value(
        &mut self,
        e: &Expr,
        n: &Ident,
        i: &Expr,
        out: &mut Vec<TokenStream>,
    ) -> TokenStream {
        if let Some((v, len)) = self.array_of(e) {
            return self.array_read(v, len, i, out);
        }
        let idx = self.expr(i, out);
        match self.const_of(e).cloned() {
            Some(ConstValue::Bytes(bytes, _)) => return self.const_index(&bytes, i, idx, out),
            Some(ConstValue::Table { .. }) => {
                let n = n.to_string();
                return quote!(::vyre::ir::payload::table_load(#n, #idx));
            }
            _ => {}
        }
        match self.param(e) {
            Some((n, ParamKind::Bytes)) => quote!(::vyre::ir::payload::byte_load(#n, #idx)),
            Some((n, _)) => quote!(::vyre::ir::payload::word_load(#n, #idx)),
            None => zero(Scalar::U32),
        }
    }

    /// `bytes[i]` of a byte-string constant: the byte itself for a literal
    /// index, else a chain of selects.
    fn const_index(
        &mut self,
        bytes: &[u8],
        i: &Expr,
        idx: TokenStream,
        out: &mut Vec<TokenStream>,
    ) -> TokenStream {
        if let ExprKind::Lit(Lit::Int(v, _)) = i.kind {
            let b = bytes.get(v as usize).copied().unwrap_or(0) as u32;
            return quote!(::vyre::ir::Expr::u32(#b));
        }
        let idx = if simple(i) { idx } else { self.spill(out, idx) };
        let mut acc = quote!(::vyre::ir::Expr::u32(0));
        for (k, b) in bytes.iter().enumerate().rev() {
            let (k, b) = (k as u32, *b as u32);
            acc = quote!(::vyre::ir::Expr::select(::vyre::ir::Expr::eq(#idx.clone(), ::vyre::ir::Expr::u32(#k)), ::vyre::ir::Expr::u32(#b), #acc));
        }
        acc
    }

    /// `name.len()`: a constant for byte strings and tables, else the parameter's length.
    pub(super) fn len_value(&self, e: &Expr, name: &Ident) -> TokenStream {
        if let Some((_, len)) = self.array_of(e) {
            return Self::array_len(len);
        }
        match self.const_of(e) {
            Some(ConstValue::Bytes(bytes, _)) => {
                let n = bytes.len() as u32;
                return quote!(::vyre::ir::Expr::u32(#n));
            }
            Some(ConstValue::Table { .. }) => {
                let words = table_words(name);
                return quote!(::vyre::ir::Expr::u32(#words.len() as u32));
            }
            _ => {}
        }
        match self.param(e) {
            Some((n, _)) => quote!(::vyre::ir::payload::param_len(#n)),
            None => zero(Scalar::U32),
        }
    }

    /// `data.word(w)`: the little-endian word `w` of a `&[u8]` input.
    pub(super) fn word_value(
        &mut self,
        e: &Expr,
        w: &Expr,
        out: &mut Vec<TokenStream>,
    ) -> TokenStream {
        let w = self.expr(w, out);
        match self.param(e) {
            Some((n, _)) => quote!(::vyre::ir::payload::byte_word_load(#n, #w)),
            None => zero(Scalar::U32),
        }
    }

    /// An atomic used as a value: the old value, or for `compare_exchange(..)`
    /// under `.is_ok()`/`.is_err()` whether it matched the expected value.
    pub(super) fn atomic_value(&mut self, e: &Expr, out: &mut Vec<TokenStream>) -> TokenStream {
        let (atomic, cur) = self.atomic(e, out);
        let old = self.spill(out, atomic);
        match (&e.kind, cur) {
            (
                ExprKind::Atomic {
                    cx: CxUse::IsOk, ..
                },
                Some(c),
            ) => bin("eq", old, c),
            (
                ExprKind::Atomic {
                    cx: CxUse::IsErr, ..
                },
                Some(c),
            ) => bin("ne", old, c),
            _ => old,
        }
    }

    /// The atomic expression of an `Atomic` node, and the expected value of a compare-exchange.
    pub(super) fn atomic(
        &mut self,
        e: &Expr,
        out: &mut Vec<TokenStream>,
    ) -> (TokenStream, Option<TokenStream>) {
        let ExprKind::Atomic {
            acc,
            index,
            op,
            values,
            ..
        } = &e.kind
        else {
            return (zero(Scalar::U32), None);
        };
        let idx = self.expr(index, out);
        let mut vals = Vec::new();
        for v in values {
            let x = self.expr(v, out);
            vals.push(if simple(v) { x } else { self.spill(out, x) });
        }
        let n = acc.to_string();
        let opname = match op {
            AtomicMethod::Load => "Load",
            AtomicMethod::Store => "Store",
            AtomicMethod::FetchAdd => "Add",
            AtomicMethod::FetchSub => "Sub",
            AtomicMethod::FetchMax => "Max",
            AtomicMethod::FetchMin => "Min",
            AtomicMethod::FetchAnd => "And",
            AtomicMethod::FetchOr => "Or",
            AtomicMethod::FetchXor => "Xor",
            AtomicMethod::Swap => "Exchange",
            AtomicMethod::CompareExchange => "CompareExchange",
        };
        let opi = syn::Ident::new(opname, proc_macro2::Span::call_site());
        let mut it = vals.into_iter();
        match op {
            AtomicMethod::Load => (
                quote!(::vyre::ir::payload::word_atomic(::vyre::ir::AtomicOp::Load, #n, #idx, ::vyre::ir::Expr::u32(0), None)),
                None,
            ),
            AtomicMethod::CompareExchange => {
                let cur = it.next().unwrap_or_else(|| zero(Scalar::U32));
                let new = it.next().unwrap_or_else(|| zero(Scalar::U32));
                (
                    quote!(::vyre::ir::payload::word_atomic(::vyre::ir::AtomicOp::CompareExchange, #n, #idx, #new, Some(#cur.clone()))),
                    Some(cur),
                )
            }
            _ => {
                let v = it.next().unwrap_or_else(|| zero(Scalar::U32));
                (
                    quote!(::vyre::ir::payload::word_atomic(::vyre::ir::AtomicOp::#opi, #n, #idx, #v, None)),
                    None,
                )
            }
        }
    }

    /// `name[i] = v` on an output.
    pub(super) fn store_out_stmt(
        &mut self,
        name: &Ident,
        i: &Expr,
        v: &Expr,
        out: &mut Vec<TokenStream>,
    ) {
        let idx = self.expr(i, out);
        let idx = if simple(i) { idx } else { self.spill(out, idx) };
        let val = self.expr(v, out);
        let n = name.to_string();
        Self::push(out, quote!(::vyre::ir::payload::word_store(#n, #idx, #val)));
    }

    /// `name[i] op= v` on an output: load, operate, store.
    pub(super) fn compound_store_out_stmt(
        &mut self,
        op: BinOp,
        name: &Ident,
        i: &Expr,
        v: &Expr,
        out: &mut Vec<TokenStream>,
    ) {
        let idx = self.expr(i, out);
        let idx = if simple(i) { idx } else { self.spill(out, idx) };
        let val = self.expr(v, out);
        let n = name.to_string();
        let new = self.arith(
            op,
            quote!(::vyre::ir::payload::word_load(#n, #idx.clone())),
            val,
            Scalar::U32,
            self.ty(v),
        );
        Self::push(out, quote!(::vyre::ir::payload::word_store(#n, #idx, #new)));
    }
}

/// The variable of `payload()` holding the words of table `name`.
pub fn table_words(name: &syn::Ident) -> syn::Ident {
    quote::format_ident!("__vyre_table_{}", name)
}
