//! The feeder: walks paths, cuts files into chunks and reads the chunks into
//! a caller-provided arena (a host buffer, later a mapped GPU staging buffer),
//! many small files per batch, with io_uring or, where that is unavailable,
//! plain `pread`.
//!
//! ```no_run
//! use vyre_core::feeder::{collect_files, Feeder, FeederConfig, WalkOptions};
//! let (files, walk_failures) = collect_files(&["some/dir".into()], &WalkOptions::default());
//! let mut feeder = Feeder::new(files, FeederConfig { look_behind: 64, ..Default::default() })?;
//! let mut arena = vec![0u8; 64 << 20];
//! while !feeder.is_done() {
//!     let batch = feeder.fill(&mut arena)?;
//!     for c in &batch.chunks {
//!         let bytes = &arena[c.arena_offset..c.arena_offset + (c.look_behind + c.len) as usize];
//!         // bytes[..look_behind] precede the chunk in its file; the rest is the chunk.
//!     }
//!     // batch.failures: files that could not be read; discard their partial results.
//! }
//! # Ok::<(), vyre_core::feeder::FeedError>(())
//! ```
//!
//! ## Guarantees
//! * Every byte of a file that does not fail is delivered exactly once, in
//!   order, in chunks of [`FeederConfig::chunk_size`] bytes (the last one
//!   shorter); a 0-byte file gets one empty chunk. Only the size seen by the
//!   walk is read. A file whose bytes the walk read into memory
//!   ([`FileEntry::content`]: files whose stat size cannot be trusted, see
//!   [`collect_files`]) is delivered from those bytes, on every engine.
//! * A file that shrinks (end of file before the planned size), grows (the
//!   read of its last chunk asks for one byte more than planned and gets it,
//!   or its size after the last chunk differs), cannot be opened, is no
//!   longer a regular file or gets a read error is reported once in
//!   [`Batch::failures`] and its remaining chunks are skipped. Chunks of it
//!   delivered in earlier batches were valid when read, but the consumer
//!   should discard the file's result.
//! * `fill` returns only when no read into the arena is in flight, on every
//!   path, errors and panics included.
//! * At most `queue_depth + 1` files are open during a fill, and at most one
//!   (a file continuing into the next batch) between fills.
//!
//! ## O_DIRECT
//! With [`FeederConfig::o_direct`], files are opened with `O_DIRECT` and read
//! in whole 4096-byte blocks into 4096-aligned arena addresses (the arena
//! reserves the slack around each chunk; the chunk's bytes still start at
//! `arena_offset`, which stays 4-byte aligned). Where the filesystem refuses
//! (EINVAL at open or at the first read), that file is read buffered instead,
//! silently, counted in [`FeedStats::direct_fallbacks`]. It requires
//! `chunk_size % 4096 == 0` and `look_behind % 4 == 0`; arenas whose address
//! is not 4-aligned are read buffered.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

mod config;
pub(crate) mod engine;
mod exec;
pub mod plan;
mod request;
mod threads;
mod uring;
mod walk;

pub use config::{
    FaultHook, FaultKind, FeederConfig, MAX_CHUNK_SIZE, MAX_QUEUE_DEPTH, MAX_READ_THREADS,
};
pub use plan::{chunk_count, plan_chunk, plan_chunks, PlannedChunk};
pub use walk::{collect_files, WalkOptions, MAX_IN_MEMORY_FILE, MAX_IN_MEMORY_TOTAL};

/// Opens `path` for reading the way the feeder does: without becoming a
/// controlling terminal, never blocking on a FIFO, regular files only. The
/// error is the reason, as the feeder reports it for a failed file.
pub fn open_regular(path: &std::path::Path) -> std::result::Result<std::fs::File, String> {
    exec::open_file(path, false, &mut FeedStats::default()).map(|f| f.file)
}

use engine::Engine;
use exec::{OpenFile, Planned};

/// A regular file to scan, with the size the walk saw.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileEntry {
    /// Path of the file.
    pub path: PathBuf,
    /// Size in bytes at walk time; exactly this many bytes are read.
    pub size: u64,
    /// The file's bytes, read by the walk (`size` is their length), for a
    /// file whose stat size cannot be trusted (procfs, sysfs, ...). The
    /// feeder delivers these instead of reading the file. `None` for
    /// ordinary files.
    pub content: Option<Arc<[u8]>>,
}

impl FileEntry {
    /// An ordinary file of `size` bytes (read from disk by the feeder).
    pub fn new(path: PathBuf, size: u64) -> FileEntry {
        FileEntry {
            path,
            size,
            content: None,
        }
    }
}

/// A path that cannot be scanned, and why.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PathFailure {
    /// The path.
    pub path: PathBuf,
    /// Human-readable reason, e.g. "is a FIFO (named pipe); vyre scans regular files only".
    pub reason: String,
}

impl fmt::Display for PathFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// One chunk read into the arena: `arena[arena_offset..][..look_behind]` are
/// the bytes preceding the chunk in its file, immediately followed by the
/// chunk's `len` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChunkDesc {
    /// Index of the file in the feeder's file list.
    pub file: usize,
    /// File offset of the chunk's first byte.
    pub file_offset: u64,
    /// Number of bytes the chunk owns (0 only for an empty file).
    pub len: u32,
    /// Number of look-behind bytes before the chunk (`min(look_behind, file_offset)`).
    pub look_behind: u32,
    /// Arena offset of the look-behind bytes; a multiple of 4.
    pub arena_offset: usize,
}

/// What one [`Feeder::fill`] produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// Chunks read into the arena, in file order then chunk order.
    pub chunks: Vec<ChunkDesc>,
    /// Files that failed during this fill: (file index, reason). None of
    /// their chunks is in `chunks`, and none of their later chunks will come.
    pub failures: Vec<(usize, String)>,
    /// Sum of the chunks' `len` (file bytes delivered, look-behind excluded).
    pub bytes: u64,
}

/// Counters of a feeder's work so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeedStats {
    /// Completed fills that read at least one chunk.
    pub batches: u64,
    /// Read operations issued (resubmissions included).
    pub reads: u64,
    /// Of those, io_uring `READ_FIXED` reads into the registered arena.
    pub fixed_reads: u64,
    /// Reads that returned less than asked and were resubmitted for the rest.
    pub short_reads: u64,
    /// Bytes returned by reads (look-behind and O_DIRECT slack included).
    pub bytes_read: u64,
    /// Files opened.
    pub files_opened: u64,
    /// Files that asked for O_DIRECT and were read buffered instead.
    pub direct_fallbacks: u64,
    /// Arena registrations with io_uring.
    pub registrations: u64,
    /// Failed registration attempts (reads then use plain `READ`).
    pub register_failures: u64,
    /// Registrations found stale (arena freed and remapped at the same address).
    pub stale_registrations: u64,
}

/// Fatal feeder errors. Per-file problems are not errors: they are reported
/// in [`Batch::failures`].
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The configuration is unusable.
    #[error("invalid feeder configuration: {message}. Fix: {fix}")]
    Config {
        /// What is wrong.
        message: String,
        /// What to do about it.
        fix: String,
    },
    /// A single chunk does not fit into the whole (empty) arena.
    #[error("{}. Fix: {}", self.message(), self.fix())]
    ArenaTooSmall {
        /// File of the chunk.
        path: PathBuf,
        /// Index of the chunk in its file.
        chunk: u64,
        /// Arena bytes the chunk needs.
        needed: usize,
        /// Arena bytes available.
        have: usize,
        /// [`FeederConfig::min_arena_len`].
        min: usize,
    },
    /// [`Feeder::seek`] to a position that does not exist.
    #[error("{}. Fix: {}", self.message(), self.fix())]
    BadSeek {
        /// Requested file index.
        file: usize,
        /// Requested chunk index.
        chunk: u64,
        /// What is wrong.
        why: String,
    },
}

impl FeedError {
    /// What went wrong, without the fix.
    pub fn message(&self) -> String {
        match self {
            FeedError::Config { message, .. } => {
                format!("invalid feeder configuration: {message}")
            }
            FeedError::ArenaTooSmall {
                path,
                chunk,
                needed,
                have,
                ..
            } => format!(
                "arena too small: chunk {chunk} of {} needs {needed} bytes but the arena holds {have}",
                path.display()
            ),
            FeedError::BadSeek { file, chunk, why } => {
                format!("cannot seek to chunk {chunk} of file {file}: {why}")
            }
        }
    }

    /// What to do about it.
    pub fn fix(&self) -> String {
        match self {
            FeedError::Config { fix, .. } => fix.clone(),
            FeedError::ArenaTooSmall { min, .. } => format!(
                "pass an arena of at least FeederConfig::min_arena_len() = {min} bytes, or lower chunk_size / look_behind"
            ),
            FeedError::BadSeek { .. } => {
                "seek to a position returned by Feeder::position, or within the file list".to_string()
            }
        }
    }
}

impl From<FeedError> for crate::Error {
    fn from(e: FeedError) -> Self {
        crate::Error::bad_input(e.message(), e.fix())
    }
}

/// Reads the chunks of a list of files into caller-provided arenas.
pub struct Feeder {
    cfg: FeederConfig,
    files: Vec<FileEntry>,
    /// Next chunk to plan: (file, chunk index), normalised so that the chunk
    /// exists or `file == files.len()`.
    cursor: (usize, u64),
    /// The open file the cursor is in, kept across batches.
    carry: Option<(usize, OpenFile)>,
    engine: Engine,
    stats: FeedStats,
}

impl fmt::Debug for Feeder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Feeder")
            .field("backend", &self.backend_name())
            .field("files", &self.files.len())
            .field("position", &self.cursor)
            .field("config", &self.cfg)
            .finish()
    }
}

impl Feeder {
    /// A feeder over `files` (usually from [`collect_files`]). Sets up
    /// io_uring unless `force_fallback`; if that fails, prints one line to
    /// stderr (once per process) and uses plain reads.
    ///
    /// Errors if the configuration is invalid ([`FeederConfig::validate`]),
    /// or if an entry's `content` is not `size` bytes long.
    pub fn new(files: Vec<FileEntry>, config: FeederConfig) -> Result<Feeder, FeedError> {
        config.validate()?;
        if let Some(e) = files
            .iter()
            .find(|e| e.content.as_ref().is_some_and(|c| c.len() as u64 != e.size))
        {
            return Err(FeedError::Config {
                message: format!(
                    "the entry of {} has {} bytes of content but size {}",
                    e.path.display(),
                    e.content.as_ref().map_or(0, |c| c.len()),
                    e.size
                ),
                fix: "set size to the content's length".to_string(),
            });
        }
        let engine = Engine::new(
            config.queue_depth,
            config.force_fallback,
            config.read_threads,
        );
        let mut f = Feeder {
            cfg: config,
            files,
            cursor: (0, 0),
            carry: None,
            engine,
            stats: FeedStats::default(),
        };
        f.cursor = f.normalize(0, 0);
        Ok(f)
    }

    /// "io_uring" or "pread".
    pub fn backend_name(&self) -> &'static str {
        self.engine.name()
    }

    /// The files being read; `ChunkDesc::file` indexes this.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// The configuration.
    pub fn config(&self) -> &FeederConfig {
        &self.cfg
    }

    /// Counters so far.
    pub fn stats(&self) -> FeedStats {
        let e = self.engine.counters();
        FeedStats {
            fixed_reads: e.fixed_reads,
            registrations: e.registrations,
            register_failures: e.register_failures,
            stale_registrations: e.stale_registrations,
            ..self.stats
        }
    }

    /// True when every chunk has been delivered or skipped.
    pub fn is_done(&self) -> bool {
        self.cursor.0 >= self.files.len()
    }

    /// Next chunk to be read: (file index, chunk index in that file).
    pub fn position(&self) -> (usize, u64) {
        self.cursor
    }

    /// Continues from chunk `chunk` of file `file` (resuming a checkpoint, or
    /// reading part of a file). Earlier chunks are not read; a file entered
    /// mid-way is still checked for size changes after its last chunk.
    pub fn seek(&mut self, file: usize, chunk: u64) -> Result<(), FeedError> {
        let bad = |why: String| Err(FeedError::BadSeek { file, chunk, why });
        if file > self.files.len() || (file == self.files.len() && chunk > 0) {
            return bad(format!("there are {} files", self.files.len()));
        }
        if let Some(entry) = self.files.get(file) {
            let n = chunk_count(entry.size, self.cfg.chunk_size);
            if chunk > n {
                return bad(format!("the file has {n} chunks"));
            }
        }
        if self.carry.as_ref().is_some_and(|c| c.0 != file) {
            self.carry = None;
        }
        self.cursor = self.normalize(file, chunk);
        Ok(())
    }

    /// Drops the io_uring registration of the last arena (it pins the arena's
    /// pages until the next `fill` with another arena, or until the feeder is
    /// dropped).
    pub fn release_arena(&mut self) {
        self.engine.release();
    }

    fn normalize(&self, mut f: usize, mut c: u64) -> (usize, u64) {
        while f < self.files.len() && c >= chunk_count(self.files[f].size, self.cfg.chunk_size) {
            f += 1;
            c = 0;
        }
        (f, c)
    }

    /// Reads as many next chunks as fit into `arena` (whole chunks only) and
    /// describes them. Returns an empty batch once [`is_done`](Self::is_done).
    /// Errors only if the arena cannot hold even one chunk (nothing is
    /// consumed then: retry with a bigger arena). The arena may differ
    /// between calls.
    pub fn fill(&mut self, arena: &mut [u8]) -> Result<Batch, FeedError> {
        let base = arena.as_mut_ptr() as usize;
        let direct = self.cfg.o_direct && base % 4 == 0;
        let (plan, cursor) = self.plan_batch(arena.len(), base, direct)?;
        if plan.is_empty() {
            return Ok(Batch::default());
        }
        self.engine.prepare(arena.as_mut_ptr(), arena.len());
        let carry = self.carry.take();
        let out = exec::run(
            &mut self.engine,
            &self.cfg,
            &self.files,
            &plan,
            arena,
            carry,
            &mut self.stats,
        );
        self.stats.batches += 1;
        self.carry = out.carry;
        let failed: std::collections::HashSet<usize> = out.failed.iter().map(|f| f.0).collect();
        self.cursor = if failed.contains(&cursor.0) {
            self.normalize(cursor.0 + 1, 0)
        } else {
            cursor
        };
        let chunks: Vec<ChunkDesc> = plan
            .into_iter()
            .map(|p| p.desc)
            .filter(|d| !failed.contains(&d.file))
            .collect();
        let bytes = chunks.iter().map(|c| u64::from(c.len)).sum();
        Ok(Batch {
            chunks,
            failures: out.failed,
            bytes,
        })
    }

    /// Plans the next batch for an arena of `len` bytes at address `base`.
    fn plan_batch(
        &self,
        len: usize,
        base: usize,
        direct: bool,
    ) -> Result<(Vec<Planned>, (usize, u64)), FeedError> {
        let (cs, lb) = (self.cfg.chunk_size, self.cfg.look_behind);
        let (mut f, mut c) = self.cursor;
        let mut pos = 0;
        let mut plan = Vec::new();
        while f < self.files.len() && plan.len() < self.cfg.max_chunks_per_batch {
            let size = self.files[f].size;
            let Some(pc) = plan_chunk(size, cs, lb, c) else {
                (f, c) = (f + 1, 0);
                continue;
            };
            let last = c + 1 == chunk_count(size, cs);
            let on_disk = self.files[f].content.is_none();
            // Bytes from memory are copied, never read with O_DIRECT.
            let direct = direct && on_disk;
            // The read of a file's last chunk asks for one byte more than
            // planned: getting it means the file grew (O_DIRECT reads of
            // whole blocks see growth past the planned end by themselves).
            let probe = last && on_disk && !direct && pc.len > 0;
            let Some(slot) = plan::place(pos, base, &pc, direct)
                .and_then(|mut s| {
                    s.end = s.end.checked_add(usize::from(probe))?;
                    Some(s)
                })
                .filter(|s| s.end <= len)
            else {
                if plan.is_empty() {
                    return Err(FeedError::ArenaTooSmall {
                        path: self.files[f].path.clone(),
                        chunk: c,
                        needed: plan::place(0, base, &pc, direct)
                            .map_or(usize::MAX, |s| s.end.saturating_add(usize::from(probe))),
                        have: len,
                        min: self.cfg.min_arena_len(),
                    });
                }
                break;
            };
            let desc = ChunkDesc {
                file: f,
                file_offset: pc.file_offset,
                len: pc.len,
                look_behind: pc.look_behind,
                arena_offset: slot.arena_offset,
            };
            plan.push(Planned {
                desc,
                last,
                direct_dest: slot.direct_dest,
                probe,
            });
            pos = slot.end;
            c += 1;
        }
        Ok((plan, self.normalize(f, c)))
    }
}
