//! Executes one planned batch: opens files, keeps up to `queue_depth` reads in
//! flight, resubmits short reads, and turns errors into per-file failures.
//!
//! Invariant that the memory safety of the io_uring engine rests on: `run`
//! never returns, and never unwinds, while a read into the arena is in flight.
//! [`Drain`] owns the engine during the batch and its `Drop` waits for every
//! outstanding completion, so a panic anywhere (a bug, a panicking fault hook)
//! first drains the ring and only then unwinds.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::engine::{Engine, ReadReq};
use super::plan::{align_down, align_up, DIRECT_ALIGN};
use super::walk::{non_regular_reason, open_error_reason};
use super::{ChunkDesc, FaultKind, FeedStats, FeederConfig, FileEntry};

/// Largest single read (1 GiB; a multiple of the O_DIRECT alignment).
const MAX_IO: u64 = 1 << 30;
/// EINTR/EAGAIN results tolerated for one chunk before the file is failed.
const MAX_RETRIES: u32 = 100;

/// A chunk of the batch with its arena placement.
pub(crate) struct Planned {
    pub desc: ChunkDesc,
    /// This is the file's last chunk.
    pub last: bool,
    /// Arena offset of the 4096-aligned O_DIRECT read, if planned that way.
    pub direct_dest: Option<usize>,
    /// The buffered read asks for one byte past the chunk (the arena
    /// reserves it): the file's last chunk, checking for end of file.
    pub probe: bool,
}

/// An open file, possibly kept open across batches.
pub(crate) struct OpenFile {
    pub file: File,
    pub direct: bool,
}

/// What a batch left behind.
pub(crate) struct Outcome {
    /// Files that failed in this batch, in order of failure.
    pub failed: Vec<(usize, String)>,
    /// The file whose next chunk is in a later batch, still open.
    pub carry: Option<(usize, OpenFile)>,
}

struct FileRun {
    open: Option<OpenFile>,
    /// Chunks of this file in the batch not finished yet.
    pending: u32,
    failed: bool,
    /// The file's last chunk is in this batch.
    ends: bool,
}

#[derive(Clone, Copy, Default)]
struct Op {
    /// File offset of the next byte to read.
    cur: u64,
    /// Arena offset where it goes.
    dest: usize,
    /// File offset one past the last byte needed.
    end: u64,
    direct: bool,
    retries: u32,
}

struct Exec<'a> {
    cfg: &'a FeederConfig,
    files: &'a [FileEntry],
    plan: &'a [Planned],
    stats: &'a mut FeedStats,
    runs: HashMap<usize, FileRun>,
    ops: Vec<Op>,
    retry: VecDeque<usize>,
    failed: Vec<(usize, String)>,
    carry: Option<(usize, OpenFile)>,
    /// O_DIRECT descriptors replaced by buffered ones; reads may still be in
    /// flight on them, so they are closed only after the batch.
    graveyard: Vec<File>,
}

/// Owns the engine for the batch; dropping it waits out all reads in flight.
struct Drain<'e> {
    engine: &'e mut Engine,
    inflight: usize,
}

impl Drop for Drain<'_> {
    fn drop(&mut self) {
        let mut out = Vec::new();
        while self.inflight > 0 {
            out.clear();
            self.engine.wait(1, &mut out);
            self.inflight -= out.len();
        }
    }
}

/// Reads every chunk of `plan` into `arena`.
pub(crate) fn run(
    engine: &mut Engine,
    cfg: &FeederConfig,
    files: &[FileEntry],
    plan: &[Planned],
    arena: &mut [u8],
    carry: Option<(usize, OpenFile)>,
    stats: &mut FeedStats,
) -> Outcome {
    let mut runs: HashMap<usize, FileRun> = HashMap::new();
    for p in plan {
        let r = runs.entry(p.desc.file).or_insert(FileRun {
            open: None,
            pending: 0,
            failed: false,
            ends: false,
        });
        r.pending += 1;
        r.ends |= p.last;
    }
    if let Some((f, of)) = carry {
        if let Some(r) = runs.get_mut(&f) {
            r.open = Some(of);
        }
    }
    let mut ex = Exec {
        cfg,
        files,
        plan,
        stats,
        runs,
        ops: vec![Op::default(); plan.len()],
        retry: VecDeque::new(),
        failed: Vec::new(),
        carry: None,
        graveyard: Vec::new(),
    };
    let arena_len = arena.len();
    // All reads address the arena through this one pointer; the slice itself
    // is not touched again until every read has completed.
    let base = arena.as_mut_ptr();
    let mut drain = Drain {
        engine,
        inflight: 0,
    };
    let cap = drain.engine.capacity();
    let mut next = 0;
    let mut comps: Vec<(u64, i32)> = Vec::new();
    loop {
        while drain.inflight < cap {
            let i = match ex.retry.pop_front() {
                Some(i) => i,
                None if next < plan.len() => {
                    next += 1;
                    let i = next - 1;
                    if let Some(content) = &files[plan[i].desc.file].content {
                        ex.copy_from_memory(i, content, base, arena_len);
                        continue;
                    }
                    if !ex.begin(i) {
                        continue;
                    }
                    i
                }
                None => break,
            };
            match ex.request(i) {
                Err(res) => comps.push((i as u64, res)),
                Ok(len) => {
                    let op = ex.ops[i];
                    let file = &ex.runs[&plan[i].desc.file]
                        .open
                        .as_ref()
                        .expect("open while reading")
                        .file;
                    // Memory safety of the read depends on this bound.
                    assert!(
                        op.dest + len as usize <= arena_len,
                        "feeder bug: read past the arena"
                    );
                    let req = ReadReq {
                        id: i as u64,
                        file,
                        dest: base.wrapping_add(op.dest), // in bounds (asserted above)
                        arena_off: op.dest,
                        len,
                        offset: op.cur,
                    };
                    // SAFETY: `dest..dest + len` lies in the arena, which is
                    // borrowed mutably for this whole function and not accessed
                    // otherwise; chunks own disjoint ranges and a chunk has at
                    // most one read in flight. `drain` waits for the completion
                    // before this function returns or unwinds. The file stays
                    // open: descriptors are closed only when no read of theirs
                    // is pending (`finish`) or after the batch (`graveyard`).
                    unsafe { drain.engine.push(&req) };
                    drain.inflight += 1;
                }
            }
        }
        if drain.inflight == 0 && comps.is_empty() {
            if ex.retry.is_empty() && next >= plan.len() {
                break;
            }
            continue;
        }
        if drain.inflight > 0 {
            let before = comps.len();
            drain.engine.wait(usize::from(before == 0), &mut comps);
            drain.inflight -= comps.len() - before;
        }
        for (id, res) in comps.drain(..) {
            ex.complete(id as usize, res);
        }
    }
    drop(drain);
    drop(ex.graveyard);
    Outcome {
        failed: ex.failed,
        carry: ex.carry,
    }
}

impl Exec<'_> {
    fn fail(&mut self, f: usize, reason: String) {
        let r = self.runs.get_mut(&f).expect("file of the batch");
        if !r.failed {
            r.failed = true;
            self.failed.push((f, reason));
        }
    }

    /// Delivers chunk `i` of a file whose bytes are in memory: copies them
    /// to the chunk's place in the arena.
    fn copy_from_memory(&mut self, i: usize, content: &[u8], base: *mut u8, arena_len: usize) {
        let d = self.plan[i].desc;
        let start = d.file_offset - u64::from(d.look_behind);
        let n = d.look_behind as usize + d.len as usize;
        let src = usize::try_from(start)
            .ok()
            .and_then(|s| content.get(s..s.checked_add(n)?));
        match src {
            Some(src) => {
                // Memory safety of the copy depends on this bound.
                assert!(
                    d.arena_offset + n <= arena_len,
                    "feeder bug: copy past the arena"
                );
                // SAFETY: `arena_offset..arena_offset + n` lies in the arena
                // (asserted), is this chunk's own range (no read in flight
                // writes it), and `src` is a separate allocation.
                unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), base.add(d.arena_offset), n) };
            }
            None => self.fail(
                d.file,
                format!(
                    "feeder bug: the file's {} bytes in memory lack the chunk at byte {start}",
                    content.len()
                ),
            ),
        }
        self.finish(i);
    }

    /// Opens the chunk's file if needed and sets up its first read; `false`
    /// if there is nothing to read (empty chunk, or the file failed).
    fn begin(&mut self, i: usize) -> bool {
        let p = &self.plan[i];
        let f = p.desc.file;
        let r = self.runs.get_mut(&f).expect("file of the batch");
        let want_direct = self.cfg.o_direct && p.direct_dest.is_some();
        if !r.failed && r.open.is_none() {
            match open_file(&self.files[f].path, want_direct, self.stats) {
                Ok(of) => r.open = Some(of),
                Err(reason) => self.fail(f, reason),
            }
        }
        if !want_direct && self.runs[&f].open.as_ref().is_some_and(|o| o.direct) {
            // Planned without the O_DIRECT layout (unaligned arena): an
            // O_DIRECT descriptor cannot serve it.
            self.reopen_buffered(f);
        }
        let r = &self.runs[&f];
        let span = u64::from(p.desc.look_behind) + u64::from(p.desc.len);
        if r.failed || span == 0 {
            self.finish(i);
            return false;
        }
        let direct = r.open.as_ref().is_some_and(|o| o.direct);
        self.set_geometry(i, direct);
        true
    }

    fn set_geometry(&mut self, i: usize, direct: bool) {
        let p = &self.plan[i];
        let start = p.desc.file_offset - u64::from(p.desc.look_behind);
        let end = p.desc.file_offset + u64::from(p.desc.len);
        self.ops[i] = match p.direct_dest {
            Some(dest) if direct => Op {
                cur: align_down(start, DIRECT_ALIGN),
                dest,
                end,
                direct: true,
                retries: 0,
            },
            _ => Op {
                cur: start,
                dest: p.desc.arena_offset,
                end: end + u64::from(p.probe),
                direct: false,
                retries: 0,
            },
        };
    }

    /// Length of the next read of chunk `i`, or `Err(-errno)` when the fault
    /// hook injects an error instead.
    fn request(&mut self, i: usize) -> Result<u32, i32> {
        let op = self.ops[i];
        let f = self.plan[i].desc.file;
        let want = if op.direct {
            align_up(op.end, DIRECT_ALIGN) - op.cur
        } else {
            op.end - op.cur
        };
        let mut len = want.min(MAX_IO) as u32;
        if let Some(hook) = &self.cfg.inject {
            match hook(f, op.cur) {
                Some(FaultKind::Error(errno)) => return Err(-errno.abs().max(1)),
                Some(FaultKind::ShortRead) if op.direct => {
                    len = (align_down(u64::from(len / 2), DIRECT_ALIGN) as u32)
                        .max(DIRECT_ALIGN as u32)
                        .min(len)
                }
                Some(FaultKind::ShortRead) => len = (len / 2).max(1),
                None => {}
            }
        }
        self.stats.reads += 1;
        Ok(len)
    }

    fn complete(&mut self, i: usize, res: i32) {
        let f = self.plan[i].desc.file;
        if self.runs[&f].failed {
            self.finish(i);
            return;
        }
        let op = &mut self.ops[i];
        if res < 0 {
            let errno = -res;
            if (errno == libc::EINTR || errno == libc::EAGAIN) && op.retries < MAX_RETRIES {
                op.retries += 1;
                self.retry.push_back(i);
                return;
            }
            if errno == libc::EINVAL && op.direct {
                // The filesystem refused this O_DIRECT read: read the file buffered.
                self.reopen_buffered(f);
                if !self.runs[&f].failed {
                    self.set_geometry(i, false);
                    self.retry.push_back(i);
                    return;
                }
            } else {
                let at = op.cur;
                self.fail(
                    f,
                    format!(
                        "read error at byte {at}: {}",
                        io::Error::from_raw_os_error(errno)
                    ),
                );
            }
            self.finish(i);
            return;
        }
        let n = res as u64;
        self.stats.bytes_read += n;
        let new = op.cur + n;
        let p = &self.plan[i];
        let planned_end = p.desc.file_offset + u64::from(p.desc.len);
        // Bytes past the planned end of the file's last chunk: the probe
        // byte of a buffered read, or more of the last block of an O_DIRECT one.
        if p.last && new > planned_end {
            let expected = self.files[f].size;
            let now = match self.runs[&f].open.as_ref().map(|o| o.file.metadata()) {
                Some(Ok(md)) if md.len() != expected => format!("now {}", md.len()),
                Some(Ok(_)) => "its size still stats as before".to_string(),
                _ => "cannot stat it".to_string(),
            };
            self.fail(
                f,
                format!("changed size during the scan: expected {expected} bytes, but it holds more ({now})"),
            );
            self.finish(i);
            return;
        }
        if new >= op.end || (p.probe && new == planned_end) {
            // Read in full (for a probing read: up to the planned end, the
            // probe byte not returned: end of file where planned).
            self.finish(i);
            return;
        }
        // Short. Buffered: 0 means end of file. O_DIRECT: the kernel reads whole
        // blocks, so stopping off a block boundary also means end of file.
        if n == 0 || (op.direct && new % DIRECT_ALIGN != 0) {
            let expected = self.files[f].size;
            self.fail(
                f,
                format!("changed size during the scan: expected {expected} bytes, read {new}"),
            );
            self.finish(i);
            return;
        }
        op.cur = new;
        op.dest += n as usize;
        op.retries = 0;
        self.stats.short_reads += 1;
        self.retry.push_back(i);
    }

    /// Reopens file `f` without O_DIRECT (once).
    fn reopen_buffered(&mut self, f: usize) {
        if !self.runs[&f].open.as_ref().is_some_and(|o| o.direct) {
            return;
        }
        match open_file(&self.files[f].path, false, self.stats) {
            Ok(of) => {
                self.stats.direct_fallbacks += 1;
                let r = self.runs.get_mut(&f).expect("file of the batch");
                let old = r.open.replace(of).expect("was open");
                self.graveyard.push(old.file);
            }
            Err(reason) => self.fail(f, reason),
        }
    }

    /// Chunk `i` is done (read, skipped or failed); closes, checks or carries
    /// its file once all of the file's chunks in the batch are done.
    fn finish(&mut self, i: usize) {
        let f = self.plan[i].desc.file;
        let r = self.runs.get_mut(&f).expect("file of the batch");
        r.pending -= 1;
        if r.pending > 0 {
            return;
        }
        let (failed, ends) = (r.failed, r.ends);
        let Some(of) = r.open.take() else { return };
        if failed {
            return; // dropping `of` closes it; none of its reads is pending
        }
        if !ends {
            self.carry = Some((f, of));
            return;
        }
        let expected = self.files[f].size;
        match of.file.metadata() {
            Ok(md) if md.len() == expected => {}
            Ok(md) => self.fail(
                f,
                format!(
                    "changed size during the scan: expected {expected} bytes, now {}",
                    md.len()
                ),
            ),
            Err(e) => self.fail(f, format!("cannot stat after reading: {e}")),
        }
    }
}

/// Opens `path` for reading without ever blocking: `O_NONBLOCK` keeps a path
/// that was swapped for a FIFO since the walk from hanging the open; the
/// opened file must be a regular file, then `O_NONBLOCK` is cleared again (it
/// would make io_uring reads of some filesystems fail with EAGAIN). With
/// `direct`, tries `O_DIRECT` first and falls back to buffered (counted in
/// `stats.direct_fallbacks`) when the filesystem refuses it with EINVAL.
pub(crate) fn open_file(
    path: &Path,
    direct: bool,
    stats: &mut FeedStats,
) -> Result<OpenFile, String> {
    let mut direct = direct;
    let file = loop {
        let flags = libc::O_NOCTTY | libc::O_NONBLOCK | if direct { libc::O_DIRECT } else { 0 };
        match OpenOptions::new().read(true).custom_flags(flags).open(path) {
            Ok(f) => break f,
            Err(e) if direct && e.raw_os_error() == Some(libc::EINVAL) => {
                direct = false;
                stats.direct_fallbacks += 1;
            }
            Err(e) => return Err(open_error_reason(&e)),
        }
    };
    let md = file
        .metadata()
        .map_err(|e| format!("cannot stat the opened file: {e}"))?;
    if !md.is_file() {
        return Err(non_regular_reason(&md.file_type()));
    }
    let keep = if direct { libc::O_DIRECT } else { 0 };
    // SAFETY: fcntl(F_SETFL) on a descriptor we own; no memory is passed.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFL, keep) } == -1 {
        return Err(format!(
            "cannot clear O_NONBLOCK: {}",
            io::Error::last_os_error()
        ));
    }
    stats.files_opened += 1;
    Ok(OpenFile { file, direct })
}
