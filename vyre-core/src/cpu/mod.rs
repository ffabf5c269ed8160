//! The CPU reference interpreter: the oracle every other backend is checked
//! against. It follows the semantics in [`crate::ir`] bit for bit.
//!
//! # How it runs a program
//! 1. The program is validated ([`crate::validate::validate`]; problems give
//!    [`Error::Invalid`]) and the buffers are checked
//!    ([`crate::backend::check_buffers`]). Then the program is compiled into
//!    an internal form: variables become numbered slots, buffers become
//!    indices, operations are resolved by type, expressions become flat
//!    postfix code. The compiler re-checks everything the interpreter
//!    relies on (names, scopes, types, statement nesting up to 256), so even
//!    a program the validator missed gives an
//!    [`Error::BadInput`] ending in `Fix: ...`: the
//!    interpreter never panics on a program or its data, and neither
//!    compiling nor running recurses on the program's shape.
//! 2. Workgroups run one after the other, in order. Workgroup buffers are
//!    zeroed at the start of each workgroup.
//! 3. Within a workgroup, a program without barriers runs its invocations one
//!    after the other, local id 0 first. A program with a `barrier` or a
//!    `uniform_load` runs in phases: invocation 0 runs until it reaches a
//!    barrier or ends, then invocation 1, and so on; then every invocation
//!    that stopped at a barrier resumes, in the same order, until the next
//!    barrier or its end. This is deterministic. Invocations that have ended
//!    (through `return` or the end of the body) simply stop taking part:
//!    the others still wait for each other at every barrier and continue
//!    (a GPU's behaviour is undefined there; valid programs never do it).
//! 4. `uniform_load(b[i])` is a barrier, a load, and a second barrier, so
//!    every invocation loads before any invocation may store again: all of
//!    them see the same value.
//!
//! # Step budget
//! Every statement executed, every loop iteration and every invocation
//! started counts one step. A run that exceeds the budget stops with
//! [`Error::StepBudget`]; buffers then hold
//! whatever the run had written so far.
//!
//! # Unspecified corners, made deterministic
//! f32 `min`/`max` of `+0.0` and `-0.0` give `-0.0` and `+0.0`.

mod compile;
mod eval;
mod exec;
mod expr;
mod form;

use crate::backend::{check_buffers, Backend};
use crate::error::{Error, Result};
use crate::ir::Program;

/// The default step budget of [`CpuBackend::new`]: 2^32 steps per run.
pub const DEFAULT_STEP_BUDGET: u64 = 1 << 32;

/// The CPU reference backend. See the [module docs](self) for how it runs
/// programs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuBackend {
    step_budget: u64,
}

impl CpuBackend {
    /// A CPU backend with the [default step budget](DEFAULT_STEP_BUDGET).
    pub fn new() -> Self {
        CpuBackend {
            step_budget: DEFAULT_STEP_BUDGET,
        }
    }

    /// A CPU backend that stops any run taking more than `steps` steps
    /// (statements, loop iterations and invocations) with
    /// [`Error::StepBudget`].
    pub fn with_step_budget(steps: u64) -> Self {
        CpuBackend { step_budget: steps }
    }

    /// The step budget of each run.
    pub fn step_budget(&self) -> u64 {
        self.step_budget
    }
}

impl Default for CpuBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> String {
        "cpu-reference".to_string()
    }

    /// Validates `program` ([`crate::validate::validate`]; problems give
    /// [`Error::Invalid`]), checks `buffers` ([`check_buffers`]), then runs it
    /// as described in the [module docs](self).
    fn run(&self, program: &Program, buffers: &mut [Vec<u32>], workgroups: u32) -> Result<()> {
        crate::validate::validate_or_error(program)?;
        self.run_unvalidated(program, buffers, workgroups)
    }
}

impl CpuBackend {
    /// [`Backend::run`] without the validator: the interpreter's own checks
    /// (names, scopes, types, nesting) still turn anything it cannot run into
    /// [`Error::BadInput`]. Lets the unit tests reach programs the validator
    /// rejects (deep expressions, barriers after a divergent `return`).
    fn run_unvalidated(
        &self,
        program: &Program,
        buffers: &mut [Vec<u32>],
        workgroups: u32,
    ) -> Result<()> {
        check_buffers(program, buffers, workgroups)?;
        let compiled = compile::compile(program)?;

        // One memory table: host buffers (moved out of `buffers`, moved back
        // below whatever happens), then the workgroup buffers.
        let mut mem: Vec<Vec<u32>> = Vec::with_capacity(
            compiled.n_host + compiled.workgroup_lens.len() + compiled.constants.len(),
        );
        mem.extend(buffers.iter_mut().map(std::mem::take));
        mem.extend(
            compiled
                .workgroup_lens
                .iter()
                .map(|&len| vec![0u32; len as usize]),
        );
        mem.extend(compiled.constants.iter().cloned());

        let result = exec::dispatch(
            &compiled,
            program.workgroup_size,
            &mut mem,
            workgroups,
            self.step_budget,
        );

        for (dst, src) in buffers.iter_mut().zip(mem.drain(..)) {
            *dst = src;
        }
        result.map_err(|exec::BudgetExceeded| Error::StepBudget {
            program: program.name.clone(),
            budget: self.step_budget,
        })
    }
}

#[cfg(test)]
mod tests;
