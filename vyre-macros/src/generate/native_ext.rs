//! The native re-emission of `match` on integers and of local arrays: a real
//! `match` with literals of the scrutinee's type; arrays as Rust arrays,
//! read with [`vyre::native::load`]-style zero past the end and written
//! only in range.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};

use super::native::{ty_tokens, Native};
use crate::ast::{Arm, ArrayInit, BinOp, Expr, PatKind, Scalar};
use crate::valid::Res;

/// A literal token of type `s` usable in a pattern (negative values
/// included).
fn pat_lit(v: i64, s: Scalar, span: Span) -> TokenStream {
    let mut tok = match s {
        Scalar::U8 => proc_macro2::Literal::u8_suffixed(v as u8),
        Scalar::U16 => proc_macro2::Literal::u16_suffixed(v as u16),
        Scalar::Usize => proc_macro2::Literal::usize_suffixed(v as usize),
        Scalar::I32 => proc_macro2::Literal::i32_suffixed(v as i32),
        _ => proc_macro2::Literal::u32_suffixed(v as u32),
    };
    tok.set_span(span);
    quote!(#tok)
}

impl Native<'_> {
    /// `match s { pats => body, .. }` with the patterns' literals typed as
    /// the scrutinee.
    pub(super) fn match_expr(&self, scrutinee: &Expr, arms: &[Arm], span: Span) -> TokenStream {
        let s = self.ty(scrutinee);
        let st = self.expr(scrutinee);
        let (min, max) = match s {
            Scalar::U8 => (0, 0xff),
            Scalar::U16 => (0, 0xffff),
            Scalar::I32 => (i32::MIN as i64, i32::MAX as i64),
            _ => (0, u32::MAX as i64),
        };
        let arms = arms.iter().map(|a| {
            let pats = a.pats.iter().map(|p| match p.kind {
                PatKind::Wild => quote_spanned!(p.span=> _),
                PatKind::Lit(v) => pat_lit(v, s, p.span),
                PatKind::Range(lo, None) if s == Scalar::Usize => {
                    let lo = pat_lit(lo.unwrap_or(0), s, p.bound_spans.0);
                    quote_spanned!(p.span=> #lo..)
                }
                PatKind::Range(lo, hi) => {
                    let lo = pat_lit(lo.unwrap_or(min), s, p.bound_spans.0);
                    let hi = pat_lit(hi.unwrap_or(max), s, p.bound_spans.1);
                    quote_spanned!(p.span=> #lo..=#hi)
                }
            });
            let body = self.block(&a.body);
            quote!(#(#pats)|* => #body,)
        });
        quote_spanned!(span=> match #st { #(#arms)* })
    }

    /// The array variable an access `e` resolves to, if any.
    pub(super) fn is_array(&self, e: &Expr) -> bool {
        matches!(self.t.res.get(&e.id), Some(Res::Local(v)) if self.t.var_len[*v].is_some())
    }

    /// `let [mut] name: [T; N] = init;`
    pub(super) fn let_array(
        &self,
        var: usize,
        name: &syn::Ident,
        mutable: bool,
        len: u32,
        init: &ArrayInit,
    ) -> TokenStream {
        let m = if mutable { quote!(mut) } else { quote!() };
        let ty = ty_tokens(self.t.var_ty[var], name.span());
        let n = len as usize;
        let init = match init {
            ArrayInit::Repeat(x) => {
                let xt = self.expr(x);
                quote!([#xt; #n])
            }
            ArrayInit::List(xs) => {
                let xt = xs.iter().map(|x| self.expr(x));
                quote!([#(#xt),*])
            }
        };
        quote!(let #m #name: [#ty; #n] = #init;)
    }

    /// `a[i] = v` or `a[i] op= v` on a local array: index, then value, then
    /// the write (nothing past the end).
    pub(super) fn array_store(
        &self,
        n: &syn::Ident,
        op: Option<BinOp>,
        i: &Expr,
        v: &Expr,
        span: Span,
    ) -> TokenStream {
        let (it, vt) = (self.expr(i), self.expr(v));
        let new = match op {
            None => quote!(__vyre_v),
            Some(op) => {
                let ty = if matches!(op, BinOp::Shl | BinOp::Shr) {
                    Scalar::U32
                } else {
                    self.ty(v)
                };
                self.binary_tokens(op, quote!(*__vyre_x), quote!(__vyre_v), span, ty)
            }
        };
        quote_spanned!(span=> {
            let __vyre_i: usize = #it;
            let __vyre_v = #vt;
            if let ::core::option::Option::Some(__vyre_x) = #n.get_mut(__vyre_i) {
                *__vyre_x = #new;
            }
        })
    }
}
