//! syn expressions → [`crate::ast::Expr`], rejecting everything outside the subset.

use syn::spanned::Spanned;
use syn::Expr as E;

use super::{fits, Parser};
use crate::ast::{
    AtomicMethod, BinOp, Block, CxUse, Expr, ExprKind, Lit, Method, Range, Scalar, UnOp,
};

const SUPPORTED_METHODS: &str = "wrapping_add/sub/mul, min, max, count_ones, leading_zeros, trailing_zeros, rotate_left/right, len, `word` on a `&[u8]` input, and the atomic methods on accumulator elements";

impl Parser<'_> {
    /// Parses an expression; `None` after reporting an error.
    pub fn expr(&mut self, e: &E) -> Option<Expr> {
        let span = e.span();
        let kind = match e {
            E::Lit(l) => ExprKind::Lit(self.lit(&l.lit)?),
            E::Path(p) => return self.path_expr(p),
            E::Paren(p) => return self.expr(&p.expr),
            E::Group(g) => return self.expr(&g.expr),
            E::Unary(u) => return self.unary(u),
            E::Binary(b) => return self.binary(b),
            E::Assign(a) => return self.assign(a),
            E::Cast(c) => {
                let inner = self.expr(&c.expr);
                let to = self.cast_type(&c.ty)?;
                ExprKind::Cast(Box::new(inner?), to)
            }
            E::Index(ix) => {
                let base = self.index_base(&ix.expr)?;
                ExprKind::Index(base, Box::new(self.expr(&ix.index)?))
            }
            E::MethodCall(m) => return self.method_call(m),
            E::Call(c) => return self.call(c),
            E::If(i) => return self.if_expr(i),
            E::Block(b) => {
                if let Some(l) = &b.label {
                    self.errs.unsupported(
                        l.span(),
                        "block labels",
                        "restructure the code with `if`",
                    );
                }
                ExprKind::Block(self.block(&b.block))
            }
            E::While(w) => {
                self.no_label(&w.label);
                if let E::Let(l) = &*w.cond {
                    self.errs.unsupported(
                        l.span(),
                        "`while let`",
                        "use `loop` with `if` and `break`",
                    );
                    return None;
                }
                let cond = self.expr(&w.cond);
                let body = self.block(&w.body);
                ExprKind::While(Box::new(cond?), body)
            }
            E::Loop(l) => {
                self.no_label(&l.label);
                ExprKind::Loop(self.block(&l.body))
            }
            E::ForLoop(f) => return self.for_loop(f),
            E::Break(b) => {
                if let Some(l) = &b.label {
                    self.errs.unsupported(
                        l.span(),
                        "labeled `break`",
                        "use a flag variable and break out of each loop",
                    );
                }
                if let Some(v) = &b.expr {
                    self.errs.unsupported(
                        v.span(),
                        "`break` with a value",
                        "assign the value to a variable declared before the loop, then `break`",
                    );
                }
                ExprKind::Break
            }
            E::Continue(c) => {
                if let Some(l) = &c.label {
                    self.errs
                        .unsupported(l.span(), "labeled `continue`", "use a flag variable");
                }
                ExprKind::Continue
            }
            E::Return(r) => ExprKind::Return(match &r.expr {
                Some(v) => Some(Box::new(self.expr(v)?)),
                None => None,
            }),
            _ => {
                self.reject(e);
                return None;
            }
        };
        Some(self.mk(span, kind))
    }

    fn no_label(&mut self, l: &Option<syn::Label>) {
        if let Some(l) = l {
            self.errs.unsupported(
                l.span(),
                "loop labels",
                "use a flag variable and `break` out of each loop",
            );
        }
    }

    fn reject(&mut self, e: &E) {
        let s = match e {
            E::Try(t) => t.question_token.span,
            E::Match(m) => m.match_token.span,
            E::Unsafe(u) => u.unsafe_token.span,
            E::Let(l) => l.let_token.span,
            _ => e.span(),
        };
        let whole = matches!(
            e,
            E::Closure(_)
                | E::Reference(_)
                | E::Struct(_)
                | E::Field(_)
                | E::Array(_)
                | E::Repeat(_)
                | E::Range(_)
        );
        let (what, fix) = match e {
            E::Closure(_) => ("closures", "write the code inline, or move it into a `#[vyre::helper]` function"),
            E::Reference(_) => ("references (`&`)", "use the value directly; locals are copied, buffers are parameters"),
            E::Unary(_) => ("dereferencing (`*`)", "use the value directly"),
            E::Try(_) => ("the `?` operator", "payloads cannot fail: handle the case with `if` and `return`"),
            E::Async(_) | E::Await(_) => ("`async`/`.await`", "remove it: a payload runs to completion"),
            E::Unsafe(_) => ("`unsafe` blocks", "remove `unsafe`: buffer accesses are bounds-checked"),
            E::Match(_) => ("`match`", "use `if` / `else if` / `else`"),
            E::Struct(_) => ("structs", "use separate scalar variables"),
            E::Field(_) => ("field access", "use separate scalar variables"),
            E::Tuple(_) => ("tuples", "use separate scalar variables"),
            E::Array(_) | E::Repeat(_) => ("arrays", "use a `const NAME: &[u8] = b\"...\";` byte string, or an output buffer"),
            E::Range(_) => ("ranges outside `for`", "use the range directly in `for i in a..b`"),
            E::Macro(m) => {
                self.mac(&m.mac);
                return;
            }
            E::Let(_) => ("`if let`", "use a plain `if` condition"),
            E::Lit(_) => ("this literal", "use an integer, float, bool or byte literal"),
            _ => ("this expression", "use the supported subset: arithmetic, comparisons, `if`, loops, buffer indexing and helper calls"),
        };
        if whole {
            self.errs.unsupported_node(e, what, fix);
        } else {
            self.errs.unsupported(s, what, fix);
        }
    }

    fn lit(&mut self, l: &syn::Lit) -> Option<Lit> {
        match l {
            syn::Lit::Int(i) => {
                let suffix = match i.suffix() {
                    "" => None,
                    s => {
                        match Scalar::from_name(s) {
                            Some(sc) if sc.is_int() => Some(sc),
                            _ => {
                                self.errs.unsupported(i.span(), format!("`{s}` literals"), "use a 32-bit or smaller integer type: u8, u16, u32, usize, i32");
                                return None;
                            }
                        }
                    }
                };
                let Ok(v) = i.base10_parse::<u64>() else {
                    self.errs.push(
                        i.span(),
                        "integer literal too large for 32 bits\nFix: use a value below 2^32",
                    );
                    return None;
                };
                if v > u32::MAX as u64
                    || suffix
                        .is_some_and(|s| !(fits(s, v as i64) || s == Scalar::I32 && v == 1 << 31))
                {
                    self.errs.push(
                        i.span(),
                        "integer literal out of range for its type\nFix: use a smaller value",
                    );
                    return None;
                }
                Some(Lit::Int(v as i64, suffix))
            }
            syn::Lit::Float(f) => {
                if !matches!(f.suffix(), "" | "f32") {
                    self.errs.unsupported(
                        f.span(),
                        "`f64` literals",
                        "use `f32` (suffix `f32` or none)",
                    );
                    return None;
                }
                match f.base10_parse::<f32>() {
                    Ok(v) => Some(Lit::Float(v)),
                    Err(e) => {
                        self.errs.push(f.span(), e);
                        None
                    }
                }
            }
            syn::Lit::Bool(b) => Some(Lit::Bool(b.value)),
            syn::Lit::Byte(b) => Some(Lit::Int(b.value() as i64, Some(Scalar::U8))),
            syn::Lit::ByteStr(b) => {
                self.errs.unsupported(
                    b.span(),
                    "byte-string literals here",
                    "declare it as a constant, `const NEEDLE: &[u8] = b\"...\";`, and index it",
                );
                None
            }
            syn::Lit::Str(s) => {
                self.errs.unsupported(
                    s.span(),
                    "strings",
                    "use a byte string constant: `const S: &[u8] = b\"...\";`",
                );
                None
            }
            syn::Lit::Char(c) => {
                self.errs
                    .unsupported(c.span(), "`char`", "use a byte literal like `b'a'`");
                None
            }
            other => {
                self.errs.unsupported(
                    other.span(),
                    "this literal",
                    "use an integer, f32, bool or byte literal",
                );
                None
            }
        }
    }

    fn path_expr(&mut self, p: &syn::ExprPath) -> Option<Expr> {
        let span = p.span();
        let segs: Vec<String> = p
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        if p.qself.is_none()
            && p.path.leading_colon.is_none()
            && segs.len() == 1
            && p.path.segments[0].arguments.is_empty()
        {
            let id = p.path.segments[0].ident.clone();
            return Some(self.mk(span, ExprKind::Name(id)));
        }
        if segs.len() == 2 {
            let ty = Scalar::from_name(&segs[0]);
            let v = match (ty, segs[1].as_str()) {
                (Some(Scalar::U8), "MAX") => Some((0xff, Scalar::U8)),
                (Some(Scalar::U16), "MAX") => Some((0xffff, Scalar::U16)),
                (Some(Scalar::U32), "MAX") => Some((u32::MAX as i64, Scalar::U32)),
                (Some(Scalar::I32), "MAX") => Some((i32::MAX as i64, Scalar::I32)),
                (Some(Scalar::I32), "MIN") => Some((i32::MIN as i64, Scalar::I32)),
                (Some(s @ (Scalar::U8 | Scalar::U16 | Scalar::U32)), "MIN") => Some((0, s)),
                _ => None,
            };
            if let Some((v, s)) = v {
                return Some(self.mk(span, ExprKind::Lit(Lit::Int(v, Some(s)))));
            }
        }
        self.errs.unsupported(span, format!("the path `{}` here", segs.join("::")), "use a local, a parameter, a `const` declared inside the function, or `u32::MAX`-style integer limits (module-level constants are not visible to the macro)");
        None
    }

    fn unary(&mut self, u: &syn::ExprUnary) -> Option<Expr> {
        let span = u.span();
        let op = match u.op {
            syn::UnOp::Neg(_) => UnOp::Neg,
            syn::UnOp::Not(_) => UnOp::Not,
            _ => {
                self.reject(&E::Unary(u.clone()));
                return None;
            }
        };
        let inner = self.expr(&u.expr)?;
        if let (UnOp::Neg, ExprKind::Lit(Lit::Int(v, s))) = (op, &inner.kind) {
            return Some(self.mk(span, ExprKind::Lit(Lit::Int(-v, *s))));
        }
        if let (UnOp::Neg, ExprKind::Lit(Lit::Float(v))) = (op, &inner.kind) {
            return Some(self.mk(span, ExprKind::Lit(Lit::Float(-v))));
        }
        Some(self.mk(span, ExprKind::Unary(op, Box::new(inner))))
    }

    fn bin_op(op: &syn::BinOp) -> Option<(BinOp, bool)> {
        use syn::BinOp as B;
        Some(match op {
            B::Add(_) => (BinOp::Add, false),
            B::Sub(_) => (BinOp::Sub, false),
            B::Mul(_) => (BinOp::Mul, false),
            B::Div(_) => (BinOp::Div, false),
            B::Rem(_) => (BinOp::Rem, false),
            B::And(_) => (BinOp::And, false),
            B::Or(_) => (BinOp::Or, false),
            B::BitXor(_) => (BinOp::BitXor, false),
            B::BitAnd(_) => (BinOp::BitAnd, false),
            B::BitOr(_) => (BinOp::BitOr, false),
            B::Shl(_) => (BinOp::Shl, false),
            B::Shr(_) => (BinOp::Shr, false),
            B::Eq(_) => (BinOp::Eq, false),
            B::Lt(_) => (BinOp::Lt, false),
            B::Le(_) => (BinOp::Le, false),
            B::Ne(_) => (BinOp::Ne, false),
            B::Ge(_) => (BinOp::Ge, false),
            B::Gt(_) => (BinOp::Gt, false),
            B::AddAssign(_) => (BinOp::Add, true),
            B::SubAssign(_) => (BinOp::Sub, true),
            B::MulAssign(_) => (BinOp::Mul, true),
            B::DivAssign(_) => (BinOp::Div, true),
            B::RemAssign(_) => (BinOp::Rem, true),
            B::BitXorAssign(_) => (BinOp::BitXor, true),
            B::BitAndAssign(_) => (BinOp::BitAnd, true),
            B::BitOrAssign(_) => (BinOp::BitOr, true),
            B::ShlAssign(_) => (BinOp::Shl, true),
            B::ShrAssign(_) => (BinOp::Shr, true),
            _ => return None,
        })
    }

    fn binary(&mut self, b: &syn::ExprBinary) -> Option<Expr> {
        let span = b.span();
        let Some((op, compound)) = Self::bin_op(&b.op) else {
            self.errs.unsupported(
                b.op.span(),
                "this operator",
                "use +, -, *, /, %, &, |, ^, <<, >>, comparisons, && or ||",
            );
            return None;
        };
        let rhs = self.expr(&b.right);
        if compound {
            let kind = match self.place(&b.left)? {
                Place::Name(n) => ExprKind::CompoundAssign(op, n, Box::new(rhs?)),
                Place::Index(n, i) => {
                    ExprKind::CompoundStoreOut(op, n, Box::new(i), Box::new(rhs?))
                }
            };
            return Some(self.mk(span, kind));
        }
        let lhs = self.expr(&b.left);
        Some(self.mk(span, ExprKind::Binary(op, Box::new(lhs?), Box::new(rhs?))))
    }

    fn assign(&mut self, a: &syn::ExprAssign) -> Option<Expr> {
        let span = a.span();
        let place = self.place(&a.left);
        let rhs = self.expr(&a.right)?;
        let kind = match place? {
            Place::Name(n) => ExprKind::Assign(n, Box::new(rhs)),
            Place::Index(n, i) => ExprKind::StoreOut(n, Box::new(i), Box::new(rhs)),
        };
        Some(self.mk(span, kind))
    }

    fn place(&mut self, e: &E) -> Option<Place> {
        match e {
            E::Path(p) if p.path.get_ident().is_some() => {
                p.path.get_ident().map(|i| Place::Name(i.clone()))
            }
            E::Index(ix) => {
                let base = self.index_base(&ix.expr)?;
                Some(Place::Index(base, self.expr(&ix.index)?))
            }
            E::Paren(p) => self.place(&p.expr),
            E::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => {
                self.errs.unsupported(
                    u.span(),
                    "assigning through references",
                    "assign to a local or an output element `out[i] = v`",
                );
                None
            }
            other => {
                self.errs.unsupported(
                    other.span(),
                    "assigning to this",
                    "assign to a local (`x = v`) or an output element (`out[i] = v`)",
                );
                None
            }
        }
    }

    fn index_base(&mut self, e: &E) -> Option<syn::Ident> {
        match e {
            E::Path(p) if p.path.get_ident().is_some() => p.path.get_ident().cloned(),
            E::Paren(p) => self.index_base(&p.expr),
            other => {
                self.errs.unsupported(
                    other.span(),
                    "indexing this expression",
                    "index a buffer parameter or a byte-string constant by name: `data[i]`",
                );
                None
            }
        }
    }

    fn cast_type(&mut self, ty: &syn::Type) -> Option<Scalar> {
        let s = self.scalar_type(ty, "cast target")?;
        if s == Scalar::Bool {
            self.errs
                .unsupported(ty.span(), "casts to `bool`", "compare instead: `x != 0`");
            return None;
        }
        Some(s)
    }

    fn method_call(&mut self, m: &syn::ExprMethodCall) -> Option<Expr> {
        let span = m.span();
        let name = m.method.to_string();
        if let Some(t) = &m.turbofish {
            self.errs
                .unsupported(t.span(), "turbofish type arguments", "remove them");
            return None;
        }
        let args: Vec<&E> = m.args.iter().collect();
        // compare_exchange(..).is_ok() / .is_err()
        if name == "is_ok" || name == "is_err" {
            if let E::MethodCall(inner) = strip(&m.receiver) {
                if inner.method == "compare_exchange" {
                    let cx = if name == "is_ok" {
                        CxUse::IsOk
                    } else {
                        CxUse::IsErr
                    };
                    return self.atomic(inner, cx, span);
                }
            }
        }
        if AtomicMethod::from_name(&name).is_some() {
            if let E::Index(_) = strip(&m.receiver) {
                return self.atomic(m, CxUse::Discard, span);
            }
        }
        match name.as_str() {
            "len" | "id" | "count" if args.is_empty() => {
                let base = self.index_base(&m.receiver)?;
                let kind = match name.as_str() {
                    "len" => ExprKind::Len(base),
                    "id" => ExprKind::LaneId(base),
                    _ => ExprKind::LaneCount(base),
                };
                return Some(self.mk(span, kind));
            }
            "word" if args.len() == 1 => {
                let base = self.index_base(&m.receiver)?;
                let w = self.expr(args[0])?;
                return Some(self.mk(span, ExprKind::Word(base, Box::new(w))));
            }
            "range" | "step_by" => {
                self.errs.unsupported(
                    m.method.span(),
                    format!("`.{name}(..)` outside a `for` header"),
                    "write `for i in lanes.range(a..b)` or `for i in (a..b).step_by(n)`",
                );
                return None;
            }
            _ => {}
        }
        let Some(method) = Method::from_name(&name) else {
            let fix = match name.as_str() {
                "iter" | "into_iter" | "map" | "filter" | "sum" | "fold" | "enumerate" | "zip"
                | "chunks" | "windows" => {
                    "iterators are not supported; write a `for i in 0..data.len()` loop and index"
                        .to_string()
                }
                "unwrap" | "expect" | "unwrap_or" | "ok" => {
                    "payloads cannot fail; handle the case with `if`".to_string()
                }
                "get" => "index directly: out-of-range reads give 0".to_string(),
                _ => format!("use one of the supported methods: {SUPPORTED_METHODS}"),
            };
            self.errs
                .unsupported(m.method.span(), format!("the method `{name}`"), fix);
            return None;
        };
        if args.len() != method.arity() {
            self.errs.push(
                m.method.span(),
                format!(
                    "`{name}` takes {} argument(s)\nFix: call it as in std",
                    method.arity()
                ),
            );
            return None;
        }
        let recv = self.expr(&m.receiver);
        let args: Vec<Expr> = args.into_iter().filter_map(|a| self.expr(a)).collect();
        if args.len() != method.arity() {
            return None;
        }
        Some(self.mk(
            m.method.span(),
            ExprKind::Method(Box::new(recv?), method, args),
        ))
    }

    fn atomic(
        &mut self,
        m: &syn::ExprMethodCall,
        cx: CxUse,
        span: proc_macro2::Span,
    ) -> Option<Expr> {
        let name = m.method.to_string();
        let op = AtomicMethod::from_name(&name)?;
        let E::Index(ix) = strip(&m.receiver) else {
            self.errs.unsupported(m.receiver.span(), "atomics on this expression", "call atomic methods on an accumulator element: `acc[i].fetch_add(1, Ordering::Relaxed)`");
            return None;
        };
        let acc = self.index_base(&ix.expr)?;
        let index = self.expr(&ix.index);
        let n = op.values() + op.orderings();
        if m.args.len() != n {
            self.errs.push(m.method.span(), format!("`{name}` takes {n} argument(s) (values, then `Ordering`s)\nFix: call it as in std, e.g. `acc[i].fetch_add(1, Ordering::Relaxed)`"));
            return None;
        }
        let mut values = Vec::new();
        for a in m.args.iter().take(op.values()) {
            values.push(self.expr(a)?);
        }
        let orderings: Vec<E> = m.args.iter().skip(op.values()).cloned().collect();
        for o in &orderings {
            if !matches!(strip(o), E::Path(_)) {
                self.errs.push(o.span(), "expected a memory ordering such as `Ordering::Relaxed`\nFix: pass an `Ordering` path (vyre atomics are relaxed)");
            }
        }
        let kind = ExprKind::Atomic {
            acc,
            index: Box::new(index?),
            op,
            values,
            orderings,
            cx,
        };
        Some(self.mk(span, kind))
    }

    fn call(&mut self, c: &syn::ExprCall) -> Option<Expr> {
        let span = c.span();
        let E::Path(p) = strip(&c.func) else {
            self.errs.unsupported(
                c.func.span(),
                "calling this expression",
                "call a `#[vyre::helper]` function by name",
            );
            return None;
        };
        let segs: Vec<String> = p
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        if p.qself.is_some() || p.path.segments.iter().any(|s| !s.arguments.is_empty()) {
            self.errs.unsupported(
                p.span(),
                "generic or trait calls",
                "call a non-generic `#[vyre::helper]` function",
            );
            return None;
        }
        let first = segs.first().map(String::as_str).unwrap_or("");
        if matches!(
            first,
            "std" | "core" | "alloc" | "Vec" | "Box" | "String" | "Some" | "Ok" | "Err"
        ) || segs.len() >= 2
            && (first.chars().next().is_some_and(char::is_uppercase)
                || Scalar::from_name(first).is_some())
        {
            self.errs.unsupported(p.span(), format!("calls to `{}`", segs.join("::")), "only `#[vyre::helper]` functions can be called; use the method form (`a.min(b)`) for integer operations");
            return None;
        }
        if segs.len() == 1 && p.path.segments[0].ident == self.fn_name {
            self.errs.unsupported(
                p.span(),
                "recursion",
                "write it as a loop: the GPU has no call stack",
            );
            return None;
        }
        let args: Vec<Option<Expr>> = c.args.iter().map(|a| self.expr(a)).collect();
        let args: Option<Vec<Expr>> = args.into_iter().collect();
        Some(self.mk(span, ExprKind::Call(p.path.clone(), args?)))
    }

    fn if_expr(&mut self, i: &syn::ExprIf) -> Option<Expr> {
        let span = i.span();
        if let E::Let(l) = &*i.cond {
            self.errs
                .unsupported(l.span(), "`if let`", "use a plain `if` condition");
            return None;
        }
        let cond = self.expr(&i.cond);
        let then = self.block(&i.then_branch);
        let otherwise = match &i.else_branch {
            None => None,
            Some((_, e)) => match &**e {
                E::Block(b) => Some(self.block(&b.block)),
                other => {
                    let inner = self.expr(other)?;
                    Some(Block {
                        stmts: Vec::new(),
                        tail: Some(Box::new(inner)),
                    })
                }
            },
        };
        Some(self.mk(span, ExprKind::If(Box::new(cond?), then, otherwise)))
    }

    fn for_loop(&mut self, f: &syn::ExprForLoop) -> Option<Expr> {
        let span = f.span();
        self.no_label(&f.label);
        let name = match &*f.pat {
            syn::Pat::Ident(pi)
                if pi.by_ref.is_none() && pi.subpat.is_none() && pi.mutability.is_none() =>
            {
                pi.ident.clone()
            }
            syn::Pat::Wild(w) => syn::Ident::new("_", w.span()),
            syn::Pat::Ident(pi) if pi.mutability.is_some() => {
                self.errs.unsupported(
                    pi.span(),
                    "`for mut` loop variables",
                    "copy it into a `let mut` inside the loop",
                );
                return None;
            }
            other => {
                self.errs.unsupported(
                    other.span(),
                    "patterns in `for`",
                    "use a plain name: `for i in 0..n`",
                );
                return None;
            }
        };
        self.check_name(&name);
        let range = self.range(&f.expr);
        let body = self.block(&f.body);
        let var = self.var_id();
        Some(self.mk(
            span,
            ExprKind::For {
                var,
                name,
                range: range?,
                body,
            },
        ))
    }

    fn range(&mut self, e: &E) -> Option<Range> {
        let fix = "iterate over `a..b`, `a..=b`, `(a..b).step_by(n)` or `lanes.range(a..b)`";
        match strip(e) {
            E::Range(r) => {
                let (Some(s), Some(t)) = (&r.start, &r.end) else {
                    self.errs
                        .unsupported(r.span(), "open ranges", "give both bounds: `a..b`");
                    return None;
                };
                let inclusive = matches!(r.limits, syn::RangeLimits::Closed(_));
                let start = self.expr(s);
                let end = self.expr(t);
                Some(Range::Plain {
                    start: Box::new(start?),
                    end: Box::new(end?),
                    inclusive,
                    step: None,
                })
            }
            E::MethodCall(m) if m.method == "step_by" && m.args.len() == 1 => {
                let step = self.expr(&m.args[0]);
                match self.range(&m.receiver)? {
                    Range::Plain {
                        start,
                        end,
                        inclusive,
                        step: None,
                    } => Some(Range::Plain {
                        start,
                        end,
                        inclusive,
                        step: Some(Box::new(step?)),
                    }),
                    _ => {
                        self.errs
                            .unsupported(m.span(), "`step_by` on this iterator", fix);
                        None
                    }
                }
            }
            E::MethodCall(m) if m.method == "range" && m.args.len() == 1 => {
                let lanes = self.index_base(&m.receiver)?;
                match strip(&m.args[0]) {
                    E::Range(r)
                        if matches!(r.limits, syn::RangeLimits::HalfOpen(_))
                            && r.start.is_some()
                            && r.end.is_some() =>
                    {
                        let start = self.expr(r.start.as_deref()?);
                        let end = self.expr(r.end.as_deref()?);
                        Some(Range::Lanes {
                            lanes,
                            start: Box::new(start?),
                            end: Box::new(end?),
                        })
                    }
                    other => {
                        self.errs.unsupported(
                            other.span(),
                            "this argument to `lanes.range`",
                            "pass a half-open range: `lanes.range(a..b)`",
                        );
                        None
                    }
                }
            }
            other => {
                let what = match other {
                    E::MethodCall(m) => format!("iterating over `.{}()`", m.method),
                    E::Path(_) => "iterating over a buffer or variable".to_string(),
                    _ => "iterating over this".to_string(),
                };
                self.errs.unsupported(other.span(), what, fix);
                None
            }
        }
    }
}

enum Place {
    Name(syn::Ident),
    Index(syn::Ident, Expr),
}

fn strip(e: &E) -> &E {
    match e {
        E::Paren(p) => strip(&p.expr),
        E::Group(g) => strip(&g.expr),
        other => other,
    }
}
