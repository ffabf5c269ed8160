//! A read engine that spreads reads over a pool of threads, each reading
//! with its own io_uring ring (or with `pread(2)`).
//!
//! Reads of data already in the page cache are memory copies done by the
//! kernel in the context of the thread that asks; io_uring completes them
//! inline at submission, one after the other, so a single submitting thread
//! bounds ingest at one core's copy speed. This engine spreads the reads of a
//! batch over several threads, each copying into its own part of the arena:
//! one ring per thread (the usual way to scale io_uring over cores), each
//! taking up to [`RING_BATCH`] reads per `io_uring_enter`. It is driven
//! exactly like the other engines ([`super::engine::Engine`]).

use std::os::fd::{AsRawFd, RawFd};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::request::ReadReq;
use super::uring::Uring;

/// Most reads a ring thread takes from the queue for one `io_uring_enter`.
/// 1: on the 2-core CI box, taking up to 4 let one thread take reads another
/// could have done (20 000 files of 4 KiB: 673 MiB/s, against 891 with 1).
pub(crate) const RING_BATCH: usize = 1;

/// Most threads in a pool (as [`super::MAX_READ_THREADS`]; larger requests
/// are clamped here for callers that skip validation).
pub(crate) const MAX_THREADS: u32 = super::MAX_READ_THREADS;

/// How each thread of the pool reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ThreadIo {
    /// Its own io_uring ring.
    Uring,
    /// `pread(2)`.
    Pread,
}

/// One read handed to a worker.
struct Job {
    id: u64,
    fd: RawFd,
    dest: Dest,
    len: u32,
    offset: u64,
}

/// The arena address a read goes to.
struct Dest(*mut u8);

// SAFETY: `Engine::push`'s contract makes `dest` valid for `len` bytes and
// exclusively the engine's until the read's completion is returned by
// `wait`; the worker that owns the job is the only one touching it until it
// sends that completion.
unsafe impl Send for Dest {}

/// The pool: jobs go out on one channel, completions come back on another.
pub(crate) struct Threads {
    jobs: Option<Sender<Job>>,
    done: Receiver<(u64, i32)>,
    workers: Vec<JoinHandle<()>>,
    capacity: usize,
    /// Reads that could not be queued, reported as failed by `wait`.
    lost: Vec<(u64, i32)>,
    io: ThreadIo,
}

impl Threads {
    /// `threads` workers (at least 1, at most [`MAX_THREADS`]), up to
    /// `capacity` reads in flight, reading with `io`. If a ring cannot be
    /// set up, all workers use `pread` and the reason comes back alongside
    /// the pool. If the system refuses to start some of the threads, the
    /// pool has fewer (the reason comes back too); `Err` only if it starts
    /// none.
    pub fn new(
        threads: u32,
        capacity: u32,
        io: ThreadIo,
    ) -> Result<(Threads, Option<String>), String> {
        let (jobs, job_rx) = channel::<Job>();
        let (done_tx, done) = channel();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let threads = threads.clamp(1, MAX_THREADS);
        let mut rings = Vec::new();
        let mut why = None;
        if io == ThreadIo::Uring {
            for _ in 0..threads {
                match Uring::new(RING_BATCH as u32) {
                    Ok(r) => rings.push(r),
                    Err(e) => {
                        why = Some(format!("io_uring unavailable ({e}); using plain reads"));
                        rings.clear();
                        break;
                    }
                }
            }
        }
        let io = if rings.is_empty() {
            ThreadIo::Pread
        } else {
            io
        };
        let mut rings = rings.into_iter();
        let mut workers = Vec::new();
        for n in 0..threads {
            let rx = Arc::clone(&job_rx);
            let tx = done_tx.clone();
            let b = std::thread::Builder::new().name(format!("vyre-reader-{n}"));
            let spawned = match rings.next() {
                Some(ring) => b.spawn(move || ring_worker(ring, &rx, &tx)),
                None => b.spawn(move || worker(&rx, &tx)),
            };
            match spawned {
                Ok(h) => workers.push(h),
                Err(e) if workers.is_empty() => {
                    return Err(format!("cannot start a reader thread: {e}"))
                }
                Err(e) => {
                    why = Some(format!(
                        "started {n} of {threads} reader threads, then: {e}"
                    ));
                    break;
                }
            }
        }
        let pool = Threads {
            jobs: Some(jobs),
            done,
            workers,
            capacity: capacity.max(1) as usize,
            lost: Vec::new(),
            io,
        };
        Ok((pool, why))
    }

    /// How the workers read.
    pub fn io(&self) -> ThreadIo {
        self.io
    }

    /// Most reads in flight.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Queues a read.
    ///
    /// # Safety
    /// See [`super::engine::Engine::push`].
    pub unsafe fn push(&mut self, req: &ReadReq<'_>) {
        let job = Job {
            id: req.id,
            fd: req.file.as_raw_fd(),
            dest: Dest(req.dest),
            len: req.len,
            offset: req.offset,
        };
        let sent = self.jobs.as_ref().map(|tx| tx.send(job));
        if !matches!(sent, Some(Ok(()))) {
            // No worker left (cannot happen while `self` lives): report the
            // read as failed rather than losing it.
            self.lost.push((req.id, -libc::EIO));
        }
    }

    /// Appends completions, blocking until at least `min` arrived.
    pub fn wait(&mut self, min: usize, out: &mut Vec<(u64, i32)>) {
        let start = out.len();
        out.append(&mut self.lost);
        while out.len() - start < min {
            match self.done.recv() {
                Ok(c) => out.push(c),
                Err(_) => return,
            }
        }
        while let Ok(c) = self.done.try_recv() {
            out.push(c);
        }
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        // Closing the job channel ends every worker once its queue is empty.
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// A worker with its own ring: takes one read (waiting for it) and up to
/// `RING_BATCH - 1` more that are already queued, submits them together and
/// sends each completion back.
fn ring_worker(mut ring: Uring, jobs: &Mutex<Receiver<Job>>, done: &Sender<(u64, i32)>) {
    let mut batch = Vec::with_capacity(RING_BATCH);
    let mut out = Vec::with_capacity(RING_BATCH);
    loop {
        {
            let Ok(rx) = jobs.lock() else { return };
            match rx.recv() {
                Ok(j) => batch.push(j),
                Err(_) => return,
            }
            while batch.len() < RING_BATCH {
                match rx.try_recv() {
                    Ok(j) => batch.push(j),
                    Err(_) => break,
                }
            }
        }
        for job in &batch {
            // SAFETY: `job.dest` is valid for `job.len` bytes and only this
            // worker writes it until the completion below is sent (see
            // `Dest`); `job.fd` stays open until then (push's contract). All
            // of the batch's completions are waited for before they are sent.
            unsafe { ring.push_plain(job.id, job.fd, job.dest.0, job.len, job.offset) };
        }
        while out.len() < batch.len() {
            let want = batch.len() - out.len();
            ring.wait(want, &mut out);
        }
        batch.clear();
        for c in out.drain(..) {
            if done.send(c).is_err() {
                return;
            }
        }
    }
}

/// A worker that reads with `pread(2)`.
fn worker(jobs: &Mutex<Receiver<Job>>, done: &Sender<(u64, i32)>) {
    loop {
        let job = {
            let Ok(rx) = jobs.lock() else { return };
            match rx.recv() {
                Ok(j) => j,
                Err(_) => return,
            }
        };
        let res = loop {
            // SAFETY: `job.dest` is valid for `job.len` bytes and only this
            // worker writes it until the completion below is sent (see
            // `Dest`); `job.fd` stays open until then (push's contract).
            let n = unsafe {
                libc::pread(
                    job.fd,
                    job.dest.0.cast::<libc::c_void>(),
                    job.len as usize,
                    job.offset as libc::off_t,
                )
            };
            if n >= 0 {
                break n as i32;
            }
            let errno = std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO);
            if errno != libc::EINTR {
                break -errno;
            }
        };
        if done.send((job.id, res)).is_err() {
            return;
        }
    }
}
