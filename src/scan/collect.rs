//! The main thread of a scan: events from the reader and the workers,
//! batches folded strictly in read order, device failures reported.

use std::time::Instant;

use vyre_core::{Error, Result};

use super::fold::Fold;
use super::timing::Phases;
use super::worker::{Event, Plan};
use super::{CancelToken, DeviceReport, FileReport, ScanConfig, ScanSummary};

/// The main thread of a scan: takes the workers' and the reader's events,
/// folds finished batches strictly in read order (handing the reader a
/// ticket per folded batch) and reports device losses and failures.
pub(super) struct Collector<'a, 'f, F, P> {
    pub events: &'a std::sync::mpsc::Receiver<Event>,
    pub tickets: &'a std::sync::mpsc::Sender<()>,
    pub fold: &'a mut Fold<'f>,
    pub plan: &'a Plan<'a>,
    pub cfg: &'a ScanConfig,
    pub summary: &'a mut ScanSummary,
    pub phases: &'a mut Phases,
    pub total: u64,
    pub on_file: &'a mut F,
    pub on_progress: &'a mut P,
}

impl<F: FnMut(&FileReport), P: FnMut(u64, u64)> Collector<'_, '_, F, P> {
    /// Until every batch the reader made is folded, or the scan fails.
    pub(super) fn run(self) -> Result<()> {
        let mut waiting = std::collections::BTreeMap::new();
        let (mut next, mut batches, mut live) = (0u64, None, self.summary.devices.len());
        let mut errors: Vec<(usize, Error)> = Vec::new();
        while batches != Some(next) {
            let tw = Instant::now();
            let event = loop {
                if self
                    .cfg
                    .cancel
                    .as_ref()
                    .is_some_and(CancelToken::is_cancelled)
                {
                    return Err(Error::Cancelled);
                }
                match self
                    .events
                    .recv_timeout(std::time::Duration::from_millis(20))
                {
                    Ok(e) => break e,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                        return Err(Error::internal(
                            "the scan's threads stopped before all batches were done",
                        ))
                    }
                }
            };
            self.phases.wait += tw.elapsed().as_secs_f64();
            match event {
                Event::Done(d) => {
                    waiting.insert(d.seq, d);
                    while let Some(d) = waiting.remove(&next) {
                        let tf = Instant::now();
                        let dev = &mut self.summary.devices[d.device];
                        dev.batches += 1;
                        dev.bytes += d.batch.bytes;
                        self.summary.literals.add(&d.literal_engine);
                        self.summary.regexes.add(&d.regex_engine);
                        // No file is reported after a cancel, even from the
                        // batch being folded.
                        let cancel = self.cfg.cancel.as_ref();
                        let on_file = &mut *self.on_file;
                        self.fold
                            .batch(&d, self.plan, self.cfg, self.summary, &mut |r| {
                                if !cancel.is_some_and(CancelToken::is_cancelled) {
                                    on_file(r)
                                }
                            });
                        self.phases.fold += tf.elapsed().as_secs_f64();
                        (self.on_progress)(self.fold.done_bytes, self.total);
                        next += 1;
                        let _ = self.tickets.send(());
                    }
                }
                Event::Recovered { device, reason } => {
                    let d = &mut self.summary.devices[device];
                    tracing::warn!(
                        "device {} was lost ({reason}); recovered it, its batch runs again",
                        d.name
                    );
                    d.recovered.push(reason);
                }
                Event::Failed { device, error } => {
                    live -= 1;
                    let d = &mut self.summary.devices[device];
                    d.failed = Some(error.to_string());
                    if live > 0 {
                        tracing::warn!(
                            "device {} failed: {error}; its work moves to the other devices",
                            d.name
                        );
                    }
                    errors.push((device, error));
                    if live == 0 {
                        return Err(all_failed(errors, &self.summary.devices));
                    }
                }
                Event::Joined {
                    device,
                    name,
                    zero_copy,
                } => {
                    self.summary.devices[device].name = name;
                    self.summary.zero_copy |= zero_copy;
                }
                Event::ReaderFinished { batches: n } => batches = Some(n),
                Event::ReadFailed(e) => return Err(e),
                Event::Panicked(who) => {
                    return Err(Error::internal(format!(
                        "{who} panicked (see the message printed above)"
                    )))
                }
            }
        }
        Ok(())
    }
}

/// The error when every device failed: the one error of a single device,
/// otherwise each device's.
fn all_failed(mut errors: Vec<(usize, Error)>, devices: &[DeviceReport]) -> Error {
    if errors.len() == 1 {
        return errors.remove(0).1;
    }
    let list: Vec<String> = errors
        .iter()
        .map(|(d, e)| format!("[{}] {e}", devices[*d].name))
        .collect();
    Error::gpu(
        format!("every scan device failed: {}", list.join(" ")),
        "see each device's error",
    )
}
