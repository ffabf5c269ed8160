//! The wgpu backend: runs programs on a GPU (or a software Vulkan adapter
//! such as llvmpipe) through the [WGSL lowering](crate::lower).
//!
//! Two levels:
//! * [`WgpuBackend`] implements [`Backend`]: validate, lower, compile (cached
//!   by the blake3 digest of the program's canonical VIR0 encoding), upload, dispatch,
//!   read back. Device buffers of the last [`MAX_RESIDENT_PROGRAMS`] programs stay
//!   on the device between runs (those of programs other than the last one run
//!   up to [`MAX_IDLE_RESIDENT_BYTES`]).
//! * The resident API underneath, for long-lived work such as the megakernel:
//!   [`WgpuBackend::compile`] gives a [`GpuKernel`];
//!   [`GpuKernel::create_buffers`] gives a [`BufferSet`] of device buffers that
//!   stay on the GPU; [`BufferSet::write`] updates sub-ranges;
//!   [`GpuKernel::dispatch`] submits without waiting and returns a
//!   [`Submission`]; [`BufferSet::read`] copies sub-ranges into a staging
//!   buffer and returns a [`PendingRead`] to collect later. Several
//!   submissions and reads may be in flight at once; wgpu orders them in
//!   submission order on the one queue.
//!
//! Adapter choice: [`WgpuBackend::new`] takes `VYRE_ADAPTER` (a
//! case-insensitive substring of the adapter name, or `cpu` for a software
//! adapter) when set, else a high-performance adapter;
//! [`WgpuBackend::open_all`] opens every GPU (one backend each) for work
//! spread over several devices.
//!
//! Pipelines are also kept on disk between processes (wgpu's pipeline cache,
//! one file per adapter, see [`PipelineCacheLocation`]): `VYRE_PIPELINE_CACHE`
//! names the directory or turns it `off`; by default it is
//! `$XDG_CACHE_HOME/vyre` or `~/.cache/vyre`.
//!
//! Device loss: when the device is lost (driver reset, GPU removed,
//! [`WgpuBackend::simulate_device_loss`]) every later call fails with an
//! [`Error::DeviceLost`]; [`WgpuBackend::recover`] (also reachable as
//! [`Backend::recover`]) then opens a fresh device on the same adapter and
//! drops every compiled kernel and resident buffer, so the next run compiles
//! and uploads everything again.

mod adapter;
mod mapping;
pub use adapter::{give_mesa_a_runtime_dir, hardware_adapter_present};

/// The fix of GPU errors that should not happen with a working driver.
pub(crate) const BUG_FIX: &str =
    "this is likely a vyre bug; report it with the program text and adapter name";
mod disk_cache;
mod kernel;
mod pending;
mod resident;
mod transfer;
mod upload;
mod write;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::backend::{check_buffers, Backend, HostBuffers};
use crate::error::{Error, Result};
use crate::ir::{Access, Program};

pub use disk_cache::{PipelineCacheInfo, PipelineCacheLocation};
pub use kernel::{BufferSet, GpuKernel};
pub use pending::{PendingRead, Submission};
use resident::{Resided, ResidentRun};
pub use resident::{MAX_IDLE_RESIDENT_BYTES, MAX_RESIDENT_PROGRAMS};
pub use upload::UploadArena;

/// Which adapter [`WgpuBackend::with_adapter`] opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdapterChoice {
    /// `VYRE_ADAPTER` when set (a name substring, or `cpu`), otherwise the
    /// high-performance adapter wgpu prefers.
    Default,
    /// The first adapter whose name contains this text (case-insensitive).
    Named(String),
    /// A software adapter (device type CPU, e.g. llvmpipe).
    Cpu,
}

impl AdapterChoice {
    /// The choice `VYRE_ADAPTER` asks for: see [`AdapterChoice::parse`].
    pub fn from_env() -> Option<AdapterChoice> {
        Self::parse(&std::env::var("VYRE_ADAPTER").ok()?)
    }

    /// Reads a `VYRE_ADAPTER` value: `None` for empty or `default`,
    /// [`AdapterChoice::Cpu`] for `cpu`, otherwise [`AdapterChoice::Named`].
    pub fn parse(value: &str) -> Option<AdapterChoice> {
        let v = value.trim();
        if v.is_empty() || v.eq_ignore_ascii_case("default") {
            None
        } else if v.eq_ignore_ascii_case("cpu") {
            Some(AdapterChoice::Cpu)
        } else {
            Some(AdapterChoice::Named(v.to_string()))
        }
    }
}

/// The device and what every kernel shares with it.
#[derive(Clone)]
pub(crate) struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub limits: wgpu::Limits,
    /// `wgpu: <adapter> (<backend>)`.
    pub label: String,
    /// Errors no error scope caught (recorded instead of wgpu's default panic).
    pub uncaptured: Arc<Mutex<Vec<String>>>,
    /// Set when the device is lost.
    pub lost: Arc<Mutex<Option<String>>>,
    /// The on-disk pipeline cache, when one is configured and supported.
    pub disk: Option<Arc<disk_cache::DiskCache>>,
    /// Mapped upload staging buffers kept for writes (`gpu/write.rs`).
    pub uploads: Arc<transfer::UploadPool>,
    /// Upload buffers may be cleared on the GPU (the device has
    /// `MAPPABLE_PRIMARY_BUFFERS`, so they may be `COPY_DST`).
    pub clear_uploads: bool,
}

/// Locks `m`, ignoring poisoning (the data are plain caches and logs).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Gpu {
    /// Runs `f` inside error scopes; any error they catch (or that was
    /// recorded as uncaptured) becomes `Error::Gpu` with `what` and `fix`; a
    /// device loss becomes `Error::DeviceLost`.
    pub fn scoped<T>(&self, what: &str, fix: &str, f: impl FnOnce() -> T) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let internal = self.device.push_error_scope(wgpu::ErrorFilter::Internal);
        let out = f();
        let errors = [
            pollster::block_on(internal.pop()),
            pollster::block_on(validation.pop()),
            pollster::block_on(oom.pop()),
        ];
        if let Some(e) = errors.into_iter().flatten().next() {
            if self.lost_reason().is_some() {
                // The error is a symptom; report the cause.
                self.check_health(what)?;
            }
            return Err(Error::gpu(
                format!("{what} on {} failed: {e}", self.label),
                fix,
            ));
        }
        self.check_health(what)?;
        Ok(out)
    }

    /// Reports device loss ([`Error::DeviceLost`]) and uncaptured errors.
    pub fn check_health(&self, what: &str) -> Result<()> {
        if let Some(reason) = lock(&self.lost).clone() {
            return Err(Error::DeviceLost {
                what: what.to_string(),
                device: self.label.clone(),
                reason,
            });
        }
        let mut errs = lock(&self.uncaptured);
        if !errs.is_empty() {
            let all = std::mem::take(&mut *errs).join("\n");
            return Err(Error::gpu(
                format!("{what}: wgpu reported error(s) on {}: {all}", self.label),
                "this is likely a vyre bug; report it with the program text and adapter name",
            ));
        }
        Ok(())
    }

    /// Why the device was lost, or `None`. Polls first: wgpu reports a
    /// destroyed device only once its queue drained, from a poll.
    pub fn lost_reason(&self) -> Option<String> {
        let _ = self.device.poll(wgpu::PollType::Poll);
        lock(&self.lost).clone()
    }

    /// Blocks until submission `index` (or all work, for `None`) finished.
    pub fn wait(&self, index: Option<wgpu::SubmissionIndex>, what: &str) -> Result<()> {
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: index,
                timeout: None,
            })
            .map_err(|e| {
                Error::gpu(
                    format!("{what}: waiting for {} failed: {e}", self.label),
                    "retry; if it persists the device is unusable",
                )
            })?;
        self.check_health(what)
    }
}

/// A quick key for finding a program's resident buffers: a hash of its IR
/// tree, computed without allocating. It only finds candidates: every hit is
/// confirmed by comparing the programs, so a collision can never pick the
/// wrong buffers. (The megakernel's runs skip even this: its program is
/// recognized by `Arc` identity.)
pub(crate) fn quick_key(program: &Program) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    program.hash(&mut h);
    h.finish()
}

/// How many compiled kernels [`WgpuBackend`] caches before it starts afresh
/// (a test shrinker or a fuzzer compiles thousands of distinct programs).
pub const MAX_CACHED_KERNELS: usize = 256;

/// Runs programs with wgpu. See the [module docs](self).
pub struct WgpuBackend {
    /// Swapped for a fresh device by [`WgpuBackend::recover`]. Lock order:
    /// `resident`, then `gpu`, then `cache`.
    gpu: RwLock<Gpu>,
    info: wgpu::AdapterInfo,
    /// Which of several adapters with identical [`wgpu::AdapterInfo`] this is
    /// (enumeration order), so recovery reopens the same one.
    ordinal: usize,
    /// Directory of the on-disk pipeline cache (`None`: off).
    cache_dir: Option<std::path::PathBuf>,
    /// Compiled kernels by [`crate::vir0::digest`]: blake3 of the program's
    /// canonical encoding, equal exactly when the programs are equal.
    cache: Mutex<HashMap<[u8; 32], Arc<GpuKernel>>>,
    /// Device buffers of the last programs run, most recent first.
    resident: Mutex<Vec<resident::Resident>>,
    recoveries: std::sync::atomic::AtomicU32,
}

impl WgpuBackend {
    /// Opens the adapter `VYRE_ADAPTER` names, or a high-performance one.
    pub fn new() -> Result<Self> {
        Self::with_adapter(AdapterChoice::Default)
    }

    /// Opens the adapter `choice` selects, with the default on-disk
    /// pipeline cache ([`PipelineCacheLocation::Default`]).
    /// [`Error::NoAdapter`] lists the adapters found when none matches.
    pub fn with_adapter(choice: AdapterChoice) -> Result<Self> {
        Self::with_adapter_and_cache(choice, PipelineCacheLocation::Default)
    }

    /// Opens the adapter `choice` selects, keeping compiled pipelines in
    /// `cache` between processes.
    pub fn with_adapter_and_cache(
        choice: AdapterChoice,
        cache: PipelineCacheLocation,
    ) -> Result<Self> {
        let dir = cache.resolve();
        let opened = adapter::open(&choice, dir.as_deref())?;
        Ok(Self::from_opened(opened, dir))
    }

    /// Opens every GPU adapter, one backend each, for work spread over
    /// several devices. Software adapters (llvmpipe) are included only when
    /// there is no hardware GPU, so the list is never empty on a machine with
    /// a Vulkan driver; [`Error::NoAdapter`] lists what was found otherwise.
    /// Each uses the default on-disk pipeline cache.
    pub fn open_all() -> Result<Vec<Self>> {
        let dir = PipelineCacheLocation::Default.resolve();
        Ok(adapter::open_all(dir.as_deref())?
            .into_iter()
            .map(|o| Self::from_opened(o, dir.clone()))
            .collect())
    }

    fn from_opened(o: adapter::Opened, cache_dir: Option<std::path::PathBuf>) -> Self {
        WgpuBackend {
            gpu: RwLock::new(o.gpu),
            info: o.info,
            ordinal: o.ordinal,
            cache_dir,
            cache: Mutex::new(HashMap::new()),
            resident: Mutex::new(Vec::new()),
            recoveries: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// What the on-disk pipeline cache of the current device did (file,
    /// bytes loaded, why a file was rejected, saves), or `None` when it is
    /// off or the adapter has no pipeline cache (non-Vulkan backends).
    pub fn pipeline_cache_info(&self) -> Option<PipelineCacheInfo> {
        self.gpu().disk.map(|d| d.info())
    }

    /// The current device and what kernels share with it.
    fn gpu(&self) -> Gpu {
        self.gpu.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The wgpu device (for advanced use; every kernel shares it). After
    /// [`WgpuBackend::recover`] this is the new device.
    pub fn device(&self) -> wgpu::Device {
        self.gpu().device
    }

    /// The queue all work is submitted to (the new one after a recovery).
    pub fn queue(&self) -> wgpu::Queue {
        self.gpu().queue
    }

    /// The adapter this backend runs on.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// The device limits (the adapter's maximum limits were requested).
    pub fn limits(&self) -> wgpu::Limits {
        self.gpu().limits
    }

    /// Why the device was lost, or `None` while it is healthy.
    pub fn lost_reason(&self) -> Option<String> {
        self.gpu().lost_reason()
    }

    /// Upload staging buffers the device keeps mapped for writes, and how
    /// many were made since it was opened: every write of a run takes one
    /// (one per 128 MiB) and gives it back once the GPU has copied from it;
    /// at most 4 stay.
    pub fn upload_buffers(&self) -> (usize, u64) {
        let gpu = self.gpu();
        (gpu.uploads.ready(), gpu.uploads.made())
    }

    /// Makes kernels compiled and upload arenas made after this call create
    /// new upload buffers zeroed by wgpu on the CPU (`mapped_at_creation`),
    /// as on adapters without `MAPPABLE_PRIMARY_BUFFERS`, instead of cleared
    /// by the GPU. For tests of that path; it is slower.
    #[doc(hidden)]
    pub fn zero_uploads_on_the_cpu(&self) {
        self.gpu
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear_uploads = false;
    }

    /// How many times [`WgpuBackend::recover`] replaced a lost device.
    pub fn recoveries(&self) -> u32 {
        self.recoveries.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Loses the device on purpose, as a driver reset would: destroys it, so
    /// every later run fails with a device-lost error until
    /// [`WgpuBackend::recover`]. For testing recovery paths.
    pub fn simulate_device_loss(&self) {
        let gpu = self.gpu();
        lock(&gpu.lost).get_or_insert_with(|| {
            "simulated device loss (WgpuBackend::simulate_device_loss destroyed the device)"
                .to_string()
        });
        gpu.device.destroy();
    }

    /// After the device was lost: opens a fresh device on the same adapter
    /// and drops every compiled kernel and resident buffer (they belonged to
    /// the old device), so later runs compile and upload everything again.
    /// Returns `Ok(false)` and changes nothing when the device is not lost;
    /// an error when no new device could be opened.
    pub fn recover(&self) -> Result<bool> {
        let mut resident = lock(&self.resident);
        let mut gpu = self.gpu.write().unwrap_or_else(|e| e.into_inner());
        if gpu.lost_reason().is_none() {
            return Ok(false);
        }
        let fresh = adapter::reopen(&self.info, self.ordinal, self.cache_dir.as_deref())?;
        *gpu = fresh.gpu;
        resident.clear();
        lock(&self.cache).clear();
        self.recoveries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(true)
    }

    /// Validates, lowers and compiles `program`, or returns the cached kernel
    /// (content-addressed: keyed by the blake3 digest of the program's
    /// canonical VIR0 encoding).
    pub fn compile(&self, program: &Program) -> Result<Arc<GpuKernel>> {
        let key = crate::vir0::digest(program);
        if let Some(k) = lock(&self.cache).get(&key) {
            return Ok(Arc::clone(k));
        }
        crate::validate::validate_or_error(program)?;
        // Held while compiling, so a recovery cannot slip a kernel of the old
        // device into the cache after clearing it.
        let gpu = self.gpu.read().unwrap_or_else(|e| e.into_inner());
        let kernel = Arc::new(GpuKernel::new(&gpu, program)?);
        let mut cache = lock(&self.cache);
        if cache.len() >= MAX_CACHED_KERNELS {
            // Kernels still in use stay alive through their Arcs.
            cache.clear();
        }
        cache.insert(key, Arc::clone(&kernel));
        drop(cache);
        let disk = gpu.disk.clone();
        drop(gpu);
        // A new pipeline: write the driver's cache back, outside the locks.
        if let Some(disk) = disk {
            disk.save();
        }
        Ok(kernel)
    }

    /// Number of programs whose device buffers are kept between runs (at
    /// most [`MAX_RESIDENT_PROGRAMS`], and only as many idle ones as fit in
    /// [`MAX_IDLE_RESIDENT_BYTES`]).
    pub fn resident_programs(&self) -> usize {
        lock(&self.resident).len()
    }

    /// Number of compiled kernels in the cache.
    pub fn cached_kernels(&self) -> usize {
        lock(&self.cache).len()
    }
}

impl std::fmt::Debug for WgpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WgpuBackend")
            .field("adapter", &self.info.name)
            .field("cached_kernels", &self.cached_kernels())
            .finish_non_exhaustive()
    }
}

impl WgpuBackend {
    /// [`Backend::run_ranges`] with buffer `source.0` filled on the device
    /// from an upload arena (`source.2` bytes) instead of from the host.
    fn run_from_upload(
        &self,
        program: &Arc<Program>,
        buffers: &mut HostBuffers,
        workgroups: u32,
        writes: &[(usize, std::ops::Range<usize>)],
        reads: &[(usize, std::ops::Range<usize>)],
        source: (usize, &UploadArena, u64),
    ) -> Result<()> {
        let shared = Some(program);
        match self.run_resident(ResidentRun {
            program,
            shared,
            buffers,
            workgroups,
            writes,
            reads,
            source: Some(source),
        })? {
            Resided::Ran => Ok(()),
            Resided::UsesLen => Err(Error::bad_input(
                format!(
                    "program `{}` reads a buffer's len(), which an upload arena cannot give",
                    program.name
                ),
                "run it with a host arena (adopt_arena)",
            )),
        }
    }

    /// Runs `program` on resident buffers, or with [`Backend::run`] when it
    /// reads a buffer's `len()`.
    fn run_resident_or_run(
        &self,
        program: &Program,
        shared: Option<&Arc<Program>>,
        buffers: &mut HostBuffers,
        workgroups: u32,
        writes: &[(usize, std::ops::Range<usize>)],
        reads: &[(usize, std::ops::Range<usize>)],
    ) -> Result<()> {
        match self.run_resident(ResidentRun {
            program,
            shared,
            buffers,
            workgroups,
            writes,
            reads,
            source: None,
        })? {
            Resided::Ran => Ok(()),
            Resided::UsesLen => self.run(program, buffers, workgroups),
        }
    }
}

impl Backend for WgpuBackend {
    fn name(&self) -> String {
        self.gpu().label
    }

    fn recover(&self) -> Result<bool> {
        WgpuBackend::recover(self)
    }

    fn loop_iteration_limit(&self) -> Option<u64> {
        // Mesa's llvmpipe ends loops after 65535 iterations (gallivm's
        // LP_MAX_TGSI_LOOP_ITERATIONS), silently; see Backend's docs.
        let name = self.info.name.to_ascii_lowercase();
        (name.contains("llvmpipe") || name.contains("lavapipe")).then_some(65_535)
    }

    fn device_generation(&self) -> u32 {
        self.recoveries()
    }

    fn device_id(&self) -> Option<usize> {
        Some(self as *const WgpuBackend as usize)
    }

    fn device_arena(&self, bytes: usize) -> Result<Option<Box<dyn crate::backend::DeviceArena>>> {
        Ok(Some(Box::new(self.upload_arena(bytes)?)))
    }

    fn run_ranges_from(
        &self,
        program: &Arc<Program>,
        buffers: &mut HostBuffers,
        workgroups: u32,
        writes: &[(usize, std::ops::Range<usize>)],
        reads: &[(usize, std::ops::Range<usize>)],
        source: (usize, &dyn crate::backend::DeviceArena, u64),
    ) -> Result<()> {
        let arena = source
            .1
            .as_any()
            .downcast_ref::<UploadArena>()
            .ok_or_else(|| {
                Error::bad_input(
                    format!(
                        "{}: the device arena was not made by a wgpu backend",
                        self.name()
                    ),
                    "make it with this backend's device_arena",
                )
            })?;
        self.run_from_upload(
            program,
            buffers,
            workgroups,
            writes,
            reads,
            (source.0, arena, source.2),
        )
    }

    fn run_ranges(
        &self,
        program: &Program,
        buffers: &mut HostBuffers,
        workgroups: u32,
        writes: &[(usize, std::ops::Range<usize>)],
        reads: &[(usize, std::ops::Range<usize>)],
    ) -> Result<()> {
        self.run_resident_or_run(program, None, buffers, workgroups, writes, reads)
    }

    fn run_ranges_shared(
        &self,
        program: &Arc<Program>,
        buffers: &mut HostBuffers,
        workgroups: u32,
        writes: &[(usize, std::ops::Range<usize>)],
        reads: &[(usize, std::ops::Range<usize>)],
    ) -> Result<()> {
        self.run_resident_or_run(program, Some(program), buffers, workgroups, writes, reads)
    }

    fn run(&self, program: &Program, buffers: &mut [Vec<u32>], workgroups: u32) -> Result<()> {
        let kernel = self.compile(program)?;
        check_buffers(program, buffers, workgroups)?;
        let lens: Vec<u32> = buffers.iter().map(|b| b.len() as u32).collect();
        let set = kernel.create_buffers(&lens)?;
        let all: Vec<(usize, u32, &[u32])> = buffers
            .iter()
            .enumerate()
            .map(|(i, data)| (i, 0, data.as_slice()))
            .collect();
        set.write_all(&all)?;
        let submission = kernel.dispatch(&set, workgroups)?;
        let writable: Vec<(usize, std::ops::Range<u32>)> = program
            .host_buffers()
            .iter()
            .enumerate()
            .filter(|(_, d)| d.access == Access::ReadWrite)
            .map(|(i, _)| (i, 0..lens[i]))
            .collect();
        if writable.is_empty() {
            return submission.wait();
        }
        let results = set.read(&writable)?.wait()?;
        for ((i, _), words) in writable.iter().zip(results) {
            buffers[*i] = words;
        }
        Ok(())
    }
}
