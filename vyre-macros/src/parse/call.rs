//! syn calls → [`crate::ast::Expr`]: methods on scalars, `.len()`, lane ids,
//! `.word(w)`, atomics on accumulator elements and calls of helpers.

use syn::spanned::Spanned;
use syn::Expr as E;

use super::expr::strip;
use super::Parser;
use crate::ast::{AtomicMethod, CxUse, Expr, ExprKind, Method, Scalar};

const SUPPORTED_METHODS: &str = "wrapping_add/sub/mul, min, max, count_ones, leading_zeros, trailing_zeros, rotate_left/right, to_bits, abs and sqrt (f32), len, `word` on a `&[u8]` input, and the atomic methods on accumulator elements";

/// Iterator methods: a chain containing one is reported as an iterator.
const ITERATOR_METHODS: &[&str] = &[
    "iter",
    "into_iter",
    "iter_mut",
    "map",
    "filter",
    "filter_map",
    "sum",
    "product",
    "fold",
    "enumerate",
    "zip",
    "chunks",
    "chunks_exact",
    "windows",
    "bytes",
    "rev",
    "skip",
    "take",
    "any",
    "all",
    "position",
    "find",
    "for_each",
    "collect",
    "copied",
    "cloned",
];

/// The first iterator method call in the receiver chain of `e` (itself included).
fn iterator_call(e: &E) -> Option<&syn::ExprMethodCall> {
    match strip(e) {
        E::MethodCall(m) => iterator_call(&m.receiver).or_else(|| {
            ITERATOR_METHODS
                .contains(&m.method.to_string().as_str())
                .then_some(m)
        }),
        _ => None,
    }
}

/// Fix for iterator adapters.
pub const ITERATOR_FIX: &str =
    "write a `for` loop over `lanes.range(a..b)` or `0..data.len()` and index the buffer";

impl Parser<'_> {
    /// `recv.method(args)`: a scalar method, `.len()`, `.id()`/`.count()`,
    /// `.word(w)` or an atomic method (also under `.is_ok()`/`.is_err()`).
    pub(super) fn method_call(&mut self, m: &syn::ExprMethodCall) -> Option<Expr> {
        let span = m.span();
        let name = m.method.to_string();
        if let Some(t) = &m.turbofish {
            self.errs
                .unsupported(t.span(), "turbofish type arguments", "remove them");
            return None;
        }
        if let Some(it) = iterator_call(&E::MethodCall(m.clone())) {
            self.errs.unsupported(
                it.method.span(),
                format!("iterator adapters (`.{}()`)", it.method),
                ITERATOR_FIX,
            );
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
        if name == "sqrt" && args.is_empty() {
            // The correctly rounded square root, written in the subset
            // (`vyre::float::f32_sqrt`): the same bits natively and on
            // every backend, which a GPU's own `sqrt` does not give.
            let path: syn::Path =
                syn::parse_quote_spanned!(m.method.span()=> ::vyre::__private::f32_sqrt);
            let recv = self.expr(&m.receiver)?;
            return Some(self.mk(span, ExprKind::Call(path, vec![recv])));
        }
        let Some(method) = Method::from_name(&name) else {
            let fix = match name.as_str() {
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

    /// The atomic method call `m` on an accumulator element `acc[i]`;
    /// `cx` says how a `compare_exchange` result is used.
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

    /// `helper(args)`: a call of a `#[vyre::helper]` function by path.
    pub(super) fn call(&mut self, c: &syn::ExprCall) -> Option<Expr> {
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
        if segs == ["f32", "from_bits"] && c.args.len() == 1 {
            let u = self.expr(&c.args[0])?;
            return Some(self.mk(span, ExprKind::FromBits(Box::new(u))));
        }
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
}
