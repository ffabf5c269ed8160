//! The structural pre-pass: enforces the [`Limits`] with recursion that never
//! goes deeper than the limits allow, and gathers facts the other passes need.

use std::collections::HashSet;

use super::{render_path, Diags, Limits, Path};
use crate::ir::{Expr, Node, Program};

/// Facts about a program that passed the structural limits.
pub(crate) struct Shape<'p> {
    /// Buffers that are the target of some atomic.
    pub(crate) atomic_targets: HashSet<&'p str>,
    /// True when the program has a barrier or a `uniform_load`.
    pub(crate) needs_uniformity: bool,
}

struct Scanner<'p, 'd> {
    limits: &'d Limits,
    diags: &'d mut Diags,
    path: Path<'p>,
    nodes: u64,
    exprs: u64,
    too_many_nodes: bool,
    too_many_exprs: bool,
    too_deep: bool,
    shape: Shape<'p>,
}

/// Checks the limits; `None` (after reporting) when the program exceeds them.
pub(crate) fn scan<'p>(
    program: &'p Program,
    limits: &Limits,
    diags: &mut Diags,
) -> Option<Shape<'p>> {
    let mut s = Scanner {
        limits,
        diags,
        path: Vec::new(),
        nodes: 0,
        exprs: 0,
        too_many_nodes: false,
        too_many_exprs: false,
        too_deep: false,
        shape: Shape {
            atomic_targets: HashSet::new(),
            needs_uniformity: false,
        },
    };
    s.block("body", &program.body, 1);
    if s.too_many_nodes {
        let max = limits.max_nodes;
        s.diags.push(
            "body",
            format!(
                "the program has more than {max} statements, vyre's limit. Fix: split the work into several \
                 programs, or use loops instead of unrolled code"
            ),
        );
    }
    if s.too_many_exprs {
        let max = limits.max_exprs;
        s.diags.push(
            "body",
            format!(
                "the program has more than {max} expression nodes, vyre's limit. Fix: split the work into \
                 several programs, or compute repeated subexpressions once into variables"
            ),
        );
    }
    if s.too_many_nodes || s.too_many_exprs || s.too_deep {
        None
    } else {
        Some(s.shape)
    }
}

impl<'p> Scanner<'p, '_> {
    fn stopped(&self) -> bool {
        self.too_many_nodes || self.too_many_exprs
    }

    fn block(&mut self, seg: &'static str, nodes: &'p [Node], depth: u32) {
        for (i, n) in nodes.iter().enumerate() {
            if self.stopped() {
                return;
            }
            self.nodes += 1;
            if self.nodes > self.limits.max_nodes {
                self.too_many_nodes = true;
                return;
            }
            self.path.push((seg, i, n));
            if depth > self.limits.max_node_depth {
                // One report per too-deep block; nothing below it is looked at.
                self.too_deep = true;
                let max = self.limits.max_node_depth;
                let place = render_path(&self.path);
                self.diags.push(
                    &place,
                    format!(
                        "statements are nested more than {max} levels deep. Fix: flatten the program (fewer \
                         nested blocks, ifs and loops), e.g. by moving work into sequential steps"
                    ),
                );
                self.path.pop();
                return;
            }
            self.node(n, depth);
            self.path.pop();
        }
    }

    fn node(&mut self, n: &'p Node, depth: u32) {
        match n {
            Node::Let { value, .. } | Node::Assign { value, .. } => self.root(value, "value"),
            Node::Store { index, value, .. } => {
                self.root(index, "index");
                self.root(value, "stored value");
            }
            Node::Eval(e) => self.root(e, "evaluated expression"),
            Node::If {
                cond,
                then,
                otherwise,
            } => {
                self.root(cond, "condition");
                self.block("then", then, depth + 1);
                self.block("else", otherwise, depth + 1);
            }
            Node::For {
                start,
                end,
                step,
                body,
                ..
            } => {
                self.root(start, "start");
                self.root(end, "end");
                self.root(step, "step");
                self.block("body", body, depth + 1);
            }
            Node::Loop { body } => self.block("body", body, depth + 1),
            Node::Block(body) => self.block("block", body, depth + 1),
            Node::Barrier => self.shape.needs_uniformity = true,
            Node::Break | Node::Continue | Node::Return => {}
        }
    }

    /// Scans one expression tree of the current statement.
    fn root(&mut self, e: &'p Expr, what: &str) {
        if self.expr(e, 1) {
            self.too_deep = true;
            let max = self.limits.max_expr_depth;
            let place = render_path(&self.path);
            self.diags.push(
                &place,
                format!(
                    "the {what} expression is nested more than {max} levels deep. Fix: split it into several \
                     `let` statements that compute parts of it"
                ),
            );
        }
    }

    /// Counts and inspects `e`; true when it nests too deep.
    fn expr(&mut self, e: &'p Expr, depth: u32) -> bool {
        if self.stopped() {
            return false;
        }
        self.exprs += 1;
        if self.exprs > self.limits.max_exprs {
            self.too_many_exprs = true;
            return false;
        }
        if depth > self.limits.max_expr_depth {
            return true;
        }
        let d = depth + 1;
        match e {
            Expr::Lit(_) | Expr::Var(_) | Expr::Len(_) | Expr::Builtin(_) => false,
            Expr::Load { index, .. } => self.expr(index, d),
            Expr::UniformLoad { index, .. } => {
                self.shape.needs_uniformity = true;
                self.expr(index, d)
            }
            Expr::Unary { arg, .. } | Expr::Cast { arg, .. } | Expr::Bitcast { arg, .. } => {
                self.expr(arg, d)
            }
            Expr::Binary { lhs, rhs, .. } => self.expr(lhs, d) || self.expr(rhs, d),
            Expr::Select {
                cond,
                on_true,
                on_false,
            } => self.expr(cond, d) || self.expr(on_true, d) || self.expr(on_false, d),
            Expr::Atomic {
                buffer,
                index,
                value,
                expected,
                ..
            } => {
                self.shape.atomic_targets.insert(buffer);
                self.expr(index, d)
                    || self.expr(value, d)
                    || expected.as_deref().is_some_and(|x| self.expr(x, d))
            }
        }
    }
}
