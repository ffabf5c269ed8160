//! Type checking of expressions (part of the statement pass).

use super::scope::{Checker, Place};
use super::{show, show_expr};
use crate::ir::{Access, AtomicOp, BinOp, DataType, Expr, UnOp};

const NO_IMPLICIT: &str =
    "convert one operand with cast or bitcast (vyre has no implicit conversions)";

impl<'p> Checker<'p, '_> {
    /// The type of `e` (a root expression of the current statement), after
    /// reporting every problem inside it; `None` when it cannot be known.
    pub(crate) fn expr(&mut self, e: &'p Expr, place: Place) -> Option<DataType> {
        self.ty(e, place, 1)
    }

    /// Checks that root expression `e` has type `want`; `what` names it in
    /// the message (e.g. "the `if` condition").
    pub(crate) fn expect(&mut self, e: &'p Expr, want: DataType, what: &str) {
        self.expect_at(e, want, what, 1);
    }

    fn expect_at(&mut self, e: &'p Expr, want: DataType, what: &str, depth: u32) {
        if let Some(t) = self.ty(e, Place::Nested, depth).filter(|t| *t != want) {
            let fix = if want == DataType::Bool {
                "compare it (e.g. `ne(x, 0u)`) or cast it to bool".to_string()
            } else {
                format!("convert it with cast to {want}")
            };
            self.err(format!(
                "{what} must be {want}, but {} has type {t}. Fix: {fix}",
                show_expr(e)
            ));
        }
    }

    fn ty(&mut self, e: &'p Expr, place: Place, depth: u32) -> Option<DataType> {
        if depth > self.shared.max_expr_depth {
            return None; // Reported by the structural scan; never reached after it.
        }
        let d = depth + 1;
        match e {
            Expr::Lit(l) => Some(l.ty()),
            Expr::Builtin(_) => Some(DataType::U32),
            Expr::Var(name) => {
                if let Some(v) = self.vars.get(name.as_str()) {
                    return v.ty;
                }
                let mut names: Vec<String> = self.vars.keys().take(8).map(|k| show(k)).collect();
                names.sort();
                let names = if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                };
                self.err(format!(
                    "unknown variable {} (in scope here: {names}). Fix: declare it with `let` earlier in this or \
                     an enclosing block (variables of sibling or inner blocks are out of scope), or correct the \
                     name",
                    show(name)
                ));
                None
            }
            Expr::Load { buffer, index } => {
                self.expect_at(
                    index,
                    DataType::U32,
                    &format!("the index of the load from {}", show(buffer)),
                    d,
                );
                self.buffer(buffer, "load from").map(|b| b.elem)
            }
            Expr::Len(buffer) => {
                if let Some(b) = self.buffer(buffer, "len of") {
                    if b.access == Access::Workgroup {
                        self.err(format!(
                            "len({}) of a workgroup buffer: len only applies to host-visible buffers. Fix: use \
                             the workgroup buffer's fixed length ({}u) as a literal",
                            crate::validate::short(buffer),
                            b.len.unwrap_or(0)
                        ));
                    }
                }
                Some(DataType::U32)
            }
            Expr::Unary { op, arg } => {
                let t = self.ty(arg, Place::Nested, d)?;
                let ok = match op {
                    UnOp::Neg => t != DataType::Bool,
                    UnOp::Not => t == DataType::Bool,
                    UnOp::BitNot | UnOp::Clz | UnOp::Ctz | UnOp::Popcount => t.is_integer(),
                };
                if ok {
                    return Some(t);
                }
                let (need, fix) = match op {
                    UnOp::Neg => ("a u32, i32 or f32 operand", "use `not` to negate a bool"),
                    UnOp::Not => (
                        "a bool operand",
                        "use `bitnot` for integers, or compare first",
                    ),
                    _ => (
                        "a u32 or i32 operand",
                        "bitcast an f32 to u32 first, or cast a bool to u32",
                    ),
                };
                self.err(format!(
                    "{}: `{}` needs {need}, not {t}. Fix: {fix}",
                    show_expr(e),
                    op.name()
                ));
                None
            }
            Expr::Binary { op, lhs, rhs } => {
                let lt = self.ty(lhs, Place::Nested, d);
                let rt = self.ty(rhs, Place::Nested, d);
                self.binary(e, *op, lt, rt)
            }
            Expr::Select {
                cond,
                on_true,
                on_false,
            } => {
                self.expect_at(cond, DataType::Bool, "the select condition", d);
                let a = self.ty(on_true, Place::Nested, d);
                let b = self.ty(on_false, Place::Nested, d);
                match (a, b) {
                    (Some(a), Some(b)) if a != b => {
                        self.err(format!(
                            "{}: the two choices of select have different types, {a} and {b}. Fix: {NO_IMPLICIT}",
                            show_expr(e)
                        ));
                        None
                    }
                    _ => a.or(b),
                }
            }
            Expr::Cast { to, arg } => {
                self.ty(arg, Place::Nested, d);
                Some(*to)
            }
            Expr::Bitcast { to, arg } => {
                let t = self.ty(arg, Place::Nested, d);
                if *to == DataType::Bool || t == Some(DataType::Bool) {
                    let from = t.map_or("?", |t| t.name());
                    self.err(format!(
                        "{}: bitcast from {from} to {to}; bitcast only converts between u32, i32 and f32. Fix: \
                         use cast for conversions to or from bool",
                        show_expr(e)
                    ));
                    return None;
                }
                Some(*to)
            }
            Expr::Atomic {
                op,
                buffer,
                index,
                value,
                expected,
            } => self.atomic(e, place, *op, buffer, index, value, expected.as_deref(), d),
            Expr::UniformLoad { buffer, index } => {
                if place != Place::LetOrAssign {
                    self.err(format!(
                        "{} is part of a larger expression (or a condition, index or bound); uniform_load may \
                         only be the whole value of a `let` or an assignment. Fix: bind it first (`let v = \
                         uniform_load(...)`) and use `v`",
                        show_expr(e)
                    ));
                }
                self.expect_at(index, DataType::U32, "the index of uniform_load", d);
                let decl = self.buffer(buffer, "uniform_load from")?;
                if decl.access != Access::Workgroup {
                    self.err(format!(
                        "uniform_load from {}, a `{}` buffer; uniform_load only reads workgroup buffers. Fix: \
                         use a plain load, or copy the data into a workgroup buffer first",
                        show(buffer),
                        decl.access.name()
                    ));
                } else if self.shared.atomic_targets.contains(buffer.as_str()) {
                    self.err(format!(
                        "uniform_load from {}, which is the target of atomics; uniform_load needs a non-atomic \
                         buffer. Fix: copy the value (atomic_load after a barrier) into a separate workgroup \
                         buffer and uniform_load that",
                        show(buffer)
                    ));
                }
                Some(decl.elem)
            }
        }
    }

    fn binary(
        &mut self,
        e: &Expr,
        op: BinOp,
        lt: Option<DataType>,
        rt: Option<DataType>,
    ) -> Option<DataType> {
        let name = op.name();
        if op.is_shift() {
            if let Some(l) = lt.filter(|l| !l.is_integer()) {
                self.err(format!(
                    "{}: the value shifted by `{name}` must be u32 or i32, not {l}. Fix: bitcast an f32 to u32 \
                     first, or cast a bool",
                    show_expr(e)
                ));
            }
            if let Some(r) = rt.filter(|r| *r != DataType::U32) {
                self.err(format!(
                    "{}: the amount of `{name}` must be u32, not {r}. Fix: convert the amount with cast to u32",
                    show_expr(e)
                ));
            }
            return lt.filter(|l| l.is_integer());
        }
        if matches!(op, BinOp::And | BinOp::Or) {
            for t in [lt, rt]
                .into_iter()
                .flatten()
                .filter(|t| *t != DataType::Bool)
            {
                let fix = if t.is_integer() {
                    "use bitand/bitor for integers, or compare first"
                } else {
                    "compare first"
                };
                self.err(format!(
                    "{}: `{name}` takes bools, not {t}. Fix: {fix}",
                    show_expr(e)
                ));
            }
            return Some(DataType::Bool);
        }
        if let (Some(l), Some(r)) = (lt, rt) {
            if l != r {
                self.err(format!(
                    "{}: the operands of `{name}` have different types, {l} and {r}. Fix: {NO_IMPLICIT}",
                    show_expr(e)
                ));
                return if op.is_comparison() {
                    Some(DataType::Bool)
                } else {
                    None
                };
            }
        }
        let t = lt.or(rt);
        if op.is_comparison() {
            if t == Some(DataType::Bool) && !matches!(op, BinOp::Eq | BinOp::Ne) {
                self.err(format!(
                    "{}: `{name}` orders numbers, not bools. Fix: cast the bools to u32, or use eq/ne",
                    show_expr(e)
                ));
            }
            return Some(DataType::Bool);
        }
        let t = t?;
        let bitwise = matches!(op, BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor);
        if bitwise && !t.is_integer() {
            let fix = if t == DataType::Bool {
                "use `and` / `or` for bools (for xor of bools use `ne`)"
            } else {
                "bitcast the f32 operands to u32 first"
            };
            self.err(format!(
                "{}: `{name}` needs u32 or i32 operands, not {t}. Fix: {fix}",
                show_expr(e)
            ));
            return None;
        }
        if t == DataType::Bool {
            self.err(format!(
                "{}: arithmetic `{name}` on bools. Fix: use and/or/not for logic, or cast the bools to u32",
                show_expr(e)
            ));
            return None;
        }
        Some(t)
    }

    #[allow(clippy::too_many_arguments)]
    fn atomic(
        &mut self,
        e: &Expr,
        place: Place,
        op: AtomicOp,
        buffer: &'p str,
        index: &'p Expr,
        value: &'p Expr,
        expected: Option<&'p Expr>,
        d: u32,
    ) -> Option<DataType> {
        if place == Place::Nested {
            self.err(format!(
                "{} is part of a larger expression (or a condition, index, bound or stored value); an atomic may \
                 only be the whole value of a `let`, an assignment or an `eval`. Fix: bind it first (`let old = \
                 {}(...)`) and use `old`",
                show_expr(e),
                op.name()
            ));
        }
        self.expect_at(
            index,
            DataType::U32,
            &format!("the index of {}", op.name()),
            d,
        );
        let vt = self.ty(value, Place::Nested, d);
        let et = expected.and_then(|x| self.ty(x, Place::Nested, d));
        let decl = self.buffer(buffer, &format!("{} on", op.name()))?;
        if !decl.access.allows_atomics() {
            self.err(format!(
                "{} on {}, a `{}` buffer; atomics need a `read_write` or `workgroup` buffer. Fix: declare the \
                 buffer read_write (BufferDecl::read_write)",
                op.name(),
                show(buffer),
                decl.access.name()
            ));
        }
        if !decl.elem.is_integer() {
            self.err(format!(
                "{} on {}, whose elements are {}; atomics need u32 or i32 elements. Fix: use a u32 or i32 buffer \
                 (store f32 values as bits with bitcast)",
                op.name(),
                show(buffer),
                decl.elem
            ));
            return None;
        }
        let elem = decl.elem;
        if let Some(t) = vt.filter(|t| op != AtomicOp::Load && *t != elem) {
            self.err(format!(
                "the value {} of {} has type {t} but buffer {} holds {elem}. Fix: convert the value with cast to \
                 {elem}",
                show_expr(value),
                op.name(),
                show(buffer)
            ));
        }
        match (op, expected) {
            (AtomicOp::CompareExchange, None) => self.err(format!(
                "atomic_compare_exchange on {} has no expected value. Fix: build it with \
                 Expr::atomic_compare_exchange(buffer, index, expected, value)",
                show(buffer)
            )),
            (AtomicOp::CompareExchange, Some(x)) => {
                if let Some(t) = et.filter(|t| *t != elem) {
                    self.err(format!(
                        "the expected value {} of atomic_compare_exchange has type {t} but buffer {} holds \
                         {elem}. Fix: convert it with cast to {elem}",
                        show_expr(x),
                        show(buffer)
                    ));
                }
            }
            (_, Some(_)) => self.err(format!(
                "{} has an expected value, which only atomic_compare_exchange takes. Fix: set `expected` to None",
                op.name()
            )),
            (_, None) => {}
        }
        Some(elem)
    }
}
