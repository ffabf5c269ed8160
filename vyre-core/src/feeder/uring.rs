//! The io_uring read engine.
//!
//! Reads go straight into the caller's arena (no bounce buffer). When the
//! arena is at least [`MIN_REGISTER`] bytes it is registered as fixed buffers
//! (`IORING_REGISTER_BUFFERS`, split in 1 GiB segments, the kernel's limit)
//! and reads inside one segment use `IORING_OP_READ_FIXED`; otherwise
//! `IORING_OP_READ`.
//!
//! ## Registration across fills
//! The registration is kept while the arena's pointer and length stay the
//! same. A registration pins the *pages* that backed the arena when it was
//! made; if the caller frees the arena and a new one is mapped at the same
//! address, fixed reads would land in the old, now unmapped pages and the new
//! arena would silently keep stale bytes. So before each fill that reuses a
//! registration, a probe checks that it still reaches the arena: a few 8-byte
//! fixed reads from a memfd holding fresh nonces into the first, middle and
//! last page of the arena; if the CPU does not see the nonces, the
//! registration is stale and is redone. (A remap of only some middle pages is
//! not detected; nothing vyre does produces one.) Writes to stale pages are
//! harmless to the process: those pages are no longer mapped anywhere in it.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::time::Duration;

use io_uring::{opcode, types, IoUring, Probe};

use super::request::{EngineCounters, ReadReq};

/// Arenas smaller than this are not registered.
pub(crate) const MIN_REGISTER: usize = 64 * 1024;
/// Largest fixed buffer the kernel accepts.
const SEGMENT: usize = 1 << 30;
/// user_data bit marking probe reads.
const PROBE_TAG: u64 = 1 << 63;

pub(crate) struct Uring {
    ring: IoUring,
    cap: usize,
    /// (pointer, length) of the registered arena.
    reg: Option<(usize, usize)>,
    /// Whether fixed reads may be used in the current fill.
    active: bool,
    /// An arena whose registration failed; not retried until it changes.
    reg_failed: Option<(usize, usize)>,
    memfd: Option<File>,
    nonce: u64,
    /// Completions reaped while making room in the rings, not yet handed out.
    stash: Vec<(u64, i32)>,
    pub counters: EngineCounters,
}

impl Uring {
    /// Sets up a ring for `queue_depth` reads in flight; `Err` says why
    /// io_uring cannot be used.
    pub fn new(queue_depth: u32) -> Result<Uring, String> {
        let entries = queue_depth.clamp(1, 4096).next_power_of_two();
        // COOP_TASKRUN (5.19+) avoids needless IPIs; retry without it on older kernels.
        let ring = match IoUring::builder().setup_coop_taskrun().build(entries) {
            Ok(r) => r,
            Err(_) => IoUring::new(entries).map_err(|e| format!("io_uring_setup: {e}"))?,
        };
        let mut probe = Probe::new();
        ring.submitter()
            .register_probe(&mut probe)
            .map_err(|e| format!("opcode probe failed (kernel older than 5.6?): {e}"))?;
        for (code, name) in [
            (opcode::Read::CODE, "IORING_OP_READ"),
            (opcode::ReadFixed::CODE, "IORING_OP_READ_FIXED"),
        ] {
            if !probe.is_supported(code) {
                return Err(format!("kernel lacks {name}"));
            }
        }
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15);
        Ok(Uring {
            ring,
            cap: queue_depth.clamp(1, 4096) as usize,
            reg: None,
            active: false,
            reg_failed: None,
            memfd: None,
            nonce,
            stash: Vec::new(),
            counters: EngineCounters::default(),
        })
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Makes fixed reads available for the arena `[base, base + len)` if
    /// possible (see the module docs). Nothing is in flight when called.
    pub fn prepare(&mut self, base: *mut u8, len: usize) {
        let key = (base as usize, len);
        self.active = false;
        if len < MIN_REGISTER {
            return;
        }
        if self.reg == Some(key) {
            if self.verify(base, len) {
                self.active = true;
                return;
            }
            self.counters.stale_registrations += 1;
        }
        self.unregister();
        if self.reg_failed == Some(key) {
            return;
        }
        let iovecs: Vec<libc::iovec> = (0..len)
            .step_by(SEGMENT)
            .map(|off| libc::iovec {
                iov_base: base.wrapping_add(off).cast(),
                iov_len: SEGMENT.min(len - off),
            })
            .collect();
        // SAFETY: the iovecs describe the caller's arena, valid now. The kernel
        // pins its pages for as long as the registration lasts, so later frees
        // of the arena cannot make the kernel touch memory the process reuses;
        // fixed reads are only issued into the arena of the current fill after
        // `verify` has shown that the pinned pages are the arena's pages.
        match unsafe { self.ring.submitter().register_buffers(&iovecs) } {
            Ok(()) => {
                self.reg = Some(key);
                self.counters.registrations += 1;
                if self.verify(base, len) {
                    self.active = true;
                } else {
                    self.unregister();
                    self.reg_failed = Some(key);
                }
            }
            Err(_) => {
                // ENOMEM (RLIMIT_MEMLOCK), EFAULT (device or file mapping)...
                self.counters.register_failures += 1;
                self.reg_failed = Some(key);
            }
        }
    }

    pub fn unregister(&mut self) {
        self.active = false;
        if self.reg.take().is_some() {
            let _ = self.ring.submitter().unregister_buffers();
        }
    }

    /// Checks that fixed reads into the registered arena land in the pages the
    /// CPU sees at `[base, base + len)`.
    fn verify(&mut self, base: *mut u8, len: usize) -> bool {
        if self.memfd.is_none() {
            // SAFETY: plain syscall with a NUL-terminated name.
            let fd =
                unsafe { libc::memfd_create(c"vyre-feeder-probe".as_ptr(), libc::MFD_CLOEXEC) };
            if fd < 0 {
                return false;
            }
            // SAFETY: `fd` was just returned by memfd_create and is owned by no one else.
            self.memfd = Some(unsafe { File::from_raw_fd(fd) });
        }
        let mut spots = vec![0, (len / 2) & !7, (len - 8) & !7];
        spots.dedup();
        let mut nonces = Vec::with_capacity(spots.len());
        let mut bytes = Vec::new();
        for _ in &spots {
            self.nonce = self
                .nonce
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            nonces.push(self.nonce.to_le_bytes());
            bytes.extend_from_slice(&self.nonce.to_le_bytes());
        }
        let memfd = self.memfd.as_mut().expect("memfd created above");
        if std::os::unix::fs::FileExt::write_all_at(&*memfd, &bytes, 0)
            .and_then(|_| memfd.flush())
            .is_err()
        {
            return false;
        }
        let fd = memfd.as_raw_fd();
        for (k, &spot) in spots.iter().enumerate() {
            for (j, b) in nonces[k].iter().enumerate() {
                // SAFETY: `spot + 8 <= len`; the arena is exclusively ours during fill.
                unsafe { base.add(spot + j).write_volatile(!b) };
            }
            let e = opcode::ReadFixed::new(
                types::Fd(fd),
                base.wrapping_add(spot),
                8,
                (spot / SEGMENT) as u16,
            )
            .offset(8 * k as u64)
            .build()
            .user_data(PROBE_TAG | k as u64);
            // SAFETY: the 8 destination bytes are inside the registered arena,
            // which the caller lends us for the whole fill; we wait below for
            // every probe completion before returning, so none is in flight
            // afterwards.
            unsafe { self.push_entry(&e) };
        }
        let mut out = Vec::new();
        while out.len() < spots.len() {
            self.wait(1, &mut out);
        }
        let all_read = out.iter().all(|&(id, res)| id & PROBE_TAG != 0 && res == 8);
        all_read
            && spots.iter().zip(&nonces).all(|(&spot, nonce)| {
                // SAFETY: in bounds as above; the reads have completed.
                nonce
                    .iter()
                    .enumerate()
                    .all(|(j, b)| unsafe { base.add(spot + j).read_volatile() } == *b)
            })
    }

    /// # Safety
    /// The entry's buffer must stay valid until its completion is reaped.
    unsafe fn push_entry(&mut self, e: &io_uring::squeue::Entry) {
        loop {
            // SAFETY: forwarded from the caller.
            if unsafe { self.ring.submission().push(e) }.is_ok() {
                return;
            }
            // Queue full: hand what is queued to the kernel and try again.
            self.enter(0);
        }
    }

    /// # Safety
    /// See [`super::engine::Engine::push`].
    pub unsafe fn push(&mut self, req: &ReadReq<'_>) {
        let fd = types::Fd(req.file.as_raw_fd());
        let seg = req.arena_off / SEGMENT;
        let in_one_segment = (req.arena_off + req.len as usize - 1) / SEGMENT == seg;
        let e = if self.active && in_one_segment {
            self.counters.fixed_reads += 1;
            opcode::ReadFixed::new(fd, req.dest, req.len, seg as u16)
                .offset(req.offset)
                .build()
        } else {
            opcode::Read::new(fd, req.dest, req.len)
                .offset(req.offset)
                .build()
        };
        // SAFETY: the caller guarantees `dest..dest + len` stays valid and
        // untouched until this completion is returned by `wait`; the executor
        // never returns from `fill` (nor unwinds out of it) before that.
        unsafe { self.push_entry(&e.user_data(req.id)) };
    }

    /// Queues a plain read of `len` bytes of `fd` at `offset` into `dest`
    /// (the reader threads' path: no registered arena).
    ///
    /// # Safety
    /// `dest` must be valid for writes of `len` bytes and untouched by anyone
    /// else, and `fd` must stay open, until this read's completion has been
    /// returned by [`Uring::wait`].
    pub unsafe fn push_plain(&mut self, id: u64, fd: RawFd, dest: *mut u8, len: u32, offset: u64) {
        let e = opcode::Read::new(types::Fd(fd), dest, len)
            .offset(offset)
            .build()
            .user_data(id);
        // SAFETY: forwarded from the caller.
        unsafe { self.push_entry(&e) };
    }

    /// Submits queued reads and collects completions, blocking for `min`.
    pub fn wait(&mut self, min: usize, out: &mut Vec<(u64, i32)>) {
        let min = if self.stash.is_empty() { min } else { 0 };
        self.enter(min);
        out.append(&mut self.stash);
        Self::drain(&mut self.ring, out);
    }

    fn drain(ring: &mut IoUring, out: &mut Vec<(u64, i32)>) -> usize {
        let before = out.len();
        out.extend(ring.completion().map(|c| (c.user_data(), c.result())));
        out.len() - before
    }

    /// `io_uring_enter` that only returns once the kernel has taken the queued
    /// entries. Reads may be in flight into memory we must not give back, so
    /// an error that cannot be waited out ends the process instead of
    /// returning (returning or unwinding could free the memory under them).
    fn enter(&mut self, mut min: usize) {
        let mut failures = 0u32;
        loop {
            match self.ring.submit_and_wait(min) {
                Ok(_) => return,
                Err(e) => match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::EAGAIN) | Some(libc::EBUSY) => {
                        // Completion queue full or kernel short of memory: make room.
                        if Self::drain(&mut self.ring, &mut self.stash) > 0 {
                            min = 0;
                        } else {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    }
                    _ => {
                        failures += 1;
                        if failures > 1000 {
                            fatal(&e);
                        }
                        std::thread::sleep(Duration::from_millis(1));
                    }
                },
            }
        }
    }
}

#[cold]
fn fatal(e: &io::Error) -> ! {
    tracing::error!("io_uring_enter keeps failing with reads in flight into the arena ({e}); aborting rather than risk memory corruption");
    std::process::abort()
}
