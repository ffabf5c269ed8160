//! Adapter selection and device creation.

use std::sync::{Arc, Mutex};

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
        .chain(["`cpu`".to_string()])
        .collect::<Vec<_>>()
        .join(", ");
    Error::NoAdapter(format!(
        "no GPU adapter matches {wanted}; adapters found: {listed}. Fix: install a Vulkan driver (e.g. `apt-get install mesa-vulkan-drivers` for the software one) or set VYRE_ADAPTER to one of {names}"
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

/// Finds the adapter `choice` selects and opens a device on it with the
/// adapter's maximum limits.
pub(crate) fn open(choice: &AdapterChoice) -> Result<(Gpu, wgpu::AdapterInfo)> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    let infos: Vec<wgpu::AdapterInfo> = adapters.iter().map(|a| a.get_info()).collect();
    let choice = match choice {
        AdapterChoice::Default => AdapterChoice::from_env().unwrap_or(AdapterChoice::Default),
        other => other.clone(),
    };
    let adapter = match &choice {
        AdapterChoice::Default => {
            let options = wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            };
            match pollster::block_on(instance.request_adapter(&options)) {
                Ok(a) => a,
                Err(_) => adapters
                    .into_iter()
                    .min_by_key(|a| rank(a.get_info().device_type))
                    .ok_or_else(|| no_adapter("the default request (high performance)", &infos))?,
            }
        }
        AdapterChoice::Named(want) => {
            let want_l = want.to_lowercase();
            adapters
                .into_iter()
                .find(|a| a.get_info().name.to_lowercase().contains(&want_l))
                .ok_or_else(|| no_adapter(&format!("the name `{want}`"), &infos))?
        }
        AdapterChoice::Cpu => adapters
            .into_iter()
            .find(|a| a.get_info().device_type == wgpu::DeviceType::Cpu)
            .ok_or_else(|| no_adapter("a software (CPU) adapter", &infos))?,
    };
    let info = adapter.get_info();
    let label = format!("wgpu: {} ({:?})", info.name, info.backend);
    let limits = adapter.limits();
    let desc = wgpu::DeviceDescriptor {
        label: Some("vyre"),
        required_features: wgpu::Features::empty(),
        required_limits: limits.clone(),
        ..Default::default()
    };
    let (device, queue) = pollster::block_on(adapter.request_device(&desc)).map_err(|e| {
        Error::Gpu(format!(
            "opening a device on {} failed: {e}. Fix: update the GPU driver, or pick another adapter with VYRE_ADAPTER",
            describe(&info)
        ))
    })?;
    let uncaptured = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&uncaptured);
    device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
        lock(&sink).push(e.to_string())
    }));
    let lost = Arc::new(Mutex::new(None));
    let lost_sink = Arc::clone(&lost);
    device.set_device_lost_callback(move |reason, msg| {
        if reason != wgpu::DeviceLostReason::Destroyed {
            *lock(&lost_sink) = Some(format!("{reason:?}: {msg}"));
        }
    });
    Ok((
        Gpu {
            device,
            queue,
            limits,
            label,
            uncaptured,
            lost,
        },
        info,
    ))
}
