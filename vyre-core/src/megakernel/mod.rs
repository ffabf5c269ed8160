//! The persistent megakernel and its host runtime.
//!
//! ```text
//! host: publish slots ──► ring ──► dispatch ──► workgroups loop { claim → run payload → DONE }
//!                                   (repeat until every published slot is DONE or FAULT)
//! ```
//! One kernel fuses the built-in handlers and every registered payload
//! ([`kernel::build_kernel`]); the slot's opcode picks what runs. WebGPU gives
//! no forward-progress guarantee between workgroups and the host cannot touch
//! buffers while a dispatch runs, so a dispatch is persistent *within itself*:
//! its workgroups keep claiming slots until the batch is drained, shutdown is
//! set, or each has run its per-dispatch budget of slots. [`Megakernel::run`]
//! dispatches again while published slots remain.

pub mod abi;
// Internals of the kernel builder: public for vyre's own tests only (not
// part of the API, hidden from the docs).
mod builder;
#[doc(hidden)]
pub mod embed;
pub mod fold;
pub mod interp;
pub mod io;
#[doc(hidden)]
pub mod kernel;
mod loaded;
#[doc(hidden)]
pub mod privatize;
pub mod protocol;
mod run;
mod slots;
pub mod standalone;
#[doc(hidden)]
pub mod tables;

use std::collections::HashMap;

use crate::backend::{Backend, DeviceArena, HostBuffers};
use crate::error::{Error, Result};
use crate::ir::Program;
use protocol::*;

pub use builder::{MegakernelBuilder, LIMITED_SLOT_BUDGET};
pub use slots::{ChunkPosition, DataRef, RunReport, SlotId, SlotRef, SlotStatus, TenantId, Work};

/// The host side of a megakernel: the ring, arena and results of one batch.
pub struct Megakernel<B> {
    backend: B,
    /// Shared with the backend, which recognizes it by identity on every run.
    program: std::sync::Arc<Program>,
    opcodes: HashMap<String, u32>,
    /// Per opcode: the words a slot's result region starts with
    /// ([`abi::initial_results`]).
    initial_results: HashMap<u32, Vec<u32>>,
    tenant_names: Vec<String>,
    tenant_masks: Vec<u32>,
    workgroups: u32,
    slot_budget: u32,
    debug_records: u32,
    io_capacity: u32,
    iteration_budget: u32,
    /// The kernel contains the interpreter ([`crate::megakernel::interp`]).
    interpreter: bool,
    /// Opcode of the first fused payload after the built-ins... and of the
    /// first loaded program: `FIRST_PAYLOAD_OPCODE + fused payloads`.
    first_loaded: u32,
    /// Programs loaded so far.
    loaded: u32,
    /// Registers per invocation (largest loaded frame).
    frame: u32,
    /// Interpreter steps one invocation may run per dispatch.
    step_limit: u32,
    /// control, ring, arena, results, debug, io, code, regs (binding order),
    /// under a stamp of this megakernel's own (the backend tells callers
    /// apart by it, see [`HostBuffers`]).
    bufs: HostBuffers,
    slots: u32,
    arena_words: usize,
    /// Words of the arena to upload when it holds more than the batch uses.
    arena_upload: Option<usize>,
    /// The batch's bytes when they sit in a GPU upload arena instead of
    /// `bufs[B_ARENA]` (zero-copy), with their length in bytes.
    upload: Option<(Box<dyn DeviceArena>, u64)>,
    results_used: usize,
    regions: Vec<(u32, u32)>,
}

// Host-buffer indices, from the one buffer table (abi::BUFFERS).
const B_CONTROL: usize = abi::binding(abi::CONTROL);
const B_RING: usize = abi::binding(abi::RING);
const B_ARENA: usize = abi::binding(abi::ARENA);
const B_RESULTS: usize = abi::binding(abi::RESULTS);
const B_DEBUG: usize = abi::binding(abi::DEBUG);
const B_IO: usize = abi::binding(abi::IO);
const B_CODE: usize = abi::binding(abi::CODE);
const B_REGS: usize = abi::binding(abi::REGS);
const BUFFER_COUNT: usize = abi::BUFFERS.len();

impl<B: Backend> Megakernel<B> {
    /// The kernel program (IR).
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Changes the most slots one workgroup runs per dispatch.
    pub fn set_slot_budget(&mut self, n: u32) {
        self.slot_budget = n.max(1);
        self.bufs[B_CONTROL][CTRL_BUDGET as usize] = self.slot_budget;
    }

    /// The backend it runs on.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The opcode of a payload or built-in handler.
    pub fn opcode(&self, name: &str) -> Option<u32> {
        self.opcodes.get(name).copied()
    }

    /// The id of a registered tenant.
    pub fn tenant_id(&self, name: &str) -> Result<TenantId> {
        match self.tenant_names.iter().position(|t| t == name) {
            Some(i) => Ok(TenantId(i as u32)),
            None => Err(Error::bad_input(
                format!("no tenant named `{name}`"),
                format!(
                    "register it with MegakernelBuilder::tenant (known: {})",
                    self.tenant_names.join(", ")
                ),
            )),
        }
    }

    /// Clears the batch: no slots, empty arena and results, control words reset.
    pub fn reset(&mut self) {
        let mut control = vec![0u32; CONTROL_WORDS as usize];
        control[CTRL_VERSION as usize] = PROTOCOL_VERSION;
        control[CTRL_BUDGET as usize] = self.slot_budget;
        control[CTRL_IO_CAP as usize] = self.io_capacity;
        control[CTRL_ITER_BUDGET as usize] = self.iteration_budget;
        control[CTRL_DEBUG_CAP as usize] = self.debug_records;
        control[CTRL_REG_FRAME as usize] = self.frame;
        control[CTRL_STEP_LIMIT as usize] = self.step_limit;
        control[CTRL_CANARY as usize] = CANARY_TRIPS;
        for (t, m) in self.tenant_masks.iter().enumerate() {
            control[(CTRL_TENANT_MASKS as usize) + t] = *m;
        }
        if self.bufs.len() != BUFFER_COUNT {
            // Loaded code and the register file outlive batches.
            self.bufs = HostBuffers::new(vec![Vec::new(); BUFFER_COUNT]);
            self.bufs[B_CODE] = vec![0; CODE_HEADER_WORDS as usize];
            self.bufs[B_REGS] = vec![0];
        }
        // Keep the allocations: a scan resets once per batch, and fresh
        // multi-MiB vectors cost page faults and zeroing every time.
        self.bufs[B_CONTROL] = control;
        let keep = |v: &mut Vec<u32>, n: usize| {
            v.clear();
            v.resize(n, 0);
        };
        keep(&mut self.bufs[B_RING], SLOT_WORDS as usize);
        keep(&mut self.bufs[B_ARENA], 1);
        self.arena_upload = None;
        self.upload = None;
        keep(&mut self.bufs[B_RESULTS], 1);
        keep(
            &mut self.bufs[B_DEBUG],
            (DEBUG_HEADER_WORDS + self.debug_records * DEBUG_RECORD_WORDS) as usize,
        );
        keep(
            &mut self.bufs[B_IO],
            (IO_HEADER_WORDS + self.io_capacity * IO_REQ_WORDS) as usize,
        );
        self.slots = 0;
        self.arena_words = 0;
        self.results_used = 0;
        self.regions.clear();
    }

    /// Number of slots published in this batch.
    pub fn slot_count(&self) -> u32 {
        self.slots
    }

    /// Makes `words` the batch's arena without copying (bytes packed 4 per
    /// word, little-endian): the zero-copy path for callers that read data
    /// straight into a word buffer. Only the first `used` words are uploaded.
    /// Must come right after [`Megakernel::reset`] (before any `add_data`).
    /// Returns a reference to all `used` words; get the buffer back with
    /// [`Megakernel::take_arena`].
    pub fn adopt_arena(&mut self, words: Vec<u32>, used: usize) -> Result<DataRef> {
        if self.arena_words != 0 || self.slots != 0 {
            return Err(Error::bad_input(
                "adopt_arena after data or slots were added to this batch",
                "call reset() first",
            ));
        }
        if used > words.len() || used > (u32::MAX / 4) as usize {
            return Err(Error::bad_input(
                format!(
                    "adopt_arena: {used} used words of a {}-word buffer",
                    words.len()
                ),
                "pass used <= words.len() and under 4 GiB",
            ));
        }
        let mut words = words;
        if words.is_empty() {
            words.push(0);
        }
        let used_len = used;
        self.bufs[B_ARENA] = words;
        self.arena_words = used_len;
        self.arena_upload = Some(used_len.max(1));
        Ok(DataRef {
            word_offset: 0,
            len: (used_len * 4) as u32,
        })
    }

    /// Makes the device arena `arena` the batch's arena (zero-copy: the
    /// bytes were read straight into device-visible memory, and the device
    /// copies them to the kernel's arena buffer itself). Only the first
    /// `used` words count. Must come right after [`Megakernel::reset`]; the
    /// arena must come from this megakernel's backend
    /// ([`Backend::device_arena`], same device generation). Get the arena back with
    /// [`Megakernel::take_upload`] once the run is over. On error the arena
    /// comes back with the error.
    pub fn adopt_upload(
        &mut self,
        mut arena: Box<dyn DeviceArena>,
        used: usize,
    ) -> std::result::Result<DataRef, (Error, Box<dyn DeviceArena>)> {
        let problem = if self.arena_words != 0 || self.slots != 0 {
            Some(Error::bad_input(
                "adopt_upload after data or slots were added to this batch",
                "call reset() first",
            ))
        } else if self.backend.device_id().is_none() {
            Some(Error::bad_input(format!("adopt_upload on a megakernel running on {}: device arenas belong to a device backend", self.backend.name()), "use adopt_arena on other backends"))
        } else if arena.generation() != self.backend.device_generation() {
            Some(Error::bad_input(format!("adopt_upload: the arena was made on device generation {} but {} is at generation {} (the device was lost and replaced)", arena.generation(), self.backend.name(), self.backend.device_generation()), "read the bytes again into a new arena or a host arena"))
        } else if used * 4 > arena.len() || used > (u32::MAX / 4) as usize {
            Some(Error::bad_input(
                format!(
                    "adopt_upload: {used} used words of a {}-byte arena",
                    arena.len()
                ),
                "pass used <= its length / 4",
            ))
        } else {
            None
        };
        if let Some(e) = problem {
            return Err((e, arena));
        }
        arena.unmap();
        self.bufs[B_ARENA] = vec![0];
        self.arena_words = used;
        self.arena_upload = Some(used.max(1));
        self.upload = Some((arena, used as u64 * 4));
        Ok(DataRef {
            word_offset: 0,
            len: (used * 4) as u32,
        })
    }

    /// Takes back the device arena adopted with [`Megakernel::adopt_upload`].
    pub fn take_upload(&mut self) -> Option<Box<dyn DeviceArena>> {
        let (arena, _) = self.upload.take()?;
        self.arena_words = 0;
        self.arena_upload = None;
        Some(arena)
    }

    /// Takes the arena buffer out (for reuse), leaving an empty one.
    pub fn take_arena(&mut self) -> Vec<u32> {
        self.arena_words = 0;
        self.arena_upload = None;
        std::mem::replace(&mut self.bufs[B_ARENA], vec![0])
    }

    /// Copies `bytes` into the batch's arena (word aligned) so several slots
    /// can share them through [`Megakernel::publish_ref`].
    pub fn add_data(&mut self, bytes: &[u8]) -> Result<DataRef> {
        if bytes.len() > (u32::MAX / 2) as usize {
            return Err(Error::bad_input(
                format!("slot data of {} bytes is too large", bytes.len()),
                "split data into chunks under 2 GiB",
            ));
        }
        let words = bytes.len().div_ceil(4);
        let off = self.arena_words;
        if off + words > (u32::MAX / 4) as usize {
            return Err(Error::bad_input(
                "the batch's arena exceeds 4 GiB",
                "run and reset the megakernel more often",
            ));
        }
        let arena = &mut self.bufs[B_ARENA];
        if arena.len() < (off + words).max(1) {
            arena.resize((off + words).max(1), 0);
        }
        if let Some(n) = self.arena_upload.as_mut() {
            *n = (*n).max(off + words);
        }
        let (whole, tail) = bytes.split_at(bytes.len() / 4 * 4);
        for (dst, src) in arena[off..].iter_mut().zip(whole.chunks_exact(4)) {
            *dst = u32::from_le_bytes([src[0], src[1], src[2], src[3]]);
        }
        if !tail.is_empty() {
            let mut w = [0u8; 4];
            w[..tail.len()].copy_from_slice(tail);
            arena[off + whole.len() / 4] = u32::from_le_bytes(w);
        }
        self.arena_words += words;
        Ok(DataRef {
            word_offset: off as u32,
            len: bytes.len() as u32,
        })
    }

    /// Publishes one slot: copies its bytes into the arena, assigns it a result
    /// region, and marks it PUBLISHED. Authorization is checked by the kernel.
    pub fn publish(&mut self, work: Work<'_>) -> Result<SlotId> {
        let data = self.add_data(work.data)?;
        self.publish_slot(SlotRef {
            op: work.op,
            tenant: work.tenant,
            data,
            start: work.start,
            args: work.args,
            result_words: work.result_words,
            position: work.position,
        })
    }

    /// Publishes one slot over data already in the arena (no file position).
    pub fn publish_ref(
        &mut self,
        op_name: &str,
        tenant: TenantId,
        data: DataRef,
        start: u32,
        args: &[u32],
        result_words: Option<u32>,
    ) -> Result<SlotId> {
        self.publish_slot(SlotRef {
            op: op_name,
            tenant,
            data,
            start,
            args,
            result_words,
            position: ChunkPosition::default(),
        })
    }

    /// Publishes one slot over data already in the arena: its result region
    /// starts with the payload's initial words ([`abi::initial_results`]:
    /// the reductions' identities), cut or padded with zeros to
    /// `result_words` when that is given.
    pub fn publish_slot(&mut self, slot: SlotRef<'_>) -> Result<SlotId> {
        let SlotRef {
            op: op_name,
            tenant,
            data,
            start,
            args,
            result_words,
            position,
        } = slot;
        let op = match self.opcodes.get(op_name) {
            Some(op) => *op,
            None => {
                return Err(Error::bad_input(
                    format!("no payload or built-in named `{op_name}`"),
                    "register it with MegakernelBuilder::payload",
                ))
            }
        };
        if args.len() as u32 > SLOT_ARG_COUNT {
            return Err(Error::bad_input(
                format!(
                    "{} arguments given for `{op_name}`; a slot carries at most {SLOT_ARG_COUNT}",
                    args.len()
                ),
                "pass fewer arguments",
            ));
        }
        if start > data.len
            || (data.word_offset as usize) + (data.len as usize).div_ceil(4) > self.arena_words
        {
            return Err(Error::bad_input(format!("slot data (offset {} words, {} bytes, start {start}) is outside the arena or start > length", data.word_offset, data.len), "use a DataRef returned by add_data and start <= its length"));
        }
        let initial = self.initial_results.get(&op).map_or(&[][..], Vec::as_slice);
        let out_len = result_words.unwrap_or(initial.len() as u32);
        let out_off = self.results_used;
        if out_off + out_len as usize > (u32::MAX / 4) as usize {
            return Err(Error::bad_input(
                "the batch's results exceed 4 GiB",
                "run and reset the megakernel more often",
            ));
        }
        self.results_used += out_len as usize;
        let results = &mut self.bufs[B_RESULTS];
        results.resize(self.results_used.max(1), 0);
        let n = initial.len().min(out_len as usize);
        results[out_off..out_off + n].copy_from_slice(&initial[..n]);
        let id = self.slots;
        self.slots += 1;
        let ring = &mut self.bufs[B_RING];
        ring.resize((self.slots * SLOT_WORDS) as usize, 0);
        let s = (id * SLOT_WORDS) as usize;
        ring[s + SLOT_OPCODE as usize] = op;
        ring[s + SLOT_TENANT as usize] = tenant.0;
        ring[s + SLOT_DATA_OFF as usize] = data.word_offset;
        ring[s + SLOT_DATA_LEN as usize] = data.len;
        ring[s + SLOT_START as usize] = start;
        ring[s + SLOT_OUT_OFF as usize] = out_off as u32;
        ring[s + SLOT_OUT_LEN as usize] = out_len;
        ring[s + SLOT_CHUNK_OFF_LO as usize] = position.file_offset as u32;
        ring[s + SLOT_CHUNK_OFF_HI as usize] = (position.file_offset >> 32) as u32;
        ring[s + SLOT_FILE_LEN_LO as usize] = position.file_len as u32;
        ring[s + SLOT_FILE_LEN_HI as usize] = (position.file_len >> 32) as u32;
        ring[s + SLOT_CHUNK_INDEX as usize] = position.chunk_index;
        for (k, a) in args.iter().enumerate() {
            ring[s + (SLOT_ARGS as usize) + k] = *a;
        }
        ring[s + SLOT_STATUS as usize] = PUBLISHED;
        self.regions.push((out_off as u32, out_len));
        Ok(SlotId(id))
    }

    /// A slot's status.
    pub fn status(&self, slot: SlotId) -> Result<SlotStatus> {
        let ring = &self.bufs[B_RING];
        if slot.0 >= self.slots {
            return Err(Error::bad_input(
                format!("slot {} does not exist (batch has {})", slot.0, self.slots),
                "use an id returned by publish",
            ));
        }
        let s = (slot.0 * SLOT_WORDS) as usize;
        Ok(match ring[s + SLOT_STATUS as usize] {
            PUBLISHED => SlotStatus::Published,
            CLAIMED => SlotStatus::Claimed,
            DONE => SlotStatus::Done,
            FAULT => SlotStatus::Fault(ring[s + SLOT_FAULT_REASON as usize]),
            other => SlotStatus::Unknown(other),
        })
    }

    /// A slot's result words.
    pub fn results(&self, slot: SlotId) -> Result<&[u32]> {
        let (off, len) = *self.regions.get(slot.0 as usize).ok_or_else(|| {
            Error::bad_input(
                format!("slot {} does not exist", slot.0),
                "use an id returned by publish",
            )
        })?;
        Ok(&self.bufs[B_RESULTS][off as usize..(off + len) as usize])
    }

    /// A slot's result words, writable: set initial values (e.g. a CRC state)
    /// after publishing and before [`Megakernel::run`].
    pub fn results_mut(&mut self, slot: SlotId) -> Result<&mut [u32]> {
        let (off, len) = *self.regions.get(slot.0 as usize).ok_or_else(|| {
            Error::bad_input(
                format!("slot {} does not exist", slot.0),
                "use an id returned by publish",
            )
        })?;
        Ok(&mut self.bufs[B_RESULTS][off as usize..(off + len) as usize])
    }

    /// The host copies of the kernel's buffers in binding order (see
    /// [`protocol`]), as the next [`Megakernel::run`] uploads them, with the
    /// slot budget and slot count words set: for tools and benchmarks that
    /// drive a backend's `run_ranges` with the kernel themselves.
    pub fn host_buffers(&mut self) -> &[Vec<u32>] {
        self.bufs[B_CONTROL][CTRL_SLOT_COUNT as usize] = self.slots;
        &self.bufs
    }

    /// A control word (see `protocol::CTRL_*`).
    pub fn control(&self, word: u32) -> u32 {
        self.bufs[B_CONTROL]
            .get(word as usize)
            .copied()
            .unwrap_or(0)
    }

    /// Debug records `[slot, opcode, arg0, arg1]` kept, and how many were dropped.
    pub fn debug_log(&self) -> (Vec<[u32; 4]>, u32) {
        let debug = &self.bufs[B_DEBUG];
        let requested = debug.first().copied().unwrap_or(0);
        let kept = requested.min(self.debug_records);
        let recs = (0..kept as usize)
            .map(|i| {
                let at = DEBUG_HEADER_WORDS as usize + i * DEBUG_RECORD_WORDS as usize;
                [debug[at], debug[at + 1], debug[at + 2], debug[at + 3]]
            })
            .collect();
        (recs, requested - kept)
    }

    /// Requests shutdown: the next dispatch claims nothing.
    pub fn shutdown(&mut self) {
        self.bufs[B_CONTROL][CTRL_SHUTDOWN as usize] = 1;
    }
}
