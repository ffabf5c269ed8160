//! `vyre scan`: files → feeder → megakernel → per-file results.
//!
//! Every chunk of every file becomes one slot per analysis (lines,
//! histogram, crc32, one for each group of up to
//! [`pattern::MAX_PATTERNS_PER_PAYLOAD`] patterns) in a batch that mixes them all; one
//! fused megakernel runs the batch; the host folds slot results into
//! per-file results in file order. Patterns see `len - 1` bytes of
//! look-behind and count only matches that end in the chunk they own, so a
//! match across a chunk boundary is counted exactly once.

mod analyses;
mod api;
mod collect;
mod config;
pub mod crc;
mod device_patterns;
mod devices;
mod fold;
pub mod gpu_literals;
mod job;
mod later;
mod lines;
pub mod literal_dfa;
pub mod literals;
pub mod matches;
mod native;
mod options;
pub mod pattern;
mod payload_args;
mod reader;
pub mod regex;
pub mod regex_filter;
mod report;
mod reread;
mod timing;
mod worker;

use std::path::PathBuf;
use std::time::Instant;

use vyre_core::feeder::{collect_files, Feeder, FeederConfig};
use vyre_core::megakernel::{Megakernel, MegakernelBuilder};
use vyre_core::{Backend, Error, Result};

use analyses::{analyses, Analysis};
pub use api::{bind_scalar, FromWords, Scan, ScanFile, ScanFiles};
use collect::Collector;
pub use config::{
    default_read_threads, CancelToken, FaultInjection, ScanConfig, DEFAULT_ITERATION_BUDGET,
    DEFAULT_LATER_MIN_BYTES, LIMITED_CHUNK, SCAN_LANES, SCAN_WORKGROUPS,
};
pub use devices::{
    auto_is_native, open_devices, open_engines, scan_cpu_backend, shared_gpu, Device, Engine,
    Opener,
};
use fold::Fold;
pub use later::{gpu_still_opening, wait_for_gpu_openers, NOT_NEEDED, NOT_OPENED};
pub use native::{default_native_threads, native_name, FAULT_NATIVE_PANIC};
pub use options::MAX_NATIVE_THREADS;
pub use options::{
    base64, escape_bytes, parse_pattern, parse_pattern_file, validate_in_flight, MAX_BATCH_BYTES,
    MAX_CHUNK_SIZE, MAX_IN_FLIGHT, MAX_ITERATION_BUDGET, MAX_PATTERNS, MAX_QUEUE_DEPTH,
    MAX_READ_THREADS,
};
pub use payload_args::{bind_args, load_payload_files};
pub use report::{DeviceReport, EngineStats, FileReport, ScanSummary};
use timing::Phases;
pub use worker::MAX_RECOVERIES;
use worker::{work, Arena, Event, Plan, Queue, WorkerTimes};

/// Scans `paths` on `backend`, calling `on_file` for every file (in walk
/// order, failures included) and `on_progress` with bytes done so far.
/// The same as [`scan_devices`] with one device.
pub fn scan<B: Backend + Send>(
    backend: B,
    paths: &[PathBuf],
    cfg: &ScanConfig,
    on_file: impl FnMut(&FileReport),
    on_progress: impl FnMut(u64, u64),
) -> Result<ScanSummary> {
    scan_devices(vec![backend], paths, cfg, on_file, on_progress)
}

/// Scans `paths` on several devices at once (mix backend types with
/// [`Device`] boxes, e.g. from [`open_devices`]).
///
/// Each device gets its own megakernel and worker thread and pulls batches
/// from a shared queue, so a faster device runs more of them; results are
/// folded in read order, so every per-file result (CRC-32 included) and the
/// order of `on_file` calls are exactly those of a one-device scan. Chunks
/// are sized for the most limited device ([`Backend::loop_iteration_limit`]);
/// each megakernel gets a slot budget for its own device.
///
/// A device whose run fails is recovered and retried when it was lost
/// ([`Backend::recover`], at most [`MAX_RECOVERIES`] times), otherwise it
/// stops taking work and its batch runs on another device; both are reported
/// on stderr and in [`ScanSummary::devices`]. A failed batch is rerun from
/// scratch, never counted twice. The scan fails only when every device
/// failed.
pub fn scan_devices<B: Backend + Send>(
    backends: Vec<B>,
    paths: &[PathBuf],
    cfg: &ScanConfig,
    on_file: impl FnMut(&FileReport),
    on_progress: impl FnMut(u64, u64),
) -> Result<ScanSummary> {
    let engines = backends.into_iter().map(Engine::Device).collect();
    // No `Engine::Later` here, so nothing is opened later.
    scan_with(engines, paths, cfg, on_file, on_progress, &later::no_opener)
}

/// Scans `paths` on devices and the native backend at once
/// ([`scan_devices`] with [`Engine::Native`] allowed; [`open_engines`]
/// makes the list from `vyre scan --adapters`/`--backend` words).
///
/// The native backend runs the payloads' native code
/// ([`vyre_core::NativeSlot`]) on a thread pool with the slot semantics of
/// the megakernel, so every per-file result is the one a device gives;
/// analyses without native code (payloads loaded from VIR0 or text) run
/// on the CPU reference for its batches.
pub fn scan_engines<B: Backend + Send + 'static>(
    engines: Vec<Engine<B>>,
    paths: &[PathBuf],
    cfg: &ScanConfig,
    on_file: impl FnMut(&FileReport),
    on_progress: impl FnMut(u64, u64),
) -> Result<ScanSummary> {
    scan_with(
        engines,
        paths,
        cfg,
        on_file,
        on_progress,
        &later::spawn_opener,
    )
}

/// [`scan_engines`] for any backend: `spawn` opens [`Engine::Later`]
/// devices on a detached thread (which needs `B: 'static`).
fn scan_with<B: Backend + Send>(
    engines: Vec<Engine<B>>,
    paths: &[PathBuf],
    cfg: &ScanConfig,
    mut on_file: impl FnMut(&FileReport),
    mut on_progress: impl FnMut(u64, u64),
    spawn: later::Spawner<'_, B>,
) -> Result<ScanSummary> {
    let t0 = Instant::now();
    cfg.validate()?;
    if engines.is_empty() {
        return Err(Error::bad_input(
            "no device to scan on",
            "pass at least one backend (e.g. `--adapters all`)",
        ));
    }
    check_native_threads(cfg, &engines)?;
    if engines.iter().all(|e| matches!(e, Engine::Later { .. })) {
        return Err(Error::bad_input(
            "every device of this scan opens later: none would start it",
            "add the native backend (e.g. `--adapters gpu,native`) or open the devices first",
        ));
    }
    let mut cfg = cfg.clone();
    let limits: Vec<Option<u64>> = engines
        .iter()
        .map(|e| match e {
            Engine::Device(b) => b.loop_iteration_limit(),
            Engine::Native { .. } | Engine::Later { .. } => None,
        })
        .collect();
    if limits.iter().any(Option::is_some) {
        // Keep every lane's loop iterations per dispatch well under the
        // device's silent cut-off: small chunks, few slots per workgroup.
        cfg.chunk_size = cfg.chunk_size.min(LIMITED_CHUNK);
    }
    let cfg = &cfg;
    if cfg.chunk_size == 0 || cfg.chunk_size % 4 != 0 {
        return Err(Error::bad_input(
            format!(
                "chunk size {} is not a positive multiple of 4",
                cfg.chunk_size
            ),
            "pass a chunk size like 1048576",
        ));
    }
    let analyses = analyses(cfg)?;
    let literals = match literals::uses_host_engine(cfg) {
        true => Some(literals::Literals::new(&cfg.patterns, cfg.ignore_case)?),
        false => None,
    };
    let (regexes, names) = regex::line_engine(cfg)?;
    // The host engine's reports name its patterns (escaped once here).
    let pattern_names: Option<Vec<String>> = literals
        .as_ref()
        .map(|_| cfg.patterns.iter().map(|p| escape_bytes(p)).collect());
    let look_behind = analyses
        .iter()
        .map(|a| a.payload.look_behind)
        .chain(literals.as_ref().map(|l| l.look_behind()))
        .max()
        .unwrap_or(0)
        .div_ceil(4)
        * 4;
    let mut workers = build_workers(engines, cfg, &analyses)?;
    let tenant = workers
        .iter()
        .find_map(|w| match w {
            Worker::Device(m) => m.tenant_id("scan").ok(),
            _ => None,
        })
        .unwrap_or(vyre_core::megakernel::TenantId(0));
    let mut summary = ScanSummary {
        devices: workers
            .iter()
            .map(|w| DeviceReport {
                name: w.name(),
                ..DeviceReport::default()
            })
            .collect(),
        ..ScanSummary::default()
    };
    for w in &workers {
        if let Worker::Native(n) = w {
            let names = n.on_reference(&analyses);
            if !names.is_empty() {
                tracing::info!(
                    "no native code for {}: these run on the CPU reference",
                    names.join(", ")
                );
            }
        }
    }

    let (files, walk_failures) = collect_files(
        paths,
        &vyre_core::feeder::WalkOptions {
            follow_links: cfg.follow_links,
            ..Default::default()
        },
    );
    for f in &walk_failures {
        let r = FileReport::failed(f.path.clone(), f.reason.clone());
        summary.failed += 1;
        on_file(&r);
    }
    let total: u64 = files.iter().map(|f| f.size).sum();
    // A small scan that native code runs whole ends before a GPU opens:
    // opening one would only cost it.
    let native_runs_all = workers.iter().any(|w| match w {
        Worker::Native(n) => n.on_reference(&analyses).is_empty(),
        _ => false,
    });
    if native_runs_all && total < cfg.later_min_bytes {
        for (w, d) in workers.iter_mut().zip(summary.devices.iter_mut()) {
            if matches!(w, Worker::Later { .. } | Worker::Reserved) {
                *w = Worker::Reserved;
                d.name = NOT_NEEDED.to_string();
            }
        }
    }
    let mut fold =
        Fold::new(&files, pattern_names.as_deref()).with_regexes(regexes.as_ref(), names);
    let fcfg = FeederConfig {
        chunk_size: cfg.chunk_size,
        queue_depth: cfg.queue_depth,
        look_behind,
        force_fallback: cfg.force_fallback,
        read_threads: cfg.read_threads,
        inject: cfg.inject.as_ref().map(|h| h.0.clone()),
        max_chunks_per_batch: max_chunks_per_batch(&analyses),
        ..FeederConfig::default()
    };
    let feeder = Feeder::new(files.clone(), fcfg)?;
    let plan = Plan {
        analyses: &analyses,
        tenant,
        files: &files,
        chunk_size: cfg.chunk_size,
        literals: literals.as_ref(),
        regexes: regexes.as_ref(),
    };
    summary.ingest = feeder.backend_name().to_string();
    // Arenas no larger than the whole input needs (a small scan does not
    // allocate and clear batch-sized arenas): its bytes plus, per chunk, the
    // most look-behind and alignment the feeder adds.
    let min_arena = feeder.config().min_arena_len();
    let per_chunk = min_arena.saturating_sub(feeder.config().chunk_size as usize) as u64;
    let input_bound = files.iter().fold(0u64, |n, f| {
        n.saturating_add(f.size).saturating_add(
            vyre_core::feeder::chunk_count(f.size, cfg.chunk_size).saturating_mul(per_chunk),
        )
    });
    let arena_len = (cfg.batch_bytes as u64).min(input_bound) as usize;
    let arena_len = arena_len.max(min_arena);
    let devices = workers.len();
    let mut phases = Phases::default();
    // The reader fills arenas while the devices run others: disk reads and
    // device work of different batches overlap. Arenas are word buffers the
    // feeder reads into through a byte view, so megakernels adopt them
    // without a copy. At most 2 arenas per device exist, and the reader
    // starts a batch only with a ticket; the main thread hands one back per
    // folded batch, so results waiting for an older batch stay bounded too.
    let queue = Queue::default();
    let (events_tx, events_rx) = std::sync::mpsc::channel::<Event>();
    let (free_tx, free_rx) = std::sync::mpsc::channel::<Arena>();
    let (ticket_tx, ticket_rx) = std::sync::mpsc::channel::<()>();
    // Zero-copy: all workers share one device that has device arenas, so
    // the reader can fill that device's arenas and the device copies from
    // them itself.
    fn backend_of<B: Backend>(w: &Worker<B>) -> Option<&B> {
        match w {
            Worker::Device(m) => Some(m.backend()),
            _ => None,
        }
    }
    let first = workers.first().and_then(backend_of);
    let one_device = first.and_then(|b| b.device_id()).is_some_and(|id| {
        workers
            .iter()
            .all(|w| backend_of(w).and_then(|b| b.device_id()) == Some(id))
    });
    // The host pattern engine reads the batch's bytes on the host after the
    // device ran: host arenas.
    let may_zero_copy =
        cfg.zero_copy && literals.is_none() && regexes.is_none() && cfg!(target_endian = "little");
    let zero_copy = one_device && may_zero_copy;
    let arena_bytes = arena_len.div_ceil(4) * 4;
    // A GPU joining later (`gpu+native`) as the only device brings upload
    // arenas of its own when it opens (its batches are then read straight
    // into them; native code keeps host arenas): none are made for it here.
    let later_places = workers
        .iter()
        .filter(|w| matches!(w, Worker::Later { .. } | Worker::Reserved))
        .count();
    let later_arenas = (may_zero_copy
        && workers.iter().any(|w| matches!(w, Worker::Later { .. }))
        && !workers.iter().any(|w| matches!(w, Worker::Device(_))))
    .then_some(arena_bytes);
    let host_places = devices
        - if later_arenas.is_some() {
            later_places
        } else {
            0
        };
    let mut upload_arenas = 0;
    for _ in 0..2 * host_places {
        let device_arena = match (zero_copy, first) {
            (true, Some(b)) => b.device_arena(arena_bytes)?,
            _ => None,
        };
        let arena = match device_arena {
            Some(a) => {
                upload_arenas += 1;
                Arena::Upload(a)
            }
            None => Arena::Host(vec![0u32; arena_len.div_ceil(4)]),
        };
        let _ = free_tx.send(arena);
    }
    summary.zero_copy = upload_arenas > 0;
    for _ in 0..4 * devices {
        let _ = ticket_tx.send(());
    }
    phases.setup = t0.elapsed().as_secs_f64();
    let workers_in = workers;
    let outcome = std::thread::scope(|scope| -> Result<()> {
        let (queue, plan) = (&queue, &plan);
        let mut workers = Vec::new();
        for (device, w) in workers_in.into_iter().enumerate() {
            let (free, events) = (free_tx.clone(), events_tx.clone());
            workers.push(scope.spawn(move || match w {
                Worker::Device(mk) => work(device, mk, plan, queue, free, events),
                Worker::Native(n) => native::work_native(device, n, plan, queue, free, events),
                Worker::Later {
                    open,
                    count,
                    builder,
                } => {
                    let slots = later::Slots {
                        first: device,
                        count,
                        plan,
                        queue,
                        free,
                        events,
                        t0,
                        arenas: later_arenas,
                    };
                    later::join_later(scope, spawn(open, builder), cfg.chunk_size, slots)
                }
                Worker::Reserved => WorkerTimes::default(),
            }));
        }
        drop(free_tx);
        let events = events_tx;
        let reader =
            scope.spawn(move || reader::read_batches(feeder, queue, events, ticket_rx, free_rx));
        let result = Collector {
            events: &events_rx,
            tickets: &ticket_tx,
            fold: &mut fold,
            plan,
            cfg,
            summary: &mut summary,
            phases: &mut phases,
            total,
            on_file: &mut on_file,
            on_progress: &mut on_progress,
        }
        .run();
        // Stop the reader and the workers whatever happened.
        queue.close();
        drop(ticket_tx);
        drop(events_rx);
        // Joined here, so a panic becomes an error instead of a panic of
        // the whole scope.
        let mut panicked = match reader.join() {
            Ok(t) => {
                phases.reader = t;
                false
            }
            Err(_) => true,
        };
        for (device, w) in workers.into_iter().enumerate() {
            match w.join() {
                Ok(t) => phases.devices.push((device, t)),
                Err(_) => panicked = true,
            }
        }
        if panicked && result.is_ok() {
            return Err(Error::internal(
                "a scan thread panicked (see the message printed above)",
            ));
        }
        result
    });
    outcome?;
    fold.finish_rest(&analyses, cfg, &mut summary, &mut on_file);
    summary.files = fold.emitted + walk_failures.len() as u64;
    summary.seconds = t0.elapsed().as_secs_f64();
    if tracing::enabled!(target: "vyre::timing", tracing::Level::DEBUG) {
        phases.print(&summary);
    }
    Ok(summary)
}

/// Refuses [`ScanConfig::native_threads`] other than 0 when `engines` has
/// no native backend: the count would do nothing.
pub(crate) fn check_native_threads<B>(cfg: &ScanConfig, engines: &[Engine<B>]) -> Result<()> {
    if cfg.native_threads != 0 && !engines.iter().any(|e| matches!(e, Engine::Native { .. })) {
        return Err(Error::bad_input(
            format!(
                "{} native threads were asked for, but this scan runs no native backend",
                cfg.native_threads
            ),
            "add the native backend (`--backend native`, or `native` in `--adapters`) or leave the thread count out",
        ));
    }
    Ok(())
}

/// What runs batches: a device's megakernel or the native backend.
enum Worker<B: Backend> {
    Device(Megakernel<B>),
    Native(native::NativeRunner),
    /// Devices that open while the scan runs ([`Engine::Later`]): `count`
    /// of them, this one and `count - 1` [`Worker::Reserved`] after it.
    Later {
        open: Opener<B>,
        count: usize,
        builder: MegakernelBuilder,
    },
    /// The place in the summary of a [`Worker::Later`] device after the first.
    Reserved,
}

impl<B: Backend> Worker<B> {
    /// The name in the summary.
    fn name(&self) -> String {
        match self {
            Worker::Device(m) => m.backend().name(),
            Worker::Native(n) => n.name(),
            Worker::Later { .. } | Worker::Reserved => NOT_OPENED.to_string(),
        }
    }
}

/// One scan megakernel per device ([`scan_builder`] with every analysis),
/// one runner for the native backend.
fn build_workers<B: Backend>(
    engines: Vec<Engine<B>>,
    cfg: &ScanConfig,
    analyses: &[Analysis],
) -> Result<Vec<Worker<B>>> {
    let all: Vec<&Analysis> = analyses.iter().collect();
    let mut builder = None;
    let mut out = Vec::with_capacity(engines.len());
    for e in engines {
        out.push(match e {
            Engine::Device(b) => {
                if builder.is_none() {
                    builder = Some(scan_builder(cfg, &all)?);
                }
                let Some(builder) = builder.as_ref() else {
                    return Err(Error::internal("no scan kernel builder"));
                };
                Worker::Device(builder.clone().build(b)?)
            }
            Engine::Native { threads } => {
                let threads = match cfg.native_threads {
                    0 => threads,
                    n => n,
                };
                Worker::Native(native::NativeRunner::new(threads, cfg, analyses)?)
            }
            Engine::Later { open, workers } => {
                if builder.is_none() {
                    builder = Some(scan_builder(cfg, &all)?);
                }
                let Some(builder) = builder.clone() else {
                    return Err(Error::internal("no scan kernel builder"));
                };
                let count = workers.max(1);
                out.push(Worker::Later {
                    open,
                    count,
                    builder,
                });
                out.extend((1..count).map(|_| Worker::Reserved));
                continue;
            }
        });
    }
    Ok(out)
}

/// The scan megakernel of `analyses`: fused (run-time payloads on the
/// interpreter unless `cfg.fused_payloads`), one tenant `scan`, the scan's
/// lanes, workgroups and iteration budget.
fn scan_builder(cfg: &ScanConfig, analyses: &[&Analysis]) -> Result<MegakernelBuilder> {
    let mut builder = Megakernel::builder().name("vyre_scan");
    let names: Vec<String> = analyses.iter().map(|a| a.payload.name.clone()).collect();
    for a in analyses {
        let p = &a.payload;
        // Payloads loaded at run time go to the interpreter: no shader compile.
        builder = match a.interpreted {
            true => {
                vyre_core::interp::compile(p).map_err(|e| match e {
                    Error::BadInput { message, fix } => Error::bad_input(
                        message,
                        format!("{fix} (or pass --fused to compile it into the kernel)"),
                    ),
                    other => other,
                })?;
                builder.interpreted(p.clone())
            }
            _ => builder.payload(p.clone()),
        };
    }
    let name_refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    // Enough workgroups to fill a large GPU (132 SMs on an H100) several times over;
    // each loops over slots, so more workgroups than slots costs nothing.
    Ok(builder
        .tenant("scan", &name_refs)
        .workgroup_size(SCAN_LANES)
        .workgroups(SCAN_WORKGROUPS)
        .iteration_budget(cfg.iteration_budget))
}

/// Most bytes of ring slots, and of result words, in one batch. Every
/// chunk costs a slot per analysis and their result words whatever its
/// size, so a batch of tiny files is bounded by these, not by its bytes:
/// well under wgpu's default 128 MiB storage binding limit.
pub const MAX_BATCH_SLOT_BYTES: u64 = 64 << 20;

/// Chunks per batch such that neither the ring nor the results of a batch
/// exceed [`MAX_BATCH_SLOT_BYTES`].
fn max_chunks_per_batch(analyses: &[Analysis]) -> usize {
    use vyre_core::megakernel::protocol::SLOT_WORDS;
    let ring = analyses.len() as u64 * u64::from(SLOT_WORDS) * 4;
    let results: u64 = analyses
        .iter()
        .map(|a| u64::from(vyre_core::megakernel::abi::result_words(&a.payload)) * 4)
        .sum();
    (MAX_BATCH_SLOT_BYTES / ring.max(results).max(1)).max(1) as usize
}
