//! The values the host runtime hands around: tenants, slots and their
//! statuses, data in the arena, work to publish and where it lies in its
//! file, and the report of a run.

#[allow(unused_imports)] // doc links
use super::protocol::SLOT_ARG_COUNT;
#[allow(unused_imports)] // doc links
use super::{Megakernel, MegakernelBuilder};

/// Index of a tenant registered with [`MegakernelBuilder::tenant`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TenantId(pub u32);

/// Index of a published slot in the current batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SlotId(pub u32);

/// What happened to a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotStatus {
    /// Published, not yet run.
    Published,
    /// Claimed but not finished (only seen after an interrupted run).
    Claimed,
    /// Ran to completion.
    Done,
    /// Refused or failed, with the reason code (`protocol::FAULT_*`).
    Fault(u32),
    /// Any other status word (a protocol violation).
    Unknown(u32),
}

/// Bytes placed in a batch's arena by [`Megakernel::add_data`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataRef {
    /// Word offset in the arena.
    pub word_offset: u32,
    /// Length in bytes.
    pub len: u32,
}

/// One unit of work to publish.
#[derive(Clone, Debug)]
pub struct Work<'a> {
    /// Payload or built-in handler name (`nop`, `store_word`, ...).
    pub op: &'a str,
    /// Whose work it is.
    pub tenant: TenantId,
    /// The slot's bytes (look-behind included).
    pub data: &'a [u8],
    /// Index in `data` of the first byte the slot owns.
    pub start: u32,
    /// Scalar arguments (at most [`SLOT_ARG_COUNT`]).
    pub args: &'a [u32],
    /// Result words for the slot; `None` = what the payload declares.
    pub result_words: Option<u32>,
    /// Where the bytes lie in their file (for position parameters).
    pub position: ChunkPosition,
}

/// Where a slot's bytes lie in their file: the words the runtime gives
/// position parameters (`ParamKind::ChunkOffset`, `FileLen`, `ChunkIndex`,
/// ...). All 0 for work that is not a chunk of a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChunkPosition {
    /// The file offset of the slot's first owned byte (`data[start]`).
    pub file_offset: u64,
    /// The file's length in bytes.
    pub file_len: u64,
    /// The chunk's index in its file.
    pub chunk_index: u32,
}

/// One slot to publish over data already in the arena
/// ([`Megakernel::publish_slot`]).
#[derive(Clone, Debug)]
pub struct SlotRef<'a> {
    /// Payload or built-in handler name.
    pub op: &'a str,
    /// Whose work it is.
    pub tenant: TenantId,
    /// The slot's bytes in the arena (look-behind included).
    pub data: DataRef,
    /// Index in the data of the first byte the slot owns.
    pub start: u32,
    /// Scalar arguments (at most [`SLOT_ARG_COUNT`]).
    pub args: &'a [u32],
    /// Result words for the slot; `None` = what the payload declares.
    pub result_words: Option<u32>,
    /// Where the bytes lie in their file.
    pub position: ChunkPosition,
}

impl<'a> Work<'a> {
    /// Work for `op` on `data` by `tenant`, no arguments.
    pub fn new(op: &'a str, tenant: TenantId, data: &'a [u8]) -> Self {
        Work {
            op,
            tenant,
            data,
            start: 0,
            args: &[],
            result_words: None,
            position: ChunkPosition::default(),
        }
    }
}

/// Summary of [`Megakernel::run`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Dispatches issued.
    pub dispatches: u32,
    /// Slots that finished.
    pub done: u32,
    /// Slots that faulted.
    pub faults: u32,
    /// Slots left unrun because shutdown was requested.
    pub left_by_shutdown: u32,
    /// Slots the device cut (loop limit) even when run one per workgroup,
    /// which then ran on the CPU reference instead (see [`Megakernel::run`]).
    pub cpu_slots: u32,
}
