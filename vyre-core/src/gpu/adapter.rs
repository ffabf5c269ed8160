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
    Error::NoAdapter(format!(
        "no GPU adapter matches {wanted}; adapters found: {listed}. Fix: install a Vulkan driver (e.g. `apt-get install mesa-vulkan-drivers` for the software one) or name one of the adapters found ({names}, or `cpu` for any software adapter) in VYRE_ADAPTER or `vyre scan --adapter`"
    ))
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
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
    })
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

/// With `VYRE_TIMING` set: prints how long opening took up to `what`.
fn timing(what: &str, since: std::time::Instant) {
    if std::env::var_os("VYRE_TIMING").is_some() {
        eprintln!(
            "vyre timing:   {what} after {:.3} ms",
            since.elapsed().as_secs_f64() * 1e3
        );
    }
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
            Error::Gpu(format!(
                "recovering from device loss: the adapter {} is gone (adapters now: {}). Fix: check the GPU and its driver (dmesg), then run again",
                describe(info),
                infos.iter().map(describe).collect::<Vec<_>>().join(", ")
            ))
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
        Error::Gpu(format!(
            "opening a device on {} failed: {e}. Fix: update the GPU driver, or pick another adapter with VYRE_ADAPTER",
            describe(&info)
        ))
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
