//! What the read engines share: one read request and their counters (a
//! leaf module, so the engines and their interface do not import each other).

use std::fs::File;

/// One read: `len` bytes of `file` at `offset` into `dest`, which is arena
/// offset `arena_off`.
pub(crate) struct ReadReq<'f> {
    pub id: u64,
    pub file: &'f File,
    pub dest: *mut u8,
    pub arena_off: usize,
    pub len: u32,
    pub offset: u64,
}

/// Counters kept by the engines.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct EngineCounters {
    pub fixed_reads: u64,
    pub registrations: u64,
    pub register_failures: u64,
    pub stale_registrations: u64,
}
