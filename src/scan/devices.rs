//! Opening the devices a scan runs on (`vyre scan --adapters LIST`).

use vyre_core::gpu::{AdapterChoice, WgpuBackend};
use vyre_core::{Backend, Error, Result};

/// A scan device: any backend that can move to a worker thread.
pub type Device = Box<dyn Backend + Send>;

/// What a scan runs on ([`super::scan_engines`]): a device with its own
/// megakernel, or the native backend (the payloads' native code on
/// `threads` threads; see `vyre scan --backend native`).
pub enum Engine<B = Device> {
    /// A device ([`Backend`]).
    Device(B),
    /// The native backend with a pool of `threads` threads.
    Native {
        /// Threads running slots (e.g. [`super::default_native_threads`]).
        threads: usize,
    },
    /// Devices opened while the scan already runs (on a thread of their
    /// own), joining the other engines when ready: `open` gives `workers`
    /// devices (e.g. [`shared_gpu`]'s). The scan starts at once on the
    /// other engines (at least one is needed), so a small tree can finish
    /// before a GPU opens (about 0.24 s for Vulkan on the H200 host); then
    /// these devices are reported as not opened. Chunks are sized before
    /// they open, for a device without a loop-iteration limit: one that
    /// has one (llvmpipe) is refused unless the chunk size is at most
    /// [`super::LIMITED_CHUNK`].
    Later {
        /// Opens the devices (run on a thread of its own).
        open: Opener<B>,
        /// How many devices `open` gives.
        workers: usize,
    },
}

/// What opens the devices of an [`Engine::Later`].
pub type Opener<B> = Box<dyn FnOnce() -> Result<Vec<B>> + Send>;

/// [`open_devices`] where the list may also name `native`: the native
/// backend with a thread per core ([`super::default_native_threads`]; half
/// of them beside a GPU that opens later), once (then the list's `gpu` and adapter names open while the scan
/// already runs on the native backend: [`Engine::Later`]); and `auto`: the default GPU when there is a hardware GPU or
/// `$VYRE_ADAPTER` names an adapter, else (only a software adapter such as
/// llvmpipe, or none) the native backend ([`auto_is_native`]).
pub fn open_engines(spec: &str, in_flight: u32) -> Result<Vec<Engine>> {
    let mut out = Vec::new();
    let mut native = false;
    let with_native = spec.split(',').map(str::trim).any(|i| {
        i.eq_ignore_ascii_case("native") || (i.eq_ignore_ascii_case("auto") && auto_is_native())
    });
    for item in spec.split(',').map(str::trim) {
        let item = match item.eq_ignore_ascii_case("auto") {
            true if auto_is_native() => "native",
            true => "gpu",
            false => item,
        };
        if item.eq_ignore_ascii_case("native") {
            if native {
                return Err(Error::bad_input(
                    format!("the device list `{spec}` names `native` twice"),
                    "name `native` once: it runs on every core already",
                ));
            }
            native = true;
            out.push(Engine::Native {
                threads: super::default_native_threads(),
            });
        } else if with_native
            && !item.is_empty()
            && !["all", "cpu", "auto"]
                .iter()
                .any(|w| item.eq_ignore_ascii_case(w))
        {
            // One GPU: opened on its own thread while native code scans.
            let name = item.to_string();
            out.push(Engine::Later {
                open: Box::new(move || open_devices(&name, in_flight)),
                workers: in_flight.max(1) as usize,
            });
        } else {
            out.extend(
                open_devices(item, in_flight)?
                    .into_iter()
                    .map(Engine::Device),
            );
        }
    }
    // Beside a GPU, native code leaves half the cores to the reader and the
    // GPU's workers (on the 16-core H100 host, 8 native threads beside the
    // GPU beat 16: BENCHMARKS.md).
    if out.iter().any(|e| matches!(e, Engine::Later { .. })) {
        for e in out.iter_mut() {
            if let Engine::Native { threads } = e {
                *threads = (*threads / 2).max(1);
            }
        }
    }
    Ok(out)
}

/// `in_flight` scan devices on one GPU: each gets its own worker and
/// megakernel, and they share the device, so while one batch runs on the GPU
/// the next is copied into staging memory and queued (the device keeps the
/// batches apart by queue order; see `Backend::run_ranges`).
pub fn shared_gpu(gpu: WgpuBackend, in_flight: u32) -> Vec<Device> {
    let gpu = std::sync::Arc::new(gpu);
    (0..in_flight.max(1))
        .map(|_| Box::new(std::sync::Arc::clone(&gpu)) as Device)
        .collect()
}

/// Opens the devices `spec` lists, comma-separated, in order:
/// * `gpu` — the default adapter (`$VYRE_ADAPTER`, else the
///   high-performance GPU, else the software one);
/// * `all` — every GPU adapter ([`WgpuBackend::open_all`]; the software
///   adapter only when there is no hardware GPU);
/// * `cpu` — the CPU reference interpreter ([`vyre_core::cpu::CpuBackend`]);
/// * (`native`, the native backend, is not a device: see [`open_engines`]);
/// * anything else — the first wgpu adapter whose name contains it
///   (case-insensitive), e.g. `H100` or `llvmpipe`.
///
/// Naming an adapter twice opens two devices on it. Every GPU gets
/// `in_flight` workers ([`shared_gpu`]).
pub fn open_devices(spec: &str, in_flight: u32) -> Result<Vec<Device>> {
    let mut out: Vec<Device> = Vec::new();
    for item in spec.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(Error::bad_input(format!("the device list `{spec}` has an empty entry"), "separate names with single commas, e.g. `--adapters all` or `--adapters llvmpipe,cpu`"));
        }
        if item.eq_ignore_ascii_case("gpu") {
            out.extend(shared_gpu(
                WgpuBackend::with_adapter(AdapterChoice::Default)?,
                in_flight,
            ));
        } else if item.eq_ignore_ascii_case("all") {
            for b in WgpuBackend::open_all()? {
                out.extend(shared_gpu(b, in_flight));
            }
        } else if item.eq_ignore_ascii_case("cpu") {
            out.push(Box::new(scan_cpu_backend()));
        } else {
            let b = WgpuBackend::with_adapter(AdapterChoice::Named(item.to_string()))
                .map_err(|e| match e {
                    Error::NoAdapter { message, fix } => Error::no_adapter(
                        format!("device `{item}` of the device list `{spec}`: {message}"),
                        format!("{fix}; in a device list (`vyre scan --adapters`, `Scan::devices` in the library) `cpu` is the CPU reference interpreter, `native` the native code on every core and `all` every GPU"),
                    ),
                                        other => other,
                })?;
            out.extend(shared_gpu(b, in_flight));
        }
    }
    Ok(out)
}

/// The CPU reference as a scan device: no whole-run step budget, because
/// every slot of a scan runs under the scan's iteration budget
/// ([`super::ScanConfig::iteration_budget`]), which fails a runaway
/// payload's file alone; a whole-run budget would instead end the scan
/// of a large batch that is only slow.
pub fn scan_cpu_backend() -> vyre_core::cpu::CpuBackend {
    vyre_core::cpu::CpuBackend::with_step_budget(u64::MAX)
}

/// What `auto` picks ([`open_engines`]): true (the native backend) when
/// `$VYRE_ADAPTER` is unset and wgpu finds no hardware GPU; on such hosts
/// the native backend is faster than software Vulkan (BENCHMARKS.md) and
/// gives the same results.
pub fn auto_is_native() -> bool {
    std::env::var_os("VYRE_ADAPTER").is_none_or(|v| v.is_empty())
        && !vyre_core::gpu::hardware_adapter_present()
}
