//! The native backend (`vyre scan --backend native`): the payloads compiled
//! by rustc (`#[vyre::payload]`'s native entry points, [`NativeSlot`]) run
//! over a batch's chunks on a pool of threads, one slot (chunk × analysis)
//! per task, with the slot semantics of the megakernel: the same data and
//! look-behind, the same runtime words, result regions preset to
//! `abi::initial_results`, one lane (`Lanes::all()`) doing the work of the
//! GPU's [`SCAN_LANES`](super::SCAN_LANES), and an iteration budget of
//! `iteration_budget * SCAN_LANES` loop iterations per slot (past it the
//! slot is `FAULT_BUDGET` and fails only its file, as on the GPU).
//!
//! Analyses without native code (payloads loaded from VIR0 or text) get
//! machine code from the JIT ([`vyre_core::jit::compile_cached`]); those it
//! cannot compile run on the CPU reference megakernel for their slots of
//! the batch.
//!
//! The worker takes batches from the same queue as the device workers and
//! hands back the same [`Done`]: slot words in publish order (per chunk,
//! one slot per analysis) and faults.

use std::sync::mpsc::Sender;
use std::time::Instant;

use rayon::prelude::*;
use vyre_core::cpu::CpuBackend;
use vyre_core::feeder::{Batch, ChunkDesc};
use vyre_core::megakernel::protocol::FAULT_BUDGET;
use vyre_core::megakernel::{abi, Megakernel};
use vyre_core::native::with_iteration_budget;
use vyre_core::{Error, NativeSlot, Result};

use super::analyses::Analysis;
use super::device_patterns::PatternEngine;
use super::reread::reread;
use super::worker::{publish_and_run, Arena, Done, Event, PanicNotice, Plan, Queue, WorkerTimes};
use super::{scan_builder, scan_cpu_backend, ScanConfig, SCAN_LANES};

/// Fault reason of a native slot whose code panicked (a vyre bug: native
/// payload code is panic-free by construction). Reported as a vyre bug.
pub const FAULT_NATIVE_PANIC: u32 = 0x100;

/// The default number of native threads: the host's cores.
pub fn default_native_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The name of the native backend in summaries: `native (N threads)`.
pub fn native_name(threads: usize) -> String {
    format!(
        "native ({threads} thread{})",
        if threads == 1 { "" } else { "s" }
    )
}

/// The native backend of one scan: its thread pool, each analysis's
/// initial result words, the CPU reference for analyses without native
/// code, and the per-slot budget.
pub(super) struct NativeRunner {
    pool: rayon::ThreadPool,
    initial: Vec<Vec<u32>>,
    /// Each analysis's native code: rustc's, the JIT's, or none.
    code: Vec<vyre_core::NativePayload>,
    /// The name in the summary.
    label: String,
    /// Analyses (indices) that have no native code.
    fallback: Vec<usize>,
    /// Their megakernel on the CPU reference (when `fallback` is not empty).
    reference: Option<Megakernel<CpuBackend>>,
    budget: u64,
}

impl NativeRunner {
    /// A runner with `threads` threads (at least 1) for `analyses`.
    pub fn new(threads: usize, cfg: &ScanConfig, analyses: &[Analysis]) -> Result<NativeRunner> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("vyre-native-{i}"))
            .build()
            .map_err(|e| Error::internal(format!("could not start the native threads: {e}")))?;
        let mut jitted = Vec::new();
        let code: Vec<vyre_core::NativePayload> = analyses
            .iter()
            .enumerate()
            .map(|(k, a)| {
                if a.payload.native.is_some() {
                    return a.payload.native.clone();
                }
                match vyre_core::jit::compile_cached(&a.payload) {
                    Ok(code) => {
                        jitted.push(k);
                        code
                    }
                    Err(e) => {
                        tracing::info!("{}: {}", a.name, e.message());
                        vyre_core::NativePayload::none()
                    }
                }
            })
            .collect();
        let fallback: Vec<usize> = (0..analyses.len())
            .filter(|&k| !code[k].is_some())
            .collect();
        let reference = if fallback.is_empty() {
            None
        } else {
            let picked: Vec<&Analysis> = fallback.iter().map(|&k| &analyses[k]).collect();
            Some(scan_builder(cfg, &picked)?.build(scan_cpu_backend())?)
        };
        let threads = pool.current_num_threads();
        let list = |ks: &[usize]| {
            ks.iter()
                .map(|&k| analyses[k].name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut label = native_name(threads);
        if !jitted.is_empty() {
            label.insert_str(label.len() - 1, &format!(", JIT: {}", list(&jitted)));
        }
        if !fallback.is_empty() {
            label.insert_str(
                label.len() - 1,
                &format!(", CPU reference: {}", list(&fallback)),
            );
        }
        Ok(NativeRunner {
            label,
            pool,
            initial: analyses
                .iter()
                .map(|a| abi::initial_results(&a.payload))
                .collect(),
            code,
            fallback,
            reference,
            budget: u64::from(cfg.iteration_budget) * u64::from(SCAN_LANES),
        })
    }

    /// The name in the summary: `native (N threads)`, then which analyses
    /// run JIT code and which the CPU reference, if any.
    pub fn name(&self) -> String {
        self.label.clone()
    }

    /// The names of the analyses that run on the CPU reference.
    pub fn on_reference<'a>(&self, analyses: &'a [Analysis]) -> Vec<&'a str> {
        self.fallback
            .iter()
            .map(|&k| analyses[k].name.as_str())
            .collect()
    }
}

/// Runs batches from `queue` natively until the queue closes; sends every
/// outcome to `events` and every used arena to `free`. A batch that cannot
/// run (an internal error) stops this worker like a failed device.
pub(super) fn work_native(
    device: usize,
    mut runner: NativeRunner,
    plan: &Plan<'_>,
    queue: &Queue,
    free: Sender<Arena>,
    events: Sender<Event>,
) -> WorkerTimes {
    let _notice = PanicNotice {
        events: events.clone(),
        who: "the native worker".into(),
    };
    let mut times = WorkerTimes::default();
    let mut t_idle = Instant::now();
    while let Some(mut job) = queue.pop_host() {
        times.idle += t_idle.elapsed().as_secs_f64();
        let tr = Instant::now();
        match run_batch(
            &mut runner,
            plan,
            &mut job.batch,
            &mut job.arena,
            &mut times,
        ) {
            Ok(SlotWords {
                words,
                ends,
                faults,
                host,
                regex,
            }) => {
                times.run += tr.elapsed().as_secs_f64();
                let _ = free.send(std::mem::replace(&mut job.arena, Arena::Lent));
                let _ = events.send(Event::Done(Done {
                    seq: job.seq,
                    device,
                    batch: job.batch,
                    words,
                    ends,
                    faults,
                    literal_engine: match host.is_empty() {
                        true => PatternEngine::None,
                        false => PatternEngine::Host,
                    },
                    regex_engine: match regex.is_empty() {
                        true => PatternEngine::None,
                        false => PatternEngine::Host,
                    },
                    host,
                    regex,
                }));
            }
            Err(error) => {
                queue.push_front(job);
                let _ = events.send(Event::Failed { device, error });
                return times;
            }
        }
        t_idle = Instant::now();
    }
    times
}

/// Slot results of a batch in publish order (as [`Done`] carries them).
struct SlotWords {
    words: Vec<u32>,
    ends: Vec<usize>,
    faults: Vec<(usize, u32)>,
    host: Vec<super::literals::ChunkCounts>,
    regex: Vec<super::regex::RegexChunk>,
}

/// One native slot's outcome: its result words, or a fault.
type SlotOut = std::result::Result<Vec<u32>, u32>;

/// Runs every (chunk, analysis) slot of a batch: native ones on the pool,
/// the others on the CPU reference; merges them in publish order.
fn run_batch(
    runner: &mut NativeRunner,
    plan: &Plan<'_>,
    batch: &mut Batch,
    arena: &mut Arena,
    times: &mut WorkerTimes,
) -> Result<SlotWords> {
    if let Arena::Upload(up) = arena {
        // Native code reads host memory: read the batch again into it.
        let words = up.len() / 4;
        *arena = Arena::Host(reread(plan.files, batch, words, "into host memory")?);
    }
    let Arena::Host(host) = arena else {
        return Err(Error::internal(
            "a scan batch came to the native backend without its arena",
        ));
    };
    let bytes: &[u8] = bytemuck::cast_slice(&host[..]);
    let analyses = plan.analyses;
    let per_chunk = analyses.len();
    let (pool, initial, budget) = (&runner.pool, &runner.initial, runner.budget);
    let code = &runner.code;
    let (native, counts, regex): (Vec<Vec<Option<SlotOut>>>, _, _) = pool.install(|| {
        let native = batch
            .chunks
            .par_iter()
            .map(|c| {
                analyses
                    .iter()
                    .zip(initial)
                    .zip(code)
                    .map(|((a, init), code)| run_slot(a, code, init, bytes, c, plan, budget))
                    .collect()
            })
            .collect();
        let host = plan
            .literals
            .map(|l| l.count_batch(bytes, &batch.chunks))
            .unwrap_or_default();
        let regex = plan
            .regexes
            .map(|r| r.chunk_batch(bytes, &batch.chunks, plan.literals, None))
            .unwrap_or_default();
        (native, host, regex)
    });
    let mut reference = None;
    if let Some(mk) = runner.reference.as_mut() {
        reference = Some(run_reference(
            mk,
            plan,
            batch,
            arena,
            &runner.fallback,
            times,
        )?);
    }
    let mut out = SlotWords {
        words: Vec::new(),
        ends: Vec::with_capacity(batch.chunks.len() * per_chunk),
        faults: Vec::new(),
        host: counts,
        regex,
    };
    let mut next_ref = 0usize;
    for (ci, slots) in native.into_iter().enumerate() {
        for (k, slot) in slots.into_iter().enumerate() {
            let i = ci * per_chunk + k;
            let outcome = match (slot, &reference) {
                (Some(o), _) => o,
                (None, Some(r)) => {
                    let j = next_ref;
                    next_ref += 1;
                    reference_slot(r, j)
                }
                (None, None) => {
                    return Err(Error::internal(
                        "a scan analysis has neither native code nor a CPU reference kernel",
                    ))
                }
            };
            match outcome {
                Ok(words) => out.words.extend_from_slice(&words),
                Err(reason) => out.faults.push((i, reason)),
            }
            out.ends.push(out.words.len());
        }
    }
    Ok(out)
}

/// Runs analysis `a`'s native `code` on chunk `c` (`None` when it has no
/// native code): data and start as the GPU's slot gets them, results
/// preset to `init`, under the iteration budget.
fn run_slot(
    a: &Analysis,
    code: &vyre_core::NativePayload,
    init: &[u32],
    bytes: &[u8],
    c: &ChunkDesc,
    plan: &Plan<'_>,
    budget: u64,
) -> Option<SlotOut> {
    if !code.is_some() {
        return None;
    }
    let full = c.look_behind as usize + c.len as usize;
    let chunk = bytes
        .get(c.arena_offset..c.arena_offset.saturating_add(full))
        .unwrap_or(&[]);
    let (data, start) = if a.payload.look_behind > 0 {
        (chunk, c.look_behind)
    } else {
        (chunk.get(c.look_behind as usize..).unwrap_or(&[]), 0)
    };
    let file_len = plan.files.get(c.file).map_or(0, |f| f.size);
    let mut results = init.to_vec();
    let mut slot = NativeSlot {
        data,
        start,
        args: &[],
        chunk_offset: c.file_offset as u32,
        chunk_offset_hi: (c.file_offset >> 32) as u32,
        file_len: file_len as u32,
        file_len_hi: (file_len >> 32) as u32,
        chunk_index: (c.file_offset / u64::from(plan.chunk_size.max(1))) as u32,
        results: &mut results,
    };
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        with_iteration_budget(budget, || code.call(&mut slot))
    }));
    Some(match run {
        Ok((_, false)) => Ok(results),
        Ok((_, true)) => Err(FAULT_BUDGET),
        Err(_) => Err(FAULT_NATIVE_PANIC),
    })
}

/// Slot `j` of a reference run (slots of the analyses without native
/// code, per chunk in analysis order).
fn reference_slot(r: &super::worker::SlotResults, j: usize) -> SlotOut {
    if let Ok(f) = r.faults.binary_search_by_key(&j, |f| f.0) {
        return Err(r.faults[f].1);
    }
    let start = if j == 0 { 0 } else { r.ends[j - 1] };
    Ok(r.words[start..r.ends[j]].to_vec())
}

/// Runs the analyses without native code on the CPU reference megakernel
/// over the batch's arena (lent to it for the run).
fn run_reference(
    mk: &mut Megakernel<CpuBackend>,
    plan: &Plan<'_>,
    batch: &Batch,
    arena: &mut Arena,
    only: &[usize],
    times: &mut WorkerTimes,
) -> Result<super::worker::SlotResults> {
    mk.reset();
    let Arena::Host(words) = std::mem::replace(arena, Arena::Lent) else {
        return Err(Error::internal(
            "the native backend's arena was not in host memory",
        ));
    };
    let used = batch
        .chunks
        .iter()
        .map(|c| c.arena_offset + (c.look_behind + c.len) as usize)
        .max()
        .unwrap_or(0)
        .div_ceil(4);
    let base = match mk.adopt_arena(words, used) {
        Ok(b) => b,
        Err(e) => {
            *arena = Arena::Host(mk.take_arena());
            return Err(e);
        }
    };
    let plan = Plan {
        tenant: mk.tenant_id("scan")?,
        ..*plan
    };
    let out = publish_and_run(mk, &plan, batch, base, times, Some(only));
    *arena = Arena::Host(mk.take_arena());
    out
}
