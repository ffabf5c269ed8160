//! syn `let` of a local array → [`crate::ast::Stmt::LetArray`]:
//! `let [mut] a[: [T; N]] = [v; N];` or `= [x, y, ..];`, 1 to 64 elements.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr as E, Ident, Type};

use super::expr::strip;
use super::{fold, Parser};
use crate::ast::{ArrayInit, Lit, Stmt};

/// The most elements a local array may have.
pub const MAX_ARRAY: i64 = 64;

/// True when a `let` with this type and initializer declares an array.
pub fn is_array_let(ty: Option<&Type>, init: Option<&E>) -> bool {
    matches!(ty, Some(Type::Array(_)))
        || matches!(init.map(strip), Some(E::Array(_) | E::Repeat(_)))
}

impl Parser<'_> {
    /// `let [mut] name[: [T; N]] = init;` of a local array.
    pub(super) fn local_array(
        &mut self,
        name: Ident,
        mutable: bool,
        ty: Option<&Type>,
        init: &E,
    ) -> Option<Stmt> {
        let mut declared = None;
        match ty {
            None => {}
            Some(Type::Array(a)) => {
                let elem = self.scalar_type(&a.elem, "array element type");
                let n = self.array_len(&a.len);
                declared = Some((elem.map(|s| (s, a.elem.span())), n, a.span()));
            }
            Some(other) => {
                self.errs.push(other.span(), format!("`{name}` is initialized with an array but declared `{}`\nFix: declare it `[T; N]` or remove the type", quote::ToTokens::to_token_stream(other)));
                return None;
            }
        }
        let (init, len, span) = match strip(init) {
            E::Repeat(r) => {
                let v = self.expr(&r.expr);
                let n = self.array_len(&r.len);
                (ArrayInit::Repeat(Box::new(v?)), n?, r.span())
            }
            E::Array(a) => {
                let vals: Vec<_> = a.elems.iter().map(|x| self.expr(x)).collect();
                let n = vals.len() as i64;
                if !(1..=MAX_ARRAY).contains(&n) {
                    self.errs.push(a.span(), format!("a local array holds 1 to {MAX_ARRAY} elements, this one {n}\nFix: use at most {MAX_ARRAY} elements, or an output buffer"));
                    return None;
                }
                let vals: Option<Vec<_>> = vals.into_iter().collect();
                (ArrayInit::List(vals?), n as u32, a.span())
            }
            other => {
                self.errs.unsupported(
                    other.span(),
                    format!("initializing the array `{name}` from this expression"),
                    "write `[v; N]` or `[a, b, ..]`; arrays cannot be copied from other arrays",
                );
                return None;
            }
        };
        let mut elem = None;
        if let Some((e, n, tspan)) = declared {
            elem = Some(e?);
            if n? != len {
                self.errs.push(tspan.join(span).unwrap_or(span), format!("`{name}` is declared with {} elements but initialized with {len}\nFix: make the lengths agree", n?));
                return None;
            }
        }
        Some(Stmt::LetArray {
            var: self.var_id(),
            name,
            mutable,
            elem,
            len,
            init,
        })
    }

    /// The length `N` of `[T; N]` / `[v; N]`: an integer constant in `1..=64`.
    fn array_len(&mut self, e: &E) -> Option<u32> {
        let span: Span = e.span();
        let n = match self.expr(e).as_ref().and_then(fold) {
            Some(Lit::Int(n, _)) => n,
            _ => {
                self.errs.push(span, "the length of a local array must be an integer literal\nFix: write the length as a literal, e.g. `[0u32; 16]`");
                return None;
            }
        };
        if !(1..=MAX_ARRAY).contains(&n) {
            self.errs.push(span, format!("a local array holds 1 to {MAX_ARRAY} elements, not {n}\nFix: use at most {MAX_ARRAY} elements, or an output buffer"));
            return None;
        }
        Some(n as u32)
    }
}
