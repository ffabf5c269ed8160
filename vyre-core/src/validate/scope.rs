//! The statement pass: scopes, variables, statements and control flow. Types
//! of expressions are checked by the methods in [`super::types`].

use std::collections::HashMap;

use super::{identifier_problem, render_path, show, show_expr, Diags, Path, Shared};
use crate::ir::{Access, BufferDecl, DataType, Expr, Node};

/// A variable in scope.
#[derive(Clone, Copy)]
pub(crate) struct Var {
    /// Its type; `None` when its `let` value had a type error.
    pub(crate) ty: Option<DataType>,
    /// True for `for` variables (read-only).
    pub(crate) loop_var: bool,
}

/// Walks the statements with the variables in scope.
pub(crate) struct Checker<'p, 'd> {
    pub(crate) shared: &'d Shared<'p>,
    diags: &'d mut Diags,
    path: Path<'p>,
    /// Variables in scope. No shadowing, so one entry per name.
    pub(crate) vars: HashMap<&'p str, Var>,
    /// Names declared in each open scope, to forget when it closes.
    frames: Vec<Vec<&'p str>>,
    loop_depth: u32,
}

/// Runs the statement and type checks over the whole program.
pub(crate) fn check(shared: &Shared<'_>, diags: &mut Diags) {
    let mut c = Checker {
        shared,
        diags,
        path: Vec::new(),
        vars: HashMap::new(),
        frames: Vec::new(),
        loop_depth: 0,
    };
    c.block("body", &shared.program.body);
}

impl<'p> Checker<'p, '_> {
    /// Reports a problem at the current statement.
    pub(crate) fn err(&mut self, message: String) {
        let place = if self.path.is_empty() {
            "body".to_string()
        } else {
            render_path(&self.path)
        };
        self.diags.push(&place, message);
    }

    /// The declaration of `name`, reporting an unknown buffer (`use_` says how
    /// it is used, e.g. "load from").
    pub(crate) fn buffer(&mut self, name: &str, use_: &str) -> Option<&'p BufferDecl> {
        let found = self.shared.buffers.get(name).copied();
        if found.is_none() {
            let mut known: Vec<String> = self
                .shared
                .buffers
                .keys()
                .take(8)
                .map(|k| show(k))
                .collect();
            known.sort();
            let known = if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            };
            self.err(format!(
                "{use_} unknown buffer {} (declared buffers: {known}). Fix: declare the buffer in the program's \
                 `buffers`, or correct the name",
                show(name)
            ));
        }
        found
    }

    fn block(&mut self, seg: &'static str, nodes: &'p [Node]) {
        self.frames.push(Vec::new());
        for (i, n) in nodes.iter().enumerate() {
            self.path.push((seg, i, n));
            self.node(n);
            self.path.pop();
        }
        self.close_frame();
    }

    fn close_frame(&mut self) {
        if let Some(names) = self.frames.pop() {
            for n in names {
                self.vars.remove(n);
            }
        }
    }

    /// Declares `name` in the innermost open scope (if it is not in scope already).
    fn declare(&mut self, name: &'p str, var: Var, what: &str) {
        if let Some(why) = identifier_problem(name) {
            self.err(format!(
                "the {what} name {} {why}. Fix: name variables with an identifier ([A-Za-z_][A-Za-z0-9_]*) not \
                 starting with `__`",
                show(name)
            ));
        }
        if let Some(old) = self.vars.get(name) {
            let kind = if old.loop_var {
                "`for` variable"
            } else {
                "variable"
            };
            self.err(format!(
                "{} is already declared: a {kind} of that name is in scope, and vyre has no shadowing. Fix: \
                 choose another name, or assign to the existing variable instead of declaring it again",
                show(name)
            ));
            return;
        }
        self.vars.insert(name, var);
        if let Some(frame) = self.frames.last_mut() {
            frame.push(name);
        }
    }

    fn node(&mut self, n: &'p Node) {
        match n {
            Node::Let { name, value } => {
                // The value is checked before the name is in scope.
                let ty = self.expr(value, Place::LetOrAssign);
                self.declare(
                    name,
                    Var {
                        ty,
                        loop_var: false,
                    },
                    "variable",
                );
            }
            Node::Assign { name, value } => {
                let ty = self.expr(value, Place::LetOrAssign);
                match self.vars.get(name.as_str()).copied() {
                    None => self.err(format!(
                        "assignment to {}, which is not a declared variable in scope. Fix: declare it first with \
                         `let {} = <initial value>` in this or an enclosing block",
                        show(name),
                        super::short(name)
                    )),
                    Some(Var { loop_var: true, .. }) => self.err(format!(
                        "assignment to {}, a `for` loop variable, which is read-only. Fix: copy it into a new \
                         variable (`let` ...) and change that, or use a `loop` with your own counter",
                        show(name)
                    )),
                    Some(Var { ty: Some(declared), .. }) => {
                        if let Some(t) = ty.filter(|t| *t != declared) {
                            self.err(format!(
                                "{} is declared as {declared} but is assigned {} of type {t}. Fix: assign a \
                                 {declared} value (convert with cast or bitcast)",
                                show(name),
                                show_expr(value)
                            ));
                        }
                    }
                    Some(Var { ty: None, .. }) => {}
                }
            }
            Node::Store {
                buffer,
                index,
                value,
            } => self.store(buffer, index, value),
            Node::Eval(e) => match e {
                Expr::Atomic { .. } => {
                    self.expr(e, Place::Eval);
                }
                Expr::UniformLoad { .. } => {
                    self.err(format!(
                        "{} is evaluated for effect only; uniform_load may only be the whole value of a `let` \
                         or an assignment. Fix: use `barrier` to synchronise, or bind the value with `let`",
                        show_expr(e)
                    ));
                    self.expr(e, Place::LetOrAssign);
                }
                _ => {
                    self.err(format!(
                        "evaluating {} has no effect: only atomics may be evaluated for effect. Fix: remove \
                         the eval, or bind the value with `let` / store it",
                        show_expr(e)
                    ));
                    self.expr(e, Place::Nested);
                }
            },
            Node::If {
                cond,
                then,
                otherwise,
            } => {
                self.expect(cond, DataType::Bool, "the `if` condition");
                self.block("then", then);
                self.block("else", otherwise);
            }
            Node::For {
                var,
                start,
                end,
                step,
                body,
            } => {
                self.expect(start, DataType::U32, "the `for` start");
                self.expect(end, DataType::U32, "the `for` end");
                self.expect(step, DataType::U32, "the `for` step");
                self.frames.push(Vec::new());
                self.declare(
                    var,
                    Var {
                        ty: Some(DataType::U32),
                        loop_var: true,
                    },
                    "`for` variable",
                );
                self.loop_depth += 1;
                self.block("body", body);
                self.loop_depth -= 1;
                self.close_frame();
            }
            Node::Loop { body } => {
                self.loop_depth += 1;
                self.block("body", body);
                self.loop_depth -= 1;
            }
            Node::Break | Node::Continue => {
                if self.loop_depth == 0 {
                    let what = if matches!(n, Node::Break) {
                        "break"
                    } else {
                        "continue"
                    };
                    self.err(format!(
                        "`{what}` is not inside a `for` or `loop`. Fix: remove it, or use `return` to end the \
                         invocation"
                    ));
                }
            }
            Node::Block(body) => self.block("block", body),
            Node::Barrier | Node::Return => {}
        }
    }

    fn store(&mut self, buffer: &'p str, index: &'p Expr, value: &'p Expr) {
        self.expect(index, DataType::U32, "the store index");
        let vt = self.expr(value, Place::Nested);
        let Some(decl) = self.buffer(buffer, "store to") else {
            return;
        };
        match decl.access {
            Access::ReadOnly | Access::Uniform | Access::Constant => self.err(format!(
                "store to {}, a `{}` buffer, which the program may not write. Fix: declare it `read_write` \
                 (BufferDecl::read_write), or store into another buffer",
                show(buffer),
                decl.access.name()
            )),
            Access::ReadWrite | Access::Workgroup => {}
        }
        if let Some(t) = vt.filter(|t| *t != decl.elem) {
            self.err(format!(
                "the stored value {} has type {t} but buffer {} holds {}. Fix: convert the value with cast or \
                 bitcast to {}",
                show_expr(value),
                show(buffer),
                decl.elem,
                decl.elem
            ));
        }
    }
}

/// Where an expression sits, which decides whether an atomic or a
/// `uniform_load` may be it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// Inside another expression, or a condition, index, bound or stored value.
    Nested,
    /// The whole value of a `let` or an assignment.
    LetOrAssign,
    /// The whole expression of an `eval`.
    Eval,
}
