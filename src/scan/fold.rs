//! Folding slot results into per-file results, batch by batch in read
//! order, and emitting each file as soon as it is complete.
//!
//! Only files under construction are held (created at their first chunk or
//! failure, dropped when emitted), so a tree of a million small files costs
//! memory for the files in flight, not for every file.

use std::collections::BTreeMap;

use vyre_core::feeder::FileEntry;
use vyre_core::megakernel::protocol::{FAULT_BUDGET, FAULT_LOOP_CUT, FAULT_STEPS};

use super::worker::{Done, Plan};
use super::{crc, FileReport, Kind, ScanConfig, ScanSummary, SCAN_LANES};

/// One file under construction.
struct Open {
    report: FileReport,
    crc: crc32fast::Hasher,
}

/// Per-file results under construction, folded batch by batch in read order.
pub(super) struct Fold<'a> {
    files: &'a [FileEntry],
    open: BTreeMap<usize, Open>,
    next_emit: usize,
    /// Files emitted so far.
    pub emitted: u64,
    pub done_bytes: u64,
}

impl<'a> Fold<'a> {
    pub fn new(files: &'a [FileEntry]) -> Self {
        Fold {
            files,
            open: BTreeMap::new(),
            next_emit: 0,
            emitted: 0,
            done_bytes: 0,
        }
    }

    /// The report of file `i`, created at its first use.
    fn open(&mut self, i: usize, cfg: &ScanConfig) -> &mut Open {
        let files = self.files;
        self.open.entry(i).or_insert_with(|| {
            let mut report = FileReport::new(files[i].path.clone(), cfg, &cfg.patterns);
            report.custom = cfg
                .payloads
                .iter()
                .map(|p| {
                    let n = vyre_core::megakernel::embed::result_words(p) as usize;
                    (p.name.clone(), vec![0; n])
                })
                .collect();
            Open {
                report,
                crc: crc32fast::Hasher::new(),
            }
        })
    }

    /// Adds one batch's slot results (the next in read order), then emits
    /// every file that is now complete, in order.
    pub fn batch(
        &mut self,
        d: &Done,
        plan: &Plan<'_>,
        cfg: &ScanConfig,
        summary: &mut ScanSummary,
        on_file: &mut impl FnMut(&FileReport),
    ) {
        for (file, reason) in &d.batch.failures {
            let r = &mut self.open(*file, cfg).report;
            r.error.get_or_insert_with(|| reason.clone());
        }
        let per_chunk = plan.analyses.len();
        let mut faults = d.faults.iter().peekable();
        for (ci, c) in d.batch.chunks.iter().enumerate() {
            let o = self.open(c.file, cfg);
            let r = &mut o.report;
            for (k, (kind, _)) in plan.analyses.iter().enumerate() {
                let slot = ci * per_chunk + k;
                if let Some(&(_, reason)) = faults.next_if(|f| f.0 == slot) {
                    let name = analysis_name(*kind, cfg);
                    r.error
                        .get_or_insert_with(|| fault_message(&name, reason, c.file_offset, cfg));
                    continue;
                }
                let start = if slot == 0 { 0 } else { d.ends[slot - 1] };
                let words = &d.words[start..d.ends[slot]];
                match kind {
                    Kind::Lines => {
                        *r.lines.get_or_insert(0) += words.first().copied().unwrap_or(0) as u64
                    }
                    Kind::Histogram => {
                        let h = r.histogram.get_or_insert_with(|| vec![0; 256]);
                        for (a, b) in h.iter_mut().zip(words) {
                            *a += *b as u64;
                        }
                    }
                    Kind::Crc => {
                        // In chunk order: crc32 parts do not commute.
                        o.crc.combine(&crc::join_parts(words, c.len, SCAN_LANES));
                    }
                    Kind::Patterns(first) => {
                        for (m, w) in r.matches[*first..].iter_mut().zip(words) {
                            m.1 += *w as u64;
                        }
                    }
                    Kind::Custom(i) => {
                        for (a, b) in r.custom[*i].1.iter_mut().zip(words) {
                            *a += *b as u64;
                        }
                    }
                }
            }
            r.bytes += c.len as u64;
        }
        self.done_bytes += d.batch.bytes;
        while self.next_emit < self.files.len() {
            let i = self.next_emit;
            let complete = match self.open.get(&i) {
                Some(o) => o.report.error.is_some() || o.report.bytes == self.files[i].size,
                None => self.files[i].size == 0,
            };
            if !complete {
                break;
            }
            self.emit(cfg, summary, on_file);
        }
    }

    /// Seals and emits the next file.
    fn emit(
        &mut self,
        cfg: &ScanConfig,
        summary: &mut ScanSummary,
        on_file: &mut impl FnMut(&FileReport),
    ) {
        let i = self.next_emit;
        self.open(i, cfg);
        let mut o = self.open.remove(&i).expect("opened above");
        finish(&mut o.report, o.crc, self.files[i].size, cfg, summary);
        on_file(&o.report);
        self.next_emit += 1;
        self.emitted += 1;
    }

    /// Emits every file not emitted yet (after the last batch).
    pub fn finish_rest(
        &mut self,
        cfg: &ScanConfig,
        summary: &mut ScanSummary,
        on_file: &mut impl FnMut(&FileReport),
    ) {
        while self.next_emit < self.files.len() {
            self.emit(cfg, summary, on_file);
        }
    }
}

/// The name a user knows an analysis by.
fn analysis_name(kind: Kind, cfg: &ScanConfig) -> String {
    match kind {
        Kind::Lines => "line_count".into(),
        Kind::Histogram => "byte_histogram".into(),
        Kind::Crc => "crc32".into(),
        Kind::Patterns(_) => "patterns".into(),
        Kind::Custom(i) => cfg.payloads[i].name.clone(),
    }
}

/// Why a file failed when one of its chunk's slots ended FAULT.
fn fault_message(name: &str, reason: u32, offset: u64, cfg: &ScanConfig) -> String {
    match reason {
        FAULT_BUDGET => format!(
            "payload {name} exceeded its iteration budget ({} loop iterations per lane per chunk) at offset {offset}. Fix: if the payload does not loop forever on this input, raise --iteration-budget",
            cfg.iteration_budget
        ),
        FAULT_LOOP_CUT => format!(
            "payload {name} at offset {offset} needs more loop iterations than this device runs (it cut the payload's loops even when the chunk ran alone; Mesa's llvmpipe stops loops after 65535 iterations). Fix: scan with --backend cpu, on a GPU, or with a smaller --chunk-size; check the payload's loops end"
        ),
        FAULT_STEPS => format!(
            "payload {name} at offset {offset} needs more interpreter steps than this device runs per dispatch. Fix: pass --fused to compile it into the kernel, use --backend cpu, or a smaller --chunk-size"
        ),
        other => format!(
            "payload {name} faulted (reason {other}) at offset {offset}. Fix: this is a vyre bug; please report it"
        ),
    }
}

/// Seals one file's report: checks nothing was lost, fills the crc.
fn finish(
    r: &mut FileReport,
    crc: crc32fast::Hasher,
    expected: u64,
    cfg: &ScanConfig,
    s: &mut ScanSummary,
) {
    if r.error.is_none() && r.bytes != expected {
        r.error = Some(format!(
            "processed {} bytes but the file has {expected}: data was lost. Fix: this is a vyre bug; please report it",
            r.bytes
        ));
    }
    if r.error.is_some() {
        // A failed file carries no partial results.
        *r = FileReport::failed(r.path.clone(), r.error.take().unwrap_or_default());
        s.failed += 1;
        return;
    }
    if cfg.crc32 {
        r.crc32 = Some(crc.finalize());
    }
    s.bytes += r.bytes;
}
