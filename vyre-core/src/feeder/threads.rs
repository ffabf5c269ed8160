//! A read engine that runs `pread(2)` on a pool of threads.
//!
//! Reads of data already in the page cache are memory copies done by the
//! kernel in the context of the thread that asks; io_uring completes them
//! inline at submission, one after the other, so a single submitting thread
//! bounds ingest at one core's copy speed. This engine spreads the reads of a
//! batch over several threads, each copying into its own part of the arena.
//! It is driven exactly like the other engines ([`super::engine::Engine`]).

use std::os::fd::{AsRawFd, RawFd};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::engine::ReadReq;

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
}

impl Threads {
    /// `threads` workers (at least 1), up to `capacity` reads in flight.
    pub fn new(threads: u32, capacity: u32) -> Threads {
        let (jobs, job_rx) = channel::<Job>();
        let (done_tx, done) = channel();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let workers = (0..threads.max(1))
            .map(|_| {
                let rx = Arc::clone(&job_rx);
                let tx = done_tx.clone();
                std::thread::spawn(move || worker(&rx, &tx))
            })
            .collect();
        Threads {
            jobs: Some(jobs),
            done,
            workers,
            capacity: capacity.max(1) as usize,
            lost: Vec::new(),
        }
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
