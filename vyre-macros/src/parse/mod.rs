//! syn → [`crate::ast`]: the function signature, parameters and statements.
//! Every construct outside the subset is reported (all of them, not just the
//! first) with a `Fix:`.

mod array;
mod call;
mod control;
mod expr;
mod matching;
mod signature;
mod tuple;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Ident, Pat, ReturnType, Type};

use crate::ast::{Block, ConstValue, Expr, ExprKind, FnKind, Func, Lit, Scalar, Stmt};
use crate::errors::Errors;

/// Parser state: counters for ids and the errors found.
pub struct Parser<'a> {
    /// Errors found.
    pub errs: &'a mut Errors,
    /// Name of the function being parsed (to reject recursion).
    pub fn_name: Ident,
    next_expr: usize,
    next_var: usize,
}

/// Parses `item` as a payload or helper.
pub fn parse_fn(
    kind: FnKind,
    item: &syn::ItemFn,
    args: crate::expand::AttrArgs,
    errs: &mut Errors,
) -> Func {
    let sig = &item.sig;
    let mut p = Parser {
        errs,
        fn_name: sig.ident.clone(),
        next_expr: 0,
        next_var: 0,
    };
    signature::check_signature(&mut p, kind, sig);
    let params = sig
        .inputs
        .iter()
        .filter_map(|a| signature::parse_param(&mut p, kind, a))
        .collect();
    let ret = match (&sig.output, kind) {
        (ReturnType::Default, FnKind::Payload | FnKind::Combine) => None,
        (ReturnType::Type(_, ty), FnKind::Payload | FnKind::Combine) => {
            p.errs.unsupported_node(ty, "return values from a payload", "remove the return type; write results to a `&mut [u32]` output or a `&[AtomicU32]` accumulator");
            None
        }
        (ReturnType::Default, FnKind::Helper) => {
            p.errs.push(sig.ident.span(), "a #[vyre::helper] must return a value\nFix: add a return type such as `-> u32`; helpers cannot write to buffers");
            None
        }
        (ReturnType::Type(_, ty), FnKind::Helper) => p
            .scalar_type(ty, "helper return type")
            .map(|s| (s, ty.span())),
    };
    let body = p.block(&item.block);
    Func {
        kind,
        name: sig.ident.clone(),
        params,
        ret,
        body,
        look_behind: args.look_behind,
        combine: args.combine,
        identity: args.identity,
        n_exprs: p.next_expr,
        n_vars: p.next_var,
    }
}

/// True for `let (a, b) = ...` (with or without a type).
fn is_tuple_let(local: &syn::Local) -> bool {
    match &local.pat {
        Pat::Type(pt) => matches!(&*pt.pat, Pat::Tuple(_)),
        other => matches!(other, Pat::Tuple(_)),
    }
}

/// True for the type `[u8]`.
fn is_u8_slice(ty: &Type) -> bool {
    matches!(ty, Type::Slice(s) if type_name(&s.elem).as_deref() == Some("u8"))
}

/// The last path segment of a plain type path (no generics), e.g. `AtomicU32`.
pub fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(tp) if tp.qself.is_none() => {
            let last = tp.path.segments.last()?;
            if last.arguments.is_empty() {
                Some(last.ident.to_string())
            } else {
                None
            }
        }
        Type::Paren(p) => type_name(&p.elem),
        Type::Group(g) => type_name(&g.elem),
        _ => None,
    }
}

impl Parser<'_> {
    fn expr_id(&mut self) -> usize {
        self.next_expr += 1;
        self.next_expr - 1
    }

    fn var_id(&mut self) -> usize {
        self.next_var += 1;
        self.next_var - 1
    }

    /// Makes an expression node.
    pub fn mk(&mut self, span: Span, kind: ExprKind) -> Expr {
        Expr {
            id: self.expr_id(),
            span,
            kind,
        }
    }

    /// Rejects names vyre reserves.
    pub fn check_name(&mut self, name: &Ident) {
        if name.to_string().contains("__") {
            self.errs.push(name.span(), format!("the name `{name}` contains `__`, which vyre reserves for generated IR names\nFix: rename it without a double underscore"));
        }
    }

    /// A block: statements and an optional tail expression.
    pub fn block(&mut self, b: &syn::Block) -> Block {
        let mut stmts = Vec::new();
        let mut tail = None;
        let n = b.stmts.len();
        for (i, s) in b.stmts.iter().enumerate() {
            match s {
                syn::Stmt::Local(local) if is_tuple_let(local) => {
                    self.local_tuple(local, &mut stmts)
                }
                syn::Stmt::Local(local) => {
                    if let Some(st) = self.local(local) {
                        stmts.push(st);
                    }
                }
                syn::Stmt::Item(item) => {
                    if let Some(st) = self.item(item) {
                        stmts.push(st);
                    }
                }
                syn::Stmt::Macro(m) => self.mac(&m.mac),
                syn::Stmt::Expr(e, semi) => {
                    let Some(ex) = self.expr(e) else { continue };
                    if semi.is_none() && i + 1 == n {
                        tail = Some(Box::new(ex));
                    } else {
                        stmts.push(Stmt::Expr(ex));
                    }
                }
            }
        }
        Block { stmts, tail }
    }

    /// Reports a macro invocation.
    pub fn mac(&mut self, m: &syn::Macro) {
        let name = m
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let fix = match name.as_str() {
            "println" | "print" | "eprintln" | "eprint" | "dbg" => {
                "remove it: GPU code has no console; test the native function instead"
            }
            "assert" | "assert_eq" | "debug_assert" | "panic" | "unreachable" | "todo"
            | "unimplemented" => {
                "remove it: GPU code cannot panic; handle the case with `if` and `return`"
            }
            "vec" | "format" => "GPU code cannot allocate; write results to an output buffer",
            _ => "write the code without macros",
        };
        self.errs
            .unsupported(m.path.span(), format!("macros (`{name}!`)"), fix);
    }

    fn local(&mut self, local: &syn::Local) -> Option<Stmt> {
        let (pat, ty) = match &local.pat {
            Pat::Type(pt) => (&*pt.pat, Some(&*pt.ty)),
            other => (other, None),
        };
        let (name, mutable) = match pat {
            Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                (pi.ident.clone(), pi.mutability.is_some())
            }
            Pat::Wild(w) => {
                self.errs.unsupported(
                    w.span(),
                    "`let _ = ...`",
                    "bind the value to a name, or use the expression as a statement",
                );
                return None;
            }
            other => {
                self.errs.unsupported(
                    other.span(),
                    "destructuring patterns",
                    "bind each value with its own `let name = ...;`",
                );
                return None;
            }
        };
        self.check_name(&name);
        if array::is_array_let(ty, local.init.as_ref().map(|i| &*i.expr)) {
            let Some(init) = &local.init else {
                self.errs.push(local.span(), format!("`let {name};` needs an initial value in a vyre payload\nFix: initialize it, e.g. `let mut {name} = [0u32; 4];`"));
                return None;
            };
            return self.local_array(name, mutable, ty, &init.expr);
        }
        let ty = ty.and_then(|t| {
            self.scalar_type(t, "local variable type")
                .map(|s| (s, t.span()))
        });
        let Some(init) = &local.init else {
            self.errs.push(local.span(), format!("`let {name};` needs an initial value in a vyre payload\nFix: initialize it, e.g. `let mut {name} = 0;`"));
            return None;
        };
        if let Some((_, diverge)) = &init.diverge {
            self.errs
                .unsupported(diverge.span(), "`let ... else`", "use `if` and `return`");
        }
        let init = self.expr(&init.expr)?;
        Some(Stmt::Let {
            var: self.var_id(),
            name,
            mutable,
            ty,
            init,
        })
    }

    fn item(&mut self, item: &syn::Item) -> Option<Stmt> {
        let c = match item {
            syn::Item::Const(c) => c,
            syn::Item::Fn(f) => {
                self.errs.unsupported(
                    f.sig.fn_token.span,
                    "nested functions",
                    "move it out of the payload and mark it `#[vyre::helper]`",
                );
                return None;
            }
            syn::Item::Struct(s) => {
                self.errs.unsupported(
                    s.struct_token.span,
                    "structs",
                    "use separate scalar variables",
                );
                return None;
            }
            syn::Item::Static(s) => {
                self.errs.unsupported(
                    s.static_token.span,
                    "`static` items",
                    "use a `const` with a literal value",
                );
                return None;
            }
            syn::Item::Use(u) => {
                self.errs.unsupported(
                    u.use_token.span,
                    "`use` items inside a payload",
                    "put the `use` outside the function",
                );
                return None;
            }
            other => {
                self.errs.unsupported(
                    other.span(),
                    "items inside a payload",
                    "move it out of the function",
                );
                return None;
            }
        };
        self.check_name(&c.ident);
        let value = self.const_value(c)?;
        Some(Stmt::Const {
            name: c.ident.clone(),
            value,
        })
    }

    fn const_value(&mut self, c: &syn::ItemConst) -> Option<ConstValue> {
        if let Type::Reference(r) = &*c.ty {
            if r.mutability.is_none() && is_u8_slice(&r.elem) {
                if let syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::ByteStr(bs),
                    ..
                }) = &*c.expr
                {
                    return Some(ConstValue::Bytes(bs.value(), c.ident.span()));
                }
                self.errs.push(
                    c.expr.span(),
                    "a `&[u8]` constant must be a byte-string literal\nFix: write it as `b\"...\"`",
                );
                return None;
            }
        }
        if let Type::Array(a) = &*c.ty {
            if type_name(&a.elem).as_deref() == Some("u32") {
                return Some(ConstValue::Table {
                    name: c.ident.clone(),
                    ty: c.ty.clone(),
                    expr: c.expr.clone(),
                    span: c.ident.span(),
                });
            }
            self.errs.push(
                a.elem.span(),
                "a table constant holds `u32` words\nFix: declare it `const T: [u32; N] = ...;` (store narrower values in u32 words)",
            );
            return None;
        }
        let ty = self.scalar_type(&c.ty, "constant type")?;
        let lit = match self.expr(&c.expr).as_ref().and_then(fold) {
            Some(l) => l,
            None => {
                self.errs.push(c.expr.span(), "a constant in a vyre payload must be a literal or integer arithmetic on literals\nFix: write the value as a literal, e.g. `const N: u32 = 1 << 16;`");
                return None;
            }
        };
        Some(ConstValue::Scalar {
            ty,
            lit,
            span: c.expr.span(),
        })
    }
}

/// Folds a literal, or integer arithmetic on literals, to a literal.
fn fold(e: &Expr) -> Option<Lit> {
    use crate::ast::BinOp as B;
    match &e.kind {
        ExprKind::Lit(l) => Some(*l),
        ExprKind::Binary(op, a, b) => {
            let (Lit::Int(x, sx), Lit::Int(y, sy)) = (fold(a)?, fold(b)?) else {
                return None;
            };
            let v = match op {
                B::Add => x.checked_add(y)?,
                B::Sub => x.checked_sub(y)?,
                B::Mul => x.checked_mul(y)?,
                B::Div => x.checked_div(y)?,
                B::Rem => x.checked_rem(y)?,
                B::BitAnd => x & y,
                B::BitOr => x | y,
                B::BitXor => x ^ y,
                B::Shl if (0..32).contains(&y) => x.checked_shl(y as u32)?,
                B::Shr if (0..32).contains(&y) => x >> y,
                _ => return None,
            };
            Some(Lit::Int(v, sx.or(sy)))
        }
        _ => None,
    }
}

/// True when a literal of type `s` can hold `v`.
pub fn fits(s: Scalar, v: i64) -> bool {
    match s {
        Scalar::U8 => (0..=0xff).contains(&v),
        Scalar::U16 => (0..=0xffff).contains(&v),
        Scalar::U32 | Scalar::Usize => (0..=u32::MAX as i64).contains(&v),
        Scalar::I32 => (i32::MIN as i64..=i32::MAX as i64).contains(&v),
        Scalar::F32 | Scalar::Bool => false,
    }
}
