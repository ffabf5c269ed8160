//! Folding a payload's per-chunk results into its per-file result, in file
//! order: the host half of the reductions a payload declares
//! ([`Reduce`] per result parameter, or a [`Combine`] over the whole
//! result region). Every chunk's region starts at
//! [`abi::initial_results`](super::abi::initial_results) (the identities);
//! [`Folder::fold`] joins one chunk's words into the file's accumulator.
//!
//! File results are `u64` words: sums fold into 64 bits (a 50 GiB file's
//! histogram bin does not fit `u32`); min/max/and/or/xor and combine
//! summaries are `u32` words held in `u64`.

use crate::backend::Backend;
use crate::cpu::CpuBackend;
use crate::error::{Error, Result};
use crate::ir::{Combine, Payload, Program, Reduce};

/// Steps the CPU reference may spend on one call of a combine function
/// loaded as IR (a runaway combine fails its file instead of hanging).
pub const COMBINE_STEP_BUDGET: u64 = 1 << 24;

/// How one payload's chunk results fold into its file result.
#[derive(Clone, Debug)]
pub struct Folder {
    name: String,
    how: How,
}

#[derive(Clone, Debug)]
enum How {
    /// One reduction per result word.
    Words(Vec<Reduce>),
    /// A combine: identity, the native function if any, else the IR
    /// function as a standalone program.
    Combine {
        identity: Vec<u32>,
        native: Option<crate::ir::NativeCombine>,
        program: Box<Program>,
    },
}

impl Folder {
    /// The folder of payload `p` (checked with
    /// [`abi::check_fold`](super::abi::check_fold)).
    pub fn new(p: &Payload) -> Result<Folder> {
        super::abi::check_fold(p)?;
        let how = match &p.combine {
            Some(c) => {
                let Combine {
                    identity,
                    func,
                    native,
                } = &**c;
                How::Combine {
                    identity: identity.clone(),
                    native: *native,
                    program: Box::new(func.to_program(1)),
                }
            }
            None => How::Words(
                p.params
                    .iter()
                    .filter(|q| q.kind.is_result())
                    .flat_map(|q| std::iter::repeat_n(q.reduce, q.len.unwrap_or(0) as usize))
                    .collect(),
            ),
        };
        Ok(Folder {
            name: p.name.clone(),
            how,
        })
    }

    /// Words of the file result (= the payload's result words).
    pub fn words(&self) -> usize {
        match &self.how {
            How::Words(r) => r.len(),
            How::Combine { identity, .. } => identity.len(),
        }
    }

    /// The file result before any chunk: the identities.
    pub fn start(&self) -> Vec<u64> {
        match &self.how {
            How::Words(r) => r.iter().map(|r| u64::from(r.identity())).collect(),
            How::Combine { identity, .. } => identity.iter().map(|&w| u64::from(w)).collect(),
        }
    }

    /// Joins the next chunk's result words (in file order) into `acc` (from
    /// [`Folder::start`]). A chunk with fewer words than the payload's
    /// results counts its missing words as the identity; an IR combine
    /// that fails (runs past [`COMBINE_STEP_BUDGET`]) is an error naming
    /// the payload.
    pub fn fold(&self, acc: &mut [u64], chunk: &[u32]) -> Result<()> {
        match &self.how {
            How::Words(reduces) => {
                for (i, (a, r)) in acc.iter_mut().zip(reduces).enumerate() {
                    *a = r.fold(*a, chunk.get(i).copied().unwrap_or(r.identity()));
                }
                Ok(())
            }
            How::Combine {
                identity,
                native,
                program,
            } => {
                let left: Vec<u32> = acc.iter().map(|&w| w as u32).collect();
                let right: Vec<u32> = (0..identity.len())
                    .map(|i| chunk.get(i).copied().unwrap_or(identity[i]))
                    .collect();
                let mut out = vec![0u32; identity.len()];
                match native {
                    Some(f) => (f.0)(&left, &right, &mut out),
                    None => {
                        // Host buffers of `to_program`: args, left, right, out.
                        let mut bufs = vec![vec![0u32], left, right, out];
                        CpuBackend::with_step_budget(COMBINE_STEP_BUDGET)
                            .run(program, &mut bufs, 1)
                            .map_err(|e| {
                                Error::bad_input(
                                    format!(
                                        "the combine function of payload `{}` failed: {}",
                                        self.name,
                                        e.message()
                                    ),
                                    "make the combine finish in a few thousand steps for any two summaries",
                                )
                            })?;
                        out = bufs.pop().unwrap_or_default();
                    }
                }
                for (a, w) in acc.iter_mut().zip(out) {
                    *a = u64::from(w);
                }
                Ok(())
            }
        }
    }
}
