//! Statements and the program.

use super::expr::Expr;
use super::types::BufferDecl;

/// A statement.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// Declares a new mutable variable; its type is the type of `value`.
    Let {
        /// Variable name.
        name: String,
        /// Initial value.
        value: Expr,
    },
    /// Assigns to a declared variable (same type).
    Assign {
        /// Variable name.
        name: String,
        /// New value.
        value: Expr,
    },
    /// `buffer[index] = value`; dropped when out of bounds.
    Store {
        /// Buffer name.
        buffer: String,
        /// Element index.
        index: Expr,
        /// Value stored.
        value: Expr,
    },
    /// Evaluates an expression for its effect (an atomic) and discards the value.
    Eval(Expr),
    /// `if cond { then } else { otherwise }`.
    If {
        /// Condition (bool).
        cond: Expr,
        /// Taken when true.
        then: Vec<Node>,
        /// Taken when false.
        otherwise: Vec<Node>,
    },
    /// Counted loop: `var` takes `start, start+step, ...` while `< end` (u32).
    /// `start`, `end` and `step` are evaluated once; a step of 0 counts as 1;
    /// the counter never wraps; `var` is read-only in the body.
    For {
        /// Counter name (read-only in the body).
        var: String,
        /// First value.
        start: Expr,
        /// Exclusive end.
        end: Expr,
        /// Increment (0 counts as 1).
        step: Expr,
        /// Loop body.
        body: Vec<Node>,
    },
    /// Loop until `break` (or `return`).
    Loop {
        /// Loop body.
        body: Vec<Node>,
    },
    /// Leaves the innermost loop.
    Break,
    /// Starts the next iteration of the innermost loop.
    Continue,
    /// A nested scope.
    Block(Vec<Node>),
    /// Workgroup barrier for workgroup and storage memory. Must be reached by
    /// all invocations of the workgroup (uniform control flow).
    Barrier,
    /// Ends this invocation.
    Return,
}

impl Node {
    /// `let name = value;`
    pub fn let_bind(name: &str, value: Expr) -> Node {
        Node::Let {
            name: name.to_string(),
            value,
        }
    }
    /// `name = value;`
    pub fn assign(name: &str, value: Expr) -> Node {
        Node::Assign {
            name: name.to_string(),
            value,
        }
    }
    /// `buffer[index] = value;`
    pub fn store(buffer: &str, index: Expr, value: Expr) -> Node {
        Node::Store {
            buffer: buffer.to_string(),
            index,
            value,
        }
    }
    /// Evaluate for effect.
    pub fn eval(expr: Expr) -> Node {
        Node::Eval(expr)
    }
    /// `if cond { then }`
    pub fn if_then(cond: Expr, then: Vec<Node>) -> Node {
        Node::If {
            cond,
            then,
            otherwise: Vec::new(),
        }
    }
    /// `if cond { then } else { otherwise }`
    pub fn if_else(cond: Expr, then: Vec<Node>, otherwise: Vec<Node>) -> Node {
        Node::If {
            cond,
            then,
            otherwise,
        }
    }
    /// `for var in start..end { body }`
    pub fn for_range(var: &str, start: Expr, end: Expr, body: Vec<Node>) -> Node {
        Node::For {
            var: var.to_string(),
            start,
            end,
            step: Expr::u32(1),
            body,
        }
    }
    /// `for var in (start..end).step_by(step) { body }`
    pub fn for_step(var: &str, start: Expr, end: Expr, step: Expr, body: Vec<Node>) -> Node {
        Node::For {
            var: var.to_string(),
            start,
            end,
            step,
            body,
        }
    }
    /// `loop { body }`
    pub fn loop_(body: Vec<Node>) -> Node {
        Node::Loop { body }
    }
    /// A nested scope.
    pub fn block(body: Vec<Node>) -> Node {
        Node::Block(body)
    }
}

/// A compute program: buffers, workgroup size and the body every invocation runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Program {
    /// Name, used in diagnostics and the pipeline label.
    pub name: String,
    /// Buffer declarations. Host-visible buffers are bound in `binding` order.
    pub buffers: Vec<BufferDecl>,
    /// Invocations per workgroup (1..=1024; backends may allow fewer).
    pub workgroup_size: u32,
    /// The statements each invocation runs.
    pub body: Vec<Node>,
}

impl Program {
    /// A new program.
    pub fn new(name: &str, buffers: Vec<BufferDecl>, workgroup_size: u32, body: Vec<Node>) -> Self {
        Program {
            name: name.to_string(),
            buffers,
            workgroup_size,
            body,
        }
    }

    /// The declaration of buffer `name`.
    pub fn buffer(&self, name: &str) -> Option<&BufferDecl> {
        self.buffers.iter().find(|b| b.name == name)
    }

    /// Host-visible buffers sorted by binding: the order in which backends
    /// take and return buffer data.
    pub fn host_buffers(&self) -> Vec<&BufferDecl> {
        let mut v: Vec<&BufferDecl> = self
            .buffers
            .iter()
            .filter(|b| b.access.is_host_visible())
            .collect();
        v.sort_by_key(|b| b.binding);
        v
    }
}
