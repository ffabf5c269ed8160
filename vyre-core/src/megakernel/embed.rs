//! Embedding a payload body into the megakernel: renaming, parameter binding
//! and early-return rewriting.

use crate::error::{Error, Result};
use crate::ir::payload::OUT_OF_RANGE;
use crate::ir::{Expr, Node, ParamKind, Payload};

use super::abi::{Source, Value};
use super::privatize::{self, LOCAL_ACC};
use super::protocol::*;

pub use super::abi::{result_words, ARENA, CONTROL, DEBUG, IO, RESULTS, RING};

/// Checks that a payload can be embedded (one byte input at most, scalar count,
/// only the last output may have no declared length).
pub fn check_embeddable(p: &Payload) -> Result<()> {
    let bytes = p.params_of(ParamKind::Bytes).count();
    if bytes > 1 {
        return Err(Error::bad_input(
            format!(
                "payload `{}` takes {bytes} byte slices; a megakernel slot carries one",
                p.name
            ),
            "give the payload a single `&[u8]` parameter",
        ));
    }
    let scalars = p.params_of(ParamKind::Scalar).count() as u32;
    if scalars > SLOT_ARG_COUNT {
        return Err(Error::bad_input(format!("payload `{}` takes {scalars} u32 arguments; a slot carries at most {SLOT_ARG_COUNT}", p.name), "pass the rest through the input bytes"));
    }
    let outs: Vec<_> = p
        .params
        .iter()
        .filter(|q| matches!(q.kind, ParamKind::Output | ParamKind::Accumulator))
        .collect();
    for q in outs.iter().rev().skip(1) {
        if q.len.is_none() {
            return Err(Error::bad_input(
                format!(
                    "output `{}` of payload `{}` has no declared length and is not the last output",
                    q.name, p.name
                ),
                "add `#[vyre(len = N)]` to it",
            ));
        }
    }
    if let Some(q) = p.params_of(ParamKind::Words).next() {
        return Err(Error::bad_input(
            format!(
                "payload `{}` takes word input `{}`; only combine functions (`#[vyre::combine]`) read words",
                p.name, q.name
            ),
            "take the chunk's bytes as `&[u8]` (read words with `data.word(w)`)",
        ));
    }
    super::abi::check_fold(p)
}

/// The statements that run payload `p` on the slot whose first word is the
/// variable `base`, with all of the payload's variables prefixed by `prefix`.
/// `tables` places the payload's tables in the kernel's table buffer
/// ([`super::tables`]).
pub fn embed(
    p: &Payload,
    prefix: &str,
    base: &str,
    tables: &super::tables::Placement,
) -> Result<Vec<Node>> {
    check_embeddable(p)?;
    let field = |w: u32| Expr::load(RING, Expr::add(Expr::var(base), Expr::u32(w)));
    let v = |n: &str| format!("{prefix}{n}");
    let mut out = Vec::new();
    // The slot's result region (the ABI's result offsets and lengths use it).
    let out_off = v("slot__out_off");
    let out_len = v("slot__out_len");
    out.push(Node::let_bind(&out_off, field(SLOT_OUT_OFF)));
    out.push(Node::let_bind(&out_len, field(SLOT_OUT_LEN)));
    // The slot's regions, for the guards the renamer puts on every access.
    // The names do not start with `prefix`, so the body cannot reach them.
    let guards = Guards {
        results: (
            format!("{base}_{prefix}res_lo"),
            format!("{base}_{prefix}res_n"),
        ),
        arena: (
            format!("{base}_{prefix}arena_lo"),
            format!("{base}_{prefix}arena_n"),
        ),
    };
    out.push(Node::let_bind(&guards.results.0, field(SLOT_OUT_OFF)));
    out.push(Node::let_bind(&guards.results.1, field(SLOT_OUT_LEN)));
    out.push(Node::let_bind(&guards.arena.0, field(SLOT_DATA_OFF)));
    out.push(Node::let_bind(
        &guards.arena.1,
        Expr::shr(Expr::add(field(SLOT_DATA_LEN), Expr::u32(3)), Expr::u32(2)),
    ));
    // The slot ABI's bindings (super::abi), lowered to IR.
    for b in super::abi::bindings(p) {
        let value = match b.value {
            Value::Word(Source::Slot(w)) => field(w),
            Value::Word(Source::Control(w)) => Expr::load(CONTROL, Expr::u32(w)),
            Value::Word(Source::SlotIndex) => Expr::div(Expr::var(base), Expr::u32(SLOT_WORDS)),
            Value::Word(Source::Builtin(b)) => Expr::Builtin(b),
            Value::DataByteOffset => Expr::shl(field(SLOT_DATA_OFF), Expr::u32(2)),
            Value::ResultOffset { before } => Expr::add(Expr::var(&out_off), Expr::u32(before)),
            Value::ResultLen { before, declared } => {
                let avail = Expr::sub(
                    Expr::var(&out_len),
                    Expr::min(Expr::u32(before), Expr::var(&out_len)),
                );
                match declared {
                    Some(n) => Expr::min(Expr::u32(n), avail),
                    None => avail,
                }
            }
        };
        out.push(Node::let_bind(&v(&b.var), value));
    }
    let buffer_map = |name: &str| -> Option<&'static str> {
        let q = p.params.iter().find(|q| q.name == name)?;
        match q.kind {
            ParamKind::Bytes => Some(ARENA),
            ParamKind::Output | ParamKind::Accumulator => Some(RESULTS),
            ParamKind::IoQueue => Some(IO),
            ParamKind::Debug => Some(DEBUG),
            _ => None,
        }
    };
    let private = privatize::private_accumulators(p);
    let mut renamer = Renamer {
        prefix,
        map: &buffer_map,
        payload: &p.name,
        error: None,
        private: private.iter().map(|a| a.0.clone()).collect(),
        private_span: privatize::span(&private),
        guards,
        tables,
    };
    let body: Vec<Node> = p.body.iter().map(|n| renamer.node(n)).collect();
    if let Some(e) = renamer.error {
        return Err(e);
    }
    // Iteration budget: every loop iteration of the payload counts; past the
    // budget (control word CTRL_ITER_BUDGET) the lane leaves the payload as if
    // it returned and the slot ends FAULT(FAULT_BUDGET).
    let iters = v("iter__count");
    let budget = v("iter__budget");
    let over = v("iter__over");
    let body = count_iterations(body, &iters, &budget, &over);
    out.push(Node::let_bind(&iters, Expr::u32(0)));
    out.push(Node::let_bind(
        &budget,
        Expr::load(CONTROL, Expr::u32(CTRL_ITER_BUDGET)),
    ));
    out.push(Node::let_bind(&over, Expr::bool(false)));
    let ret = v("ret__flag");
    let (body, _) = rewrite_returns(body, 0, &ret);
    out.push(Node::let_bind(&ret, Expr::bool(false)));
    let mut frame = body;
    frame.push(Node::Break);
    let framed = Node::loop_(frame);
    let report = Node::if_then(
        Expr::var(&over),
        vec![Node::store(
            RING,
            Expr::add(Expr::var(base), Expr::u32(SLOT_FAULT_REASON)),
            Expr::u32(FAULT_BUDGET),
        )],
    );
    let run = if p.params_of(ParamKind::Lanes).count() == 0 {
        // A payload without `Lanes` is single-lane: lane 0 runs it.
        vec![Node::if_then(
            Expr::eq(Expr::local_id(), Expr::u32(0)),
            vec![framed, report],
        )]
    } else {
        vec![framed, report]
    };
    if private.is_empty() {
        out.extend(run);
    } else {
        out.extend(privatize::wrap(&private, prefix, (&out_off, &out_len), run));
    }
    Ok(vec![Node::block(out)])
}

/// `index` if it lies in the slot region `[lo, lo + n)` (variables `lo`,
/// `n`), else [`OUT_OF_RANGE`]: the guard that keeps a payload — embedded or
/// interpreted — inside its own slot's bytes and results.
pub(crate) fn confine(index: Expr, lo: &str, n: &str) -> Expr {
    let inside = Expr::lt(Expr::sub(index.clone(), Expr::var(lo)), Expr::var(n));
    Expr::select(inside, index, Expr::u32(OUT_OF_RANGE))
}

/// Variables holding the slot's result region (word offset, words) and its
/// arena words (word offset, words).
struct Guards {
    results: (String, String),
    arena: (String, String),
}

struct Renamer<'a> {
    prefix: &'a str,
    map: &'a dyn Fn(&str) -> Option<&'static str>,
    payload: &'a str,
    error: Option<Error>,
    /// Accumulator parameters whose accesses go to [`LOCAL_ACC`].
    private: Vec<String>,
    /// Where those parameters' words start in the slot region, and how many.
    private_span: (u32, u32),
    guards: Guards,
    /// The payload's tables in the kernel's table buffer.
    tables: &'a super::tables::Placement,
}

impl Renamer<'_> {
    fn var(&self, n: &str) -> String {
        format!("{}{n}", self.prefix)
    }

    /// The renamed `index` into `buffer` (already mapped), confined to the
    /// slot's region: an index outside it becomes [`OUT_OF_RANGE`], so even a
    /// body that computes absolute indices itself (instead of through the
    /// bounds-checked helpers of [`crate::ir::payload`]) cannot read or write
    /// another slot's bytes or results.
    fn index(&mut self, buffer: &str, index: &Expr) -> Box<Expr> {
        let index = self.expr(index);
        let (lo, n) = match buffer {
            RESULTS => &self.guards.results,
            ARENA => &self.guards.arena,
            _ => return Box::new(index),
        };
        Box::new(confine(index, lo, n))
    }

    /// The buffer and guarded index an access to parameter `param` at
    /// `index` becomes: its mapped buffer with the index confined to the
    /// slot's region, or for a private accumulator the same word of
    /// [`LOCAL_ACC`].
    fn target(&mut self, param: &str, index: &Expr) -> (String, Box<Expr>) {
        let buffer = self.buf(param);
        let guarded = self.index(&buffer, index);
        if self.private.iter().any(|q| q == param) {
            let (lo, n) = &self.guards.results;
            let local = privatize::local_index(*guarded, lo, n, self.private_span);
            return (LOCAL_ACC.to_string(), Box::new(local));
        }
        (buffer, guarded)
    }

    fn buf(&mut self, n: &str) -> String {
        match (self.map)(n) {
            Some(b) => b.to_string(),
            None => {
                if self.error.is_none() {
                    self.error = Some(Error::bad_input(format!("payload `{}` uses buffer `{n}`, which is not one of its byte/output/accumulator parameters", self.payload), "access data only through the payload's parameters"));
                }
                n.to_string()
            }
        }
    }

    fn nodes(&mut self, ns: &[Node]) -> Vec<Node> {
        ns.iter().map(|n| self.node(n)).collect()
    }

    fn node(&mut self, n: &Node) -> Node {
        match n {
            Node::Let { name, value } => Node::Let {
                name: self.var(name),
                value: self.expr(value),
            },
            Node::Assign { name, value } => Node::Assign {
                name: self.var(name),
                value: self.expr(value),
            },
            Node::Store {
                buffer,
                index,
                value,
            } => {
                let (buffer, index) = self.target(buffer, index);
                Node::Store {
                    index: *index,
                    buffer,
                    value: self.expr(value),
                }
            }
            Node::Eval(e) => Node::Eval(self.expr(e)),
            Node::If {
                cond,
                then,
                otherwise,
            } => Node::If {
                cond: self.expr(cond),
                then: self.nodes(then),
                otherwise: self.nodes(otherwise),
            },
            Node::For {
                var,
                start,
                end,
                step,
                body,
            } => Node::For {
                var: self.var(var),
                start: self.expr(start),
                end: self.expr(end),
                step: self.expr(step),
                body: self.nodes(body),
            },
            Node::Loop { body } => Node::Loop {
                body: self.nodes(body),
            },
            Node::Block(b) => Node::Block(self.nodes(b)),
            Node::Break | Node::Continue | Node::Barrier | Node::Return => n.clone(),
        }
    }

    fn expr(&mut self, e: &Expr) -> Expr {
        let b = |s: &mut Self, x: &Expr| Box::new(s.expr(x));
        match e {
            Expr::Lit(_) | Expr::Builtin(_) => e.clone(),
            Expr::Var(n) => Expr::Var(self.var(n)),
            Expr::Load { buffer, index } => match self.tables.get(buffer.as_str()) {
                Some(&placed) => Expr::Load {
                    buffer: super::tables::TABLES.to_string(),
                    index: Box::new(super::tables::index(self.expr(index), placed)),
                },
                None => {
                    let (buffer, index) = self.target(buffer, index);
                    Expr::Load { index, buffer }
                }
            },
            Expr::Len(n) => match self.tables.get(n.as_str()) {
                Some(&(_, len)) => Expr::u32(len),
                None => Expr::Len(self.buf(n)),
            },
            Expr::Unary { op, arg } => Expr::Unary {
                op: *op,
                arg: b(self, arg),
            },
            Expr::Binary { op, lhs, rhs } => Expr::Binary {
                op: *op,
                lhs: b(self, lhs),
                rhs: b(self, rhs),
            },
            Expr::Select {
                cond,
                on_true,
                on_false,
            } => Expr::Select {
                cond: b(self, cond),
                on_true: b(self, on_true),
                on_false: b(self, on_false),
            },
            Expr::Cast { to, arg } => Expr::Cast {
                to: *to,
                arg: b(self, arg),
            },
            Expr::Bitcast { to, arg } => Expr::Bitcast {
                to: *to,
                arg: b(self, arg),
            },
            Expr::Atomic {
                op,
                buffer,
                index,
                value,
                expected,
            } => {
                let (buffer, index) = self.target(buffer, index);
                Expr::Atomic {
                    op: *op,
                    index,
                    buffer,
                    value: b(self, value),
                    expected: expected.as_ref().map(|x| b(self, x)),
                }
            }
            Expr::UniformLoad { buffer, index } => {
                let (buffer, index) = self.target(buffer, index);
                Expr::UniformLoad { index, buffer }
            }
        }
    }
}

/// Puts a budget check at the top of every loop body: count the iteration,
/// and past the budget set `over` and return (rewritten later into leaving
/// the payload frame).
fn count_iterations(nodes: Vec<Node>, iters: &str, budget: &str, over: &str) -> Vec<Node> {
    let check = || {
        vec![
            Node::assign(iters, Expr::add(Expr::var(iters), Expr::u32(1))),
            Node::if_then(
                Expr::gt(Expr::var(iters), Expr::var(budget)),
                vec![Node::assign(over, Expr::bool(true)), Node::Return],
            ),
        ]
    };
    nodes
        .into_iter()
        .map(|n| match n {
            Node::If {
                cond,
                then,
                otherwise,
            } => Node::If {
                cond,
                then: count_iterations(then, iters, budget, over),
                otherwise: count_iterations(otherwise, iters, budget, over),
            },
            Node::Block(b) => Node::Block(count_iterations(b, iters, budget, over)),
            Node::Loop { body } => {
                let mut b = check();
                b.extend(count_iterations(body, iters, budget, over));
                Node::Loop { body: b }
            }
            Node::For {
                var,
                start,
                end,
                step,
                body,
            } => {
                let mut b = check();
                b.extend(count_iterations(body, iters, budget, over));
                Node::For {
                    var,
                    start,
                    end,
                    step,
                    body: b,
                }
            }
            other => other,
        })
        .collect()
}

/// Rewrites `Return` so it leaves the payload frame (a `loop` around the body)
/// instead of the whole invocation. `depth` counts loops inside the frame.
/// Returns the new nodes and whether any return was rewritten.
fn rewrite_returns(nodes: Vec<Node>, depth: u32, flag: &str) -> (Vec<Node>, bool) {
    let mut out = Vec::with_capacity(nodes.len());
    let mut any = false;
    for n in nodes {
        match n {
            Node::Return => {
                any = true;
                if depth > 0 {
                    out.push(Node::assign(flag, Expr::bool(true)));
                }
                out.push(Node::Break);
            }
            Node::If {
                cond,
                then,
                otherwise,
            } => {
                let (then, a) = rewrite_returns(then, depth, flag);
                let (otherwise, b) = rewrite_returns(otherwise, depth, flag);
                any |= a || b;
                out.push(Node::If {
                    cond,
                    then,
                    otherwise,
                });
            }
            Node::Block(b) => {
                let (b, a) = rewrite_returns(b, depth, flag);
                any |= a;
                out.push(Node::Block(b));
            }
            Node::Loop { body } => {
                let (body, a) = rewrite_returns(body, depth + 1, flag);
                out.push(Node::Loop { body });
                if a {
                    any = true;
                    out.push(Node::if_then(Expr::var(flag), vec![Node::Break]));
                }
            }
            Node::For {
                var,
                start,
                end,
                step,
                body,
            } => {
                let (body, a) = rewrite_returns(body, depth + 1, flag);
                out.push(Node::For {
                    var,
                    start,
                    end,
                    step,
                    body,
                });
                if a {
                    any = true;
                    out.push(Node::if_then(Expr::var(flag), vec![Node::Break]));
                }
            }
            other => out.push(other),
        }
    }
    (out, any)
}
