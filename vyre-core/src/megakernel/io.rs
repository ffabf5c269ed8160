//! Servicing the read requests payloads post (GPU-initiated reads): the host
//! checks each request, reads the bytes with io_uring (plain `pread` when
//! io_uring is unavailable) and publishes them as a slot for the request's
//! continuation payload.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;

use io_uring::{opcode, types, IoUring};

/// One read request as a payload posted it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoRequest {
    /// Slot that posted it.
    pub slot: u32,
    /// Index in the host's file table.
    pub file: u32,
    /// Byte offset in the file.
    pub offset: u64,
    /// Bytes asked for.
    pub len: u32,
    /// Opcode of the continuation payload.
    pub continuation: u32,
}

/// What [`super::Megakernel::service_io`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IoReport {
    /// Requests read and published as continuation slots.
    pub served: u32,
    /// Requests answered with a FAULT continuation slot, with the reason text.
    pub refused: Vec<(IoRequest, String)>,
    /// Requests dropped because the queue was full when they were posted.
    pub dropped: u32,
    /// `io_uring` or `pread`.
    pub ingest: &'static str,
}

/// Reads `len` bytes at `offset` of each file; one result per read, in order.
pub(crate) fn read_many(reads: &[(&File, u64, usize)]) -> (Vec<io::Result<Vec<u8>>>, &'static str) {
    let mut bufs: Vec<Vec<u8>> = reads.iter().map(|r| vec![0u8; r.2]).collect();
    match read_uring(reads, &mut bufs) {
        Ok(done) => {
            let out = done
                .into_iter()
                .zip(bufs)
                .zip(reads)
                .map(|((r, buf), req)| match r {
                    Ok(n) if n == req.2 => Ok(buf),
                    Ok(n) => Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("short read: {n} of {} bytes (the file changed?)", req.2),
                    )),
                    Err(e) => Err(e),
                })
                .collect();
            (out, "io_uring")
        }
        Err(_) => {
            let out = reads
                .iter()
                .map(|(f, off, len)| {
                    let mut buf = vec![0u8; *len];
                    f.read_exact_at(&mut buf, *off).map(|_| buf)
                })
                .collect();
            (out, "pread")
        }
    }
}

/// All reads through one io_uring; `Err` only if the ring could not be used
/// at all (then nothing is in flight and the caller falls back).
fn read_uring(reads: &[(&File, u64, usize)], bufs: &mut [Vec<u8>]) -> io::Result<Vec<io::Result<usize>>> {
    let n = reads.len();
    let depth = n.clamp(1, 64) as u32;
    let mut ring = IoUring::new(depth.next_power_of_two())?;
    let mut results: Vec<Option<io::Result<usize>>> = (0..n).map(|_| None).collect();
    let (mut next, mut inflight) = (0usize, 0u32);
    while next < n || inflight > 0 {
        while next < n && inflight < depth {
            let (f, off, len) = reads[next];
            let sqe = opcode::Read::new(types::Fd(f.as_raw_fd()), bufs[next].as_mut_ptr(), len as u32)
                .offset(off)
                .build()
                .user_data(next as u64);
            // SAFETY: bufs[next] owns `len` bytes on the heap that nothing else
            // touches until this read's completion is reaped below; the loop
            // does not return while reads are in flight (on a fatal ring error
            // the buffers are leaked instead of freed); the fd stays open
            // because `reads` borrows its File for the whole call.
            if unsafe { ring.submission().push(&sqe) }.is_err() {
                break; // queue full: submit what is queued first
            }
            next += 1;
            inflight += 1;
        }
        loop {
            match ring.submit_and_wait(1) {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if inflight > 0 {
                        // Reads may still land in these buffers: never free them.
                        for b in bufs.iter_mut() {
                            std::mem::forget(std::mem::take(b));
                        }
                    }
                    return Err(e);
                }
            }
        }
        for cqe in ring.completion() {
            let i = cqe.user_data() as usize;
            let r = cqe.result();
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(if r < 0 { Err(io::Error::from_raw_os_error(-r)) } else { Ok(r as usize) });
            }
            inflight = inflight.saturating_sub(1);
        }
    }
    Ok(results.into_iter().map(|r| r.unwrap_or_else(|| Err(io::Error::other("no completion")))).collect())
}
