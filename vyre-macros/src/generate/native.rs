//! The native body: the user's code re-emitted from the typed AST so that it
//! computes exactly what the IR computes (wrapping arithmetic, total division,
//! masked shifts, 32-bit `usize`, zero for out-of-range reads). Spans are the
//! user's, so rustc diagnostics still point at the source.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};

use crate::ast::{
    AtomicMethod, BinOp, Block, ConstValue, CxUse, Expr, ExprKind, Lit, Method, Range, Scalar,
    Stmt, UnOp,
};
use crate::valid::Typed;

/// Emits the native body of a function.
pub fn body(b: &Block, t: &Typed) -> TokenStream {
    let n = Native {
        t,
        in_module: false,
    };
    n.block(b)
}

/// The native body for a copy of the function inside its generated module
/// (the payload's native entry point): helper paths as seen from the module
/// ([`super::helper_path`]) and accumulator operations on
/// `vyre::__private::native::Owned` (no orderings: the entry point owns its
/// slot's words), so the copy needs nothing the user imported; other names
/// come from the module's `use super::*`.
pub fn body_in_module(b: &Block, t: &Typed) -> TokenStream {
    let n = Native { t, in_module: true };
    n.block(b)
}

/// The first statement of every loop iteration: counts it against the
/// slot's iteration budget when the native code runs in a scan
/// (`vyre::__private::native::tick`), and leaves the loop once it is spent.
/// Always passes when the function is called directly.
struct Tick;

const TICK: Tick = Tick;

impl quote::ToTokens for Tick {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(quote!(if !::vyre::__private::native::tick() {
            break;
        }));
    }
}

/// The native emitter.
pub(super) struct Native<'a> {
    /// Types and resolutions.
    pub t: &'a Typed,
    /// Emitted inside the generated module ([`body_in_module`]).
    pub in_module: bool,
}

/// The Rust type of a scalar, at `span`.
pub(super) fn ty_tokens(s: Scalar, span: Span) -> TokenStream {
    let id = syn::Ident::new(s.name(), span);
    quote!(#id)
}

/// A literal token of type `s`.
pub fn lit_tokens(l: Lit, s: Scalar, span: Span) -> TokenStream {
    let mut tok = match (l, s) {
        (Lit::Int(v, _), Scalar::U8) => proc_macro2::Literal::u8_suffixed(v as u8),
        (Lit::Int(v, _), Scalar::U16) => proc_macro2::Literal::u16_suffixed(v as u16),
        (Lit::Int(v, _), Scalar::U32) => proc_macro2::Literal::u32_suffixed(v as u32),
        (Lit::Int(v, _), Scalar::Usize) => proc_macro2::Literal::usize_suffixed(v as usize),
        (Lit::Int(v, _), Scalar::I32) if v == i32::MIN as i64 => {
            return quote_spanned!(span=> ::core::primitive::i32::MIN)
        }
        (Lit::Int(v, _), Scalar::I32) if v < 0 => {
            let mut t = proc_macro2::Literal::i32_suffixed((-v) as i32);
            t.set_span(span);
            return quote_spanned!(span=> (-#t));
        }
        (Lit::Int(v, _), _) => proc_macro2::Literal::i32_suffixed(v as i32),
        (Lit::Float(f), _) if f.is_sign_negative() => {
            let mut t = proc_macro2::Literal::f32_suffixed(-f);
            t.set_span(span);
            return quote_spanned!(span=> (-#t));
        }
        (Lit::Float(f), _) => proc_macro2::Literal::f32_suffixed(f),
        (Lit::Bool(b), _) => {
            return if b {
                quote_spanned!(span=> true)
            } else {
                quote_spanned!(span=> false)
            }
        }
    };
    tok.set_span(span);
    quote!(#tok)
}

impl Native<'_> {
    pub(super) fn ty(&self, e: &Expr) -> Scalar {
        self.t.expr_ty[e.id].unwrap_or(Scalar::U32)
    }

    pub(super) fn block(&self, b: &Block) -> TokenStream {
        let stmts = b.stmts.iter().map(|s| self.stmt(s));
        let tail = b.tail.as_ref().map(|e| self.expr(e));
        quote!({ #(#stmts)* #tail })
    }

    fn stmt(&self, s: &Stmt) -> TokenStream {
        match s {
            Stmt::Let {
                var,
                name,
                mutable,
                init,
                ..
            } => {
                let m = if *mutable { quote!(mut) } else { quote!() };
                let ty = ty_tokens(self.t.var_ty[*var], name.span());
                let init = self.expr(init);
                quote!(let #m #name: #ty = #init;)
            }
            Stmt::LetArray {
                var,
                name,
                mutable,
                len,
                init,
                ..
            } => self.let_array(*var, name, *mutable, *len, init),
            Stmt::Const { name, value } => match value {
                ConstValue::Scalar { ty, lit, span } => {
                    let tt = ty_tokens(*ty, *span);
                    let v = lit_tokens(*lit, *ty, *span);
                    quote!(const #name: #tt = #v;)
                }
                ConstValue::Bytes(bytes, span) => {
                    let mut l = proc_macro2::Literal::byte_string(bytes);
                    l.set_span(*span);
                    quote!(const #name: &[u8] = #l;)
                }
                ConstValue::Table { ty, expr, .. } => quote!(const #name: #ty = #expr;),
            },
            Stmt::Expr(e) => {
                let x = self.expr(e);
                quote!(#x;)
            }
        }
    }

    fn arith(&self, op: BinOp, l: TokenStream, r: TokenStream, span: Span) -> TokenStream {
        let f = match op {
            BinOp::Add => "add",
            BinOp::Sub => "sub",
            BinOp::Mul => "mul",
            BinOp::Div => "div",
            BinOp::Rem => "rem",
            BinOp::Shl => "shl",
            BinOp::Shr => "shr",
            _ => {
                let o = op_tokens(op, span);
                return quote_spanned!(span=> (#l #o #r));
            }
        };
        let f = syn::Ident::new(f, span);
        if matches!(op, BinOp::Shl | BinOp::Shr) {
            return quote_spanned!(span=> ::vyre::__private::native::#f(#l, (#r) as u32));
        }
        quote_spanned!(span=> ::vyre::__private::native::#f(#l, #r))
    }

    /// Re-emits `e` with vyre's semantics.
    pub(super) fn expr(&self, e: &Expr) -> TokenStream {
        let span = e.span;
        match &e.kind {
            ExprKind::Lit(l) => lit_tokens(*l, self.ty(e), span),
            ExprKind::Name(n) => quote!(#n),
            ExprKind::Unary(UnOp::Neg, x) => {
                let xt = self.expr(x);
                if self.ty(x) == Scalar::F32 {
                    quote_spanned!(span=> (-#xt))
                } else {
                    quote_spanned!(span=> ::vyre::__private::native::neg(#xt))
                }
            }
            ExprKind::Unary(UnOp::Not, x) => {
                let xt = self.expr(x);
                quote_spanned!(span=> (!#xt))
            }
            ExprKind::Binary(op, l, r) => self.binary_expr(*op, l, r, span),
            ExprKind::Cast(x, to) => self.cast_expr(x, *to, span),
            ExprKind::Index(n, i) => {
                let it = self.expr(i);
                quote_spanned!(span=> ::vyre::__private::native::load(&#n[..], #it))
            }
            ExprKind::Len(n) => quote_spanned!(span=> #n.len()),
            ExprKind::Word(n, w) => {
                let wt = self.expr(w);
                quote_spanned!(span=> ::vyre::__private::native::byte_word(#n, #wt))
            }
            ExprKind::LaneId(n) => quote_spanned!(span=> #n.id()),
            ExprKind::LaneCount(n) => quote_spanned!(span=> #n.count()),
            ExprKind::Method(recv, m, args) => self.method(e, recv, *m, args),
            ExprKind::Atomic {
                acc,
                index,
                op,
                values,
                orderings,
                cx,
            } => self.atomic_expr(acc, index, *op, values, orderings, *cx, span),
            ExprKind::Call(path, args) => self.call_expr(path, args, span),
            ExprKind::Assign(n, v) => {
                let vt = self.expr(v);
                quote_spanned!(span=> #n = #vt)
            }
            ExprKind::CompoundAssign(op, n, v) => self.compound_assign_expr(*op, n, v, span),
            ExprKind::StoreOut(n, i, v) if self.is_array(e) => {
                self.array_store(n, None, i, v, span)
            }
            ExprKind::CompoundStoreOut(op, n, i, v) if self.is_array(e) => {
                self.array_store(n, Some(*op), i, v, span)
            }
            ExprKind::StoreOut(n, i, v) => {
                let (it, vt) = (self.expr(i), self.expr(v));
                quote_spanned!(span=> ::vyre::__private::native::store(#n, #it, #vt))
            }
            ExprKind::CompoundStoreOut(op, n, i, v) => {
                self.compound_store_out_expr(*op, n, i, v, span)
            }
            ExprKind::If(c, t, o) => self.if_expr(c, t, o.as_ref(), span),
            ExprKind::Match(s, arms) => self.match_expr(s, arms, span),
            ExprKind::FromBits(u) => {
                let ut = self.expr(u);
                quote_spanned!(span=> ::core::primitive::f32::from_bits(#ut))
            }
            ExprKind::Block(b) => self.block(b),
            ExprKind::While(c, b) => {
                let (ct, bt) = (self.expr(c), self.block(b));
                quote_spanned!(span=> while #ct { #TICK #bt })
            }
            ExprKind::Loop(b) => {
                let bt = self.block(b);
                quote_spanned!(span=> loop { #TICK #bt })
            }
            ExprKind::For {
                name, range, body, ..
            } => self.for_expr(name, range, body, span),
            ExprKind::Break => quote_spanned!(span=> break),
            ExprKind::Continue => quote_spanned!(span=> continue),
            ExprKind::Return(v) => {
                let vt = v.as_ref().map(|v| self.expr(v));
                quote_spanned!(span=> return #vt)
            }
        }
    }

    /// `l op r`: Rust's operator for floats, comparisons and logic; the
    /// wrapping, total helpers of [`Self::arith`] for integer arithmetic.
    fn binary_expr(&self, op: BinOp, l: &Expr, r: &Expr, span: Span) -> TokenStream {
        let (lt, rt) = (self.expr(l), self.expr(r));
        if self.ty(l) == Scalar::F32
            || !matches!(
                op,
                BinOp::Add
                    | BinOp::Sub
                    | BinOp::Mul
                    | BinOp::Div
                    | BinOp::Rem
                    | BinOp::Shl
                    | BinOp::Shr
            )
        {
            if matches!(op, BinOp::Div | BinOp::Rem) {
                return self.arith(op, lt, rt, span);
            }
            let o = op_tokens(op, span);
            return quote_spanned!(span=> (#lt #o #rt));
        }
        self.arith(op, lt, rt, span)
    }

    /// `x as to`, with `usize` taken through `u32` (vyre's `usize` is 32 bits).
    fn cast_expr(&self, x: &Expr, to: Scalar, span: Span) -> TokenStream {
        let xt = self.expr(x);
        if to == Scalar::Usize {
            quote_spanned!(span=> ((#xt) as u32 as usize))
        } else {
            let tt = ty_tokens(to, span);
            quote_spanned!(span=> ((#xt) as #tt))
        }
    }

    /// An atomic on `acc[index]` (a zero dummy when out of range), its result
    /// used as `cx` says.
    #[allow(clippy::too_many_arguments)]
    fn atomic_expr(
        &self,
        acc: &syn::Ident,
        index: &Expr,
        op: AtomicMethod,
        values: &[Expr],
        orderings: &[syn::Expr],
        cx: CxUse,
        span: Span,
    ) -> TokenStream {
        let it = self.expr(index);
        let vals = values.iter().map(|v| self.expr(v));
        let m = syn::Ident::new(atomic_name(op), span);
        let cell = quote_spanned!(span=> ::vyre::__private::native::at(#acc, #it, &::core::sync::atomic::AtomicU32::new(0)));
        // The native entry point owns its slot's result words: its copy of
        // the function reads and writes them without locked instructions
        // (`native::Owned`), with the same values and returned old values.
        let call = match self.in_module {
            true => {
                quote_spanned!(span=> ::vyre::__private::native::Owned(#cell).#m(#(#vals),*))
            }
            false => quote_spanned!(span=> #cell.#m(#(#vals,)* #(#orderings),*)),
        };
        match cx {
            CxUse::Discard if op == AtomicMethod::CompareExchange => {
                quote_spanned!(span=> { let _ = #call; })
            }
            CxUse::Discard => call,
            CxUse::IsOk => quote_spanned!(span=> #call.is_ok()),
            CxUse::IsErr => quote_spanned!(span=> #call.is_err()),
        }
    }

    /// A helper call; unsuffixed integer literal arguments stay unsuffixed.
    fn call_expr(&self, path: &syn::Path, args: &[Expr], span: Span) -> TokenStream {
        let a = args.iter().map(|x| match x.kind {
            // Unsuffixed literal arguments take the helper's parameter type.
            ExprKind::Lit(Lit::Int(v, None)) => {
                let mut l = proc_macro2::Literal::i64_unsuffixed(v);
                l.set_span(x.span);
                quote!((#l))
            }
            _ => self.expr(x),
        });
        if self.in_module {
            let path = super::helper_path(path);
            return quote_spanned!(span=> #path(#(#a),*));
        }
        quote_spanned!(span=> #path(#(#a),*))
    }

    /// `n op= v`, as `n = n op v` with vyre's arithmetic.
    fn compound_assign_expr(&self, op: BinOp, n: &syn::Ident, v: &Expr, span: Span) -> TokenStream {
        let vt = self.expr(v);
        let lhs_ty = if matches!(op, BinOp::Shl | BinOp::Shr) {
            Scalar::U32
        } else {
            self.ty(v)
        };
        let rhs = self.binary_tokens(op, quote!(#n), vt, span, lhs_ty);
        quote_spanned!(span=> #n = #rhs)
    }

    /// `n[i] op= v` on an output: load, operate, store (index and value evaluated once).
    fn compound_store_out_expr(
        &self,
        op: BinOp,
        n: &syn::Ident,
        i: &Expr,
        v: &Expr,
        span: Span,
    ) -> TokenStream {
        let (it, vt) = (self.expr(i), self.expr(v));
        let old = quote_spanned!(span=> ::vyre::__private::native::load(#n, __vyre_i));
        let rhs = self.binary_tokens(op, old, quote!(__vyre_v), span, Scalar::U32);
        quote_spanned!(span=> { let __vyre_i: usize = #it; let __vyre_v = #vt; ::vyre::__private::native::store(#n, __vyre_i, #rhs) })
    }

    /// `if c { t } else { o }`.
    fn if_expr(&self, c: &Expr, t: &Block, o: Option<&Block>, span: Span) -> TokenStream {
        let ct = self.expr(c);
        let tt = self.block(t);
        match o {
            Some(o) => {
                let ot = self.block(o);
                quote_spanned!(span=> if #ct #tt else #ot)
            }
            None => quote_spanned!(span=> if #ct #tt),
        }
    }

    /// `for name in range { body }`, with vyre's inclusive end and `step_by`.
    fn for_expr(&self, name: &syn::Ident, range: &Range, body: &Block, span: Span) -> TokenStream {
        let bt = self.block(body);
        let it = match range {
            Range::Plain {
                start,
                end,
                inclusive,
                step,
            } => {
                let (s, t) = (self.expr(start), self.expr(end));
                let r = if *inclusive {
                    quote_spanned!(span=> (#s..::vyre::__private::native::incl_end(#t)))
                } else {
                    quote_spanned!(span=> (#s..#t))
                };
                match step {
                    Some(st) => {
                        let stt = self.expr(st);
                        quote_spanned!(span=> #r.step_by(::vyre::__private::native::step(#stt)))
                    }
                    None => r,
                }
            }
            Range::Lanes { lanes, start, end } => {
                let (s, t) = (self.expr(start), self.expr(end));
                quote_spanned!(span=> #lanes.range(#s..#t))
            }
        };
        quote_spanned!(span=> for #name in #it { #TICK #bt })
    }

    pub(super) fn binary_tokens(
        &self,
        op: BinOp,
        l: TokenStream,
        r: TokenStream,
        span: Span,
        lhs_ty: Scalar,
    ) -> TokenStream {
        let arith = matches!(
            op,
            BinOp::Add
                | BinOp::Sub
                | BinOp::Mul
                | BinOp::Div
                | BinOp::Rem
                | BinOp::Shl
                | BinOp::Shr
        );
        if arith && (lhs_ty != Scalar::F32 || matches!(op, BinOp::Div | BinOp::Rem)) {
            self.arith(op, l, r, span)
        } else {
            let o = op_tokens(op, span);
            quote_spanned!(span=> (#l #o #r))
        }
    }

    fn method(&self, e: &Expr, recv: &Expr, m: Method, args: &[Expr]) -> TokenStream {
        let span = e.span;
        let rt = self.expr(recv);
        let at: Vec<TokenStream> = args.iter().map(|a| self.expr(a)).collect();
        let rty = self.ty(recv);
        match m {
            Method::WrappingAdd => self.arith(BinOp::Add, rt, at[0].clone(), span),
            Method::WrappingSub => self.arith(BinOp::Sub, rt, at[0].clone(), span),
            Method::WrappingMul => self.arith(BinOp::Mul, rt, at[0].clone(), span),
            // f32: the IR's rule for ±0 (and NaN), not `f32::min`'s.
            Method::Min if rty == Scalar::F32 => {
                let a = &at[0];
                quote_spanned!(span=> ::vyre::__private::native::fmin(#rt, #a))
            }
            Method::Max if rty == Scalar::F32 => {
                let a = &at[0];
                quote_spanned!(span=> ::vyre::__private::native::fmax(#rt, #a))
            }
            Method::Min => {
                let a = &at[0];
                quote_spanned!(span=> #rt.min(#a))
            }
            Method::Max => {
                let a = &at[0];
                quote_spanned!(span=> #rt.max(#a))
            }
            Method::ToBits => quote_spanned!(span=> #rt.to_bits()),
            Method::Abs => quote_spanned!(span=> #rt.abs()),
            Method::CountOnes | Method::LeadingZeros | Method::TrailingZeros => {
                let name = match m {
                    Method::CountOnes => "count_ones",
                    Method::LeadingZeros => "leading_zeros",
                    _ => "trailing_zeros",
                };
                let id = syn::Ident::new(name, span);
                if rty == Scalar::Usize {
                    quote_spanned!(span=> ((#rt) as u32).#id())
                } else {
                    quote_spanned!(span=> #rt.#id())
                }
            }
            Method::RotateLeft => {
                let a = &at[0];
                quote_spanned!(span=> #rt.rotate_left(#a))
            }
            Method::RotateRight => {
                let a = &at[0];
                quote_spanned!(span=> #rt.rotate_right(#a))
            }
        }
    }
}

fn op_tokens(op: BinOp, span: Span) -> TokenStream {
    match op {
        BinOp::Add => quote_spanned!(span=> +),
        BinOp::Sub => quote_spanned!(span=> -),
        BinOp::Mul => quote_spanned!(span=> *),
        BinOp::Div => quote_spanned!(span=> /),
        BinOp::Rem => quote_spanned!(span=> %),
        BinOp::BitAnd => quote_spanned!(span=> &),
        BinOp::BitOr => quote_spanned!(span=> |),
        BinOp::BitXor => quote_spanned!(span=> ^),
        BinOp::Shl => quote_spanned!(span=> <<),
        BinOp::Shr => quote_spanned!(span=> >>),
        BinOp::Eq => quote_spanned!(span=> ==),
        BinOp::Ne => quote_spanned!(span=> !=),
        BinOp::Lt => quote_spanned!(span=> <),
        BinOp::Le => quote_spanned!(span=> <=),
        BinOp::Gt => quote_spanned!(span=> >),
        BinOp::Ge => quote_spanned!(span=> >=),
        BinOp::And => quote_spanned!(span=> &&),
        BinOp::Or => quote_spanned!(span=> ||),
    }
}

/// The std method name of an atomic op.
pub fn atomic_name(op: AtomicMethod) -> &'static str {
    match op {
        AtomicMethod::Load => "load",
        AtomicMethod::Store => "store",
        AtomicMethod::FetchAdd => "fetch_add",
        AtomicMethod::FetchSub => "fetch_sub",
        AtomicMethod::FetchMax => "fetch_max",
        AtomicMethod::FetchMin => "fetch_min",
        AtomicMethod::FetchAnd => "fetch_and",
        AtomicMethod::FetchOr => "fetch_or",
        AtomicMethod::FetchXor => "fetch_xor",
        AtomicMethod::Swap => "swap",
        AtomicMethod::CompareExchange => "compare_exchange",
    }
}
