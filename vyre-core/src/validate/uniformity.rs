//! Uniformity analysis for `barrier` and `uniform_load` (rules in the
//! [module docs](super)).
//!
//! The program becomes a dependency graph. Each graph node stands for a
//! variable or for the control flow at some point ("the condition of the `if`
//! at body[1]", "the code after body[3]", ...) and is non-uniform when it has
//! a non-uniform *seed* (`local_id`, a storage load, an atomic) or depends on
//! a non-uniform node. Propagating seeds along the reversed edges marks every
//! non-uniform node in time linear in the graph's size (loops make cycles,
//! which need no fixpoint iteration this way). Each barrier and
//! `uniform_load` is then checked against the node of its control flow.

use std::collections::{HashMap, VecDeque};

use super::{render_path, short, Diags, Path, Shared};
use crate::ir::{Access, Builtin, Expr, Node};

struct GNode {
    /// How the node reads in an explanation; empty for helper nodes.
    label: String,
    /// A direct non-uniform source, described for the explanation.
    seed: Option<String>,
    /// Nodes this one is non-uniform with.
    deps: Vec<u32>,
}

/// A barrier or `uniform_load` whose control flow (and index) must be uniform.
struct Check {
    node: u32,
    what: &'static str,
    place: String,
}

/// The control flow at a point: `None` when it is uniform for certain,
/// otherwise the graph node that decides.
type Ctx = Option<u32>;

struct Walker<'p, 's> {
    shared: &'s Shared<'p>,
    g: Vec<GNode>,
    /// Variables in scope: name to graph node.
    scope: HashMap<&'p str, u32>,
    /// Per open scope: what each declaration replaced, to restore on close.
    undo: Vec<Vec<(&'p str, Option<u32>)>>,
    path: Path<'p>,
    checks: Vec<Check>,
}

/// Reports every barrier and `uniform_load` not in uniform control flow.
pub(crate) fn check(shared: &Shared<'_>, diags: &mut Diags) {
    let mut w = Walker {
        shared,
        g: Vec::new(),
        scope: HashMap::new(),
        undo: Vec::new(),
        path: Vec::new(),
        checks: Vec::new(),
    };
    w.block("body", &shared.program.body, None);
    let why = propagate(&w.g);
    for c in &w.checks {
        if why.get(c.node as usize).is_some_and(|x| x.is_some()) {
            let chain = explain(&w.g, &why, c.node);
            diags.push(
                &c.place,
                format!(
                    "{}: {chain}. Fix: move it out of control flow that depends on per-invocation values, or \
                     make the conditions{} uniform (compute them from workgroup_id, num_workgroups, \
                     workgroup_size, len, uniform buffers or uniform_load results); put any return, break or \
                     continue that only some invocations take after the last barrier",
                    if c.what == "barrier" {
                        "barrier may be reached by only some invocations of the workgroup (non-uniform control flow)"
                    } else {
                        "uniform_load needs uniform control flow and a uniform index, but they are not"
                    },
                    if c.what == "barrier" { "" } else { " and the index" }
                ),
            );
        }
    }
}

/// For each node: `None` when uniform, `Some(None)` when a seed,
/// `Some(Some(d))` when non-uniform because of node `d`.
fn propagate(g: &[GNode]) -> Vec<Option<Option<u32>>> {
    let mut users: Vec<Vec<u32>> = vec![Vec::new(); g.len()];
    for (n, node) in g.iter().enumerate() {
        for &d in &node.deps {
            users[d as usize].push(n as u32);
        }
    }
    let mut why: Vec<Option<Option<u32>>> = vec![None; g.len()];
    let mut queue = VecDeque::new();
    for (n, node) in g.iter().enumerate() {
        if node.seed.is_some() {
            why[n] = Some(None);
            queue.push_back(n as u32);
        }
    }
    while let Some(n) = queue.pop_front() {
        for &u in &users[n as usize] {
            if why[u as usize].is_none() {
                why[u as usize] = Some(Some(n));
                queue.push_back(u);
            }
        }
    }
    why
}

/// "A, which depends on B, ..., which uses `@local_id` (...)".
fn explain(g: &[GNode], why: &[Option<Option<u32>>], start: u32) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let mut n = start;
    let mut seed = "a non-uniform value";
    for _ in 0..g.len() {
        let node = &g[n as usize];
        if !node.label.is_empty() {
            parts.push(&node.label);
        }
        match why[n as usize] {
            Some(Some(d)) => n = d,
            _ => {
                if let Some(s) = &node.seed {
                    seed = s;
                }
                break;
            }
        }
    }
    if parts.len() > 8 {
        let tail = parts.split_off(parts.len() - 3);
        parts.truncate(4);
        parts.push("…");
        parts.extend(tail);
    }
    let mut s = String::new();
    for p in parts {
        s.push_str(p);
        s.push_str(", which depends on ");
    }
    s.push_str(seed);
    s
}

impl<'p> Walker<'p, '_> {
    fn mk(&mut self, label: String, seed: Option<String>, deps: Vec<u32>) -> u32 {
        self.g.push(GNode { label, seed, deps });
        (self.g.len() - 1) as u32
    }

    fn here(&self) -> String {
        render_path(&self.path)
    }

    /// Collects the variables `e` reads and its first direct non-uniform source.
    fn deps(&self, e: &Expr, out: &mut Vec<u32>, seed: &mut Option<String>, depth: u32) {
        if depth > self.shared.max_expr_depth {
            return;
        }
        let d = depth + 1;
        let mut note = |s: String| {
            if seed.is_none() {
                *seed = Some(s);
            }
        };
        match e {
            Expr::Lit(_) | Expr::Len(_) | Expr::UniformLoad { .. } => {}
            Expr::Builtin(b @ (Builtin::GlobalId | Builtin::LocalId)) => note(format!(
                "`@{}`, which differs between invocations",
                b.name()
            )),
            Expr::Builtin(_) => {}
            Expr::Var(name) => {
                if let Some(&v) = self.scope.get(name.as_str()) {
                    out.push(v);
                }
            }
            Expr::Load { buffer, index } => {
                match self.shared.buffers.get(buffer.as_str()).map(|b| b.access) {
                    Some(Access::Uniform | Access::Constant) | None => {
                        self.deps(index, out, seed, d)
                    }
                    Some(a) => note(format!(
                    "a load from `{}` (a `{}` buffer: only uniform buffers give uniform values)",
                    short(buffer),
                    a.name()
                )),
                }
            }
            Expr::Atomic { op, buffer, .. } => {
                note(format!("{} on `{}`", op.name(), short(buffer)))
            }
            Expr::Unary { arg, .. } | Expr::Cast { arg, .. } | Expr::Bitcast { arg, .. } => {
                self.deps(arg, out, seed, d)
            }
            Expr::Binary { lhs, rhs, .. } => {
                self.deps(lhs, out, seed, d);
                self.deps(rhs, out, seed, d);
            }
            Expr::Select {
                cond,
                on_true,
                on_false,
            } => {
                for x in [cond, on_true, on_false] {
                    self.deps(x, out, seed, d);
                }
            }
        }
    }

    /// The control flow inside a construct entered from `parent` under the
    /// values `exprs`; `None` when certainly uniform.
    fn ctx_with(
        &mut self,
        parent: Ctx,
        extra: Option<u32>,
        exprs: &[&Expr],
        label: impl FnOnce() -> String,
    ) -> Ctx {
        let mut deps = Vec::new();
        let mut seed = None;
        for e in exprs {
            self.deps(e, &mut deps, &mut seed, 1);
        }
        if parent.is_none() && extra.is_none() && deps.is_empty() && seed.is_none() {
            return None;
        }
        deps.extend(parent);
        deps.extend(extra);
        Some(self.mk(label(), seed, deps))
    }

    fn join(&mut self, mut nodes: Vec<u32>) -> Option<u32> {
        match nodes.len() {
            0 => None,
            1 => nodes.pop(),
            _ => Some(self.mk(String::new(), None, nodes)),
        }
    }

    /// Walks a block entered with control flow `ctx`. Returns the nodes of
    /// the returns and of the breaks/continues that may leave it early.
    fn block(
        &mut self,
        seg: &'static str,
        nodes: &'p [Node],
        ctx: Ctx,
    ) -> (Option<u32>, Option<u32>) {
        self.undo.push(Vec::new());
        let mut cur = ctx;
        let (mut rets, mut brks) = (Vec::new(), Vec::new());
        for (i, n) in nodes.iter().enumerate() {
            self.path.push((seg, i, n));
            let (r, b) = self.node(n, cur);
            if r.is_some() || b.is_some() {
                let label = format!(
                    "the code after {}, past a return/break/continue that only some invocations may take",
                    self.here()
                );
                cur = Some(self.mk(label, None, r.into_iter().chain(b).collect()));
            }
            rets.extend(r);
            brks.extend(b);
            self.path.pop();
        }
        for (name, old) in self.undo.pop().unwrap_or_default().into_iter().rev() {
            match old {
                Some(v) => self.scope.insert(name, v),
                None => self.scope.remove(name),
            };
        }
        (self.join(rets), self.join(brks))
    }

    fn declare(&mut self, name: &'p str, node: u32) {
        let old = self.scope.insert(name, node);
        if let Some(frame) = self.undo.last_mut() {
            frame.push((name, old));
        }
    }

    /// The dependencies of a value assigned under `cur` (a `uniform_load`
    /// adds its own check and is otherwise uniform).
    fn value(&mut self, value: &Expr, cur: Ctx, at: &str) -> (Vec<u32>, Option<String>) {
        let mut deps: Vec<u32> = cur.into_iter().collect();
        let mut seed = None;
        if let Expr::UniformLoad { index, .. } = value {
            let label = || format!("the control flow and index of the uniform_load at {at}");
            if let Some(node) = self.ctx_with(cur, None, &[index], label) {
                self.checks.push(Check {
                    node,
                    what: "uniform_load",
                    place: at.to_string(),
                });
            }
        } else {
            self.deps(value, &mut deps, &mut seed, 1);
        }
        (deps, seed)
    }

    fn node(&mut self, n: &'p Node, cur: Ctx) -> (Option<u32>, Option<u32>) {
        match n {
            Node::Let { name, value } => {
                let at = self.here();
                let (deps, seed) = self.value(value, cur, &at);
                let v = self.mk(
                    format!("variable `{}` (let at {at})", short(name)),
                    seed,
                    deps,
                );
                self.declare(name, v);
            }
            Node::Assign { name, value } => {
                let at = self.here();
                let (deps, seed) = self.value(value, cur, &at);
                if let Some(&v) = self.scope.get(name.as_str()) {
                    if seed.is_some() || deps.iter().any(|&d| d != v) {
                        let a = self.mk(
                            format!("the assignment to `{}` at {at}", short(name)),
                            seed,
                            deps,
                        );
                        self.g[v as usize].deps.push(a);
                    }
                }
            }
            Node::Barrier => {
                if let Some(node) = cur {
                    let place = self.here();
                    self.checks.push(Check {
                        node,
                        what: "barrier",
                        place,
                    });
                }
            }
            Node::Return | Node::Break | Node::Continue => {
                let Some(c) = cur else { return (None, None) };
                let label = format!(
                    "the `{}` at {}",
                    if matches!(n, Node::Return) {
                        "return"
                    } else {
                        "break/continue"
                    },
                    self.here()
                );
                let j = self.mk(label, None, vec![c]);
                return if matches!(n, Node::Return) {
                    (Some(j), None)
                } else {
                    (None, Some(j))
                };
            }
            Node::If {
                cond,
                then,
                otherwise,
            } => {
                let label = format!("the condition of the `if` at {}", self.here());
                let inner = self.ctx_with(cur, None, &[cond], || label);
                let (r1, b1) = self.block("then", then, inner);
                let (r2, b2) = self.block("else", otherwise, inner);
                let r = self.join(r1.into_iter().chain(r2).collect());
                let b = self.join(b1.into_iter().chain(b2).collect());
                return (r, b);
            }
            Node::For {
                var,
                start,
                end,
                step,
                body,
            } => {
                let at = self.here();
                let exits = self.mk(
                    format!("the early exits of the loop at {at}"),
                    None,
                    Vec::new(),
                );
                let label =
                    || format!("the body of the `for` at {at} (its bounds and early exits)");
                let inner = self.ctx_with(cur, Some(exits), &[start, end, step], label);
                self.undo.push(Vec::new());
                let v = self.mk(
                    format!("loop variable `{}` (for at {at})", short(var)),
                    None,
                    inner.into_iter().collect(),
                );
                self.declare(var, v);
                let (r, b) = self.block("body", body, inner);
                for (name, old) in self.undo.pop().unwrap_or_default() {
                    match old {
                        Some(o) => self.scope.insert(name, o),
                        None => self.scope.remove(name),
                    };
                }
                self.g[exits as usize].deps.extend(r.into_iter().chain(b));
                return (r, None);
            }
            Node::Loop { body } => {
                let at = self.here();
                let exits = self.mk(
                    format!("the early exits of the loop at {at}"),
                    None,
                    Vec::new(),
                );
                let inner = self.ctx_with(cur, Some(exits), &[], || {
                    format!("the body of the loop at {at}")
                });
                let (r, b) = self.block("body", body, inner);
                self.g[exits as usize].deps.extend(r.into_iter().chain(b));
                return (r, None);
            }
            Node::Block(body) => return self.block("block", body, cur),
            Node::Store { .. } | Node::Eval(_) => {}
        }
        (None, None)
    }
}
