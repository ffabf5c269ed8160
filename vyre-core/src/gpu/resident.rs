//! Buffers kept on the device between runs of the same program
//! ([`Backend::run_ranges`](crate::backend::Backend::run_ranges)).

use std::ops::Range;
use std::sync::Arc;

use crate::backend::{check_buffers, HostBuffers};
use crate::error::{Error, Result};
use crate::ir::{Expr, Program};

use super::kernel::{BufferSet, GpuKernel};

/// How many programs keep their device buffers between runs: a caller that
/// alternates between a few programs (separate megakernels, a benchmark's
/// baseline and its fused kernel) does not re-create and re-upload
/// everything on each switch.
pub const MAX_RESIDENT_PROGRAMS: usize = 8;

/// Device bytes that programs other than the last one run may keep; older
/// programs' buffers are dropped beyond it (a big batch of one program does
/// not pin memory once another program runs).
pub const MAX_IDLE_RESIDENT_BYTES: u64 = 1 << 30;

/// The device side of a program run through `run_ranges`.
pub(crate) struct Resident {
    /// [`quick_key`](super::quick_key) of the kernel's program.
    key: u64,
    /// The owner's `Arc` of the program, when it was run through
    /// `run_ranges_shared`: found again by identity, without hashing.
    shared: Option<Arc<Program>>,
    kernel: Arc<GpuKernel>,
    set: BufferSet,
    /// Words allocated per buffer (>= the host lengths).
    caps: Vec<u32>,
    /// The [`HostBuffers::stamp`] the device copies hold the data of (0:
    /// none yet). A run whose buffers carry another stamp uploads
    /// everything: stamps are never reused, so no other caller can match.
    stamp: u64,
}

impl Resident {
    /// True when this entry was made for exactly this `Arc`.
    pub(crate) fn is_shared(&self, program: &Arc<Program>) -> bool {
        self.shared
            .as_ref()
            .is_some_and(|a| Arc::ptr_eq(a, program))
    }
}

/// True when `program` reads the length of a buffer anywhere.
pub(crate) fn uses_len(program: &Program) -> bool {
    crate::ir::any_expr(&program.body, |e| matches!(e, Expr::Len(_)))
}

fn check_range(buffers: &[Vec<u32>], what: &str, (i, r): &(usize, Range<usize>)) -> Result<()> {
    match buffers.get(*i) {
        Some(b) if r.start <= r.end && r.end <= b.len() => Ok(()),
        _ => Err(Error::bad_input(
            format!("{what} range {r:?} of buffer {i} is outside the supplied buffers"),
            "name ranges inside the buffers you pass",
        )),
    }
}

/// What [`WgpuBackend::run_resident`](super::WgpuBackend) did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Resided {
    /// The program ran on resident buffers.
    Ran,
    /// Nothing: the program reads a buffer's `len()`, which resident
    /// buffers (possibly larger than the host's) cannot give.
    UsesLen,
}

/// One resident run: the program, the host buffers and what moves.
pub(crate) struct ResidentRun<'a> {
    /// The program.
    pub program: &'a Program,
    /// The same program kept by a long-lived owner, found by identity.
    pub shared: Option<&'a Arc<Program>>,
    /// The caller's host buffers, in binding order.
    pub buffers: &'a mut HostBuffers,
    /// Workgroups to dispatch.
    pub workgroups: u32,
    /// Word ranges the caller changed since its last run.
    pub writes: &'a [(usize, Range<usize>)],
    /// Word ranges to read back.
    pub reads: &'a [(usize, Range<usize>)],
    /// Buffer `i`'s device copy comes from the first `bytes` of an upload
    /// arena: `(i, arena, bytes)`.
    pub source: Option<(usize, &'a super::upload::UploadArena, u64)>,
}

/// The device side of a source: (buffer index, wgpu buffer, bytes).
type Source<'a> = Option<(usize, &'a wgpu::Buffer, u64)>;

impl super::WgpuBackend {
    /// [`Backend::run_ranges`](crate::backend::Backend::run_ranges) on wgpu.
    /// With a `source`, buffer `i`'s device copy is filled by the GPU from
    /// the first `bytes` of the upload arena (whenever it would be uploaded)
    /// and `buffers[i]` is only a placeholder. A program that already has
    /// resident buffers is known not to read `len()`; any other is checked
    /// once, before buffers are made for it.
    ///
    /// Restamps the buffers whatever happens; only a run that got as far as
    /// uploading leaves the device copies under the new stamp, and a failed
    /// one restamps the buffers again, so that what a failure left on the
    /// device or half read back is never taken for the caller's data.
    pub(crate) fn run_resident(&self, mut run: ResidentRun<'_>) -> Result<Resided> {
        let last = run.buffers.stamp();
        let now = run.buffers.restamp();
        let out = self.run_stamped(&mut run, last, now);
        if out.is_err() {
            run.buffers.restamp();
        }
        out
    }

    /// [`WgpuBackend::run_resident`](super::WgpuBackend) once the buffers
    /// went from stamp `last` to `now`.
    fn run_stamped(&self, run: &mut ResidentRun<'_>, last: u64, now: u64) -> Result<Resided> {
        let ResidentRun {
            program,
            shared,
            ref mut buffers,
            workgroups,
            writes,
            reads,
            source,
        } = *run;
        let buffers: &mut HostBuffers = buffers;
        let from = self.source(source, buffers)?;
        check_buffers(program, buffers, workgroups)?;
        for w in writes {
            check_range(buffers, "write", w)?;
        }
        for r in reads {
            check_range(buffers, "read", r)?;
        }
        // The lock covers uploads and submission only: the wait for results
        // happens outside it, so another thread's batch can be copied into
        // staging and queued while this one runs on the GPU (queue order
        // keeps their uploads, dispatches and readbacks apart).
        let pending = {
            let mut list = super::lock(&self.resident);
            let Some(upload_all) = self.enter(&mut list, program, shared, buffers, from)? else {
                return Ok(Resided::UsesLen);
            };
            let r = &mut list[0];
            // The device copies hold another state than these buffers' last
            // run left: new buffers, another caller's run of this program,
            // or a run of these buffers elsewhere (another program, another
            // backend) whose readback may have changed them.
            let upload_all = upload_all || r.stamp != last;
            r.stamp = now;
            upload(r, buffers, writes, from, upload_all)?;
            let timing = tracing::enabled!(target: "vyre::timing", tracing::Level::DEBUG);
            let t0 = std::time::Instant::now();
            let sub = r.kernel.dispatch(&r.set, workgroups)?;
            if timing {
                sub.wait()?;
                tracing::debug!(
                    target: "vyre::timing",
                    "  upload+kernel {:.3} ms",
                    t0.elapsed().as_secs_f64() * 1e3
                );
            }
            let req: Vec<(usize, Range<u32>)> = reads
                .iter()
                .map(|(i, g)| (*i, g.start as u32..g.end as u32))
                .collect();
            r.set.read(&req)?
        };
        // Straight from the mapped staging memory into the host buffers.
        pending.wait_with(|k, bytes| {
            let dst = reads
                .get(k)
                .and_then(|(i, g)| buffers.get_mut(*i)?.get_mut(g.clone()))
                .ok_or_else(|| Error::internal("a readback has no host buffer range to go to"))?;
            super::pending::copy_words(dst, bytes)
        })?;
        Ok(Resided::Ran)
    }

    /// The device buffer behind an upload source, checked to fit.
    fn source<'a>(
        &self,
        source: Option<(usize, &'a super::upload::UploadArena, u64)>,
        buffers: &[Vec<u32>],
    ) -> Result<Source<'a>> {
        let Some((i, arena, bytes)) = source else {
            return Ok(None);
        };
        let buffer = arena.source(self.recoveries())?;
        if i >= buffers.len() || bytes % 4 != 0 || bytes > arena.len() as u64 {
            return Err(Error::internal(format!(
                "upload source for buffer {i} of {bytes} bytes does not fit (arena of {} bytes, {} buffers)",
                arena.len(),
                buffers.len()
            )));
        }
        Ok(Some((i, buffer, bytes)))
    }

    /// Puts the program's resident entry first in `list` (most recently
    /// used first), making its buffers (and compiling or finding its
    /// pipeline) when it has none or they are too small. Returns whether
    /// everything must go up (new buffers), or `None` when the program
    /// reads `len()` and so cannot run resident.
    fn enter(
        &self,
        list: &mut Vec<Resident>,
        program: &Program,
        shared: Option<&Arc<Program>>,
        buffers: &[Vec<u32>],
        from: Source<'_>,
    ) -> Result<Option<bool>> {
        // A shared program is found by identity; anything else by its
        // key, confirmed by comparing the programs.
        let by_identity = shared.and_then(|s| list.iter().position(|r| r.is_shared(s)));
        let mut key = None;
        let found = by_identity.or_else(|| {
            let k = *key.insert(super::quick_key(program));
            list.iter()
                .position(|r| r.key == k && r.kernel.program() == program)
        });
        if found.is_none() && uses_len(program) {
            return Ok(None);
        }
        let mut current = found.map(|i| list.remove(i));
        if by_identity.is_none() {
            if let (Some(r), Some(s)) = (current.as_mut(), shared) {
                r.shared = Some(Arc::clone(s));
            }
        }
        let need = |i: usize, b: &Vec<u32>| match from {
            Some((j, _, bytes)) if j == i => (b.len() as u64).max(bytes / 4),
            _ => b.len() as u64,
        };
        let fits = current.as_ref().is_some_and(|r| {
            r.caps
                .iter()
                .zip(buffers.iter())
                .enumerate()
                .all(|(i, (c, b))| *c as u64 >= need(i, b))
        });
        let entry = match current {
            Some(r) if fits => r,
            old => {
                let tc = std::time::Instant::now();
                let kernel = self.compile(program)?;
                tracing::debug!(
                    target: "vyre::timing",
                    "  compile (or find) the pipeline {:.3} ms",
                    tc.elapsed().as_secs_f64() * 1e3
                );
                let (old, old_key) = old.map_or((Vec::new(), None), |r| (r.caps, Some(r.key)));
                // Grow by half again so a slowly growing batch does not reallocate every run.
                let caps: Vec<u32> = buffers
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        let need = need(i, b);
                        let had = old.get(i).copied().unwrap_or(0) as u64;
                        let cap = if need <= had {
                            had
                        } else {
                            need.max(had + had / 2)
                        };
                        cap.min(u32::MAX as u64 / 4) as u32
                    })
                    .collect();
                let set = kernel.create_buffers(&caps)?;
                let entry = Resident {
                    key: old_key.or(key).unwrap_or_else(|| super::quick_key(program)),
                    shared: shared.cloned(),
                    kernel,
                    set,
                    caps,
                    stamp: 0,
                };
                list.insert(0, entry);
                keep_recent(list);
                return Ok(Some(true));
            }
        };
        list.insert(0, entry);
        keep_recent(list);
        Ok(Some(false))
    }
}

/// Drops entries past [`MAX_RESIDENT_PROGRAMS`] and idle ones past
/// [`MAX_IDLE_RESIDENT_BYTES`] (the first entry is the one in use).
fn keep_recent(list: &mut Vec<Resident>) {
    list.truncate(MAX_RESIDENT_PROGRAMS);
    let mut idle = 0u64;
    let keep = list
        .iter()
        .skip(1)
        .take_while(|r| {
            idle += r.caps.iter().map(|&c| u64::from(c) * 4).sum::<u64>();
            idle <= MAX_IDLE_RESIDENT_BYTES
        })
        .count();
    list.truncate(1 + keep);
}

/// Writes what goes up for one run into `r`'s device buffers: every buffer
/// whole (`all`) or the ranges in `writes`; the source's buffer is copied on
/// the device, the rest goes up in one staging buffer and submission.
fn upload(
    r: &mut Resident,
    buffers: &[Vec<u32>],
    writes: &[(usize, Range<usize>)],
    from: Source<'_>,
    all: bool,
) -> Result<()> {
    let tw = std::time::Instant::now();
    let sourced = |i: usize| from.is_some_and(|(j, _, _)| j == i);
    let ranges: Vec<(usize, Range<usize>)> = if all {
        buffers
            .iter()
            .enumerate()
            .map(|(i, b)| (i, 0..b.len()))
            .collect()
    } else {
        writes.to_vec()
    };
    let copy_source = ranges.iter().any(|(i, _)| sourced(*i));
    let list: Vec<(usize, u32, &[u32])> = ranges
        .iter()
        .filter(|(i, _)| !sourced(*i))
        .map(|(i, range)| {
            let words = buffers[*i].get(range.clone()).unwrap_or(&[]);
            (*i, range.start as u32, words)
        })
        .collect();
    r.set.write_all(&list)?;
    if let Some((i, buffer, bytes)) = from.filter(|_| copy_source) {
        r.set.copy_from(buffer, i, bytes)?;
    }
    let words: usize = list.iter().map(|(_, _, w)| w.len()).sum();
    tracing::debug!(
        target: "vyre::timing",
        "  writes {:.3} ms ({} KiB{})",
        tw.elapsed().as_secs_f64() * 1e3,
        (words * 4) >> 10,
        if all { ", all buffers" } else { "" }
    );
    Ok(())
}
