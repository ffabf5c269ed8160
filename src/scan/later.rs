//! Devices that join a running scan ([`Engine::Later`](super::Engine::Later)):
//! a thread of their own opens them (Vulkan takes ~0.24 s on the H200 host)
//! and builds their megakernels while the native backend already scans;
//! then they take batches from the same queue. A scan that ends first
//! does not wait for them: the opening thread is left to finish alone and
//! its devices are dropped.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use vyre_core::megakernel::{Megakernel, MegakernelBuilder};
use vyre_core::{Backend, Error, Result};

use super::devices::Opener;
use super::worker::{work, Arena, Event, Plan, Queue, WorkerTimes};
use super::LIMITED_CHUNK;

/// The name a device of an [`Engine::Later`](super::Engine::Later) has in
/// the summary until it opens (it keeps it when the scan ended first).
pub const NOT_OPENED: &str = "GPU (still opening when the scan ended)";

/// The name a device of an [`Engine::Later`](super::Engine::Later) has in
/// the summary when the scan did not open it: its input was under
/// [`ScanConfig::later_min_bytes`](super::ScanConfig::later_min_bytes) and
/// native code ran every analysis.
pub const NOT_NEEDED: &str = "GPU (not opened: the input is small enough for native code alone)";

/// Where the devices go once open: summary indices `first..first + count`.
pub(super) struct Slots<'a> {
    pub first: usize,
    pub count: usize,
    pub plan: &'a Plan<'a>,
    pub queue: &'a Queue,
    pub free: Sender<Arena>,
    pub events: Sender<Event>,
    /// When the scan started (for the log line saying when they joined).
    pub t0: Instant,
    /// Bytes of each upload arena the devices bring once open (two per
    /// device, into `free`), when they may read batches straight from
    /// them (`None`: host arenas only).
    pub arenas: Option<usize>,
}

/// The opened devices' megakernels, when they are ready.
pub(super) type Opened<B> = Receiver<Result<Vec<Megakernel<B>>>>;

/// Starts opening an [`Engine::Later`](super::Engine::Later)'s devices.
pub(super) type Spawner<'a, B> = &'a (dyn Fn(Opener<B>, MegakernelBuilder) -> Opened<B> + Sync);

/// Threads opening devices now ([`spawn_opener`]), with the condition
/// their ends signal.
static OPENING: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// Whether a thread is still opening a GPU for a scan that ended first
/// ([`Engine::Later`](super::Engine::Later)). A process must not exit while
/// one is: exit handlers tearing a driver down under the thread that is
/// opening it crash the process (seen with NVIDIA's Vulkan driver: a
/// segmentation fault, or a hang, at exit). So a program that ran such a
/// scan calls [`wait_for_gpu_openers`] before it exits; the `vyre` command
/// instead ends with `_exit` (no exit handlers) once its output is flushed,
/// and the Python package waits from an `atexit` callback.
pub fn gpu_still_opening() -> bool {
    *OPENING.0.lock().unwrap_or_else(|e| e.into_inner()) > 0
}

/// Waits until no thread is opening a GPU ([`gpu_still_opening`]), at most
/// `limit`; true when none is left. Call it before the process exits
/// (returning from `main` included) after scans with a GPU that joins
/// later (`gpu+native`); it returns at once when there were none.
pub fn wait_for_gpu_openers(limit: Duration) -> bool {
    let guard = OPENING.0.lock().unwrap_or_else(|e| e.into_inner());
    let (guard, _) = OPENING
        .1
        .wait_timeout_while(guard, limit, |n| *n > 0)
        .unwrap_or_else(|e| e.into_inner());
    *guard == 0
}

/// Counts a thread opening devices from its start to its end (the drop of
/// what it opened included).
struct OpeningGuard;

impl OpeningGuard {
    fn new() -> OpeningGuard {
        *OPENING.0.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        OpeningGuard
    }
}

impl Drop for OpeningGuard {
    fn drop(&mut self) {
        let mut n = OPENING.0.lock().unwrap_or_else(|e| e.into_inner());
        *n = n.saturating_sub(1);
        OPENING.1.notify_all();
    }
}

/// Opens the devices and builds their megakernels on a detached thread (a
/// scan that ends first does not wait for it; the process must before it
/// exits: [`gpu_still_opening`]).
pub(super) fn spawn_opener<B: Backend + Send + 'static>(
    open: Opener<B>,
    builder: MegakernelBuilder,
) -> Opened<B> {
    let (tx, rx) = std::sync::mpsc::channel();
    let guard = OpeningGuard::new();
    let started = std::thread::Builder::new()
        .name("vyre-open-gpu".into())
        .spawn(move || {
            let _guard = guard;
            let built = open().and_then(|devices| {
                devices
                    .into_iter()
                    .map(|d| builder.clone().build(d))
                    .collect::<Result<Vec<_>>>()
            });
            // Unsent (the scan ended), the devices drop here, guarded.
            drop(tx.send(built));
        });
    if let Err(e) = started {
        tracing::warn!("could not start the thread opening the GPU: {e}");
    }
    rx
}

/// For scans that have no [`Engine::Later`](super::Engine::Later) (any
/// backend type): a receiver that never gets devices.
pub(super) fn no_opener<B: Backend>(_: Opener<B>, _: MegakernelBuilder) -> Opened<B> {
    std::sync::mpsc::channel().1
}

/// Waits for the devices `rx` brings while the queue is open, then runs
/// the first on this thread and the others on threads of `scope`.
/// Failures to open are device failures ([`Event::Failed`]): the scan goes
/// on on the other engines.
pub(super) fn join_later<'scope, 'env, B: Backend + Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    rx: Opened<B>,
    chunk_size: u32,
    s: Slots<'scope>,
) -> WorkerTimes {
    let got = {
        loop {
            match rx.recv_timeout(Duration::from_millis(1)) {
                Ok(r) => break r,
                Err(RecvTimeoutError::Timeout) if s.queue.is_closed() => {
                    return WorkerTimes::default()
                }
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => {
                    break Err(Error::internal(
                        "the thread opening the GPU stopped without a result",
                    ))
                }
            }
        }
    };
    let got = got.and_then(|mks| check(mks, s.count, chunk_size));
    let mks = match got {
        Ok(m) => m,
        Err(error) => {
            let (message, fix) = (
                error.message().into_owned(),
                error
                    .fix()
                    .unwrap_or("see the first device's error")
                    .to_string(),
            );
            let _ = s.events.send(Event::Failed {
                device: s.first,
                error,
            });
            for d in s.first + 1..s.first + s.count {
                let error = Error::gpu(message.clone(), fix.clone());
                let _ = s.events.send(Event::Failed { device: d, error });
            }
            return WorkerTimes::default();
        }
    };
    let mut upload = 0;
    if let (Some(len), Some(mk)) = (s.arenas, mks.first()) {
        for _ in 0..2 * mks.len() {
            match mk.backend().device_arena(len) {
                Ok(Some(a)) => match s.free.send(Arena::Upload(a)) {
                    Ok(()) => upload += 1,
                    Err(_) => break,
                },
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(
                        "no upload arena on {}: {e}; its batches stay in host memory",
                        mk.backend().name()
                    );
                    break;
                }
            }
        }
    }
    let mut mine = None;
    let mut others = Vec::new();
    for (i, mk) in mks.into_iter().enumerate() {
        let device = s.first + i;
        let name = mk.backend().name();
        tracing::info!(
            "{name} joined the scan {:.3} s after it started",
            s.t0.elapsed().as_secs_f64()
        );
        let _ = s.events.send(Event::Joined {
            device,
            name,
            zero_copy: upload > 0,
        });
        let plan = match mk.tenant_id("scan") {
            Ok(tenant) => Plan { tenant, ..*s.plan },
            Err(error) => {
                let _ = s.events.send(Event::Failed { device, error });
                continue;
            }
        };
        let (queue, free, events) = (s.queue, s.free.clone(), s.events.clone());
        if i == 0 {
            mine = Some((device, mk, plan));
        } else {
            others.push(scope.spawn(move || work(device, mk, &plan, queue, free, events)));
        }
    }
    let times = match mine {
        Some((device, mk, plan)) => work(device, mk, &plan, s.queue, s.free, s.events),
        None => WorkerTimes::default(),
    };
    for h in others {
        let _ = h.join();
    }
    times
}

/// The opened megakernels, when there are `count` and each can run this
/// scan's chunks.
fn check<B: Backend>(
    mks: Vec<Megakernel<B>>,
    count: usize,
    chunk_size: u32,
) -> Result<Vec<Megakernel<B>>> {
    if mks.len() != count {
        return Err(Error::internal(format!(
            "the GPU opened as {} devices, {count} were expected",
            mks.len()
        )));
    }
    if let Some(mk) = mks.first() {
        if mk.backend().loop_iteration_limit().is_some() && chunk_size > LIMITED_CHUNK {
            return Err(Error::bad_input(
                format!(
                    "{} ends long loops on its own, and this scan's chunks ({chunk_size} bytes) were sized before it opened",
                    mk.backend().name()
                ),
                format!("pass --chunk-size {LIMITED_CHUNK} (or less) to scan on it as well, or leave it out of the device list"),
            ));
        }
    }
    Ok(mks)
}
