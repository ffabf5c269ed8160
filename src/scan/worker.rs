//! Scan devices: one worker thread per device pulls batches from a shared
//! queue (a fast device takes more), runs each whole batch on its own
//! megakernel and hands the slot results back; the main thread folds them in
//! batch order.
//!
//! A batch whose run fails is never half-counted: its results are dropped,
//! the megakernel is reset, and the batch runs again from scratch — on the
//! same device after [`Backend::recover`] replaced a lost device (at most
//! [`MAX_RECOVERIES`] times per device and scan), otherwise on another device,
//! while the failed device takes no more work.

use std::collections::VecDeque;
use std::sync::mpsc::Sender;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

use vyre_core::feeder::Batch;
use vyre_core::megakernel::protocol::{FAULT_LOOP_CUT, FAULT_STEPS};
use vyre_core::megakernel::{ChunkPosition, DataRef, Megakernel, SlotRef, SlotStatus};
use vyre_core::{Backend, Error, Result};

use super::device_patterns::{DevicePatterns, PatternEngine, PatternResults};
pub(super) use super::job::{Arena, Job, Plan};
use super::literals::ChunkCounts;
use super::regex::RegexChunk;
use super::reread::reread;

/// How often one device may be recovered from device loss in one scan
/// before it counts as failed.
pub const MAX_RECOVERIES: u32 = 3;

/// A batch a device finished.
pub(super) struct Done {
    pub seq: u64,
    pub device: usize,
    pub batch: Batch,
    /// Result words of every slot, in publish order (per chunk, one slot per
    /// analysis); slot `i` owns `words[ends[i - 1]..ends[i]]`.
    pub words: Vec<u32>,
    pub ends: Vec<usize>,
    /// Slots that ended FAULT (index in publish order, fault reason), in
    /// order: their files fail with the reason, the rest of the batch counts.
    pub faults: Vec<(usize, u32)>,
    /// Per chunk, the host literal engine's counts (empty without it).
    pub host: Vec<ChunkCounts>,
    /// Per chunk, the regex engine's result (empty without `-r`).
    pub regex: Vec<RegexChunk>,
    /// Which engine counted the literals of this batch.
    pub literal_engine: PatternEngine,
    /// Which engine chose the lines the regexes searched.
    pub regex_engine: PatternEngine,
}

/// What the reader and the workers tell the main thread.
pub(super) enum Event {
    Done(Done),
    /// The device was lost and has been recovered; its batch runs again.
    Recovered {
        device: usize,
        reason: String,
    },
    /// The device stopped taking work; its batch went back to the queue.
    Failed {
        device: usize,
        error: Error,
    },
    /// Reading the files failed (not a per-file failure): the scan stops.
    ReadFailed(Error),
    /// A device that opened while the scan ran joined it under this name.
    Joined {
        device: usize,
        name: String,
        /// It brought upload arenas: batches are read straight into them.
        zero_copy: bool,
    },
    /// The reader queued all batches.
    ReaderFinished {
        batches: u64,
    },
    /// A scan thread panicked (a vyre bug): the scan stops.
    Panicked(String),
}

/// Batches waiting for a device.
#[derive(Default)]
pub(super) struct Queue {
    state: Mutex<(VecDeque<Job>, bool)>,
    ready: Condvar,
    /// Device workers running now ([`Queue::device_started`]); while there
    /// is one, native code takes only the batches they leave waiting, and
    /// none in upload arenas ([`Queue::pop_host`]).
    devices: std::sync::atomic::AtomicUsize,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, (VecDeque<Job>, bool)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a new batch; false once the queue is closed.
    pub fn push(&self, job: Job) -> bool {
        let mut s = self.lock();
        if s.1 {
            return false;
        }
        s.0.push_back(job);
        // Workers wait for different batches (`pop_host`): wake them all.
        self.ready.notify_all();
        true
    }

    /// Puts a failed batch first in line: the main thread waits for the
    /// oldest batch before it can fold later ones.
    pub(super) fn push_front(&self, job: Job) {
        let mut s = self.lock();
        s.0.push_front(job);
        self.ready.notify_all();
    }

    /// The next batch; `None` once the queue is closed.
    pub(super) fn pop(&self) -> Option<Job> {
        let mut s = self.lock();
        loop {
            if s.1 {
                return None;
            }
            if let Some(j) = s.0.pop_front() {
                return Some(j);
            }
            s = self.ready.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// [`Queue::pop`] for native code, which is slower than a GPU: while
    /// device workers run, only a batch they leave waiting (more batches
    /// queued than device workers) and only one in host memory (one in an
    /// upload arena native code would have to read again); with none
    /// running, the oldest batch. So native code helps a GPU that falls
    /// behind but does not hold up the end of a scan a GPU keeps up with.
    pub(super) fn pop_host(&self) -> Option<Job> {
        let mut s = self.lock();
        loop {
            if s.1 {
                return None;
            }
            let devices = self.devices.load(std::sync::atomic::Ordering::SeqCst);
            let at = match devices {
                0 => (!s.0.is_empty()).then_some(0),
                _ if s.0.len() <= devices => None,
                _ => s.0.iter().position(|j| matches!(j.arena, Arena::Host(_))),
            };
            if let Some(j) = at.and_then(|i| s.0.remove(i)) {
                return Some(j);
            }
            s = self.ready.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// A device worker starts taking batches; drop the guard when it stops.
    pub(super) fn device_started(&self) -> DeviceRunning<'_> {
        self.devices
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        DeviceRunning(self)
    }

    /// Whether [`Queue::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.lock().1
    }

    /// Wakes every waiting worker and makes them stop.
    pub fn close(&self) {
        self.lock().1 = true;
        self.ready.notify_all();
    }
}

/// A device worker counted by [`Queue::device_started`] until dropped.
pub(super) struct DeviceRunning<'a>(&'a Queue);

impl Drop for DeviceRunning<'_> {
    fn drop(&mut self) {
        let q = self.0;
        q.devices.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        // Native code may now take batches it left to this worker.
        let _guard = q.lock();
        q.ready.notify_all();
    }
}

/// Sends [`Event::Panicked`] when dropped during a panic, so the main thread
/// never waits for a thread that is gone.
pub(super) struct PanicNotice {
    pub events: Sender<Event>,
    pub who: String,
}

impl Drop for PanicNotice {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.events.send(Event::Panicked(self.who.clone()));
        }
    }
}

/// Wall time of one worker, by phase (target `vyre::timing`).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct WorkerTimes {
    pub idle: f64,
    pub publish: f64,
    pub run: f64,
    pub results: f64,
}

/// Runs batches from `queue` on `mk` until the queue closes or the device
/// fails; sends every outcome to `events` and every used arena to `free`.
pub(super) fn work<B: Backend>(
    device: usize,
    mut mk: Megakernel<B>,
    plan: &Plan<'_>,
    queue: &Queue,
    free: Sender<Arena>,
    events: Sender<Event>,
) -> WorkerTimes {
    let _notice = PanicNotice {
        events: events.clone(),
        who: format!("the worker of device {}", mk.backend().name()),
    };
    let mut times = WorkerTimes::default();
    let mut recoveries = 0;
    let mut t_idle = Instant::now();
    let mut patterns = DevicePatterns::new(device, mk.backend(), plan);
    let _running = queue.device_started();
    while let Some(mut job) = queue.pop() {
        times.idle += t_idle.elapsed().as_secs_f64();
        loop {
            // Which device generation this run starts on: workers sharing a
            // device (batches in flight) may see it recovered by another.
            let generation = mk.backend().device_generation();
            let run = run_batch(&mut mk, plan, &mut job, &mut times).and_then(|r| {
                let host = patterns.run(plan, &mut job, mk.backend())?;
                Ok((r, host))
            });
            match run {
                Ok((
                    SlotResults {
                        words,
                        ends,
                        faults,
                    },
                    PatternResults {
                        host,
                        regex,
                        literal_engine,
                        regex_engine,
                    },
                )) => {
                    // The reader may have finished already.
                    // An upload arena of a device lost since is replaced by
                    // host memory when the reader next maps it.
                    let _ = free.send(std::mem::replace(&mut job.arena, Arena::Lent));
                    let _ = events.send(Event::Done(Done {
                        seq: job.seq,
                        device,
                        batch: job.batch,
                        words,
                        ends,
                        faults,
                        host,
                        regex,
                        literal_engine,
                        regex_engine,
                    }));
                    break;
                }
                Err(error) => {
                    // Nothing of the failed run is kept: the next attempt
                    // starts from a reset megakernel.
                    mk.reset();
                    let error = if recoveries >= MAX_RECOVERIES {
                        error.with_note(&format!(
                            " (this device was already recovered {recoveries} times in this scan; no more tries)"
                        ))
                    } else {
                        let recovered = mk.backend().recover().map(|fresh| {
                            // Recovered by this call, or already by another
                            // worker on the same device since this run began.
                            fresh || mk.backend().device_generation() != generation
                        });
                        match recovered {
                            Ok(true) => {
                                recoveries += 1;
                                // The fix (recovery) is done: keep the cause.
                                let reason = error.message().into_owned();
                                let _ = events.send(Event::Recovered { device, reason });
                                continue;
                            }
                            Ok(false) => error,
                            Err(again) => Error::gpu(
                                format!(
                                    "{}; then recovering the device failed: {}",
                                    error.message(),
                                    again.message()
                                ),
                                again.fix().or(error.fix()).unwrap_or(
                                    "check the GPU and its driver (dmesg), then run again",
                                ),
                            ),
                        }
                    };
                    queue.push_front(job);
                    let _ = events.send(Event::Failed { device, error });
                    return times;
                }
            }
        }
        t_idle = Instant::now();
    }
    times
}

/// Runs one whole batch: adopts its arena, publishes a slot per chunk and
/// analysis, runs the megakernel, copies the results out. On success and on
/// failure alike the arena is back in `job.arena` afterwards.
fn run_batch<B: Backend>(
    mk: &mut Megakernel<B>,
    plan: &Plan<'_>,
    job: &mut Job,
    times: &mut WorkerTimes,
) -> Result<SlotResults> {
    if plan.analyses.is_empty() {
        // Only the host pattern engine runs: nothing for the device.
        return Ok(SlotResults {
            words: Vec::new(),
            ends: Vec::new(),
            faults: Vec::new(),
        });
    }
    mk.reset();
    if let Arena::Upload(up) = &job.arena {
        if up.generation() != mk.backend().device_generation() {
            // Read into an upload arena of a device that was lost since and
            // replaced: its bytes are gone with it, so read the batch again.
            let words = up.len() / 4;
            job.arena = Arena::Host(reread(
                plan.files,
                &mut job.batch,
                words,
                "after the GPU was lost",
            )?);
        }
    }
    let batch = &job.batch;
    let used_bytes = batch
        .chunks
        .iter()
        .map(|c| c.arena_offset + (c.look_behind + c.len) as usize)
        .max()
        .unwrap_or(0);
    let used = used_bytes.div_ceil(4);
    if used > job.arena.words() {
        return Err(Error::internal(format!(
            "a scan batch uses {used} arena words but its arena has {}",
            job.arena.words()
        )));
    }
    let base = match std::mem::replace(&mut job.arena, Arena::Lent) {
        Arena::Host(words) => mk.adopt_arena(words, used)?,
        Arena::Upload(up) => match mk.adopt_upload(up, used) {
            Ok(base) => base,
            Err((e, up)) => {
                job.arena = Arena::Upload(up);
                return Err(e);
            }
        },
        Arena::Lent => return Err(Error::internal("a scan batch came without its arena")),
    };
    let out = publish_and_run(mk, plan, batch, base, times, None);
    job.arena = match mk.take_upload() {
        Some(up) => Arena::Upload(up),
        None => Arena::Host(mk.take_arena()),
    };
    // A slot the device cut (llvmpipe's loop limit) runs on the CPU
    // reference, which needs the bytes in host memory: a batch read
    // straight into an upload arena runs again from its files.
    let cut = |o: &SlotResults| {
        o.faults
            .iter()
            .any(|f| matches!(f.1, FAULT_LOOP_CUT | FAULT_STEPS))
    };
    if let (Ok(o), Arena::Upload(up)) = (&out, &job.arena) {
        if cut(o) {
            let words = up.len() / 4;
            job.arena = Arena::Host(reread(
                plan.files,
                &mut job.batch,
                words,
                "to run a chunk the device cut on the CPU reference",
            )?);
            return run_batch(mk, plan, job, times);
        }
    }
    out
}

/// Publishes a slot per chunk and analysis (only the analyses `only` lists,
/// in order, when given) over the arena `mk` adopted at `base`, runs `mk`
/// and copies the results out in publish order.
pub(super) fn publish_and_run<B: Backend>(
    mk: &mut Megakernel<B>,
    plan: &Plan<'_>,
    batch: &Batch,
    base: DataRef,
    times: &mut WorkerTimes,
    only: Option<&[usize]>,
) -> Result<SlotResults> {
    let tp = Instant::now();
    let mut slots = Vec::with_capacity(batch.chunks.len() * plan.analyses.len());
    for c in &batch.chunks {
        if c.arena_offset % 4 != 0 || c.look_behind % 4 != 0 {
            return Err(Error::internal(format!(
                "feeder placed a chunk at arena offset {} with look-behind {}, not word aligned",
                c.arena_offset, c.look_behind
            )));
        }
        let full = DataRef {
            word_offset: base.word_offset + (c.arena_offset / 4) as u32,
            len: c.look_behind + c.len,
        };
        let owned = DataRef {
            word_offset: full.word_offset + c.look_behind / 4,
            len: c.len,
        };
        let position = ChunkPosition {
            file_offset: c.file_offset,
            file_len: plan.files[c.file].size,
            chunk_index: (c.file_offset / u64::from(plan.chunk_size.max(1))) as u32,
        };
        for (k, a) in plan.analyses.iter().enumerate() {
            if only.is_some_and(|o| !o.contains(&k)) {
                continue;
            }
            let p = &a.payload;
            let (data, start) = if p.look_behind > 0 {
                (full, c.look_behind)
            } else {
                (owned, 0)
            };
            slots.push(mk.publish_slot(SlotRef {
                op: &p.name,
                tenant: plan.tenant,
                data,
                start,
                args: &[],
                result_words: None,
                position,
            })?);
        }
    }
    let tr = Instant::now();
    times.publish += (tr - tp).as_secs_f64();
    let run = mk.run()?;
    times.run += tr.elapsed().as_secs_f64();
    if run.left_by_shutdown > 0 {
        return Err(Error::internal(format!(
            "{} slot(s) were left unrun in a scan batch on {}",
            run.left_by_shutdown,
            mk.backend().name()
        )));
    }
    let tc = Instant::now();
    let mut out = SlotResults {
        words: Vec::new(),
        ends: Vec::with_capacity(slots.len()),
        faults: Vec::new(),
    };
    for (i, slot) in slots.into_iter().enumerate() {
        match mk.status(slot)? {
            SlotStatus::Done => out.words.extend_from_slice(mk.results(slot)?),
            SlotStatus::Fault(reason) => out.faults.push((i, reason)),
            other => {
                return Err(Error::internal(format!(
                    "a scan slot ended {other:?} on {}",
                    mk.backend().name()
                )))
            }
        }
        out.ends.push(out.words.len());
    }
    times.results += tc.elapsed().as_secs_f64();
    Ok(out)
}

/// The result words of a batch's slots, in publish order, and its faults.
pub(super) struct SlotResults {
    pub words: Vec<u32>,
    /// Slot `i` owns `words[ends[i - 1]..ends[i]]`.
    pub ends: Vec<usize>,
    pub faults: Vec<(usize, u32)>,
}
