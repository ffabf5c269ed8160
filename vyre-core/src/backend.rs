//! The one interface both execution backends implement.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Result;
use crate::ir::Program;

/// Runs programs. Implemented by the CPU reference ([`crate::cpu::CpuBackend`])
/// and the GPU ([`crate::gpu::WgpuBackend`]); both give bit-identical results
/// for every valid, race-free program (see [`crate::ir`]).
pub trait Backend {
    /// A human-readable name, e.g. `cpu-reference` or `wgpu: NVIDIA H100 (Vulkan)`.
    fn name(&self) -> String;

    /// Validates `program`, then runs `workgroups` workgroups of it.
    ///
    /// `buffers[i]` holds the contents of the i-th host-visible buffer in
    /// binding order ([`Program::host_buffers`]) as raw 32-bit words; it is
    /// updated in place with the buffer's contents after the run. Buffers
    /// with a fixed `len` must have exactly that many words; every buffer
    /// needs at least one.
    fn run(&self, program: &Program, buffers: &mut [Vec<u32>], workgroups: u32) -> Result<()>;

    /// The most loop iterations the device runs before it cuts loops short
    /// on its own, if it has such a limit. Mesa's llvmpipe stops loops after
    /// 65535 iterations *without reporting it*; the count is spent by every
    /// loop a group of lanes runs in one workgroup, across slots. The
    /// megakernel detects every such cut and runs the slot again
    /// (`Megakernel::run`), so results stay exact; this limit only tunes how
    /// much work it hands one workgroup per dispatch. `None`: no known limit.
    fn loop_iteration_limit(&self) -> Option<u64> {
        None
    }

    /// Like [`Backend::run`], for a program run many times over the same
    /// buffers (the megakernel): the backend may keep the buffers on the
    /// device between calls, upload only the word ranges in `writes` and copy
    /// back only those in `reads` (`(buffer index, words)` pairs).
    ///
    /// Whether the device still holds the caller's data is decided by the
    /// [`HostBuffers`] stamp, never by addresses: every run gives `buffers` a
    /// stamp never issued before, and a backend that keeps device copies
    /// records the stamp it left with them. A run whose `buffers` do not
    /// carry the recorded stamp uploads everything it reads: the first run
    /// of a new (or cloned) [`HostBuffers`], a run after another caller ran
    /// the program on the same backend, after these buffers ran another
    /// program or on another backend (its readback may have changed them),
    /// after the backend (re)created its buffers, and after a failed run.
    /// Otherwise `writes` must cover every word the caller changed in
    /// `buffers` since their last run; a caller that changed them some other
    /// way (e.g. ran them with [`Backend::run`]) calls
    /// [`HostBuffers::restamp`] instead, so everything goes up.
    ///
    /// Device buffers may be larger than `buffers[i]`, so the program must
    /// not depend on `len()` of a host buffer; a program that uses `len()`
    /// is run with [`Backend::run`]. The default restamps `buffers` and
    /// calls `run`; an implementation that overrides it must restamp
    /// `buffers` on every call too (or forward to one that does).
    fn run_ranges(
        &self,
        program: &Program,
        buffers: &mut HostBuffers,
        workgroups: u32,
        writes: &[(usize, std::ops::Range<usize>)],
        reads: &[(usize, std::ops::Range<usize>)],
    ) -> Result<()> {
        let _ = (writes, reads);
        buffers.restamp();
        self.run(program, buffers, workgroups)
    }

    /// [`Backend::run_ranges`] for a program kept by a long-lived owner (the
    /// megakernel) and run many times: the backend may recognize it by the
    /// `Arc`'s identity (while the backend holds a clone, the program cannot
    /// change) instead of hashing or comparing it on every run. The default
    /// calls `run_ranges`.
    fn run_ranges_shared(
        &self,
        program: &std::sync::Arc<Program>,
        buffers: &mut HostBuffers,
        workgroups: u32,
        writes: &[(usize, std::ops::Range<usize>)],
        reads: &[(usize, std::ops::Range<usize>)],
    ) -> Result<()> {
        self.run_ranges(program, buffers, workgroups, writes, reads)
    }

    /// Call after `run`/`run_ranges` failed: when the failure was the loss
    /// of the device (driver reset, GPU removed), opens a fresh device and
    /// forgets everything kept on the old one, then returns `Ok(true)`; the
    /// caller must then run its work again from scratch (results of the
    /// failed run are garbage). `Ok(false)`: the device was not lost, there
    /// is nothing to recover (the default, e.g. for the CPU reference). An
    /// error: the device was lost and could not be reopened.
    fn recover(&self) -> Result<bool> {
        Ok(false)
    }

    /// How many times the device behind this backend was replaced after a
    /// loss ([`Backend::recover`]); 0 for backends without devices. Handles
    /// that share one device see the same count, so a caller can tell that
    /// another handle recovered the device since its run began.
    fn device_generation(&self) -> u32 {
        0
    }

    /// Identifies the device behind this backend: equal for handles that
    /// share one device (e.g. clones of an `Arc`), `None` for backends
    /// without one (the CPU reference). Callers use it to see whether all
    /// their workers feed one device (then [`Backend::device_arena`]s of it
    /// serve all of them).
    fn device_id(&self) -> Option<usize> {
        None
    }

    /// Memory of `bytes` bytes that the host fills and the device copies
    /// from itself ([`DeviceArena`]; wgpu: a mapped upload buffer), or
    /// `None` where the backend has none (the default): then callers keep
    /// their bytes in host buffers.
    fn device_arena(&self, bytes: usize) -> Result<Option<Box<dyn DeviceArena>>> {
        let _ = bytes;
        Ok(None)
    }

    /// [`Backend::run_ranges_shared`] where the buffer `source.0` is not in
    /// `buffers` but its first `source.2` bytes are in the device arena
    /// `source.1` (made by this backend's [`Backend::device_arena`]), which
    /// the device copies from. The default refuses: no device arenas.
    fn run_ranges_from(
        &self,
        program: &std::sync::Arc<Program>,
        buffers: &mut HostBuffers,
        workgroups: u32,
        writes: &[(usize, std::ops::Range<usize>)],
        reads: &[(usize, std::ops::Range<usize>)],
        source: (usize, &dyn DeviceArena, u64),
    ) -> Result<()> {
        let _ = (program, buffers, workgroups, writes, reads, source);
        Err(crate::error::Error::bad_input(
            format!("{} has no device arenas", self.name()),
            "keep the bytes in host buffers (Megakernel::adopt_arena)",
        ))
    }
}

/// The next stamp [`HostBuffers`] hands out; 0 is never issued, so a
/// backend may use it for "holds no caller's data".
static NEXT_STAMP: AtomicU64 = AtomicU64::new(1);

/// A caller's host buffers for [`Backend::run_ranges`] and its siblings:
/// the buffer list (binding order, read and changed through `Deref` as a
/// `Vec<Vec<u32>>`) and a *stamp* that names the state a device copy of
/// them may hold.
///
/// Stamps come from one process-wide 64-bit counter and are never issued
/// twice (at a billion runs a second the counter lasts for centuries), so
/// unlike an address a stamp cannot pass from one caller to another: a new
/// or cloned `HostBuffers` never matches what a backend keeps for another,
/// and its first run uploads everything it reads, wherever its memory lies.
/// Every run restamps the buffers ([`HostBuffers::restamp`]); see
/// [`Backend::run_ranges`] for when a backend uploads everything.
#[derive(Debug)]
pub struct HostBuffers {
    buffers: Vec<Vec<u32>>,
    stamp: u64,
}

impl HostBuffers {
    /// `buffers` under a stamp no other `HostBuffers` ever had.
    pub fn new(buffers: Vec<Vec<u32>>) -> HostBuffers {
        HostBuffers {
            buffers,
            stamp: NEXT_STAMP.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The current stamp (never 0).
    pub fn stamp(&self) -> u64 {
        self.stamp
    }

    /// Gives the buffers a stamp never issued before and returns it: no
    /// device copy made so far counts as theirs any more, so their next run
    /// uploads everything it reads. Every `run_ranges`-family run calls it;
    /// call it yourself after changing the buffers in ways the next run's
    /// `writes` will not name (e.g. a [`Backend::run`] on them).
    pub fn restamp(&mut self) -> u64 {
        self.stamp = NEXT_STAMP.fetch_add(1, Ordering::Relaxed);
        self.stamp
    }

    /// The buffer list, giving up the stamp.
    pub fn into_inner(self) -> Vec<Vec<u32>> {
        self.buffers
    }
}

/// A copy under a new stamp: the clone is another caller.
impl Clone for HostBuffers {
    fn clone(&self) -> HostBuffers {
        HostBuffers::new(self.buffers.clone())
    }
}

/// No buffers yet, under a new stamp.
impl Default for HostBuffers {
    fn default() -> HostBuffers {
        HostBuffers::new(Vec::new())
    }
}

impl From<Vec<Vec<u32>>> for HostBuffers {
    fn from(buffers: Vec<Vec<u32>>) -> HostBuffers {
        HostBuffers::new(buffers)
    }
}

impl std::ops::Deref for HostBuffers {
    type Target = Vec<Vec<u32>>;
    fn deref(&self) -> &Vec<Vec<u32>> {
        &self.buffers
    }
}

impl std::ops::DerefMut for HostBuffers {
    fn deref_mut(&mut self) -> &mut Vec<Vec<u32>> {
        &mut self.buffers
    }
}

/// Memory that batch bytes are read straight into and the device copies
/// from itself, without a host copy into staging (wgpu: a mapped upload
/// buffer, [`crate::gpu::UploadArena`]). Made by [`Backend::device_arena`];
/// a megakernel adopts one with `Megakernel::adopt_upload`.
pub trait DeviceArena: Send + std::fmt::Debug {
    /// Size in bytes.
    fn len(&self) -> usize;
    /// Always false: an arena holds at least 4 bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The bytes, for writing; maps the memory again if the device had it
    /// (waiting until the device no longer reads it).
    fn bytes_mut(&mut self) -> Result<&mut [u8]>;
    /// Hands the memory to the device: host access ends until `bytes_mut`.
    fn unmap(&mut self);
    /// [`Backend::device_generation`] of the device it was made on: an
    /// arena of a device that was since replaced holds bytes the new device
    /// cannot reach.
    fn generation(&self) -> u32;
    /// True once the device it was made on is lost.
    fn device_lost(&self) -> bool;
    /// The concrete arena, for the backend that made it.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// Checks that `buffers` match the host buffers of `program`; shared by all
/// backends so they reject the same inputs with the same message.
pub fn check_buffers(program: &Program, buffers: &[Vec<u32>], workgroups: u32) -> Result<()> {
    use crate::error::Error;
    let decls = program.host_buffers();
    if decls.len() != buffers.len() {
        return Err(Error::bad_input(
            format!(
                "program `{}` declares {} host buffer(s) but {} were supplied",
                program.name,
                decls.len(),
                buffers.len()
            ),
            "pass one Vec<u32> per host buffer, in binding order",
        ));
    }
    for (decl, data) in decls.iter().zip(buffers) {
        if data.is_empty() {
            return Err(Error::bad_input(
                format!(
                    "buffer `{}` of program `{}` is empty",
                    decl.name, program.name
                ),
                "supply at least one element (GPU bindings cannot be empty)",
            ));
        }
        if let Some(len) = decl.len {
            if data.len() != len as usize {
                return Err(Error::bad_input(format!("buffer `{}` of program `{}` is declared with {} elements but {} were supplied", decl.name, program.name, len, data.len()), format!("supply exactly {} words", len)));
            }
        }
        if data.len() > (u32::MAX / 4) as usize {
            return Err(Error::bad_input(
                format!(
                    "buffer `{}` has {} elements, more than a 32-bit index can address",
                    decl.name,
                    data.len()
                ),
                "split the data into several dispatches",
            ));
        }
    }
    if workgroups == 0 {
        return Err(Error::bad_input(
            format!(
                "program `{}` was dispatched with 0 workgroups",
                program.name
            ),
            "dispatch at least one workgroup",
        ));
    }
    Ok(())
}

/// `Backend` for pointers to a backend: every method forwards to the pointee.
macro_rules! forward_backend {
    ($($ptr:ty),*) => {$(
        impl<B: Backend + ?Sized> Backend for $ptr {
            fn name(&self) -> String {
                (**self).name()
            }
            fn run(&self, program: &Program, buffers: &mut [Vec<u32>], workgroups: u32) -> Result<()> {
                (**self).run(program, buffers, workgroups)
            }
            fn loop_iteration_limit(&self) -> Option<u64> {
                (**self).loop_iteration_limit()
            }
            fn run_ranges(
                &self,
                program: &Program,
                buffers: &mut HostBuffers,
                workgroups: u32,
                writes: &[(usize, std::ops::Range<usize>)],
                reads: &[(usize, std::ops::Range<usize>)],
            ) -> Result<()> {
                (**self).run_ranges(program, buffers, workgroups, writes, reads)
            }
            fn run_ranges_shared(
                &self,
                program: &std::sync::Arc<Program>,
                buffers: &mut HostBuffers,
                workgroups: u32,
                writes: &[(usize, std::ops::Range<usize>)],
                reads: &[(usize, std::ops::Range<usize>)],
            ) -> Result<()> {
                (**self).run_ranges_shared(program, buffers, workgroups, writes, reads)
            }
            fn recover(&self) -> Result<bool> {
                (**self).recover()
            }
            fn device_generation(&self) -> u32 {
                (**self).device_generation()
            }
            fn device_id(&self) -> Option<usize> {
                (**self).device_id()
            }
            fn device_arena(&self, bytes: usize) -> Result<Option<Box<dyn DeviceArena>>> {
                (**self).device_arena(bytes)
            }
            fn run_ranges_from(
                &self,
                program: &std::sync::Arc<Program>,
                buffers: &mut HostBuffers,
                workgroups: u32,
                writes: &[(usize, std::ops::Range<usize>)],
                reads: &[(usize, std::ops::Range<usize>)],
                source: (usize, &dyn DeviceArena, u64),
            ) -> Result<()> {
                (**self).run_ranges_from(program, buffers, workgroups, writes, reads, source)
            }
        }
    )*};
}

forward_backend!(&B, std::sync::Arc<B>, Box<B>);
