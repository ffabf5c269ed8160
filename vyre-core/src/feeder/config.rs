//! The feeder's settings and their limits, and the fault-injection hook.

use std::fmt;
use std::sync::Arc;

use super::{plan, FeedError};

/// A fault for the injection hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The read returns fewer bytes than asked (it asks for about half; for
    /// O_DIRECT at least one block), exercising the resubmission path.
    ShortRead,
    /// The read fails with this errno (e.g. `libc::EIO`).
    Error(i32),
}

/// Fault-injection hook: called with (file index, file offset) before every
/// read is issued, resubmissions included.
pub type FaultHook = Arc<dyn Fn(usize, u64) -> Option<FaultKind> + Send + Sync>;

/// Feeder settings.
#[derive(Clone)]
pub struct FeederConfig {
    /// Bytes per chunk (default 4 MiB). Must be > 0.
    pub chunk_size: u32,
    /// Most reads in flight (default 32), 1..=4096.
    pub queue_depth: u32,
    /// Bytes of the preceding file data carried before each chunk (default 0).
    pub look_behind: u32,
    /// Read with O_DIRECT where the filesystem allows it (default false).
    pub o_direct: bool,
    /// Use `pread` even if io_uring works (default false): on the reader
    /// threads when `read_threads` is above 0, else on the feeder's thread.
    pub force_fallback: bool,
    /// Read on a pool of this many threads, each with its own io_uring ring
    /// (default 0: one ring, driven by the thread that calls `fill`).
    /// Page-cache reads are memory copies done by the thread that submits
    /// them, so several rings on several threads ingest faster than one.
    pub read_threads: u32,
    /// Most chunks in one batch (default `usize::MAX`: as many as the arena
    /// holds; 0 is invalid). Bounds what a consumer sizes per chunk (result
    /// slots, ring entries) independently of the arena's size: an arena of
    /// 64 MiB holds ~600 000 chunks of 100-byte files.
    pub max_chunks_per_batch: usize,
    /// Fault injection for tests (default none).
    pub inject: Option<FaultHook>,
}

/// Largest [`FeederConfig::chunk_size`] and [`FeederConfig::look_behind`]: 64 MiB.
pub const MAX_CHUNK_SIZE: u32 = 64 << 20;
/// Most [`FeederConfig::read_threads`].
pub const MAX_READ_THREADS: u32 = 64;
/// Most [`FeederConfig::queue_depth`].
pub const MAX_QUEUE_DEPTH: u32 = 4096;

impl Default for FeederConfig {
    fn default() -> Self {
        FeederConfig {
            chunk_size: 4 << 20,
            queue_depth: 32,
            look_behind: 0,
            o_direct: false,
            force_fallback: false,
            read_threads: 0,
            max_chunks_per_batch: usize::MAX,
            inject: None,
        }
    }
}

impl fmt::Debug for FeederConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeederConfig")
            .field("chunk_size", &self.chunk_size)
            .field("queue_depth", &self.queue_depth)
            .field("look_behind", &self.look_behind)
            .field("o_direct", &self.o_direct)
            .field("force_fallback", &self.force_fallback)
            .field("read_threads", &self.read_threads)
            .field("max_chunks_per_batch", &self.max_chunks_per_batch)
            .field("inject", &self.inject.as_ref().map(|_| "<hook>"))
            .finish()
    }
}

impl FeederConfig {
    /// Smallest arena that holds any single chunk with its look-behind and
    /// alignment slack under this configuration.
    pub fn min_arena_len(&self) -> usize {
        let span = self.chunk_size as usize + self.look_behind as usize;
        if self.o_direct {
            span + 3 * plan::DIRECT_ALIGN as usize
        } else {
            // 3 bytes of alignment, 1 for the end-of-file probe.
            span + 4
        }
    }

    /// Checks the configuration ([`super::Feeder::new`] calls this): `chunk_size`
    /// a positive multiple of 4 up to [`MAX_CHUNK_SIZE`], `look_behind` up
    /// to [`MAX_CHUNK_SIZE`], `queue_depth` 1 to [`MAX_QUEUE_DEPTH`],
    /// `read_threads` up to [`MAX_READ_THREADS`], `max_chunks_per_batch`
    /// positive, and the O_DIRECT alignments. Errors say what to fix.
    pub fn validate(&self) -> Result<(), FeedError> {
        let bad = |message: String, fix: String| Err(FeedError::Config { message, fix });
        if self.chunk_size == 0 || self.chunk_size % 4 != 0 || self.chunk_size > MAX_CHUNK_SIZE {
            return bad(
                format!("chunk_size is {}", self.chunk_size),
                format!(
                    "use a positive multiple of 4 up to {MAX_CHUNK_SIZE} (64 MiB), such as 4 MiB"
                ),
            );
        }
        if self.look_behind > MAX_CHUNK_SIZE {
            return bad(
                format!("look_behind is {}", self.look_behind),
                format!("use at most {MAX_CHUNK_SIZE} (64 MiB)"),
            );
        }
        if !(1..=MAX_QUEUE_DEPTH).contains(&self.queue_depth) {
            return bad(
                format!("queue_depth is {}", self.queue_depth),
                format!("use a queue depth between 1 and {MAX_QUEUE_DEPTH}"),
            );
        }
        if self.read_threads > MAX_READ_THREADS {
            return bad(
                format!("read_threads is {}", self.read_threads),
                format!(
                    "use at most {MAX_READ_THREADS} reader threads (0 reads on the calling thread)"
                ),
            );
        }
        if self.max_chunks_per_batch == 0 {
            return bad(
                "max_chunks_per_batch is 0".to_string(),
                "use a positive limit, or usize::MAX for none".to_string(),
            );
        }
        if self.o_direct && self.chunk_size % plan::DIRECT_ALIGN as u32 != 0 {
            return bad(
                format!(
                    "o_direct needs chunk_size to be a multiple of 4096, got {}",
                    self.chunk_size
                ),
                "round chunk_size to a multiple of 4096 or turn o_direct off".to_string(),
            );
        }
        if self.o_direct && self.look_behind % 4 != 0 {
            return bad(
                format!(
                    "o_direct needs look_behind to be a multiple of 4, got {}",
                    self.look_behind
                ),
                "round look_behind up to a multiple of 4 or turn o_direct off".to_string(),
            );
        }
        Ok(())
    }
}
