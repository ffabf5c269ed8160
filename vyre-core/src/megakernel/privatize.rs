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
//! Applies to payloads with lanes whose accumulators all have declared
//! lengths, at least one of more than one word, and [`MAX_PRIVATE_WORDS`] in
//! all. The barriers sit at the top level of the payload's opcode branch,
//! whose condition is workgroup-uniform (the opcode is handed out through
//! workgroup memory), so the uniformity rules hold. The accumulators must be
//! consecutive in the result region (no output declared between two of
//! them); workgroup memory holds exactly their words, and an access through a
//! private accumulator parameter is confined to them (the macro's
//! bounds-checked accesses always are; a hand-built body that indexes past
//! them has its access dropped instead of reaching the slot's other result
//! words).

use crate::ir::payload::{param_var, OUT_OF_RANGE};
use crate::ir::{Expr, Node, ParamKind, Payload};

use super::abi::RESULTS;

/// Workgroup buffer holding the running slot's private accumulator words.
pub const LOCAL_ACC: &str = "acc_local";

/// Most accumulator words a payload may have to be privatized.
pub const MAX_PRIVATE_WORDS: u32 = 1024;

/// The accumulator parameters of `p` to privatize, each with its first word
/// in the slot's result region and its length; empty when `p` does not
/// qualify (see the module docs). They are consecutive in the region: an
/// output declared between two accumulators disqualifies the payload.
pub fn private_accumulators(p: &Payload) -> Vec<(String, u32, u32)> {
    if p.params_of(ParamKind::Lanes).count() == 0 {
        return Vec::new();
    }
    let mut used = 0u64;
    let mut out = Vec::new();
    let mut output_after_acc = false;
    for q in &p.params {
        match (q.kind, q.len) {
            (ParamKind::Output, Some(n)) => {
                output_after_acc |= !out.is_empty() && n > 0;
                used += u64::from(n);
            }
            (ParamKind::Accumulator, Some(n)) => {
                if output_after_acc {
                    return Vec::new();
                }
                let Ok(at) = u32::try_from(used) else {
                    return Vec::new();
                };
                out.push((q.name.clone(), at, n));
                used += u64::from(n);
            }
            (ParamKind::Output | ParamKind::Accumulator, None) => return Vec::new(),
            _ => {}
        }
    }
    let words: u64 = out.iter().map(|a| u64::from(a.2)).sum();
    if words > u64::from(MAX_PRIVATE_WORDS) || !out.iter().any(|a| a.2 > 1) {
        return Vec::new();
    }
    out
}

/// Words of workgroup memory the private accumulators of `p` need: their
/// total length (they are consecutive).
pub fn private_words(p: &Payload) -> u32 {
    span(&private_accumulators(p)).1
}

/// Where private accumulators `accs` lie in the slot's result region: their
/// first word and their total length (they are consecutive).
pub fn span(accs: &[(String, u32, u32)]) -> (u32, u32) {
    (
        accs.first().map_or(0, |a| a.1),
        accs.iter().map(|a| a.2).sum(),
    )
}

/// `index` (an absolute results index, already confined to the slot region
/// `[lo, lo + n)` or [`OUT_OF_RANGE`]) as an index into [`LOCAL_ACC`]: word
/// `index - lo - base`, or [`OUT_OF_RANGE`] outside the `words` private
/// words that start at region word `base`.
pub fn local_index(index: Expr, lo: &str, n: &str, (base, words): (u32, u32)) -> Expr {
    let rel = Expr::sub(index, Expr::var(lo));
    let local = Expr::sub(rel.clone(), Expr::u32(base));
    Expr::select(
        Expr::and(
            Expr::lt(rel, Expr::var(n)),
            Expr::lt(local.clone(), Expr::u32(words)),
        ),
        local,
        Expr::u32(OUT_OF_RANGE),
    )
}

/// Lanes copy, for every private accumulator, the words that fit the slot's
/// region (`out_off`, `out_len` variables) between the results buffer and
/// [`LOCAL_ACC`]: in (`to_local`) before the body, back after it.
fn copy(
    accs: &[(String, u32, u32)],
    prefix: &str,
    (out_off, out_len): (&str, &str),
    to_local: bool,
) -> Vec<Node> {
    let mut nodes = Vec::new();
    let base = span(accs).0;
    for (name, at, n) in accs {
        let k = format!("{prefix}{}", param_var(name, "k"));
        // Words of this accumulator inside the region: min(n, len - at).
        let avail = Expr::min(
            Expr::u32(*n),
            Expr::sub(
                Expr::var(out_len),
                Expr::min(Expr::u32(*at), Expr::var(out_len)),
            ),
        );
        let local = Expr::add(Expr::u32(at - base), Expr::var(&k));
        let global = Expr::add(Expr::var(out_off), Expr::add(Expr::u32(*at), Expr::var(&k)));
        let body = if to_local {
            Node::eval(Expr::atomic_store(
                LOCAL_ACC,
                local,
                Expr::load(RESULTS, global),
            ))
        } else {
            Node::eval(Expr::atomic_store(
                RESULTS,
                global,
                Expr::load(LOCAL_ACC, local),
            ))
        };
        nodes.push(Node::for_step(
            &k,
            Expr::local_id(),
            avail,
            Expr::workgroup_size(),
            vec![body],
        ));
    }
    nodes
}

/// Wraps an embedded payload body: copy in, barrier, `body`, barrier, copy
/// back. `prefix` keeps the copy loops' variables apart from the body's.
pub fn wrap(
    accs: &[(String, u32, u32)],
    prefix: &str,
    region: (&str, &str),
    body: Vec<Node>,
) -> Vec<Node> {
    let mut out = copy(accs, prefix, region, true);
    out.push(Node::Barrier);
    out.extend(body);
    out.push(Node::Barrier);
    out.extend(copy(accs, prefix, region, false));
    out
}
