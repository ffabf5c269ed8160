//! Folding slot results into per-file results, batch by batch in read
//! order, and emitting each file as soon as it is complete.

use vyre_core::feeder::FileEntry;

use super::worker::{Done, Plan};
use super::{crc, FileReport, Kind, ScanConfig, ScanSummary, SCAN_LANES};

/// Per-file results under construction, folded batch by batch in read order.
pub(super) struct Fold {
    files: Vec<FileEntry>,
    pub reports: Vec<FileReport>,
    crcs: Vec<crc32fast::Hasher>,
    next_emit: usize,
    pub done_bytes: u64,
}

impl Fold {
    pub fn new(files: &[FileEntry], cfg: &ScanConfig) -> Self {
        let reports = files
            .iter()
            .map(|f| {
                let mut r = FileReport::new(f.path.clone(), cfg, &cfg.patterns);
                r.custom = cfg
                    .payloads
                    .iter()
                    .map(|p| {
                        let n = vyre_core::megakernel::embed::result_words(p) as usize;
                        (p.name.clone(), vec![0; n])
                    })
                    .collect();
                r
            })
            .collect();
        Fold {
            files: files.to_vec(),
            reports,
            crcs: files.iter().map(|_| crc32fast::Hasher::new()).collect(),
            next_emit: 0,
            done_bytes: 0,
        }
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
            if let Some(r) = self.reports.get_mut(*file) {
                r.error = Some(reason.clone());
            }
        }
        let per_chunk = plan.analyses.len();
        for (ci, c) in d.batch.chunks.iter().enumerate() {
            let r = &mut self.reports[c.file];
            for (k, (kind, _)) in plan.analyses.iter().enumerate() {
                let slot = ci * per_chunk + k;
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
                        self.crcs[c.file].combine(&crc::join_parts(words, c.len, SCAN_LANES));
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
        while self.next_emit < self.reports.len() {
            let i = self.next_emit;
            let r = &self.reports[i];
            if r.error.is_none() && r.bytes != self.files[i].size {
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
        let expected = self.files[i].size;
        let r = &mut self.reports[i];
        finish(r, &mut self.crcs[i], expected, cfg, summary);
        on_file(r);
        self.next_emit += 1;
    }

    /// Emits every file not emitted yet (after the last batch).
    pub fn finish_rest(
        &mut self,
        cfg: &ScanConfig,
        summary: &mut ScanSummary,
        on_file: &mut impl FnMut(&FileReport),
    ) {
        while self.next_emit < self.reports.len() {
            self.emit(cfg, summary, on_file);
        }
    }
}

/// Seals one file's report: checks nothing was lost, fills the crc.
fn finish(
    r: &mut FileReport,
    crc: &mut crc32fast::Hasher,
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
        s.failed += 1;
        return;
    }
    if cfg.crc32 {
        r.crc32 = Some(std::mem::take(crc).finalize());
    }
    s.bytes += r.bytes;
}
