//! The resumable per-invocation interpreter and the dispatch loop.
//!
//! Each invocation owns its variable slots and an explicit control stack of
//! frames (a statement list, the index of the next statement, and whether
//! the list is a plain block, a `loop` body or a `for` body). Running an
//! invocation stops at a barrier or at its end, so a workgroup runs in
//! phases: invocation 0 up to its next barrier (or its end), then 1, ...,
//! then every waiting invocation past that barrier, and so on. Statement
//! execution never recurses, so statement nesting cannot overflow the stack.

use super::eval::{atomic, eval, load, Env, Ids};
use super::form::{CNode, Compiled};

/// The step budget ran out.
pub(crate) struct BudgetExceeded;

/// Why an invocation stopped running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Barrier,
    Done,
}

#[derive(Clone, Copy)]
enum Kind {
    Block,
    Loop,
    For { slot: u32, end: u32, step: u32 },
}

struct Frame<'a> {
    nodes: &'a [CNode],
    pc: usize,
    kind: Kind,
}

/// One invocation's state.
struct Inv<'a> {
    slots: Vec<u32>,
    stack: Vec<Frame<'a>>,
    ids: Ids,
    /// The invocation is inside a `uniform_load` (past its first barrier).
    in_uniform_load: bool,
    done: bool,
}

/// Step counter shared by the whole dispatch.
struct Budget {
    used: u64,
    limit: u64,
}

impl Budget {
    #[inline]
    fn tick(&mut self) -> Result<(), BudgetExceeded> {
        self.used += 1;
        if self.used > self.limit {
            Err(BudgetExceeded)
        } else {
            Ok(())
        }
    }
}

impl<'a> Inv<'a> {
    fn new(n_slots: usize) -> Self {
        Inv {
            slots: vec![0; n_slots],
            stack: Vec::new(),
            ids: Ids::default(),
            in_uniform_load: false,
            done: false,
        }
    }

    fn start(&mut self, body: &'a [CNode], ids: Ids) {
        self.stack.clear();
        self.stack.push(Frame {
            nodes: body,
            pc: 0,
            kind: Kind::Block,
        });
        self.ids = ids;
        self.in_uniform_load = false;
        self.done = false;
    }

    /// Runs until the next barrier or the end of the invocation.
    fn run(
        &mut self,
        mem: &mut [Vec<u32>],
        budget: &mut Budget,
        scratch: &mut Vec<u32>,
    ) -> Result<Stop, BudgetExceeded> {
        let Inv {
            slots,
            stack,
            ids,
            in_uniform_load,
            ..
        } = self;
        loop {
            let Some(top) = stack.last_mut() else {
                return Ok(Stop::Done);
            };
            let nodes: &'a [CNode] = top.nodes;
            let pc = top.pc;
            let Some(node) = nodes.get(pc) else {
                // End of a statement list.
                match top.kind {
                    Kind::Block => {
                        stack.pop();
                    }
                    Kind::Loop => {
                        budget.tick()?;
                        top.pc = 0;
                    }
                    Kind::For { slot, end, step } => {
                        budget.tick()?;
                        let v = slots.get(slot as usize).copied().unwrap_or(u32::MAX);
                        match v.checked_add(step) {
                            Some(next) if next < end => {
                                if let Some(s) = slots.get_mut(slot as usize) {
                                    *s = next;
                                }
                                top.pc = 0;
                            }
                            _ => {
                                stack.pop();
                            }
                        }
                    }
                }
                continue;
            };
            top.pc += 1;
            budget.tick()?;
            match node {
                CNode::Set { slot, value } => {
                    let v = eval(value, &Env { slots, mem, ids }, scratch);
                    set(slots, *slot, v);
                }
                CNode::Atomic { slot, atomic: a } => {
                    let e = Env { slots, mem, ids };
                    let index = eval(&a.index, &e, scratch);
                    let value = eval(&a.value, &e, scratch);
                    let expected = eval(&a.expected, &e, scratch);
                    let old = mem
                        .get_mut(a.buf as usize)
                        .and_then(|b| b.get_mut(index as usize))
                        .map_or(0, |cell| atomic(a.op, cell, value, expected));
                    if let Some(slot) = slot {
                        set(slots, *slot, old);
                    }
                }
                CNode::UniformLoad { slot, buf, index } => {
                    if *in_uniform_load {
                        // Past the first barrier: load, then the second barrier
                        // (every invocation loads before any may write again).
                        *in_uniform_load = false;
                        let i = eval(index, &Env { slots, mem, ids }, scratch);
                        let v = load(mem, *buf, i);
                        set(slots, *slot, v);
                    } else {
                        // First barrier: come back to this statement afterwards.
                        *in_uniform_load = true;
                        if let Some(t) = stack.last_mut() {
                            t.pc = pc;
                        }
                    }
                    return Ok(Stop::Barrier);
                }
                CNode::Store { buf, index, value } => {
                    let e = Env { slots, mem, ids };
                    let i = eval(index, &e, scratch);
                    let v = eval(value, &e, scratch);
                    if let Some(cell) = mem
                        .get_mut(*buf as usize)
                        .and_then(|b| b.get_mut(i as usize))
                    {
                        *cell = v;
                    }
                }
                CNode::Nop => {}
                CNode::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    let body = if eval(cond, &Env { slots, mem, ids }, scratch) != 0 {
                        then
                    } else {
                        otherwise
                    };
                    if !body.is_empty() {
                        stack.push(Frame {
                            nodes: body,
                            pc: 0,
                            kind: Kind::Block,
                        });
                    }
                }
                CNode::For {
                    slot,
                    start,
                    end,
                    step,
                    body,
                } => {
                    let e = Env { slots, mem, ids };
                    let s = eval(start, &e, scratch);
                    let end = eval(end, &e, scratch);
                    let step = eval(step, &e, scratch).max(1);
                    if s < end {
                        set(slots, *slot, s);
                        stack.push(Frame {
                            nodes: body,
                            pc: 0,
                            kind: Kind::For {
                                slot: *slot,
                                end,
                                step,
                            },
                        });
                    }
                }
                CNode::Loop { body } => stack.push(Frame {
                    nodes: body,
                    pc: 0,
                    kind: Kind::Loop,
                }),
                CNode::Break => {
                    while let Some(f) = stack.pop() {
                        if !matches!(f.kind, Kind::Block) {
                            break;
                        }
                    }
                }
                CNode::Continue => {
                    while stack.last().is_some_and(|f| matches!(f.kind, Kind::Block)) {
                        stack.pop();
                    }
                    // Jump to the end of the loop body: the end-of-list step
                    // advances a `for` counter or restarts a `loop`.
                    if let Some(f) = stack.last_mut() {
                        f.pc = f.nodes.len();
                    }
                }
                CNode::Block(body) => stack.push(Frame {
                    nodes: body,
                    pc: 0,
                    kind: Kind::Block,
                }),
                CNode::Barrier => return Ok(Stop::Barrier),
                CNode::Return => {
                    stack.clear();
                    return Ok(Stop::Done);
                }
            }
        }
    }
}

#[inline]
fn set(slots: &mut [u32], slot: u32, v: u32) {
    if let Some(s) = slots.get_mut(slot as usize) {
        *s = v;
    }
}

/// Runs `workgroups` workgroups of `prog` over `mem` (host buffers first,
/// then one vector per workgroup buffer, which is zeroed per workgroup).
pub(crate) fn dispatch(
    prog: &Compiled,
    workgroup_size: u32,
    mem: &mut [Vec<u32>],
    workgroups: u32,
    step_budget: u64,
) -> Result<(), BudgetExceeded> {
    let mut budget = Budget {
        used: 0,
        limit: step_budget,
    };
    let lanes = if prog.has_barrier {
        workgroup_size as usize
    } else {
        1
    };
    // Scratch value stack for expression evaluation.
    let mut scratch = Vec::with_capacity(64);
    let mut invs: Vec<Inv<'_>> = (0..lanes).map(|_| Inv::new(prog.n_slots)).collect();
    for wg in 0..workgroups {
        for buf in mem
            .iter_mut()
            .skip(prog.n_host)
            .take(prog.workgroup_lens.len())
        {
            buf.fill(0);
        }
        let ids = |local: u32| Ids {
            global: wg.wrapping_mul(workgroup_size).wrapping_add(local),
            local,
            workgroup: wg,
            num_workgroups: workgroups,
            workgroup_size,
        };
        if prog.has_barrier {
            for (local, inv) in invs.iter_mut().enumerate() {
                budget.tick()?;
                inv.start(&prog.body, ids(local as u32));
            }
            loop {
                let mut waiting = false;
                for inv in invs.iter_mut().filter(|i| !i.done) {
                    match inv.run(mem, &mut budget, &mut scratch)? {
                        Stop::Barrier => waiting = true,
                        Stop::Done => inv.done = true,
                    }
                }
                if !waiting {
                    break;
                }
            }
        } else {
            for local in 0..workgroup_size {
                budget.tick()?;
                if let Some(inv) = invs.first_mut() {
                    inv.start(&prog.body, ids(local));
                    // No barrier in the program: runs to its end.
                    inv.run(mem, &mut budget, &mut scratch)?;
                }
            }
        }
    }
    Ok(())
}
