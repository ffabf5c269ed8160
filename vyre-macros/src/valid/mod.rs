//! Name resolution and type inference for the subset; every problem is
//! collected into [`Errors`].
//!
//! Unsuffixed integer literals get a type variable that unifies with what the
//! context needs and defaults to `u32`. Calls to helpers get a variable that
//! may become any scalar (also defaulting to `u32`); the generated code checks
//! the assumed helper signature at compile time.

mod access;
mod control;
mod expr;
mod matching;

use std::collections::HashMap;

use proc_macro2::Span;
use syn::Ident;

use crate::ast::{Block, ConstValue, ExprId, FnKind, Func, Lit, ParamKind, Scalar, Stmt, VarId};
use crate::errors::Errors;
use crate::parse::fits;

/// A type during inference.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ty {
    /// A scalar.
    S(Scalar),
    /// `()`
    Unit,
    /// `!` (return, break, continue)
    Never,
    /// An inference variable.
    Var(usize),
}

#[derive(Clone, Copy)]
enum VarState {
    /// Unbound; `true` when only integer types fit (literal).
    Free(bool),
    Link(usize),
    Bound(Scalar),
}

/// What a name refers to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Res {
    /// A `let` or `for` variable.
    Local(VarId),
    /// Parameter `i`.
    Param(usize),
    /// Constant `i` of [`Typed::consts`].
    Const(usize),
}

/// The results of checking: types and resolutions keyed by expression id.
pub struct Typed {
    /// Resolved type of every expression (`None`: unit or diverging).
    pub expr_ty: Vec<Option<Scalar>>,
    /// Type of every local variable (of its elements for an array).
    pub var_ty: Vec<Scalar>,
    /// Number of elements of every local array (`None`: not an array).
    pub var_len: Vec<Option<u32>>,
    /// What the name (or base of an index / `.len()` / atomic) in an expression refers to.
    pub res: HashMap<ExprId, Res>,
    /// Constants, in declaration order.
    pub consts: Vec<ConstValue>,
}

/// Checks `f`; on success returns the side tables.
pub fn check(f: &Func, errs: &mut Errors) -> Typed {
    let mut c = Checker {
        f,
        errs,
        vars: Vec::new(),
        expr_ty: vec![Ty::Unit; f.n_exprs],
        var_ty: vec![Ty::S(Scalar::U32); f.n_vars],
        var_len: vec![None; f.n_vars],
        res: HashMap::new(),
        consts: Vec::new(),
        scopes: vec![Vec::new()],
        loops: 0,
        lits: Vec::new(),
        deferred: Vec::new(),
        calls: Vec::new(),
        matches: Vec::new(),
    };
    for (i, p) in f.params.iter().enumerate() {
        c.scopes[0].push((p.name.to_string(), Res::Param(i), p.mutable));
    }
    let t = c.block(&f.body);
    match (f.kind, f.ret) {
        (FnKind::Payload | FnKind::Combine, _) => {
            if let Some(tail) = &f.body.tail {
                if t != Ty::Never {
                    c.unify(t, Ty::Unit, tail.span, "the payload body");
                }
            }
        }
        (FnKind::Helper, Some((r, span))) => {
            if f.body.tail.is_some() || t == Ty::Never {
                let s = f.body.tail.as_ref().map(|e| e.span).unwrap_or(span);
                c.unify(t, Ty::S(r), s, "the helper's result");
            } else {
                c.errs.push(span, "this helper must end with its result value (or `return` it)\nFix: add the result as the last expression, without `;`");
            }
        }
        (FnKind::Helper, None) => {}
    }
    c.finish()
}

struct Checker<'a> {
    f: &'a Func,
    errs: &'a mut Errors,
    vars: Vec<VarState>,
    expr_ty: Vec<Ty>,
    var_ty: Vec<Ty>,
    var_len: Vec<Option<u32>>,
    res: HashMap<ExprId, Res>,
    consts: Vec<ConstValue>,
    scopes: Vec<Vec<(String, Res, bool)>>,
    loops: usize,
    /// Unsuffixed integer literals: (expr id, value, span, type).
    lits: Vec<(ExprId, i64, Span, Ty)>,
    /// Checks that need the final types.
    deferred: Vec<Deferred>,
    /// Helper calls: result type and first argument's type.
    calls: Vec<(Ty, Option<Ty>)>,
    /// `match`es, checked for exhaustiveness and literal ranges at the end.
    matches: Vec<matching::MatchCheck>,
}

/// Every identifier in `tokens`, groups included.
fn collect_idents(tokens: proc_macro2::TokenStream, out: &mut Vec<syn::Ident>) {
    for t in tokens {
        match t {
            proc_macro2::TokenTree::Ident(i) => out.push(i),
            proc_macro2::TokenTree::Group(g) => collect_idents(g.stream(), out),
            _ => {}
        }
    }
}

/// A check done after inference, on resolved types.
enum Deferred {
    /// Must be an integer type.
    Int(Ty, Span, &'static str),
    /// Must be an integer or f32.
    Numeric(Ty, Span, &'static str),
    /// Must be an integer or bool.
    IntOrBool(Ty, Span, &'static str),
    /// Must be u32 or i32 (rotates).
    Word(Ty, Span, &'static str),
    /// Must be u32 or usize (ranges).
    RangeTy(Ty, Span),
    /// Must be i32 or f32 (negation).
    Signed(Ty, Span),
    /// Must be f32.
    Float(Ty, Span, &'static str),
}

impl Checker<'_> {
    fn fresh(&mut self, int_only: bool) -> Ty {
        self.vars.push(VarState::Free(int_only));
        Ty::Var(self.vars.len() - 1)
    }

    fn root(&self, mut v: usize) -> usize {
        while let VarState::Link(n) = self.vars[v] {
            v = n;
        }
        v
    }

    /// The type with variables followed as far as they are bound.
    fn shallow(&self, t: Ty) -> Ty {
        match t {
            Ty::Var(v) => {
                let r = self.root(v);
                match self.vars[r] {
                    VarState::Bound(s) => Ty::S(s),
                    _ => Ty::Var(r),
                }
            }
            other => other,
        }
    }

    /// The final type (free variables default to u32).
    fn resolve(&self, t: Ty) -> Ty {
        match self.shallow(t) {
            Ty::Var(_) => Ty::S(Scalar::U32),
            other => other,
        }
    }

    fn describe(&self, t: Ty) -> String {
        match self.shallow(t) {
            Ty::S(s) => format!("`{}`", s.name()),
            Ty::Unit => "`()`".into(),
            Ty::Never => "`!`".into(),
            Ty::Var(v) => match self.vars[v] {
                VarState::Free(true) => "an integer".into(),
                _ => "a value".into(),
            },
        }
    }

    /// Unifies; on mismatch reports "mismatched types" at `span` and returns
    /// the expected type.
    fn unify(&mut self, found: Ty, expected: Ty, span: Span, ctx: &str) -> Ty {
        let (a, b) = (self.shallow(found), self.shallow(expected));
        match (a, b) {
            (x, y) if x == y => x,
            (Ty::Never, y) => y,
            (x, Ty::Never) => x,
            (Ty::Var(v), Ty::Var(w)) => {
                let (VarState::Free(iv), VarState::Free(iw)) = (self.vars[v], self.vars[w]) else {
                    return a;
                };
                self.vars[v] = VarState::Link(w);
                self.vars[w] = VarState::Free(iv || iw);
                b
            }
            (Ty::Var(v), Ty::S(s)) | (Ty::S(s), Ty::Var(v)) => {
                if matches!(self.vars[v], VarState::Free(true)) && !s.is_int() {
                    self.errs.push(span, format!("mismatched types in {ctx}: expected `{}`, found an integer\nFix: write a {} value{}", s.name(), s.name(), if s == Scalar::F32 { " such as `1.0`" } else { "" }));
                    return Ty::S(s);
                }
                self.vars[v] = VarState::Bound(s);
                Ty::S(s)
            }
            _ => {
                let fix = match (a, b) {
                    (Ty::S(_), Ty::S(_)) => "convert explicitly with `as` (vyre, like Rust, has no implicit conversions)",
                    (Ty::Unit, _) | (_, Ty::Unit) => "make both sides produce a value of the same type",
                    _ => "use values of the same type",
                };
                let msg = format!(
                    "mismatched types in {ctx}: expected {}, found {}\nFix: {fix}",
                    self.describe(b),
                    self.describe(a)
                );
                self.errs.push(span, msg);
                b
            }
        }
    }

    fn lookup(&self, name: &Ident) -> Option<(Res, bool)> {
        let n = name.to_string();
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|(k, _, _)| *k == n)
            .map(|(_, r, m)| (*r, *m))
    }

    fn declare(&mut self, name: &Ident, res: Res, mutable: bool) {
        if let Some((Res::Param(i), _)) = self.lookup(name) {
            let p = &self.f.params[i];
            if !matches!(p.kind, ParamKind::Scalar(_) | ParamKind::ChunkStart) {
                self.errs.unsupported(
                    name.span(),
                    format!("shadowing the buffer parameter `{name}`"),
                    "give the new variable a different name",
                );
            }
        }
        if let Some(scope) = self.scopes.last_mut() {
            scope.push((name.to_string(), res, mutable));
        }
    }

    fn block(&mut self, b: &Block) -> Ty {
        self.scopes.push(Vec::new());
        let mut diverges = false;
        for s in &b.stmts {
            match s {
                Stmt::Let {
                    var,
                    name,
                    mutable,
                    ty,
                    init,
                } => {
                    let t = self.expr(init);
                    let t = match ty {
                        Some((s, span)) => self.unify(
                            t,
                            Ty::S(*s),
                            init.span.join(*span).unwrap_or(init.span),
                            "this `let`",
                        ),
                        None => t,
                    };
                    let t = match self.shallow(t) {
                        Ty::Unit | Ty::Never => {
                            self.errs.push(init.span, format!("`{name}` would have no value (type `()`)\nFix: bind a value of a scalar type"));
                            Ty::S(Scalar::U32)
                        }
                        t => t,
                    };
                    self.var_ty[*var] = t;
                    self.declare(name, Res::Local(*var), *mutable);
                }
                Stmt::LetArray {
                    var,
                    name,
                    mutable,
                    elem,
                    len,
                    init,
                } => {
                    let t = match elem {
                        Some((s, _)) => Ty::S(*s),
                        None => self.fresh(false),
                    };
                    let vals: Vec<&crate::ast::Expr> = match init {
                        crate::ast::ArrayInit::Repeat(v) => vec![&**v],
                        crate::ast::ArrayInit::List(vs) => vs.iter().collect(),
                    };
                    for v in vals {
                        let vt = self.expr(v);
                        self.unify(vt, t, v.span, "this array element");
                    }
                    self.var_ty[*var] = t;
                    self.var_len[*var] = Some(*len);
                    self.declare(name, Res::Local(*var), *mutable);
                }
                Stmt::Const { name, value } => {
                    if let ConstValue::Table { span, ty, expr, .. } = value {
                        self.table_scope(name, ty, expr);
                        if self.f.kind == FnKind::Helper {
                            self.errs.push(*span, "a `#[vyre::helper]` cannot hold a table constant\nFix: declare the table in the payload and pass the looked-up word to the helper");
                        } else if self
                            .consts
                            .iter()
                            .any(|c| matches!(c, ConstValue::Table { name: n, .. } if n == name))
                        {
                            self.errs.push(*span, format!("a second table named `{name}` in this payload\nFix: give every table constant its own name"));
                        }
                    }
                    let value = self.const_value(value);
                    self.consts.push(value);
                    let i = self.consts.len() - 1;
                    self.declare(name, Res::Const(i), false);
                }
                Stmt::Expr(e) => {
                    if self.expr(e) == Ty::Never {
                        diverges = true;
                    }
                }
            }
        }
        let t = match &b.tail {
            Some(e) => self.expr(e),
            None if diverges => Ty::Never,
            None => Ty::Unit,
        };
        self.scopes.pop();
        t
    }

    /// A table's type and value are evaluated again in `payload()`, in the
    /// payload's module: they may not name the payload's own constants
    /// (which `payload()` does not have; a module item of the same name
    /// would be used silently) nor paths relative to the current module.
    fn table_scope(&mut self, name: &syn::Ident, ty: &syn::Type, expr: &syn::Expr) {
        use quote::ToTokens;
        let mut idents = Vec::new();
        let mut tokens = ty.to_token_stream();
        tokens.extend(expr.to_token_stream());
        collect_idents(tokens, &mut idents);
        for id in idents {
            let s = id.to_string();
            if s == "self" || s == "super" {
                self.errs.push(id.span(), format!("the value of table `{name}` uses a `{s}::` path, which `#[vyre::payload]` cannot evaluate where it builds the IR\nFix: write the path from the crate root (`crate::...`)"));
            } else if self
                .scopes
                .iter()
                .flatten()
                .any(|(n, r, _)| *n == s && matches!(r, Res::Const(_)))
            {
                self.errs.push(id.span(), format!("the value of table `{name}` uses `{s}`, a constant of this payload\nFix: declare `{s}` outside the function"));
            }
        }
    }

    fn const_value(&mut self, v: &ConstValue) -> ConstValue {
        if let ConstValue::Scalar { ty, lit, span } = v {
            let ok = match lit {
                Lit::Int(n, suffix) => {
                    ty.is_int() && suffix.is_none_or(|s| s == *ty) && fits(*ty, *n)
                }
                Lit::Float(_) => *ty == Scalar::F32,
                Lit::Bool(_) => *ty == Scalar::Bool,
            };
            if !ok {
                self.errs.push(*span, format!("this literal is not a valid `{}` constant\nFix: write a `{}` literal in range", ty.name(), ty.name()));
            }
        }
        v.clone()
    }

    fn finish(mut self) -> Typed {
        let deferred = std::mem::take(&mut self.deferred);
        let matches = std::mem::take(&mut self.matches);
        let lits = std::mem::take(&mut self.lits);
        // An unconstrained helper result takes the type of the first argument
        // (`to_lower(b: u8) -> u8`, `clamp(x: i32, ..) -> i32`); the generated
        // code checks the guess.
        for (ret, first) in std::mem::take(&mut self.calls) {
            if let (Ty::Var(r), Some(Ty::S(s))) =
                (self.shallow(ret), first.map(|f| self.shallow(f)))
            {
                if s.is_int() || matches!(self.vars[r], VarState::Free(false)) {
                    self.vars[r] = VarState::Bound(s);
                }
            }
        }
        // An unconstrained integer with a negative literal defaults to i32, not u32.
        for (_, v, _, t) in &lits {
            if let (true, Ty::Var(r)) = (*v < 0, self.shallow(*t)) {
                self.vars[r] = VarState::Bound(Scalar::I32);
            }
        }
        let me = &mut self;
        let scalar = |me: &Checker<'_>, t: Ty| match me.resolve(t) {
            Ty::S(s) => Some(s),
            _ => None,
        };
        for d in &deferred {
            let (ok, span, msg): (bool, Span, String) = match *d {
                Deferred::Int(t, s, what) => (scalar(me, t).is_some_and(Scalar::is_int), s, format!("{what} needs an integer, found {}\nFix: use an integer value or convert with `as`", me.describe(t))),
                Deferred::Numeric(t, s, what) => (scalar(me, t).is_some_and(|x| x != Scalar::Bool), s, format!("{what} needs a number, found {}\nFix: use an integer or f32 value", me.describe(t))),
                Deferred::IntOrBool(t, s, what) => (scalar(me, t).is_some_and(|x| x != Scalar::F32), s, format!("{what} needs an integer or bool, found {}\nFix: convert with `as`", me.describe(t))),
                Deferred::Word(t, s, what) => (
                    matches!(scalar(me, t), Some(Scalar::U32 | Scalar::I32)),
                    s,
                    format!("{what} on {} is not supported (only u32 and i32 rotate)\nFix: convert to `u32` first, e.g. `(x as u32).rotate_left(n)`", me.describe(t)),
                ),
                Deferred::RangeTy(t, s) => (
                    matches!(scalar(me, t), Some(Scalar::U32 | Scalar::Usize)),
                    s,
                    format!("`for` ranges over {} are not supported\nFix: iterate over `u32` or `usize` and convert inside the loop", me.describe(t)),
                ),
                Deferred::Float(t, s, what) => (
                    scalar(me, t) == Some(Scalar::F32),
                    s,
                    format!("{what} is supported on `f32` only, found {}\nFix: for integers write `if x < 0 {{ -x }} else {{ x }}`", me.describe(t)),
                ),
                Deferred::Signed(t, s) => (
                    matches!(scalar(me, t), Some(Scalar::I32 | Scalar::F32)),
                    s,
                    format!("cannot negate {}\nFix: negate only i32 or f32 values; for unsigned use `0u32.wrapping_sub(x)`", me.describe(t)),
                ),
            };
            if !ok {
                me.errs.push(span, msg);
            }
        }
        for m in &matches {
            let s = scalar(me, m.ty).unwrap_or(Scalar::U32);
            matching::check_match(me.errs, m, s);
        }
        for (_, v, span, t) in lits {
            let s = scalar(me, t).unwrap_or(Scalar::U32);
            if !fits(s, v) {
                me.errs.push(span, format!("the literal `{v}` does not fit its inferred type `{}`\nFix: add a type suffix or annotation, e.g. `{v}i32`", s.name()));
            }
        }
        let expr_ty = me.expr_ty.iter().map(|t| scalar(me, *t)).collect();
        let var_ty = me
            .var_ty
            .iter()
            .map(|t| scalar(me, *t).unwrap_or(Scalar::U32))
            .collect();
        Typed {
            expr_ty,
            var_ty,
            var_len: std::mem::take(&mut me.var_len),
            res: std::mem::take(&mut me.res),
            consts: std::mem::take(&mut me.consts),
        }
    }
}
