//! Lowering of `match` on integers: an if / else-if chain (a chain of
//! selects when every arm is a pure value). The scrutinee is evaluated once;
//! the last arm of an exhaustive `match` (checked by `valid`) is the final
//! `else`. Past [`NESTED_ARMS`] arms, which would nest too deeply for the
//! IR, the arms are a flat sequence of `if`s guarded by a "matched" flag.

use proc_macro2::TokenStream;
use quote::quote;

use super::ir::{zero, Gen};
use super::ir_expr::{bin, lit, simple};
use crate::ast::{Arm, Expr, Lit, PatKind, Scalar};

/// The most arms lowered as nested `if`s / selects.
const NESTED_ARMS: usize = 16;

/// The smallest and largest value of the integer type `s`.
fn bounds(s: Scalar) -> (i64, i64) {
    match s {
        Scalar::U8 => (0, 0xff),
        Scalar::U16 => (0, 0xffff),
        Scalar::I32 => (i32::MIN as i64, i32::MAX as i64),
        _ => (0, u32::MAX as i64),
    }
}

impl Gen<'_> {
    /// The condition under which `arm` matches the value `s` (of type `ty`);
    /// `None` when it always does.
    fn arm_cond(s: &TokenStream, ty: Scalar, arm: &Arm) -> Option<TokenStream> {
        let (min, max) = bounds(ty);
        let l = |v: i64| lit(Lit::Int(v, None), ty);
        let mut conds = Vec::new();
        for p in &arm.pats {
            let c = match p.kind {
                PatKind::Wild => return None,
                PatKind::Lit(v) => bin("eq", quote!(#s.clone()), l(v)),
                PatKind::Range(lo, hi) => {
                    let (lo, hi) = (lo.unwrap_or(min), hi.unwrap_or(max));
                    match (lo == min, hi == max) {
                        (true, true) => return None,
                        (true, false) => bin("le", quote!(#s.clone()), l(hi)),
                        (false, true) => bin("ge", quote!(#s.clone()), l(lo)),
                        (false, false) => bin(
                            "and",
                            bin("ge", quote!(#s.clone()), l(lo)),
                            bin("le", quote!(#s.clone()), l(hi)),
                        ),
                    }
                }
            };
            conds.push(c);
        }
        conds.into_iter().reduce(|a, b| bin("or", a, b))
    }

    /// The scrutinee, evaluated once, and the arms' conditions (`None`
    /// from the first arm that always matches, and for the last arm).
    fn match_conds(
        &mut self,
        scrutinee: &Expr,
        arms: &[Arm],
        out: &mut Vec<TokenStream>,
    ) -> Vec<Option<TokenStream>> {
        let ty = self.ty(scrutinee);
        let v = self.expr(scrutinee, out);
        let s = if simple(scrutinee) && arms.len() <= NESTED_ARMS {
            v
        } else {
            self.spill(out, v)
        };
        let mut conds: Vec<Option<TokenStream>> =
            arms.iter().map(|a| Self::arm_cond(&s, ty, a)).collect();
        if let Some(last) = conds.last_mut() {
            *last = None;
        }
        conds
    }

    /// `match` as a statement.
    pub(super) fn match_stmt(
        &mut self,
        scrutinee: &Expr,
        arms: &[Arm],
        out: &mut Vec<TokenStream>,
    ) {
        let conds = self.match_conds(scrutinee, arms, out);
        let chain = self.chain(arms, &conds, None, out);
        out.push(quote!(__b.extend(#chain);));
    }

    /// `match` used as a value: selects when every arm is a pure value, else
    /// a temporary assigned in each arm.
    pub(super) fn match_value(
        &mut self,
        e: &Expr,
        scrutinee: &Expr,
        arms: &[Arm],
        out: &mut Vec<TokenStream>,
    ) -> TokenStream {
        let ty = self.ty(e);
        let conds = self.match_conds(scrutinee, arms, out);
        if arms.len() <= NESTED_ARMS && arms.iter().all(|a| a.body.stmts.is_empty()) {
            let mut vals = Vec::new();
            for a in arms {
                let Some(t) = a.body.tail.as_deref() else {
                    break;
                };
                let mut s = Vec::new();
                let v = self.expr(t, &mut s);
                if !s.is_empty() {
                    break;
                }
                vals.push(v);
            }
            if vals.len() == arms.len() {
                let mut acc = None;
                for (c, v) in conds.iter().zip(vals).rev() {
                    acc = Some(match (c, acc) {
                        (Some(c), Some(rest)) => quote!(::vyre::ir::Expr::select(#c, #v, #rest)),
                        _ => v,
                    });
                }
                return acc.unwrap_or_else(|| zero(ty));
            }
        }
        let tmp = self.tmp();
        let n = self.name(&tmp);
        let z = zero(ty);
        Self::push(out, quote!(::vyre::ir::Node::Let { name: #n, value: #z }));
        let chain = self.chain(arms, &conds, Some(&tmp), out);
        out.push(quote!(__b.extend(#chain);));
        self.var(&tmp)
    }

    /// The nodes (a `Vec<Node>` expression) running the first arm whose
    /// condition holds; a value arm assigns its value to `tmp`. Many arms
    /// use a flag declared into `out`.
    fn chain(
        &mut self,
        arms: &[Arm],
        conds: &[Option<TokenStream>],
        tmp: Option<&str>,
        out: &mut Vec<TokenStream>,
    ) -> TokenStream {
        if arms.len() > NESTED_ARMS {
            return self.flat_chain(arms, conds, tmp, out);
        }
        let Some(arm) = arms.first() else {
            return quote!(::std::vec::Vec::<::vyre::ir::Node>::new());
        };
        let body = self.arm_body(arm, tmp, None);
        match &conds[0] {
            None => quote!(::std::vec![::vyre::ir::Node::Block(#body)]),
            Some(c) => {
                let rest = self.chain(&arms[1..], &conds[1..], tmp, out);
                quote!(
                    ::std::vec![::vyre::ir::Node::If { cond: #c, then: #body, otherwise: #rest }]
                )
            }
        }
    }

    /// `if !matched && cond { matched = true; body }` for each arm in turn.
    fn flat_chain(
        &mut self,
        arms: &[Arm],
        conds: &[Option<TokenStream>],
        tmp: Option<&str>,
        out: &mut Vec<TokenStream>,
    ) -> TokenStream {
        let flag = self.tmp();
        let n = self.name(&flag);
        Self::push(
            out,
            quote!(::vyre::ir::Node::Let { name: #n, value: ::vyre::ir::Expr::bool(false) }),
        );
        let mut nodes = Vec::new();
        for (arm, c) in arms.iter().zip(conds) {
            let f = self.var(&flag);
            let not_yet = quote!(::vyre::ir::Expr::not(#f));
            let cond = match c {
                Some(c) => quote!(::vyre::ir::Expr::and(#not_yet, #c)),
                None => not_yet,
            };
            let body = self.arm_body(arm, tmp, Some(&flag));
            nodes.push(quote!(::vyre::ir::Node::If { cond: #cond, then: #body, otherwise: ::std::vec::Vec::new() }));
            if c.is_none() {
                break;
            }
        }
        quote!(::std::vec![#(#nodes),*])
    }

    /// The body of `arm` as a `Vec<Node>` expression: sets `flag` first
    /// when given, assigns the arm's value to `tmp` when given.
    fn arm_body(&mut self, arm: &Arm, tmp: Option<&str>, flag: Option<&str>) -> TokenStream {
        if let Some(f) = flag {
            let n = self.name(f);
            return self.nested(|g, o| {
                Self::push(o, quote!(::vyre::ir::Node::Assign { name: #n, value: ::vyre::ir::Expr::bool(true) }));
                g.arm_inner(arm, tmp, o);
            });
        }
        self.nested(|g, o| g.arm_inner(arm, tmp, o))
    }

    /// The statements of `arm` into `o`, its value assigned to `tmp`.
    fn arm_inner(&mut self, arm: &Arm, tmp: Option<&str>, o: &mut Vec<TokenStream>) {
        match tmp {
            None => self.block_unit(&arm.body, o),
            Some(tmp) => {
                if let Some(tail) = self.block_stmts(&arm.body, o) {
                    let v = self.expr(tail, o);
                    if self.t.expr_ty[tail.id].is_some() {
                        let n = self.name(tmp);
                        Self::push(o, quote!(::vyre::ir::Node::Assign { name: #n, value: #v }));
                    }
                }
            }
        }
    }
}
