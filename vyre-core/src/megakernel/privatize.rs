//! Workgroup-private accumulators: a fused payload's accumulator atomics run
//! on a copy of its accumulator words in workgroup memory instead of on the
//! results buffer.
//!
//! All lanes of a workgroup run one slot at a time, and a slot's result
//! region belongs to that slot alone (the claim protocol and the region
//! guards see to both). So the embedding may, for the duration of the slot:
//! copy the accumulator words from the results buffer into workgroup memory,
//! barrier, run the body with every accumulator access redirected to that
//! copy, barrier, and store the copy back. Every load, atomic and returned
//! old value is the one the body would have seen on the results buffer, but
//! the atomics are workgroup-memory atomics: a 256-bin histogram stops
//! contending for the same global words (measured in BENCHMARKS.md).
//!
//! When the body only ever adds to its accumulators and discards the old
//! values (a histogram), the copy is replicated: lane `id` adds to replica
//! `id % replicas`, replica 0 starts from the results buffer and the others
//! from 0, and the words stored back are the replicas' sums, which equal the
//! sum of every add (wrapping, like the adds themselves). Fewer lanes share a
//! word, so fewer atomics collide.
//!
//! Applies to payloads with lanes whose accumulators all have declared
//! lengths, at least one of more than one word, and [`MAX_PRIVATE_WORDS`] in
//! all. The barriers sit at the top level of the payload's opcode branch,
//! whose condition is workgroup-uniform (the opcode is handed out through
//! workgroup memory), so the uniformity rules hold. An access through a
//! private accumulator parameter is confined to the accumulator words (the
//! macro's bounds-checked accesses always are).

use crate::ir::payload::{param_var, OUT_OF_RANGE};
use crate::ir::{AtomicOp, Expr, Node, ParamKind, Payload};

use super::embed::RESULTS;

/// Workgroup buffer holding the running slot's private accumulator words.
pub const LOCAL_ACC: &str = "acc_local";

/// Most accumulator words a payload may have to be privatized.
pub const MAX_PRIVATE_WORDS: u32 = 1024;

/// Most workgroup-memory words the replicas of a payload may take (8 KiB).
pub const MAX_REPLICA_WORDS: u32 = 2048;

/// Most replicas of an add-only accumulator region.
pub const MAX_REPLICAS: u32 = 8;

/// How a payload's accumulators are privatized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Each private accumulator: parameter name, first word in the slot's
    /// result region, length.
    pub accs: Vec<(String, u32, u32)>,
    /// Words of one copy: from the region's start to the end of the last
    /// accumulator.
    pub words: u32,
    /// Copies (1 unless the body only adds and discards the old values).
    pub replicas: u32,
}

impl Plan {
    /// Workgroup-memory words the plan needs.
    pub fn local_words(&self) -> u32 {
        self.words * self.replicas
    }
}

/// How `p`'s accumulators are privatized, or `None` when `p` does not
/// qualify (see the module docs).
pub fn plan(p: &Payload) -> Option<Plan> {
    if p.params_of(ParamKind::Lanes).count() == 0 {
        return None;
    }
    let mut used = 0u32;
    let mut accs = Vec::new();
    for q in &p.params {
        match (q.kind, q.len) {
            (ParamKind::Output, Some(n)) => used = used.saturating_add(n),
            (ParamKind::Accumulator, Some(n)) => {
                accs.push((q.name.clone(), used, n));
                used = used.saturating_add(n);
            }
            (ParamKind::Output | ParamKind::Accumulator, None) => return None,
            _ => {}
        }
    }
    let total: u32 = accs.iter().map(|a| a.2).sum();
    if total > MAX_PRIVATE_WORDS || !accs.iter().any(|a| a.2 > 1) {
        return None;
    }
    let words = accs.iter().map(|(_, at, n)| at + n).max().unwrap_or(0);
    let add_only = accs.iter().all(|(name, _, _)| adds_only(&p.body, name));
    let replicas = if add_only {
        (MAX_REPLICA_WORDS / words.max(1)).clamp(1, MAX_REPLICAS)
    } else {
        1
    };
    Some(Plan {
        accs,
        words,
        replicas,
    })
}

/// True when every access to buffer `acc` in `nodes` is an atomic add whose
/// old value is discarded (`Node::Eval`).
fn adds_only(nodes: &[Node], acc: &str) -> bool {
    nodes.iter().all(|n| match n {
        Node::Eval(Expr::Atomic {
            op: AtomicOp::Add,
            buffer,
            index,
            value,
            expected: None,
        }) if buffer == acc => untouched(index, acc) && untouched(value, acc),
        Node::Eval(e) | Node::Let { value: e, .. } | Node::Assign { value: e, .. } => {
            untouched(e, acc)
        }
        Node::Store {
            buffer,
            index,
            value,
        } => buffer != acc && untouched(index, acc) && untouched(value, acc),
        Node::If {
            cond,
            then,
            otherwise,
        } => untouched(cond, acc) && adds_only(then, acc) && adds_only(otherwise, acc),
        Node::For {
            start,
            end,
            step,
            body,
            ..
        } => {
            untouched(start, acc)
                && untouched(end, acc)
                && untouched(step, acc)
                && adds_only(body, acc)
        }
        Node::Loop { body } | Node::Block(body) => adds_only(body, acc),
        Node::Break | Node::Continue | Node::Barrier | Node::Return => true,
    })
}

/// True when `e` does not read or modify buffer `acc`.
fn untouched(e: &Expr, acc: &str) -> bool {
    match e {
        Expr::Lit(_) | Expr::Var(_) | Expr::Builtin(_) | Expr::Len(_) => true,
        Expr::Load { buffer, index } | Expr::UniformLoad { buffer, index } => {
            buffer != acc && untouched(index, acc)
        }
        Expr::Atomic {
            buffer,
            index,
            value,
            expected,
            ..
        } => {
            buffer != acc
                && untouched(index, acc)
                && untouched(value, acc)
                && expected.as_deref().is_none_or(|x| untouched(x, acc))
        }
        Expr::Unary { arg, .. } | Expr::Cast { arg, .. } | Expr::Bitcast { arg, .. } => {
            untouched(arg, acc)
        }
        Expr::Binary { lhs, rhs, .. } => untouched(lhs, acc) && untouched(rhs, acc),
        Expr::Select {
            cond,
            on_true,
            on_false,
        } => untouched(cond, acc) && untouched(on_true, acc) && untouched(on_false, acc),
    }
}

/// `index` (an absolute results index, already confined to the slot region
/// `[lo, lo + n)` or [`OUT_OF_RANGE`]) as an index into [`LOCAL_ACC`]: the
/// same word of the lane's replica.
pub fn local_index(plan: &Plan, index: Expr, lo: &str, n: &str) -> Expr {
    let rel = Expr::sub(index, Expr::var(lo));
    let inside = Expr::lt(rel.clone(), Expr::min(Expr::var(n), Expr::u32(plan.words)));
    let at = if plan.replicas > 1 {
        let replica = Expr::rem(Expr::local_id(), Expr::u32(plan.replicas));
        Expr::add(rel, Expr::mul(replica, Expr::u32(plan.words)))
    } else {
        rel
    };
    Expr::select(inside, at, Expr::u32(OUT_OF_RANGE))
}

/// Lanes copy, for every private accumulator, the words that fit the slot's
/// region (`out_off`, `out_len` variables) between the results buffer and
/// [`LOCAL_ACC`]: in (`to_local`: replica 0 from the results, the others
/// zeroed) before the body; back (the replicas' sum) after it.
fn copy(plan: &Plan, prefix: &str, (out_off, out_len): (&str, &str), to_local: bool) -> Vec<Node> {
    let mut nodes = Vec::new();
    for (name, at, n) in &plan.accs {
        let k = format!("{prefix}{}", param_var(name, "k"));
        // Words of this accumulator inside the region: min(n, len - at).
        let avail = Expr::min(
            Expr::u32(*n),
            Expr::sub(
                Expr::var(out_len),
                Expr::min(Expr::u32(*at), Expr::var(out_len)),
            ),
        );
        let local = |replica: u32| Expr::add(Expr::u32(replica * plan.words + at), Expr::var(&k));
        let global = Expr::add(Expr::var(out_off), Expr::add(Expr::u32(*at), Expr::var(&k)));
        let body = if to_local {
            (0..plan.replicas)
                .map(|r| {
                    let value = if r == 0 {
                        Expr::load(RESULTS, global.clone())
                    } else {
                        Expr::u32(0)
                    };
                    Node::eval(Expr::atomic_store(LOCAL_ACC, local(r), value))
                })
                .collect()
        } else {
            let sum = (1..plan.replicas).fold(Expr::load(LOCAL_ACC, local(0)), |s, r| {
                Expr::add(s, Expr::load(LOCAL_ACC, local(r)))
            });
            vec![Node::eval(Expr::atomic_store(RESULTS, global, sum))]
        };
        nodes.push(Node::for_step(
            &k,
            Expr::local_id(),
            avail,
            Expr::workgroup_size(),
            body,
        ));
    }
    nodes
}

/// Wraps an embedded payload body: copy in, barrier, `body`, barrier, copy
/// back. `prefix` keeps the copy loops' variables apart from the body's.
pub fn wrap(plan: &Plan, prefix: &str, region: (&str, &str), body: Vec<Node>) -> Vec<Node> {
    let mut out = copy(plan, prefix, region, true);
    out.push(Node::Barrier);
    out.extend(body);
    out.push(Node::Barrier);
    out.extend(copy(plan, prefix, region, false));
    out
}
