//! Adapter selection and device creation.

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use super::{lock, AdapterChoice, Gpu};
use crate::error::{Error, Result};

/// `name (Backend, DeviceType)`: how adapters are listed in errors.
fn describe(info: &wgpu::AdapterInfo) -> String {
    format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
}

/// The `NoAdapter` error: what was asked, what exists, what to do.
fn no_adapter(wanted: &str, found: &[wgpu::AdapterInfo]) -> Error {
    let listed = if found.is_empty() {
        "none".to_string()
    } else {
        found
            .iter()
            .map(|i| format!("`{}`", describe(i)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let names = found
        .iter()
        .map(|i| format!("`{}`", i.name))
        .collect::<Vec<_>>()
        .join(", ");
    Error::no_adapter(format!("no GPU adapter matches {wanted}; adapters found: {listed}"), format!("install a Vulkan driver (e.g. `apt-get install mesa-vulkan-drivers` for the software one) or name one of the adapters found ({names}, or `cpu` for any software adapter) in VYRE_ADAPTER or `vyre scan --adapter`"))
}

/// Preference order when wgpu's own high-performance request fails.
fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

/// A device opened on an adapter.
pub(crate) struct Opened {
    pub gpu: Gpu,
    pub info: wgpu::AdapterInfo,
    /// Position among adapters with an identical [`wgpu::AdapterInfo`].
    pub ordinal: usize,
}

/// The one wgpu instance of the process, never destroyed. NVIDIA's Vulkan
/// driver crashes when a thread exits after an instance made on it was
/// destroyed on another thread (seen on the H100: a backend created on one
/// thread and dropped by a scan worker); an instance that lives as long as
/// the process avoids that, and opening devices gets cheaper.
fn instance() -> &'static wgpu::Instance {
    static INSTANCE: OnceLock<wgpu::Instance> = OnceLock::new();
    INSTANCE.get_or_init(|| {
        give_mesa_a_runtime_dir();
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
    })
}

/// Mesa's Vulkan drivers print "error: XDG_RUNTIME_DIR is invalid or not
/// set in the environment" (several times per process) when that variable
/// does not name a directory owned by the user with mode 0700. Before the
/// first Vulkan call, a process without a valid one gets a private
/// directory of its own (`$TMPDIR/vyre-runtime-UID`, created 0700 and
/// checked to be ours), so vyre's users never see the message. A valid
/// variable is left alone. Called when the first device opens; a program
/// with threads of its own should call it at its start, before they run
/// (it sets an environment variable), as the `vyre` command does.
pub fn give_mesa_a_runtime_dir() {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let valid = |dir: &std::path::Path| {
        std::fs::metadata(dir).is_ok_and(|m| {
            m.is_dir() && m.uid() == effective_uid() && m.permissions().mode() & 0o777 == 0o700
        })
    };
    if std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| valid(std::path::Path::new(&d))) {
        return;
    }
    let uid = effective_uid();
    let dir = std::env::temp_dir().join(format!("vyre-runtime-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    if valid(&dir) {
        // Called once, from the instance's `OnceLock` initializer, before
        // any Vulkan call of this process.
        std::env::set_var("XDG_RUNTIME_DIR", &dir);
    }
}

/// The effective user id (the owner a runtime directory must have).
fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail (FFI).
    unsafe { libc::geteuid() }
}

/// All adapters of every compiled-in backend, with their infos.
fn enumerate() -> (
    &'static wgpu::Instance,
    Vec<wgpu::Adapter>,
    Vec<wgpu::AdapterInfo>,
) {
    let instance = instance();
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    let infos = adapters.iter().map(|a| a.get_info()).collect();
    (instance, adapters, infos)
}

/// Whether wgpu finds a hardware GPU: an adapter that is not a software
/// one (llvmpipe), GL included. Enumerates adapters without opening a
/// device.
pub fn hardware_adapter_present() -> bool {
    let (_instance, _adapters, infos) = enumerate();
    infos.iter().any(|i| i.device_type != wgpu::DeviceType::Cpu)
}

/// Index of `info` among the adapters with the same info before it.
fn ordinal_of(infos: &[wgpu::AdapterInfo], index: usize) -> usize {
    infos[..index]
        .iter()
        .filter(|i| **i == infos[index])
        .count()
}

/// Finds the adapter `choice` selects and opens a device on it with the
/// adapter's maximum limits.
pub(crate) fn open(choice: &AdapterChoice, cache_dir: Option<&Path>) -> Result<Opened> {
    let started = std::time::Instant::now();
    let (instance, adapters, infos) = enumerate();
    timing("instance and adapters", started);
    let choice = match choice {
        AdapterChoice::Default => AdapterChoice::from_env().unwrap_or(AdapterChoice::Default),
        other => other.clone(),
    };
    let index = match &choice {
        AdapterChoice::Default => {
            let options = wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            };
            let preferred = pollster::block_on(instance.request_adapter(&options))
                .ok()
                .map(|a| a.get_info())
                .and_then(|want| infos.iter().position(|i| *i == want));
            match preferred {
                Some(i) => i,
                None => (0..infos.len())
                    .min_by_key(|&i| rank(infos[i].device_type))
                    .ok_or_else(|| no_adapter("the default request (high performance)", &infos))?,
            }
        }
        AdapterChoice::Named(want) => {
            let want_l = want.to_lowercase();
            infos
                .iter()
                .position(|i| i.name.to_lowercase().contains(&want_l))
                .ok_or_else(|| no_adapter(&format!("the name `{want}`"), &infos))?
        }
        AdapterChoice::Cpu => infos
            .iter()
            .position(|i| i.device_type == wgpu::DeviceType::Cpu)
            .ok_or_else(|| no_adapter("a software (CPU) adapter", &infos))?,
    };
    timing("adapter chosen", started);
    let opened = open_device(&adapters[index], ordinal_of(&infos, index), cache_dir);
    timing("device open", started);
    opened
}

/// How long opening took up to `what` (a `vyre::timing` debug event).
fn timing(what: &str, since: std::time::Instant) {
    tracing::debug!(
        target: "vyre::timing",
        "  {what} after {:.3} ms",
        since.elapsed().as_secs_f64() * 1e3
    );
}

/// Opens every hardware GPU, or every software adapter when there is none.
/// GL adapters are skipped when another backend offers adapters (the same
/// GPU would otherwise be opened twice).
pub(crate) fn open_all(cache_dir: Option<&Path>) -> Result<Vec<Opened>> {
    let (_instance, adapters, infos) = enumerate();
    let non_gl = infos.iter().any(|i| i.backend != wgpu::Backend::Gl);
    let usable = |i: &wgpu::AdapterInfo| !(non_gl && i.backend == wgpu::Backend::Gl);
    let hardware = infos
        .iter()
        .any(|i| usable(i) && i.device_type != wgpu::DeviceType::Cpu);
    let picked: Vec<usize> = (0..infos.len())
        .filter(|&k| usable(&infos[k]))
        .filter(|&k| !hardware || infos[k].device_type != wgpu::DeviceType::Cpu)
        .collect();
    if picked.is_empty() {
        return Err(no_adapter("`all`", &infos));
    }
    picked
        .into_iter()
        .map(|k| open_device(&adapters[k], ordinal_of(&infos, k), cache_dir))
        .collect()
}

/// Opens a fresh device on the adapter `info` describes (the `ordinal`-th of
/// that description), after the old device was lost.
pub(crate) fn reopen(
    info: &wgpu::AdapterInfo,
    ordinal: usize,
    cache_dir: Option<&Path>,
) -> Result<Opened> {
    let (_instance, adapters, infos) = enumerate();
    let index = (0..infos.len())
        .filter(|&k| infos[k] == *info)
        .nth(ordinal)
        .ok_or_else(|| {
            Error::gpu(
                format!(
                    "recovering from device loss: the adapter {} is gone (adapters now: {})",
                    describe(info),
                    infos.iter().map(describe).collect::<Vec<_>>().join(", ")
                ),
                "check the GPU and its driver (dmesg), then run again",
            )
        })?;
    open_device(&adapters[index], ordinal, cache_dir)
}

/// Opens a device on `adapter` with the adapter's maximum limits and hooks
/// up the error and device-lost callbacks; with `cache_dir`, also the
/// on-disk pipeline cache where the adapter supports one.
fn open_device(
    adapter: &wgpu::Adapter,
    ordinal: usize,
    cache_dir: Option<&Path>,
) -> Result<Opened> {
    let info = adapter.get_info();
    let label = format!("wgpu: {} ({:?})", info.name, info.backend);
    let limits = adapter.limits();
    let desc = wgpu::DeviceDescriptor {
        label: Some("vyre"),
        // MAPPABLE_PRIMARY_BUFFERS only so upload buffers can be cleared on
        // the GPU (COPY_DST) instead of zeroed page by page by wgpu on the CPU.
        required_features: adapter.features()
            & (wgpu::Features::PIPELINE_CACHE | wgpu::Features::MAPPABLE_PRIMARY_BUFFERS),
        required_limits: limits.clone(),
        ..Default::default()
    };
    let (device, queue) = pollster::block_on(adapter.request_device(&desc)).map_err(|e| {
        Error::gpu(
            format!("opening a device on {} failed: {e}", describe(&info)),
            "update the GPU driver, or pick another adapter with VYRE_ADAPTER",
        )
    })?;
    let clear_uploads = device
        .features()
        .contains(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS);
    let uncaptured = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&uncaptured);
    device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
        lock(&sink).push(e.to_string())
    }));
    let lost = Arc::new(Mutex::new(None));
    let lost_sink = Arc::clone(&lost);
    // Every loss counts, `Destroyed` included: vyre never destroys a device
    // it still uses, so a destroy is a (simulated) loss.
    device.set_device_lost_callback(move |reason, msg| {
        lock(&lost_sink).get_or_insert_with(|| format!("{reason:?}: {msg}"));
    });
    let opened_at = std::time::Instant::now();
    let disk = cache_dir
        .and_then(|dir| super::disk_cache::DiskCache::open(&device, &info, dir))
        .map(Arc::new);
    timing("pipeline cache file read", opened_at);
    Ok(Opened {
        gpu: Gpu {
            disk,
            device,
            queue,
            limits,
            label,
            uncaptured,
            lost,
            uploads: Default::default(),
            clear_uploads,
        },
        info,
        ordinal,
    })
}
