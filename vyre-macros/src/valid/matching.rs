//! Typing of `match` on integers, and the checks done once the scrutinee's
//! type is known: pattern literals in range, and exhaustiveness.

use proc_macro2::Span;

use super::{Checker, Ty};
use crate::ast::{Arm, Expr, Pat, PatKind, Scalar};
use crate::errors::Errors;
use crate::parse::fits;

/// A `match` to check after inference.
pub struct MatchCheck {
    /// The scrutinee's type.
    pub ty: Ty,
    /// The span of the whole `match`.
    pub span: Span,
    /// Every pattern alternative, in order.
    pub pats: Vec<Pat>,
}

impl Checker<'_> {
    /// `match scrutinee { arms }`: every arm has the same type, which is the
    /// match's.
    pub(super) fn match_ty(&mut self, e: &Expr, scrutinee: &Expr, arms: &[Arm]) -> Ty {
        let st = self.expr(scrutinee);
        let mut pats = Vec::new();
        for a in arms {
            for p in &a.pats {
                if let Some(s) = p.suffix {
                    self.unify(
                        Ty::S(s),
                        st,
                        p.span,
                        "this pattern (patterns have the type of the matched value)",
                    );
                }
                pats.push(*p);
            }
        }
        let mut result: Option<Ty> = None;
        for a in arms {
            let t = self.block(&a.body);
            let span = a.body.tail.as_ref().map(|t| t.span).unwrap_or(a.span);
            result = Some(match result {
                None => t,
                Some(r) => self.unify(t, r, span, "this `match` arm (all arms have one type)"),
            });
        }
        self.matches.push(MatchCheck {
            ty: st,
            span: e.span,
            pats,
        });
        result.unwrap_or(Ty::Never)
    }
}

/// The smallest and largest value of an integer type.
fn bounds(s: Scalar) -> (i64, i64) {
    match s {
        Scalar::U8 => (0, 0xff),
        Scalar::U16 => (0, 0xffff),
        Scalar::I32 => (i32::MIN as i64, i32::MAX as i64),
        _ => (0, u32::MAX as i64),
    }
}

/// Checks a `match` on a value of type `s`: an integer scrutinee, patterns
/// in range, and every value covered (`usize` needs `_`, as in Rust).
pub fn check_match(errs: &mut Errors, m: &MatchCheck, s: Scalar) {
    if !s.is_int() {
        errs.push(m.span, format!("vyre payloads do not support `match` on `{}`\nFix: match on an integer (u8, u16, u32, usize, i32), or use `if` / `else if` / `else`", s.name()));
        return;
    }
    let (min, max) = bounds(s);
    let mut ok = true;
    let mut ranges = Vec::new();
    for p in &m.pats {
        let (lo, hi) = match p.kind {
            PatKind::Wild => return,
            PatKind::Lit(v) => (v, v),
            PatKind::Range(lo, hi) => (lo.unwrap_or(min), hi.unwrap_or(max)),
        };
        for v in [lo, hi] {
            if !fits(s, v) {
                errs.push(p.span, format!("the pattern value `{v}` does not fit the matched type `{}`\nFix: use values from {min} to {max}", s.name()));
                ok = false;
            }
        }
        ranges.push((lo, hi));
    }
    if !ok {
        return;
    }
    if s == Scalar::Usize {
        errs.push(m.span, "this `match` on `usize` has no `_` arm\nFix: add a `_ => ...` arm (Rust requires one for `usize`)");
        return;
    }
    ranges.sort();
    let mut next = min;
    for (lo, hi) in ranges {
        if lo > next {
            break;
        }
        next = next.max(hi + 1);
    }
    if next <= max {
        errs.push(m.span, format!("this `match` does not cover every `{}` value: `{next}` is not matched\nFix: add a `_ => ...` arm", s.name()));
    }
}
