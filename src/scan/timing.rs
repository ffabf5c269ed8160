//! Wall time of a scan's phases, shown as debug events of target
//! `vyre::timing` (`vyre scan -vv` or `VYRE_TIMING=1`).

use super::worker::WorkerTimes;
use super::ScanSummary;

/// Wall time per phase (debug events of target `vyre::timing`; `vyre scan` shows them with `VYRE_TIMING=1` or `-vv`).
#[derive(Default)]
pub(super) struct Phases {
    /// From the start until the threads start: megakernels built (pipelines
    /// compiled or loaded), arenas allocated.
    pub setup: f64,
    /// Main thread waiting for devices (or the reader).
    pub wait: f64,
    pub fold: f64,
    pub devices: Vec<(usize, WorkerTimes)>,
    pub reader: ReaderTimes,
}

/// Wall time of the reader thread: reading batches into arenas, and
/// waiting for a free arena (or a ticket) to read into.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ReaderTimes {
    pub filling: f64,
    pub waiting: f64,
}

impl Phases {
    pub(super) fn print(&self, summary: &ScanSummary) {
        for (i, t) in &self.devices {
            let d = &summary.devices[*i];
            tracing::debug!(
                target: "vyre::timing",
                "device {i} ({}): {} batches, {} bytes; idle {:.3} s, publish {:.3} s, megakernel runs {:.3} s, results {:.3} s",
                d.name, d.batches, d.bytes, t.idle, t.publish, t.run, t.results
            );
        }
        tracing::debug!(
            target: "vyre::timing",
            "setup {:.3} s; reader filling arenas {:.3} s, waiting for a free arena {:.3} s",
            self.setup, self.reader.filling, self.reader.waiting
        );
        tracing::debug!(
            target: "vyre::timing",
            "main thread waiting for results {:.3} s, folding {:.3} s, total {:.3} s",
            self.wait, self.fold, summary.seconds
        );
    }
}
