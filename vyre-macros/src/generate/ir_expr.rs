//! Lowering of value expressions to IR-building code: the dispatch over
//! expression kinds, literals, names, operators, casts, scalar methods and
//! helper calls. Buffer accesses and atomics are lowered in
//! [`super::ir_access`], statements and control flow in [`super::ir_stmt`].

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::helper_path;
use super::ir::{data_type, zero, Gen};
use crate::ast::{BinOp, Block, ConstValue, Expr, ExprKind, Lit, Method, Scalar, UnOp};
use crate::valid::Res;

/// `Expr` literal tokens of type `s`.
pub fn lit(l: Lit, s: Scalar) -> TokenStream {
    match (l, s) {
        (Lit::Int(v, _), Scalar::I32) => {
            let v = v as i32;
            quote!(::vyre::ir::Expr::i32(#v))
        }
        (Lit::Int(v, _), Scalar::F32) => {
            let bits = (v as f32).to_bits();
            quote!(::vyre::ir::Expr::Lit(::vyre::ir::Literal::F32(#bits)))
        }
        (Lit::Int(v, _), Scalar::Bool) => {
            let b = v != 0;
            quote!(::vyre::ir::Expr::bool(#b))
        }
        (Lit::Int(v, _), _) => {
            let v = v as u32;
            quote!(::vyre::ir::Expr::u32(#v))
        }
        (Lit::Float(f), _) => {
            let bits = f.to_bits();
            quote!(::vyre::ir::Expr::Lit(::vyre::ir::Literal::F32(#bits)))
        }
        (Lit::Bool(b), _) => quote!(::vyre::ir::Expr::bool(#b)),
    }
}

/// `e` masked to the width of `s` (u8/u16); unchanged otherwise.
pub(super) fn mask(e: TokenStream, s: Scalar) -> TokenStream {
    match s.mask() {
        Some(m) => quote!(::vyre::ir::Expr::bitand(#e, ::vyre::ir::Expr::u32(#m))),
        None => e,
    }
}

/// The binary IR constructor `Expr::name(a, b)`.
pub(super) fn bin(name: &str, a: TokenStream, b: TokenStream) -> TokenStream {
    let f = syn::Ident::new(name, proc_macro2::Span::call_site());
    quote!(::vyre::ir::Expr::#f(#a, #b))
}

/// The unary IR constructor `Expr::name(a)`.
pub(super) fn un(name: &str, a: TokenStream) -> TokenStream {
    let f = syn::Ident::new(name, proc_macro2::Span::call_site());
    quote!(::vyre::ir::Expr::#f(#a))
}

/// True for expressions that are cheap and pure to duplicate.
pub(super) fn simple(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Cast(x, _) => simple(x),
        k => matches!(
            k,
            ExprKind::Lit(_)
                | ExprKind::Name(_)
                | ExprKind::Len(_)
                | ExprKind::LaneId(_)
                | ExprKind::LaneCount(_)
        ),
    }
}

impl Gen<'_> {
    /// Lowers `e` as a value; statements it needs go to `out`.
    pub fn expr(&mut self, e: &Expr, out: &mut Vec<TokenStream>) -> TokenStream {
        let ty = self.ty(e);
        match &e.kind {
            ExprKind::Lit(l) => lit(*l, ty),
            ExprKind::Name(_) => self.name_value(e, ty),
            ExprKind::Unary(UnOp::Neg, x) => {
                let v = self.expr(x, out);
                un("neg", v)
            }
            ExprKind::Unary(UnOp::Not, x) => self.not_value(x, ty, out),
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r, out),
            ExprKind::Cast(x, to) => {
                let from = self.ty(x);
                let v = self.expr(x, out);
                cast(v, from, *to)
            }
            ExprKind::Index(n, i) => self.index_value(e, n, i, out),
            ExprKind::Len(name) => self.len_value(e, name),
            ExprKind::Word(_, w) => self.word_value(e, w, out),
            ExprKind::LaneId(n) => {
                let n = n.to_string();
                quote!(::vyre::ir::payload::lane_id(#n))
            }
            ExprKind::LaneCount(n) => {
                let n = n.to_string();
                quote!(::vyre::ir::payload::lane_count(#n))
            }
            ExprKind::Method(recv, m, args) => self.method(recv, *m, args, out),
            ExprKind::Atomic { .. } => self.atomic_value(e, out),
            ExprKind::Call(..) => self.call(e, out),
            ExprKind::If(c, t, o) if self.t.expr_ty[e.id].is_some() => {
                self.if_value(e, c, t, o.as_ref(), out)
            }
            ExprKind::Block(b) if self.t.expr_ty[e.id].is_some() => self.block_value(b, ty, out),
            ExprKind::Match(s, arms) if self.t.expr_ty[e.id].is_some() => {
                self.match_value(e, s, arms, out)
            }
            ExprKind::FromBits(u) => {
                let v = self.expr(u, out);
                quote!(::vyre::ir::Expr::bitcast(::vyre::ir::DataType::F32, #v))
            }
            _ => {
                // Statements (assignments, loops, ...) used as values have type `()`.
                self.stmt_expr(e, out);
                zero(Scalar::U32)
            }
        }
    }

    /// A name as a value: the variable of a local or parameter, or a scalar
    /// constant's literal.
    fn name_value(&mut self, e: &Expr, ty: Scalar) -> TokenStream {
        match self.t.res.get(&e.id).copied() {
            Some(Res::Local(v)) => {
                let n = self.var_names.get(&v).cloned().unwrap_or_default();
                self.var(&n)
            }
            Some(Res::Param(i)) => {
                let n = self.f.params[i].name.to_string();
                self.var(&n)
            }
            Some(Res::Const(i)) => match &self.t.consts[i] {
                ConstValue::Scalar { ty, lit: l, .. } => lit(*l, *ty),
                ConstValue::Bytes(..) | ConstValue::Table { .. } => zero(Scalar::U32),
            },
            None => zero(ty),
        }
    }

    /// `!x`: logical for `bool`, bitwise (masked to the width) for integers.
    fn not_value(&mut self, x: &Expr, ty: Scalar, out: &mut Vec<TokenStream>) -> TokenStream {
        let v = self.expr(x, out);
        if ty == Scalar::Bool {
            un("not", v)
        } else {
            mask(un("bitnot", v), ty)
        }
    }

    /// A block used as a value: a temporary assigned by the block's tail.
    fn block_value(&mut self, b: &Block, ty: Scalar, out: &mut Vec<TokenStream>) -> TokenStream {
        let tmp = self.tmp();
        let n = self.name(&tmp);
        let z = zero(ty);
        Self::push(out, quote!(::vyre::ir::Node::Let { name: #n, value: #z }));
        let inner = self.nested(|g, o| {
            if let Some(tail) = g.block_stmts(b, o) {
                let v = g.expr(tail, o);
                let n = g.name(&tmp);
                Self::push(o, quote!(::vyre::ir::Node::Assign { name: #n, value: #v }));
            }
        });
        Self::push(out, quote!(::vyre::ir::Node::Block(#inner)));
        self.var(&tmp)
    }

    /// `l op r` on values of type `ty` (`rty`: the right side's type, for
    /// shifts); narrow integer results are masked to their width.
    pub(super) fn arith(
        &self,
        op: BinOp,
        l: TokenStream,
        r: TokenStream,
        ty: Scalar,
        rty: Scalar,
    ) -> TokenStream {
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul => {
                let n = match op {
                    BinOp::Add => "add",
                    BinOp::Sub => "sub",
                    _ => "mul",
                };
                let v = bin(n, l, r);
                if ty == Scalar::F32 {
                    v
                } else {
                    mask(v, ty)
                }
            }
            BinOp::Div => bin("div", l, r),
            BinOp::Rem => bin("rem", l, r),
            BinOp::BitAnd if ty == Scalar::Bool => bin("and", l, r),
            BinOp::BitOr if ty == Scalar::Bool => bin("or", l, r),
            BinOp::BitXor if ty == Scalar::Bool => bin("ne", l, r),
            BinOp::BitAnd => bin("bitand", l, r),
            BinOp::BitOr => bin("bitor", l, r),
            BinOp::BitXor => bin("bitxor", l, r),
            BinOp::Shl | BinOp::Shr => {
                let amount = if rty == Scalar::I32 {
                    quote!(::vyre::ir::Expr::cast(::vyre::ir::DataType::U32, #r))
                } else {
                    r
                };
                if op == BinOp::Shl {
                    mask(bin("shl", l, amount), ty)
                } else {
                    bin("shr", l, amount)
                }
            }
            BinOp::Eq => bin("eq", l, r),
            BinOp::Ne => bin("ne", l, r),
            BinOp::Lt => bin("lt", l, r),
            BinOp::Le => bin("le", l, r),
            BinOp::Gt => bin("gt", l, r),
            BinOp::Ge => bin("ge", l, r),
            BinOp::And => bin("and", l, r),
            BinOp::Or => bin("or", l, r),
        }
    }

    /// `l op r`; `&&`/`||` short-circuit when the right side needs statements.
    fn binary(&mut self, op: BinOp, l: &Expr, r: &Expr, out: &mut Vec<TokenStream>) -> TokenStream {
        let lt = self.ty(l);
        let mut lv = self.expr(l, out);
        let mut rs = Vec::new();
        let rv = self.expr(r, &mut rs);
        if rs.is_empty() {
            return self.arith(op, lv, rv, lt, self.ty(r));
        }
        if matches!(op, BinOp::And | BinOp::Or) {
            // Short circuit: evaluate the right side's statements only when needed.
            let tmp = self.tmp();
            let n = self.name(&tmp);
            Self::push(out, quote!(::vyre::ir::Node::Let { name: #n, value: #lv }));
            let cond = if op == BinOp::And {
                self.var(&tmp)
            } else {
                un("not", self.var(&tmp))
            };
            let n2 = self.name(&tmp);
            let then = quote!({
                let mut __b: ::std::vec::Vec<::vyre::ir::Node> = ::std::vec::Vec::new();
                #(#rs)*
                __b.push(::vyre::ir::Node::Assign { name: #n2, value: #rv });
                __b
            });
            Self::push(
                out,
                quote!(::vyre::ir::Node::If { cond: #cond, then: #then, otherwise: ::std::vec::Vec::new() }),
            );
            return self.var(&tmp);
        }
        if !simple(l) {
            lv = self.spill(out, lv);
        }
        out.extend(rs);
        self.arith(op, lv, rv, lt, self.ty(r))
    }

    /// `recv.m(args)` on a scalar.
    fn method(
        &mut self,
        recv: &Expr,
        m: Method,
        args: &[Expr],
        out: &mut Vec<TokenStream>,
    ) -> TokenStream {
        let rt = self.ty(recv);
        let rv = self.expr(recv, out);
        let mut av: Vec<TokenStream> = Vec::new();
        for a in args {
            let mut s = Vec::new();
            let v = self.expr(a, &mut s);
            if !s.is_empty() {
                let spilled = self.spill(out, rv.clone());
                out.extend(s);
                return self.method_tail(m, spilled, vec![v], rt);
            }
            av.push(v);
        }
        self.method_tail(m, rv, av, rt)
    }

    /// The IR of `m` applied to the lowered receiver `rv` (of type `rt`) and arguments `av`.
    fn method_tail(
        &self,
        m: Method,
        rv: TokenStream,
        av: Vec<TokenStream>,
        rt: Scalar,
    ) -> TokenStream {
        let a0 = av.into_iter().next().unwrap_or_else(|| zero(Scalar::U32));
        match m {
            Method::WrappingAdd => self.arith(BinOp::Add, rv, a0, rt, rt),
            Method::WrappingSub => self.arith(BinOp::Sub, rv, a0, rt, rt),
            Method::WrappingMul => self.arith(BinOp::Mul, rv, a0, rt, rt),
            Method::Min => bin("min", rv, a0),
            Method::Max => bin("max", rv, a0),
            // Rust's bit counts are u32; the IR's have the operand's type.
            Method::CountOnes | Method::LeadingZeros | Method::TrailingZeros
                if rt == Scalar::I32 =>
            {
                let op = match m {
                    Method::CountOnes => "popcount",
                    Method::LeadingZeros => "clz",
                    _ => "ctz",
                };
                let v = un(op, rv);
                quote!(::vyre::ir::Expr::cast(::vyre::ir::DataType::U32, #v))
            }
            Method::CountOnes => un("popcount", rv),
            Method::LeadingZeros => match rt {
                Scalar::U8 => bin("sub", un("clz", rv), quote!(::vyre::ir::Expr::u32(24))),
                Scalar::U16 => bin("sub", un("clz", rv), quote!(::vyre::ir::Expr::u32(16))),
                _ => un("clz", rv),
            },
            Method::TrailingZeros => match rt {
                Scalar::U8 => bin("min", un("ctz", rv), quote!(::vyre::ir::Expr::u32(8))),
                Scalar::U16 => bin("min", un("ctz", rv), quote!(::vyre::ir::Expr::u32(16))),
                _ => un("ctz", rv),
            },
            Method::RotateLeft => bin("rotl", rv, a0),
            Method::RotateRight => bin("rotr", rv, a0),
            Method::ToBits => quote!(::vyre::ir::Expr::bitcast(::vyre::ir::DataType::U32, #rv)),
            // Clears the sign bit, as `f32::abs` does (NaN included).
            Method::Abs => quote!(::vyre::ir::Expr::bitcast(
                ::vyre::ir::DataType::F32,
                ::vyre::ir::Expr::bitand(
                    ::vyre::ir::Expr::bitcast(::vyre::ir::DataType::U32, #rv),
                    ::vyre::ir::Expr::u32(0x7fff_ffff)
                )
            )),
        }
    }

    /// A call of a helper: inlined into `out`, checking its signature at compile time;
    /// the value is the variable holding its result.
    fn call(&mut self, e: &Expr, out: &mut Vec<TokenStream>) -> TokenStream {
        let ExprKind::Call(path, args) = &e.kind else {
            return zero(Scalar::U32);
        };
        let mut vals = Vec::new();
        let mut sig = Vec::new();
        for a in args {
            let v = self.expr(a, out);
            vals.push(if simple(a) { v } else { self.spill(out, v) });
            sig.push(match a.kind {
                ExprKind::Lit(Lit::Int(_, None)) => quote!(_),
                _ => {
                    let t = syn::Ident::new(self.ty(a).name(), a.span);
                    quote!(#t)
                }
            });
        }
        let h = self.call_ident();
        let m = self.call_module(path, &h);
        let ret = syn::Ident::new(self.ty(e).name(), e.span);
        let span = e.span;
        let t = syn::Ident::new("target", syn::spanned::Spanned::span(path));
        self.sig_checks
            .push(quote_spanned!(span=> #m::check::<#m::#t::Sig>();));
        self.sig_checks.push(quote_spanned!(span=> ::vyre::__private::native::assert_helper_sig::<#m::#t::Sig, fn(#(#sig),*) -> #ret>();));
        out.push(quote!(let #h: ::std::string::String = #m::target::inline(__inl, &mut __b, ::std::vec![#(#vals),*]);));
        quote!(::vyre::ir::Expr::Var(#h.clone()))
    }
}

impl Gen<'_> {
    /// The module `__vyre_<h>` (returned) through which the generated code
    /// reaches the helper `path`: `target` is the helper's module when
    /// `path` is a `#[vyre::helper]`, else (a plain function: the explicit
    /// import finds only the function, so the glob import supplies the
    /// module) `vyre`'s `not_a_helper`, whose `Sig` fails `check` with one
    /// error naming the function.
    fn call_module(&mut self, path: &syn::Path, h: &syn::Ident) -> syn::Ident {
        // Spanned at the call, so that the checks' errors point at it.
        let span = syn::spanned::Spanned::span(path);
        let m = syn::Ident::new(
            &format!("__vyre_{}", h.to_string().trim_start_matches('_')),
            span,
        );
        let target = helper_path(path);
        let first = path.segments.first().map(|s| s.ident.to_string());
        let target = if path.leading_colon.is_some() || first.as_deref() == Some("crate") {
            target
        } else {
            quote!(super::#target)
        };
        let name = path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let t = syn::Ident::new("target", span);
        let message = format!("`{name}` is not a `#[vyre::helper]`");
        let note = format!("vyre payloads can only call `#[vyre::helper]` functions, which the macro compiles to IR with them\nFix: mark `fn {name}` with `#[vyre::helper]`");
        self.call_mods.push(quote! {
            #[doc(hidden)]
            #[allow(non_snake_case)]
            mod #m {
                #[diagnostic::on_unimplemented(message = #message, label = "called from a vyre payload", note = #note)]
                pub trait Helper {}
                impl<T: ::vyre::__private::native::IsHelper> Helper for T {}
                pub fn check<T: Helper>() {}
                mod fallback {
                    pub use ::vyre::__private::native::not_a_helper as target;
                }
                #[allow(unused_imports)]
                pub(super) use self::fallback::*;
                #[allow(unused_imports)]
                pub(super) use #target as #t;
            }
        });
        m
    }
}

/// `x as to` in the IR, matching Rust's `as` (and the native rewrite).
fn cast(v: TokenStream, from: Scalar, to: Scalar) -> TokenStream {
    use Scalar::*;
    let word = |s: Scalar| matches!(s, U8 | U16 | U32 | Usize);
    let width = |s: Scalar| match s {
        U8 => 8,
        U16 => 16,
        _ => 32,
    };
    match to {
        U32 | Usize if word(from) => v,
        U8 | U16 if word(from) && width(from) <= width(to) => v,
        U8 | U16 if word(from) => mask(v, to),
        U8 | U16 if from == F32 => {
            let m = to.mask().unwrap_or(u32::MAX);
            quote!(::vyre::ir::Expr::min(::vyre::ir::Expr::cast(::vyre::ir::DataType::U32, #v), ::vyre::ir::Expr::u32(#m)))
        }
        U8 | U16 => mask(
            quote!(::vyre::ir::Expr::cast(::vyre::ir::DataType::U32, #v)),
            to,
        ),
        _ if from == to => v,
        _ => {
            let dt = data_type(to);
            quote!(::vyre::ir::Expr::cast(#dt, #v))
        }
    }
}
