//! What a scan worker takes: a [`Job`] (a batch and the arena holding its
//! bytes) under the scan's [`Plan`].

use vyre_core::feeder::{Batch, FileEntry};
use vyre_core::megakernel::TenantId;
use vyre_core::{DeviceArena, Error, Result};

use super::analyses::Analysis;
use super::literals::Literals;
use super::regex::Regexes;

/// One batch of file data on its way to a device.
pub(super) struct Job {
    /// Position in read order; results are folded in this order.
    pub seq: u64,
    pub batch: Batch,
    /// The bytes; travels with the job so a failed batch can run again
    /// elsewhere.
    pub arena: Arena,
}

/// Where a batch's bytes are: a host word buffer the megakernel adopts, or
/// (zero-copy, `ScanConfig::zero_copy`) a GPU upload arena the device
/// copies from itself.
pub(super) enum Arena {
    Host(Vec<u32>),
    Upload(Box<dyn DeviceArena>),
    /// Lent to a megakernel for the duration of a run.
    Lent,
}

impl Arena {
    /// The bytes, for the feeder to read into.
    pub fn bytes_mut(&mut self) -> Result<&mut [u8]> {
        match self {
            Arena::Host(v) => Ok(bytemuck::cast_slice_mut(&mut v[..])),
            Arena::Upload(u) => u.bytes_mut(),
            Arena::Lent => Err(Error::internal(
                "a scan arena was used while lent to a megakernel",
            )),
        }
    }

    /// True for an upload arena whose device was lost.
    pub fn on_lost_device(&self) -> bool {
        matches!(self, Arena::Upload(up) if up.device_lost())
    }

    /// Capacity in 32-bit words.
    pub fn words(&self) -> usize {
        match self {
            Arena::Host(v) => v.len(),
            Arena::Upload(u) => u.len() / 4,
            Arena::Lent => 0,
        }
    }
}

/// What every device runs: the analyses and the tenant they run for.
pub(super) struct Plan<'a> {
    pub analyses: &'a [Analysis],
    pub tenant: TenantId,
    /// The scan's files (a batch's chunks name them by index), for reading
    /// a batch again after its upload arena's device was lost.
    pub files: &'a [FileEntry],
    /// The scan's chunk size (chunk `k` of a file starts at `k * chunk_size`).
    pub chunk_size: u32,
    /// The host literal engine, when the scan's patterns run on it.
    pub literals: Option<&'a Literals>,
    /// The regex engine, when the scan has regexes.
    pub regexes: Option<&'a Regexes>,
}
