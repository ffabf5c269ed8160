//! The IR builder: Rust code that, when run, builds the `Vec<Node>` of the
//! function body.
//!
//! Statements are emitted as `__b.push(node);` into the current block's
//! vector; a nested block is `{ let mut __b = Vec::new(); ...; __b }`.
//! Expressions become `::vyre::ir::Expr` values; anything that needs
//! statements (atomics, helper calls, `if` with statements, `&&` with such a
//! right side) is hoisted into temporaries `t__N` before its use, keeping
//! Rust's evaluation order.

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ast::{Block, Expr, ExprKind, FnKind, Func, ParamKind, Scalar, Stmt, VarId};
use crate::valid::Typed;

/// Generator state.
pub struct Gen<'a> {
    /// The function.
    pub f: &'a Func,
    /// Types and resolutions.
    pub t: &'a Typed,
    /// IR names visible now, innermost scope last.
    scopes: Vec<Vec<String>>,
    /// IR name of each local.
    pub var_names: HashMap<VarId, String>,
    next_tmp: usize,
    next_call: usize,
    /// Statements asserting the helper signatures this function assumed.
    pub sig_checks: Vec<TokenStream>,
    /// One module per helper call, resolving the callee (see
    /// [`Gen::call_module`]).
    pub call_mods: Vec<TokenStream>,
    /// In a helper: the return flag is needed (a `return` inside a loop).
    pub ret_flag: bool,
}

/// Tokens for an IR variable name (a `String` expression).
pub fn name_tokens(kind: FnKind, name: &str) -> TokenStream {
    match kind {
        FnKind::Payload | FnKind::Combine => quote!(::std::string::String::from(#name)),
        FnKind::Helper => quote!(::std::format!("{}{}", __pre, #name)),
    }
}

/// The IR data type tokens of a scalar.
pub fn data_type(s: Scalar) -> TokenStream {
    match s {
        Scalar::I32 => quote!(::vyre::ir::DataType::I32),
        Scalar::F32 => quote!(::vyre::ir::DataType::F32),
        Scalar::Bool => quote!(::vyre::ir::DataType::Bool),
        _ => quote!(::vyre::ir::DataType::U32),
    }
}

/// The zero value of a scalar type.
pub fn zero(s: Scalar) -> TokenStream {
    match s {
        Scalar::I32 => quote!(::vyre::ir::Expr::i32(0)),
        Scalar::F32 => quote!(::vyre::ir::Expr::f32(0.0)),
        Scalar::Bool => quote!(::vyre::ir::Expr::bool(false)),
        _ => quote!(::vyre::ir::Expr::u32(0)),
    }
}

impl<'a> Gen<'a> {
    /// A generator for `f`.
    pub fn new(f: &'a Func, t: &'a Typed) -> Gen<'a> {
        let mut root = Vec::new();
        for p in &f.params {
            if matches!(p.kind, ParamKind::Scalar(_) | ParamKind::ChunkStart) {
                root.push(p.name.to_string());
            }
        }
        Gen {
            f,
            t,
            scopes: vec![root],
            var_names: HashMap::new(),
            next_tmp: 0,
            next_call: 0,
            sig_checks: Vec::new(),
            call_mods: Vec::new(),
            ret_flag: false,
        }
    }

    /// Type of an expression (u32 when it has none).
    pub fn ty(&self, e: &Expr) -> Scalar {
        self.t.expr_ty[e.id].unwrap_or(Scalar::U32)
    }

    /// Tokens for IR name `name` (prefixed at run time inside helpers).
    pub fn name(&self, name: &str) -> TokenStream {
        name_tokens(self.f.kind, name)
    }

    /// `Expr::Var(name)`.
    pub fn var(&self, name: &str) -> TokenStream {
        let n = self.name(name);
        quote!(::vyre::ir::Expr::Var(#n))
    }

    /// A fresh temporary name.
    pub fn tmp(&mut self) -> String {
        self.next_tmp += 1;
        format!("t__{}", self.next_tmp - 1)
    }

    /// A fresh Rust identifier for a helper call result.
    pub fn call_ident(&mut self) -> syn::Ident {
        self.next_call += 1;
        format_ident!("__h{}", self.next_call - 1)
    }

    /// Declares a new IR name for Rust variable `base`, renaming (`x_1`, `x_2`, ...)
    /// while the name is visible (the IR forbids shadowing).
    pub fn declare(&mut self, var: VarId, base: &str) -> String {
        let visible =
            |n: &str, scopes: &Vec<Vec<String>>| scopes.iter().any(|s| s.iter().any(|x| x == n));
        let base = if base == "_" { "unused" } else { base };
        // Hidden variables of the parser (`__vyre_tup0_1`): the IR reserves
        // names starting with `__`; users cannot write `__` at all.
        let hidden = base
            .strip_prefix("__vyre_")
            .map(|rest| format!("vyre__{rest}"));
        let base = hidden.as_deref().unwrap_or(base);
        let mut name = base.to_string();
        let mut k = 1;
        while visible(&name, &self.scopes) {
            name = format!("{base}_{k}");
            k += 1;
        }
        if let Some(s) = self.scopes.last_mut() {
            s.push(name.clone());
        }
        self.var_names.insert(var, name.clone());
        name
    }

    /// Opens an IR scope.
    pub fn scopes_push(&mut self) {
        self.scopes.push(Vec::new());
    }

    /// Closes an IR scope.
    pub fn scopes_pop(&mut self) {
        self.scopes.pop();
    }

    /// `__b.push(node);`
    pub fn push(out: &mut Vec<TokenStream>, node: TokenStream) {
        out.push(quote!(__b.push(#node);));
    }

    /// `let name = value` into `out`, returning `Expr::Var(name)`.
    pub fn spill(&mut self, out: &mut Vec<TokenStream>, value: TokenStream) -> TokenStream {
        let t = self.tmp();
        let n = self.name(&t);
        Self::push(
            out,
            quote!(::vyre::ir::Node::Let { name: #n, value: #value }),
        );
        self.var(&t)
    }

    /// A nested block as a `Vec<Node>` expression, in a new scope.
    pub fn nested(&mut self, f: impl FnOnce(&mut Self, &mut Vec<TokenStream>)) -> TokenStream {
        self.scopes.push(Vec::new());
        let mut out = Vec::new();
        f(self, &mut out);
        self.scopes.pop();
        quote!({
            let mut __b: ::std::vec::Vec<::vyre::ir::Node> = ::std::vec::Vec::new();
            #(#out)*
            __b
        })
    }

    /// Emits the statements of `b` into `out` (no new scope); returns the tail.
    pub fn block_stmts<'b>(
        &mut self,
        b: &'b Block,
        out: &mut Vec<TokenStream>,
    ) -> Option<&'b Expr> {
        for s in &b.stmts {
            self.stmt(s, out);
        }
        b.tail.as_deref()
    }

    /// Emits a block whose value (if any) is discarded.
    pub fn block_unit(&mut self, b: &Block, out: &mut Vec<TokenStream>) {
        if let Some(t) = self.block_stmts(b, out) {
            self.stmt_expr(t, out);
        }
    }

    fn stmt(&mut self, s: &Stmt, out: &mut Vec<TokenStream>) {
        match s {
            Stmt::Let {
                var, name, init, ..
            } => {
                let v = self.expr(init, out);
                let ir = self.declare(*var, &name.to_string());
                let n = self.name(&ir);
                Self::push(out, quote!(::vyre::ir::Node::Let { name: #n, value: #v }));
            }
            Stmt::LetArray {
                var,
                name,
                len,
                init,
                ..
            } => self.let_array(*var, &name.to_string(), *len, init, out),
            Stmt::Const { .. } => {}
            Stmt::Expr(e) => self.stmt_expr(e, out),
        }
    }

    /// The full body of a payload as a `Vec<Node>` expression.
    pub fn payload_body(&mut self) -> TokenStream {
        let f = self.f;
        self.nested(|g, out| g.block_unit(&f.body, out))
    }

    /// The body of a helper: pushes into `__b`; the result is in `ret__`.
    pub fn helper_body(&mut self, ret: Scalar) -> Vec<TokenStream> {
        let f = self.f;
        let mut out = Vec::new();
        let has_return = contains_return(&f.body);
        self.ret_flag = has_return && return_in_loop(&f.body, false);
        let z = zero(ret);
        let rn = self.name("ret__");
        Self::push(
            &mut out,
            quote!(::vyre::ir::Node::Let { name: #rn, value: #z }),
        );
        if self.ret_flag {
            let dn = self.name("done__");
            Self::push(
                &mut out,
                quote!(::vyre::ir::Node::Let { name: #dn, value: ::vyre::ir::Expr::bool(false) }),
            );
        }
        let inner = self.nested(|g, out| {
            if let Some(tail) = g.block_stmts(&f.body, out) {
                let v = g.expr(tail, out);
                if g.t.expr_ty[tail.id].is_some() {
                    let rn = g.name("ret__");
                    Self::push(
                        out,
                        quote!(::vyre::ir::Node::Assign { name: #rn, value: #v }),
                    );
                }
            }
            if has_return {
                Self::push(out, quote!(::vyre::ir::Node::Break));
            }
        });
        if has_return {
            Self::push(&mut out, quote!(::vyre::ir::Node::Loop { body: #inner }));
        } else {
            Self::push(&mut out, quote!(::vyre::ir::Node::Block(#inner)));
        }
        out
    }
}

/// True when `b` contains a `return`.
pub fn contains_return(b: &Block) -> bool {
    any_expr(b, &mut |e| matches!(e.kind, ExprKind::Return(_)))
}

fn return_in_loop(b: &Block, in_loop: bool) -> bool {
    fn e(x: &Expr, in_loop: bool) -> bool {
        match &x.kind {
            ExprKind::Return(_) => in_loop,
            ExprKind::If(c, t, o) => {
                e(c, in_loop)
                    || return_in_loop(t, in_loop)
                    || o.as_ref().is_some_and(|o| return_in_loop(o, in_loop))
            }
            ExprKind::Block(b) => return_in_loop(b, in_loop),
            ExprKind::Match(s, arms) => {
                e(s, in_loop) || arms.iter().any(|a| return_in_loop(&a.body, in_loop))
            }
            ExprKind::While(_, b) | ExprKind::Loop(b) | ExprKind::For { body: b, .. } => {
                return_in_loop(b, true)
            }
            _ => false,
        }
    }
    b.stmts.iter().any(|s| match s {
        Stmt::Expr(x) | Stmt::Let { init: x, .. } => e(x, in_loop),
        Stmt::LetArray { init, .. } => array_init(init).any(|x| e(x, in_loop)),
        Stmt::Const { .. } => false,
    }) || b.tail.as_deref().is_some_and(|x| e(x, in_loop))
}

/// True when some expression in `b` (not looking into nested functions) satisfies `p`.
pub fn any_expr(b: &Block, p: &mut impl FnMut(&Expr) -> bool) -> bool {
    b.stmts.iter().any(|s| match s {
        Stmt::Expr(x) | Stmt::Let { init: x, .. } => expr_any(x, p),
        Stmt::LetArray { init, .. } => array_init(init).any(|x| expr_any(x, p)),
        Stmt::Const { .. } => false,
    }) || b.tail.as_deref().is_some_and(|x| expr_any(x, p))
}

/// The element expressions of an array initializer.
fn array_init(init: &crate::ast::ArrayInit) -> impl Iterator<Item = &Expr> {
    let v: Vec<&Expr> = match init {
        crate::ast::ArrayInit::Repeat(x) => vec![&**x],
        crate::ast::ArrayInit::List(xs) => xs.iter().collect(),
    };
    v.into_iter()
}

/// True when `e` or a subexpression satisfies `p`.
pub fn expr_any(e: &Expr, p: &mut impl FnMut(&Expr) -> bool) -> bool {
    if p(e) {
        return true;
    }
    use crate::ast::Range;
    match &e.kind {
        ExprKind::Unary(_, x)
        | ExprKind::Cast(x, _)
        | ExprKind::Index(_, x)
        | ExprKind::Word(_, x)
        | ExprKind::FromBits(x)
        | ExprKind::Assign(_, x)
        | ExprKind::CompoundAssign(_, _, x) => expr_any(x, p),
        ExprKind::Return(x) => x.as_deref().is_some_and(|x| expr_any(x, p)),
        ExprKind::Binary(_, a, b)
        | ExprKind::StoreOut(_, a, b)
        | ExprKind::CompoundStoreOut(_, _, a, b) => expr_any(a, p) || expr_any(b, p),
        ExprKind::Method(r, _, args) => expr_any(r, p) || args.iter().any(|a| expr_any(a, p)),
        ExprKind::Atomic { index, values, .. } => {
            expr_any(index, p) || values.iter().any(|a| expr_any(a, p))
        }
        ExprKind::Call(_, args) => args.iter().any(|a| expr_any(a, p)),
        ExprKind::If(c, t, o) => {
            expr_any(c, p) || any_expr(t, p) || o.as_ref().is_some_and(|o| any_expr(o, p))
        }
        ExprKind::Block(b) | ExprKind::Loop(b) => any_expr(b, p),
        ExprKind::Match(s, arms) => expr_any(s, p) || arms.iter().any(|a| any_expr(&a.body, p)),
        ExprKind::While(c, b) => expr_any(c, p) || any_expr(b, p),
        ExprKind::For { range, body, .. } => {
            let r = match range {
                Range::Plain {
                    start, end, step, ..
                } => {
                    expr_any(start, p)
                        || expr_any(end, p)
                        || step.as_deref().is_some_and(|s| expr_any(s, p))
                }
                Range::Lanes { start, end, .. } => expr_any(start, p) || expr_any(end, p),
            };
            r || any_expr(body, p)
        }
        ExprKind::Lit(_)
        | ExprKind::Name(_)
        | ExprKind::Len(_)
        | ExprKind::LaneId(_)
        | ExprKind::LaneCount(_)
        | ExprKind::Break
        | ExprKind::Continue => false,
    }
}
