//! Visiting and rewriting statements.
//!
//! Every pass that only needs "each statement" or "each expression" uses
//! these instead of matching every [`Node`] variant again:
//!
//! * [`Node::exprs`] / [`Node::exprs_mut`]: the statement's own expressions
//!   (not those of nested bodies), in source order;
//! * [`Node::bodies`] / [`Node::bodies_mut`]: its nested statement lists
//!   (`then` and `else`, a loop's or a block's body);
//! * [`Node::walk`] / [`walk_nodes`]: every statement, pre-order, into every
//!   nested body;
//! * [`Node::walk_exprs`] / [`walk_exprs`]: every expression of every
//!   statement, sub-expressions included ([`Expr::walk`]);
//! * [`Node::walk_mut`] / [`walk_nodes_mut`]: every statement, mutably
//!   (pre-order: a statement is seen before its bodies, so a rewrite of it is
//!   then walked into).
//!
//! The statement walks use an explicit stack, so arbitrarily deep (not yet
//! validated) statement nesting cannot overflow the call stack; expression
//! walks recurse ([`Expr::walk`]), as deep as the expression is.

use super::expr::Expr;
use super::node::Node;

impl Node {
    /// The statement's own expressions in source order (a `for`'s start, end
    /// and step; an `if`'s condition; ...), not those of nested bodies.
    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        let parts: [Option<&Expr>; 3] = match self {
            Node::Let { value, .. } | Node::Assign { value, .. } | Node::Eval(value) => {
                [Some(value), None, None]
            }
            Node::Store { index, value, .. } => [Some(index), Some(value), None],
            Node::If { cond, .. } => [Some(cond), None, None],
            Node::For {
                start, end, step, ..
            } => [Some(start), Some(end), Some(step)],
            Node::Loop { .. }
            | Node::Block(_)
            | Node::Break
            | Node::Continue
            | Node::Barrier
            | Node::Return => [None, None, None],
        };
        parts.into_iter().flatten()
    }

    /// [`Node::exprs`], mutably.
    pub fn exprs_mut(&mut self) -> impl Iterator<Item = &mut Expr> {
        let parts: [Option<&mut Expr>; 3] = match self {
            Node::Let { value, .. } | Node::Assign { value, .. } | Node::Eval(value) => {
                [Some(value), None, None]
            }
            Node::Store { index, value, .. } => [Some(index), Some(value), None],
            Node::If { cond, .. } => [Some(cond), None, None],
            Node::For {
                start, end, step, ..
            } => [Some(start), Some(end), Some(step)],
            Node::Loop { .. }
            | Node::Block(_)
            | Node::Break
            | Node::Continue
            | Node::Barrier
            | Node::Return => [None, None, None],
        };
        parts.into_iter().flatten()
    }

    /// The statement's nested bodies in source order: `then` and `else` of
    /// an `if` (both, even when empty), the body of a `for`, `loop` or block.
    pub fn bodies(&self) -> impl Iterator<Item = &[Node]> {
        let parts: [Option<&[Node]>; 2] = match self {
            Node::If {
                then, otherwise, ..
            } => [Some(then), Some(otherwise)],
            Node::For { body, .. } | Node::Loop { body } | Node::Block(body) => [Some(body), None],
            _ => [None, None],
        };
        parts.into_iter().flatten()
    }

    /// [`Node::bodies`], mutably.
    pub fn bodies_mut(&mut self) -> impl Iterator<Item = &mut Vec<Node>> {
        let parts: [Option<&mut Vec<Node>>; 2] = match self {
            Node::If {
                then, otherwise, ..
            } => [Some(then), Some(otherwise)],
            Node::For { body, .. } | Node::Loop { body } | Node::Block(body) => [Some(body), None],
            _ => [None, None],
        };
        parts.into_iter().flatten()
    }

    /// Calls `f` on this statement and every statement nested in it,
    /// pre-order (a statement before its bodies, `then` before `else`).
    pub fn walk(&self, f: &mut impl FnMut(&Node)) {
        walk_nodes(std::slice::from_ref(self), f);
    }

    /// Calls `f` on every expression of this statement and of every
    /// statement nested in it, sub-expressions included: for each statement
    /// in [`Node::walk`] order, its [`Node::exprs`] each with [`Expr::walk`].
    pub fn walk_exprs(&self, f: &mut impl FnMut(&Expr)) {
        walk_exprs(std::slice::from_ref(self), f);
    }

    /// Calls `f` on this statement and every statement nested in it,
    /// mutably, pre-order: `f` sees a statement before its bodies, and the
    /// bodies walked are those the statement has after `f`.
    pub fn walk_mut(&mut self, f: &mut impl FnMut(&mut Node)) {
        walk_nodes_mut(std::slice::from_mut(self), f);
    }
}

/// [`Node::walk`] over a list of statements, in order.
pub fn walk_nodes(nodes: &[Node], f: &mut impl FnMut(&Node)) {
    let mut stack = vec![nodes.iter()];
    while let Some(top) = stack.last_mut() {
        let Some(n) = top.next() else {
            stack.pop();
            continue;
        };
        f(n);
        // At most two bodies, pushed last-first so the first is walked first.
        let mut bodies = n.bodies();
        let (first, second) = (bodies.next(), bodies.next());
        stack.extend(second.into_iter().chain(first).map(|b| b.iter()));
    }
}

/// [`Node::walk_exprs`] over a list of statements, in order.
pub fn walk_exprs(nodes: &[Node], f: &mut impl FnMut(&Expr)) {
    walk_nodes(nodes, &mut |n| n.exprs().for_each(|e| e.walk(f)));
}

/// [`Node::walk_mut`] over a list of statements, in order.
pub fn walk_nodes_mut(nodes: &mut [Node], f: &mut impl FnMut(&mut Node)) {
    let mut stack = vec![nodes.iter_mut()];
    while let Some(top) = stack.last_mut() {
        let Some(n) = top.next() else {
            stack.pop();
            continue;
        };
        f(n);
        let mut bodies = n.bodies_mut();
        let (first, second) = (bodies.next(), bodies.next());
        stack.extend(second.into_iter().chain(first).map(|b| b.iter_mut()));
    }
}

/// True when `pred` holds for some expression (or sub-expression) of
/// `nodes`; see [`walk_exprs`].
pub fn any_expr(nodes: &[Node], mut pred: impl FnMut(&Expr) -> bool) -> bool {
    let mut found = false;
    walk_exprs(nodes, &mut |e| found = found || pred(e));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Node> {
        vec![
            Node::let_bind("a", Expr::u32(1)),
            Node::if_else(
                Expr::lt(Expr::var("a"), Expr::len("buf")),
                vec![Node::store("buf", Expr::u32(0), Expr::var("a"))],
                vec![Node::loop_(vec![Node::Break])],
            ),
            Node::for_step(
                "i",
                Expr::u32(0),
                Expr::u32(4),
                Expr::u32(2),
                vec![Node::block(vec![Node::eval(Expr::atomic_add(
                    "buf",
                    Expr::var("i"),
                    Expr::u32(1),
                ))])],
            ),
            Node::Return,
        ]
    }

    #[test]
    fn walk_is_pre_order() {
        let mut seen = Vec::new();
        walk_nodes(&sample(), &mut |n| {
            seen.push(n.to_string().lines().next().unwrap_or("").to_string())
        });
        assert_eq!(
            seen,
            [
                "let a = 1u",
                "if lt(a, len(buf)) {",
                "buf[0u] = a",
                "loop {",
                "break",
                "for i in 0u..4u step 2u {",
                "{",
                "eval atomic_add(buf[i], 1u)",
                "return",
            ]
        );
    }

    #[test]
    fn walk_exprs_sees_every_expression() {
        let mut seen = Vec::new();
        walk_exprs(&sample(), &mut |e| seen.push(e.to_string()));
        assert_eq!(
            seen,
            [
                "1u",
                "lt(a, len(buf))",
                "a",
                "len(buf)",
                "0u",
                "a",
                "0u",
                "4u",
                "2u",
                "atomic_add(buf[i], 1u)",
                "i",
                "1u",
            ]
        );
        assert!(any_expr(&sample(), |e| matches!(e, Expr::Len(_))));
        assert!(!any_expr(&sample(), |e| matches!(
            e,
            Expr::UniformLoad { .. }
        )));
    }

    #[test]
    fn walk_mut_rewrites() {
        let mut nodes = sample();
        walk_nodes_mut(&mut nodes, &mut |n| {
            for e in n.exprs_mut() {
                if *e == Expr::var("a") {
                    *e = Expr::var("b");
                }
            }
        });
        let mut vars = Vec::new();
        walk_exprs(&nodes, &mut |e| {
            if let Expr::Var(v) = e {
                vars.push(v.clone());
            }
        });
        // Only whole statement expressions are replaced; `lt(a, ..)` keeps its `a`.
        assert_eq!(vars, ["a", "b", "i"]);
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let mut n = Node::Return;
        for _ in 0..200_000 {
            n = Node::block(vec![n]);
        }
        let mut count = 0;
        n.walk(&mut |_| count += 1);
        assert_eq!(count, 200_001);
        // Dropping such a tree recurses; leak it instead.
        std::mem::forget(n);
    }
}
