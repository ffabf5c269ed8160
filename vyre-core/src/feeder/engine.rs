//! The read engines behind one interface: io_uring ([`super::uring`]), a
//! pool of reader threads with a ring each, or with `pread`
//! ([`super::threads`]), and plain `pread` (the fallback). The batch
//! executor ([`super::exec`]) drives them all the same way, so they produce
//! identical results by construction.

use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};

pub(crate) use super::request::{EngineCounters, ReadReq};
use super::threads::{ThreadIo, Threads};
use super::uring::Uring;

pub(crate) enum Engine {
    Uring(Box<Uring>),
    Threads(Threads),
    Pread(Pread),
}

static WARNED: AtomicBool = AtomicBool::new(false);

fn warn_once(what: &str) {
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!("{what}");
    }
}

fn no_uring(why: &str) -> String {
    format!("io_uring unavailable ({why}); using plain reads")
}

impl Engine {
    /// With `read_threads` above 0, a pool of that many threads (at most
    /// 64; fewer if the system refuses to start more), each with its own
    /// io_uring ring (with `pread` if `force_fallback`); else, or if no
    /// thread can be started, one ring (plain `pread` if `force_fallback`).
    /// On io_uring setup failure, pread. Each fallback prints one line on
    /// stderr (once per process).
    pub fn new(queue_depth: u32, force_fallback: bool, read_threads: u32) -> Engine {
        if read_threads > 0 {
            let io = if force_fallback {
                ThreadIo::Pread
            } else {
                ThreadIo::Uring
            };
            match Threads::new(read_threads, queue_depth, io) {
                Ok((pool, why)) => {
                    if let Some(why) = why {
                        warn_once(&why);
                    }
                    return Engine::Threads(pool);
                }
                // No thread could be started: read on the caller's thread.
                Err(why) => warn_once(&format!("{why}; reading on the calling thread")),
            }
        }
        if force_fallback {
            return Engine::Pread(Pread::default());
        }
        match Uring::new(queue_depth) {
            Ok(u) => Engine::Uring(Box::new(u)),
            Err(why) => {
                warn_once(&no_uring(&why));
                Engine::Pread(Pread::default())
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Engine::Uring(_) => "io_uring",
            Engine::Threads(t) if t.io() == ThreadIo::Uring => "io_uring threads",
            Engine::Threads(_) => "pread threads",
            Engine::Pread(_) => "pread",
        }
    }

    /// Most reads in flight at once.
    pub fn capacity(&self) -> usize {
        match self {
            Engine::Uring(u) => u.capacity(),
            Engine::Threads(t) => t.capacity(),
            Engine::Pread(_) => 1,
        }
    }

    pub fn counters(&self) -> EngineCounters {
        match self {
            Engine::Uring(u) => u.counters,
            Engine::Threads(_) | Engine::Pread(_) => EngineCounters::default(),
        }
    }

    /// Called at the start of every fill with the arena it will read into.
    pub fn prepare(&mut self, base: *mut u8, len: usize) {
        if let Engine::Uring(u) = self {
            u.prepare(base, len);
        }
    }

    /// Drops any arena registration.
    pub fn release(&mut self) {
        if let Engine::Uring(u) = self {
            u.unregister();
        }
    }

    /// Starts a read. Its completion is delivered by a later [`Engine::wait`].
    ///
    /// # Safety
    /// `req.dest` must be valid for writes of `req.len` bytes, must not be
    /// accessed by anyone else, and must stay so until the completion with
    /// `req.id` has been returned by `wait`; `req.file` must stay open as long.
    pub unsafe fn push(&mut self, req: &ReadReq<'_>) {
        match self {
            // SAFETY: forwarded contract.
            Engine::Uring(u) => unsafe { u.push(req) },
            // SAFETY: forwarded contract.
            Engine::Threads(t) => unsafe { t.push(req) },
            // SAFETY: forwarded contract.
            Engine::Pread(p) => unsafe { p.push(req) },
        }
    }

    /// Appends completions `(id, result)` to `out`, blocking until at least
    /// `min` are available. `result` is the byte count or `-errno`.
    pub fn wait(&mut self, min: usize, out: &mut Vec<(u64, i32)>) {
        match self {
            Engine::Uring(u) => u.wait(min, out),
            Engine::Threads(t) => t.wait(min, out),
            Engine::Pread(p) => out.append(&mut p.done),
        }
    }
}

/// The fallback: each read is done synchronously with `pread(2)`
/// ([`FileExt::read_at`]) when pushed; `wait` hands the results back.
#[derive(Default)]
pub(crate) struct Pread {
    done: Vec<(u64, i32)>,
}

impl Pread {
    /// # Safety
    /// See [`Engine::push`].
    unsafe fn push(&mut self, req: &ReadReq<'_>) {
        // SAFETY: the caller guarantees `dest` is valid for `len` bytes and
        // not otherwise accessed; the read is complete before this returns,
        // so the slice does not outlive the call.
        let buf = unsafe { std::slice::from_raw_parts_mut(req.dest, req.len as usize) };
        let res = loop {
            match req.file.read_at(buf, req.offset) {
                Ok(n) => break n as i32,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break -e.raw_os_error().unwrap_or(libc::EIO),
            }
        };
        self.done.push((req.id, res));
    }
}
