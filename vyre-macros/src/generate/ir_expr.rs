//! Lowering of expressions and expression statements to IR-building code.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::helper_path;
use super::ir::{contains_return, data_type, zero, Gen};
use crate::ast::{
    AtomicMethod, BinOp, ConstValue, CxUse, Expr, ExprKind, FnKind, Lit, Method, ParamKind, Range,
    Scalar, UnOp,
};
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

fn mask(e: TokenStream, s: Scalar) -> TokenStream {
    match s.mask() {
        Some(m) => quote!(::vyre::ir::Expr::bitand(#e, ::vyre::ir::Expr::u32(#m))),
        None => e,
    }
}

fn bin(name: &str, a: TokenStream, b: TokenStream) -> TokenStream {
    let f = syn::Ident::new(name, proc_macro2::Span::call_site());
    quote!(::vyre::ir::Expr::#f(#a, #b))
}

fn un(name: &str, a: TokenStream) -> TokenStream {
    let f = syn::Ident::new(name, proc_macro2::Span::call_site());
    quote!(::vyre::ir::Expr::#f(#a))
}

/// True for expressions that are cheap and pure to duplicate.
fn simple(e: &Expr) -> bool {
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
    fn param(&self, e: &Expr) -> Option<(String, ParamKind)> {
        match self.t.res.get(&e.id) {
            Some(Res::Param(i)) => self.f.params.get(*i).map(|p| (p.name.to_string(), p.kind)),
            _ => None,
        }
    }

    fn const_of(&self, e: &Expr) -> Option<&ConstValue> {
        match self.t.res.get(&e.id) {
            Some(Res::Const(i)) => self.t.consts.get(*i),
            _ => None,
        }
    }

    /// Lowers `e` as a value; statements it needs go to `out`.
    pub fn expr(&mut self, e: &Expr, out: &mut Vec<TokenStream>) -> TokenStream {
        let ty = self.ty(e);
        match &e.kind {
            ExprKind::Lit(l) => lit(*l, ty),
            ExprKind::Name(_) => match self.t.res.get(&e.id).copied() {
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
            },
            ExprKind::Unary(UnOp::Neg, x) => {
                let v = self.expr(x, out);
                un("neg", v)
            }
            ExprKind::Unary(UnOp::Not, x) => {
                let v = self.expr(x, out);
                if ty == Scalar::Bool {
                    un("not", v)
                } else {
                    mask(un("bitnot", v), ty)
                }
            }
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r, out),
            ExprKind::Cast(x, to) => {
                let from = self.ty(x);
                let v = self.expr(x, out);
                cast(v, from, *to)
            }
            ExprKind::Index(n, i) => {
                let idx = self.expr(i, out);
                match self.const_of(e).cloned() {
                    Some(ConstValue::Bytes(bytes, _)) => {
                        return self.const_index(&bytes, i, idx, out)
                    }
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
            ExprKind::Len(name) => {
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
            ExprKind::Word(_, w) => {
                let w = self.expr(w, out);
                match self.param(e) {
                    Some((n, _)) => quote!(::vyre::ir::payload::byte_word_load(#n, #w)),
                    None => zero(Scalar::U32),
                }
            }
            ExprKind::LaneId(n) => {
                let n = n.to_string();
                quote!(::vyre::ir::payload::lane_id(#n))
            }
            ExprKind::LaneCount(n) => {
                let n = n.to_string();
                quote!(::vyre::ir::payload::lane_count(#n))
            }
            ExprKind::Method(recv, m, args) => self.method(recv, *m, args, out),
            ExprKind::Atomic { .. } => {
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
            ExprKind::Call(..) => self.call(e, out),
            ExprKind::If(c, t, o) if self.t.expr_ty[e.id].is_some() => {
                self.if_value(e, c, t, o.as_ref(), out)
            }
            ExprKind::Block(b) if self.t.expr_ty[e.id].is_some() => {
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
            _ => {
                // Statements (assignments, loops, ...) used as values have type `()`.
                self.stmt_expr(e, out);
                zero(Scalar::U32)
            }
        }
    }

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

    fn arith(
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
        }
    }

    /// The atomic expression of an `Atomic` node, and the expected value of a compare-exchange.
    pub fn atomic(
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
        let target = helper_path(path);
        let ret = syn::Ident::new(self.ty(e).name(), e.span);
        let span = e.span;
        self.sig_checks.push(quote_spanned!(span=> ::vyre::__private::native::assert_helper_sig::<#target::Sig, fn(#(#sig),*) -> #ret>();));
        let h = self.call_ident();
        out.push(quote!(let #h: ::std::string::String = #target::inline(__inl, &mut __b, ::std::vec![#(#vals),*]);));
        quote!(::vyre::ir::Expr::Var(#h.clone()))
    }

    fn if_value(
        &mut self,
        e: &Expr,
        c: &Expr,
        t: &crate::ast::Block,
        o: Option<&crate::ast::Block>,
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
        let branch = |g: &mut Self, b: &crate::ast::Block| {
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

    /// Lowers `e` as a statement.
    pub fn stmt_expr(&mut self, e: &Expr, out: &mut Vec<TokenStream>) {
        match &e.kind {
            ExprKind::Atomic { .. } => {
                let (a, _) = self.atomic(e, out);
                Self::push(out, quote!(::vyre::ir::Node::Eval(#a)));
            }
            ExprKind::Assign(_, v) => {
                let val = self.expr(v, out);
                let n = self.assign_name(e);
                Self::push(
                    out,
                    quote!(::vyre::ir::Node::Assign { name: #n, value: #val }),
                );
            }
            ExprKind::CompoundAssign(op, name, v) => {
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
                let new = self.arith(*op, cur, val, ty, self.ty(v));
                let n = self.assign_name(e);
                Self::push(
                    out,
                    quote!(::vyre::ir::Node::Assign { name: #n, value: #new }),
                );
            }
            ExprKind::StoreOut(name, i, v) => {
                let idx = self.expr(i, out);
                let idx = if simple(i) { idx } else { self.spill(out, idx) };
                let val = self.expr(v, out);
                let n = name.to_string();
                Self::push(out, quote!(::vyre::ir::payload::word_store(#n, #idx, #val)));
            }
            ExprKind::CompoundStoreOut(op, name, i, v) => {
                let idx = self.expr(i, out);
                let idx = if simple(i) { idx } else { self.spill(out, idx) };
                let val = self.expr(v, out);
                let n = name.to_string();
                let new = self.arith(
                    *op,
                    quote!(::vyre::ir::payload::word_load(#n, #idx.clone())),
                    val,
                    Scalar::U32,
                    self.ty(v),
                );
                Self::push(out, quote!(::vyre::ir::payload::word_store(#n, #idx, #new)));
            }
            ExprKind::If(c, t, o) => {
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
            ExprKind::Block(b) => {
                let inner = self.nested(|g, o| g.block_unit(b, o));
                Self::push(out, quote!(::vyre::ir::Node::Block(#inner)));
            }
            ExprKind::While(c, b) => {
                let body = self.nested(|g, o| {
                    let cv = g.expr(c, o);
                    Self::push(o, quote!(::vyre::ir::Node::If { cond: ::vyre::ir::Expr::not(#cv), then: ::std::vec![::vyre::ir::Node::Break], otherwise: ::std::vec::Vec::new() }));
                    g.block_unit(b, o);
                });
                Self::push(out, quote!(::vyre::ir::Node::Loop { body: #body }));
                self.after_loop(b, out);
            }
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
            ExprKind::Return(v) => {
                if self.f.kind == FnKind::Payload {
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
            _ => {
                // A value computed for nothing: keep its effects (hoisted statements) only.
                let _ = self.expr(e, out);
            }
        }
    }

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

    fn after_loop(&mut self, b: &crate::ast::Block, out: &mut Vec<TokenStream>) {
        if self.f.kind == FnKind::Helper && self.ret_flag && contains_return(b) {
            let d = self.var("done__");
            Self::push(
                out,
                quote!(::vyre::ir::Node::If { cond: #d, then: ::std::vec![::vyre::ir::Node::Break], otherwise: ::std::vec::Vec::new() }),
            );
        }
    }

    fn for_loop(
        &mut self,
        var: usize,
        name: &str,
        range: &Range,
        body: &crate::ast::Block,
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

/// The variable of `payload()` holding the words of table `name`.
pub fn table_words(name: &syn::Ident) -> syn::Ident {
    quote::format_ident!("__vyre_table_{}", name)
}
