//! Mapping wgpu buffers for the host: start a map, then wait for its
//! callback (which runs on whichever thread polls the device).

use std::sync::{Arc, Mutex};

use super::{lock, Gpu};
use crate::error::Result;

/// How long [`await_map`] waits for a map callback after the work itself
/// completed.
const CALLBACK_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Where a `map_async` callback leaves its outcome (`None` until it ran).
pub(crate) type MapOutcome = Arc<Mutex<Option<std::result::Result<(), String>>>>;

/// Starts mapping bytes `range` of `buffer` for `mode`; the outcome lands in
/// the returned [`MapOutcome`] (collect it with [`await_map`]).
pub(crate) fn map(
    buffer: &wgpu::Buffer,
    mode: wgpu::MapMode,
    range: std::ops::Range<u64>,
) -> MapOutcome {
    let outcome: MapOutcome = Arc::new(Mutex::new(None));
    let sink = Arc::clone(&outcome);
    buffer.map_async(mode, range, move |r| {
        *lock(&sink) = Some(r.map_err(|e| e.to_string()));
    });
    outcome
}

/// Waits for submission `index` (all work, for `None`) and then for the map
/// callback whose outcome goes to `outcome`, and takes it. The callback runs
/// on whichever thread polls the device after the work finished; when
/// another thread polled first it may still be on its way, so this polls
/// until it arrived, for at most [`CALLBACK_GRACE`]. `None`: it never came.
pub(crate) fn await_map(
    gpu: &Gpu,
    outcome: &MapOutcome,
    index: Option<wgpu::SubmissionIndex>,
    what: &str,
) -> Result<Option<std::result::Result<(), String>>> {
    let start = std::time::Instant::now();
    while lock(outcome).is_none() && start.elapsed() < CALLBACK_GRACE {
        gpu.wait(index.clone(), what)?;
        if lock(outcome).is_none() {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }
    Ok(lock(outcome).take())
}
