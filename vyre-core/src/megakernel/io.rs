//! Servicing the read requests payloads post (GPU-initiated reads): the host
//! checks each request, reads the bytes with the feeder's read engine
//! (io_uring; plain `pread` when io_uring is unavailable) and publishes them
//! as a slot for the request's continuation payload.

use std::fs::File;
use std::io;

use super::protocol::*;
use super::{Megakernel, TenantId, Work, B_CONTROL, B_IO, B_RING};
use crate::backend::Backend;
use crate::error::Result;
use crate::feeder::engine::{Engine, ReadReq};

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

/// Reads `len` bytes at `offset` of each file through the feeder's read
/// engine (io_uring, or `pread` when io_uring is unavailable); one result per
/// read, in order, and the engine's name.
pub(crate) fn read_many(reads: &[(&File, u64, usize)]) -> (Vec<io::Result<Vec<u8>>>, &'static str) {
    let mut engine = Engine::new(64, false, 0);
    let mut bufs: Vec<Vec<u8>> = reads.iter().map(|r| vec![0u8; r.2]).collect();
    let mut results: Vec<Option<i32>> = vec![None; reads.len()];
    let cap = engine.capacity().max(1);
    let mut done = Vec::new();
    let (mut next, mut inflight) = (0usize, 0usize);
    while next < reads.len() || inflight > 0 {
        while next < reads.len() && inflight < cap {
            let (file, offset, len) = reads[next];
            let req = ReadReq {
                id: next as u64,
                file,
                dest: bufs[next].as_mut_ptr(),
                arena_off: 0,
                len: len as u32,
                offset,
            };
            // SAFETY: bufs[next] owns `len` bytes on the heap that nothing
            // touches until this read's completion is returned by `wait`
            // below; the loop does not end while reads are in flight (the
            // engine aborts rather than return with reads outstanding); `file`
            // is borrowed for the whole call.
            unsafe { engine.push(&req) };
            next += 1;
            inflight += 1;
        }
        engine.wait(1, &mut done);
        for (id, res) in done.drain(..) {
            if let Some(r) = results.get_mut(id as usize) {
                *r = Some(res);
            }
            inflight = inflight.saturating_sub(1);
        }
    }
    let out = results
        .into_iter()
        .zip(bufs)
        .zip(reads)
        .map(|((res, buf), req)| match res {
            Some(n) if n >= 0 && n as usize == req.2 => Ok(buf),
            Some(n) if n >= 0 => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("short read: {n} of {} bytes (the file changed?)", req.2),
            )),
            Some(e) => Err(io::Error::from_raw_os_error(-e)),
            None => Err(io::Error::other("the read engine returned no completion")),
        })
        .collect();
    (out, engine.name())
}

impl<B: Backend> Megakernel<B> {
    /// The read requests payloads posted in the last run, and how many were
    /// dropped because the queue was full.
    pub fn io_requests(&self) -> (Vec<IoRequest>, u32) {
        let q = &self.bufs[B_IO];
        let posted = q.first().copied().unwrap_or(0);
        let kept = posted.min(self.io_capacity);
        let reqs = (0..kept as usize)
            .filter_map(|i| {
                let at = (IO_HEADER_WORDS + i as u32 * IO_REQ_WORDS) as usize;
                let w = q.get(at..at + IO_REQ_WORDS as usize)?;
                Some(IoRequest {
                    slot: w[IO_REQ_SLOT as usize],
                    file: w[IO_REQ_FILE as usize],
                    offset: (w[IO_REQ_OFF_HI as usize] as u64) << 32
                        | w[IO_REQ_OFF_LO as usize] as u64,
                    len: w[IO_REQ_LEN as usize],
                    continuation: w[IO_REQ_CONT as usize],
                })
            })
            .collect();
        (reqs, posted - kept)
    }

    /// Services the read requests of the last run: checks each one (file
    /// index in `files`, 1..=`max_len` bytes inside the file, a continuation
    /// that is a registered payload, posted by a slot that ran), reads the
    /// bytes with io_uring and publishes them as a slot for the continuation,
    /// for the tenant of the slot that asked. A refused or failed request
    /// becomes a continuation slot in FAULT with `FAULT_BAD_IO` /
    /// `FAULT_IO_ERROR`, never an out-of-bounds read. Empties the queue; call
    /// [`Megakernel::run`] again to run the continuations.
    pub fn service_io(&mut self, files: &[std::path::PathBuf], max_len: u32) -> Result<IoReport> {
        let (reqs, dropped) = self.io_requests();
        let mut report = IoReport {
            dropped,
            ingest: "io_uring",
            ..Default::default()
        };
        let first_payload = FIRST_PAYLOAD_OPCODE;
        let last_payload = FIRST_PAYLOAD_OPCODE + self.initial_results.len() as u32;
        let mut opened: Vec<Option<(std::fs::File, u64)>> = Vec::new();
        let mut ok: Vec<(usize, IoRequest, TenantId)> = Vec::new();
        let mut bad: Vec<(IoRequest, TenantId, u32, String)> = Vec::new();
        for r in reqs {
            let tenant = if r.slot < self.slots {
                TenantId(self.bufs[B_RING][(r.slot * SLOT_WORDS + SLOT_TENANT) as usize])
            } else {
                TenantId(u32::MAX)
            };
            let ran = r.slot < self.slots
                && self.bufs[B_RING][(r.slot * SLOT_WORDS + SLOT_STATUS) as usize] == DONE;
            let why = if !ran {
                Some(format!(
                    "posted by slot {}, which did not run in this batch",
                    r.slot
                ))
            } else if !(first_payload..last_payload).contains(&r.continuation) {
                Some(format!(
                    "continuation opcode {} is not a registered payload",
                    r.continuation
                ))
            } else if r.file as usize >= files.len() {
                Some(format!(
                    "file {} is not in the file table ({} files)",
                    r.file,
                    files.len()
                ))
            } else if r.len == 0 || r.len > max_len {
                Some(format!("length {} is outside 1..={max_len}", r.len))
            } else {
                None
            };
            if let Some(w) = why {
                bad.push((r, tenant, FAULT_BAD_IO, w));
                continue;
            }
            let f = r.file as usize;
            if opened.len() <= f {
                opened.resize_with(f + 1, || None);
            }
            if opened[f].is_none() {
                match std::fs::File::open(&files[f])
                    .and_then(|h| h.metadata().map(|m| (h, m.len())))
                {
                    Ok(fm) => opened[f] = Some(fm),
                    Err(e) => {
                        bad.push((
                            r,
                            tenant,
                            FAULT_IO_ERROR,
                            format!("{}: {e}", files[f].display()),
                        ));
                        continue;
                    }
                }
            }
            let size = opened[f].as_ref().map(|o| o.1).unwrap_or(0);
            if r.offset
                .checked_add(r.len as u64)
                .is_none_or(|end| end > size)
            {
                bad.push((
                    r,
                    tenant,
                    FAULT_BAD_IO,
                    format!(
                        "bytes {}..+{} are outside the file's {size} bytes",
                        r.offset, r.len
                    ),
                ));
                continue;
            }
            ok.push((f, r, tenant));
        }
        let reads: Vec<(&std::fs::File, u64, usize)> = ok
            .iter()
            .filter_map(|(f, r, _)| {
                opened[*f]
                    .as_ref()
                    .map(|o| (&o.0, r.offset, r.len as usize))
            })
            .collect();
        let (results, ingest) = read_many(&reads);
        report.ingest = ingest;
        for ((_, r, tenant), res) in ok.into_iter().zip(results) {
            let name = self.op_name(r.continuation);
            match res {
                Ok(bytes) => {
                    self.publish(Work {
                        op: &name,
                        tenant,
                        data: &bytes,
                        start: 0,
                        args: &[],
                        result_words: None,
                        position: Default::default(),
                    })?;
                    report.served += 1;
                }
                Err(e) => bad.push((r, tenant, FAULT_IO_ERROR, e.to_string())),
            }
        }
        for (r, tenant, reason, why) in bad {
            // A continuation slot that is already FAULT: the kernel never runs it.
            let name = self.op_name(r.continuation);
            let name = if self.opcodes.contains_key(&name) {
                name
            } else {
                "nop".to_string()
            };
            let slot = self.publish(Work {
                op: &name,
                tenant,
                data: &[],
                start: 0,
                args: &[],
                result_words: Some(0),
                position: Default::default(),
            })?;
            let s = (slot.0 * SLOT_WORDS) as usize;
            self.bufs[B_RING][s + SLOT_FAULT_REASON as usize] = reason;
            self.bufs[B_RING][s + SLOT_STATUS as usize] = FAULT;
            report.refused.push((r, why));
        }
        self.bufs[B_IO][0] = 0;
        self.bufs[B_CONTROL][CTRL_SLOT_COUNT as usize] = self.slots;
        Ok(report)
    }

    fn op_name(&self, op: u32) -> String {
        self.opcodes
            .iter()
            .find(|(_, o)| **o == op)
            .map(|(n, _)| n.clone())
            .unwrap_or_default()
    }
}
