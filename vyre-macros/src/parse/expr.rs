//! syn expressions → [`crate::ast::Expr`], rejecting everything outside the subset:
//! the dispatch over expression kinds, literals, paths, operators,
//! assignments and casts. Control flow is parsed in [`super::control`],
//! method and helper calls in [`super::call`].

use syn::spanned::Spanned;
use syn::Expr as E;

use super::{fits, Parser};
use crate::ast::{BinOp, Expr, ExprKind, Lit, Scalar, UnOp};

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
            E::Match(m) => return self.match_expr(m),
            E::Block(b) => self.block_kind(b),
            E::While(w) => self.while_kind(w)?,
            E::Loop(l) => self.loop_kind(l),
            E::ForLoop(f) => return self.for_loop(f),
            E::Break(b) => self.break_kind(b),
            E::Continue(c) => self.continue_kind(c),
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

    fn reject(&mut self, e: &E) {
        let s = match e {
            E::Try(t) => t.question_token.span,
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
            E::Struct(_) => ("structs", "use separate scalar variables"),
            E::Field(_) => ("field access", "use separate scalar variables"),
            E::Tuple(_) => ("tuples here", "destructure them where they are made, `let (a, b) = (x, y);`, or use separate scalar variables"),
            E::Array(_) | E::Repeat(_) => ("array values outside `let`", "declare a local array, `let mut a = [0u32; N];`, and index it"),
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

    /// The buffer or constant name being indexed (or called a method on).
    pub(super) fn index_base(&mut self, e: &E) -> Option<syn::Ident> {
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
}

enum Place {
    Name(syn::Ident),
    Index(syn::Ident, Expr),
}

/// `e` without parentheses and invisible groups.
pub(super) fn strip(e: &E) -> &E {
    match e {
        E::Paren(p) => strip(&p.expr),
        E::Group(g) => strip(&g.expr),
        other => other,
    }
}
