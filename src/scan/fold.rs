//! Folding slot results into per-file results, batch by batch in read
//! order, and emitting each file as soon as it is complete.
//!
//! Only files under construction are held (created at their first chunk or
//! failure, dropped when emitted), so a tree of a million small files costs
//! memory for the files in flight, not for every file.

use std::collections::BTreeMap;

use vyre_core::feeder::FileEntry;
use vyre_core::megakernel::protocol::{FAULT_BUDGET, FAULT_LOOP_CUT, FAULT_STEPS};

use super::analyses::Analysis;
use super::lines::{presearch, LineJoin};
use super::matches::{Locator, Names};
use super::regex::Regexes;
use super::worker::{Done, Plan};
use super::{FileReport, ScanConfig, ScanSummary};
use std::sync::Arc;

/// One file under construction.
struct Open {
    report: FileReport,
    /// Per analysis: the file result so far ([`vyre_core::megakernel::fold::Folder`]).
    acc: Vec<Vec<u64>>,
    /// Chunks folded so far; the file is complete at `chunk_count(size)`
    /// (an empty file has one chunk too).
    chunks: u64,
    /// The host literal engine's counts so far, by pattern index.
    host: BTreeMap<u32, u64>,
    /// The regex counts so far and the line that straddles chunks.
    regex: Option<LineJoin>,
}

/// Per-file results under construction, folded batch by batch in read order.
pub(super) struct Fold<'a> {
    files: &'a [FileEntry],
    /// The patterns' names when the host literal engine runs.
    pattern_names: Option<&'a [String]>,
    /// The scan's regexes, if any (always with `--matches`).
    regexes: Option<&'a Regexes>,
    /// With `--matches`: the pattern texts locations report.
    names: Option<Arc<Names>>,
    open: BTreeMap<usize, Open>,
    next_emit: usize,
    /// Files emitted so far.
    pub emitted: u64,
    pub done_bytes: u64,
}

impl<'a> Fold<'a> {
    /// Folds for `files`; `pattern_names` (the escaped patterns) when the
    /// host literal engine runs, so reports list its counts.
    pub fn new(files: &'a [FileEntry], pattern_names: Option<&'a [String]>) -> Self {
        Fold {
            files,
            pattern_names,
            regexes: None,
            names: None,
            open: BTreeMap::new(),
            next_emit: 0,
            emitted: 0,
            done_bytes: 0,
        }
    }

    /// Folds the results of the regex engine too (`-r`, `--matches`; with
    /// `--matches` the pattern texts are `names`).
    pub fn with_regexes(mut self, regexes: Option<&'a Regexes>, names: Option<Arc<Names>>) -> Self {
        self.regexes = regexes;
        self.names = names;
        self
    }

    /// The report of file `i`, created at its first use; `None` once the
    /// file was emitted (a failed file is emitted before its later chunks
    /// arrive: those are dropped, not held).
    fn open(&mut self, i: usize, analyses: &[Analysis], cfg: &ScanConfig) -> Option<&mut Open> {
        if i < self.next_emit {
            return None;
        }
        let (files, host) = (self.files, self.pattern_names.is_some());
        let locate = self.regexes.and_then(|r| r.locate());
        let (regex, names) = (self.regexes.is_some(), &self.names);
        Some(self.open.entry(i).or_insert_with(|| {
            let mut o = new_open(&files[i], analyses, cfg, host);
            let locator = locate
                .zip(names.clone())
                .map(|(max, n)| Locator::new(max, n));
            o.regex = regex.then(|| LineJoin::locating(locator));
            o
        }))
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
        let analyses = plan.analyses;
        let regexes = self.regexes;
        for (file, reason) in &d.batch.failures {
            if let Some(o) = self.open(*file, analyses, cfg) {
                o.report.error.get_or_insert_with(|| reason.clone());
            }
        }
        let per_chunk = analyses.len();
        // The lines this batch completes, searched in parallel first.
        let mut ahead = match regexes {
            Some(re) if !d.regex.is_empty() => {
                let files = d.batch.chunks.iter().map(|c| c.file);
                presearch(re, files.zip(&d.regex), |f| {
                    let join = self.open.get(&f).and_then(|o| o.regex.as_ref());
                    join.map(|j| j.pending().to_vec()).unwrap_or_default()
                })
            }
            _ => Vec::new(),
        };
        let mut faults = d.faults.iter().peekable();
        for (ci, c) in d.batch.chunks.iter().enumerate() {
            let Some(o) = self.open(c.file, analyses, cfg) else {
                while faults.next_if(|f| f.0 < (ci + 1) * per_chunk).is_some() {}
                continue;
            };
            o.chunks += 1;
            let r = &mut o.report;
            for (k, a) in analyses.iter().enumerate() {
                let slot = ci * per_chunk + k;
                if let Some(&(_, reason)) = faults.next_if(|f| f.0 == slot) {
                    r.error
                        .get_or_insert_with(|| fault_message(&a.name, reason, c.file_offset, cfg));
                    continue;
                }
                if r.error.is_some() {
                    continue;
                }
                let start = if slot == 0 { 0 } else { d.ends[slot - 1] };
                // In chunk order: a combine (CRC-32's) need not commute.
                if let Err(e) = a.folder.fold(&mut o.acc[k], &d.words[start..d.ends[slot]]) {
                    r.error = Some(format!(
                        "{} at offset {}. Fix: {}",
                        e.message(),
                        c.file_offset,
                        e.fix().unwrap_or("report this")
                    ));
                }
            }
            if r.error.is_none() {
                for &(p, n) in d.host.get(ci).map_or(&[][..], |v| &v[..]) {
                    *o.host.entry(p).or_insert(0) += u64::from(n);
                }
            }
            if let (true, Some(re), Some(join)) = (r.error.is_none(), regexes, o.regex.as_mut()) {
                // In chunk order: the line across a boundary is joined here.
                let added = match d.regex.get(ci) {
                    Some(rc) => join.add(re, rc, ahead.get_mut(ci).and_then(Option::take)),
                    None => Err("a batch came back without its regex results. Fix: this is a vyre bug; please report it".into()),
                };
                if let Err(why) = added {
                    r.error = Some(why);
                }
            }
            r.bytes += c.len as u64;
        }
        self.done_bytes += d.batch.bytes;
        while self.next_emit < self.files.len() {
            let i = self.next_emit;
            let chunks = vyre_core::feeder::chunk_count(self.files[i].size, cfg.chunk_size);
            let complete = self
                .open
                .get(&i)
                .is_some_and(|o| o.report.error.is_some() || o.chunks == chunks);
            if !complete {
                break;
            }
            self.emit(analyses, cfg, summary, on_file);
        }
    }

    /// Seals and emits the next file.
    fn emit(
        &mut self,
        analyses: &[Analysis],
        cfg: &ScanConfig,
        summary: &mut ScanSummary,
        on_file: &mut impl FnMut(&FileReport),
    ) {
        let i = self.next_emit;
        let host = self.pattern_names.is_some();
        let mut o = self
            .open
            .remove(&i)
            .unwrap_or_else(|| new_open(&self.files[i], analyses, cfg, host));
        finish(&mut o, analyses, self.files[i].size, summary);
        if o.report.error.is_none() {
            if let Some(names) = self.pattern_names {
                o.report.matches = host_matches(names, &o.host);
            }
            if let Some(re) = self.regexes {
                let (counts, locator) = o.regex.take().unwrap_or_default().finish(re);
                let total = counts.iter().sum::<u64>() + o.host.values().sum::<u64>();
                if !re.is_empty() {
                    o.report.regex_matches = re.patterns().iter().cloned().zip(counts).collect();
                }
                if re.locate().is_some() {
                    let found = locator.map(|l| l.found).unwrap_or_default();
                    o.report.located_omitted = total.saturating_sub(found.len() as u64);
                    o.report.located = Some(found);
                }
            }
        }
        on_file(&o.report);
        self.next_emit += 1;
        self.emitted += 1;
    }

    /// Emits every file not emitted yet (after the last batch).
    pub fn finish_rest(
        &mut self,
        analyses: &[Analysis],
        cfg: &ScanConfig,
        summary: &mut ScanSummary,
        on_file: &mut impl FnMut(&FileReport),
    ) {
        while self.next_emit < self.files.len() {
            self.emit(analyses, cfg, summary, on_file);
        }
    }
}

/// A file's `matches` from the host literal engine's counts: every
/// pattern in order when there are at most
/// [`MAX_DENSE_REPORT`](super::literals::MAX_DENSE_REPORT), else the
/// patterns found.
fn host_matches(names: &[String], counts: &BTreeMap<u32, u64>) -> Vec<(String, u64)> {
    if names.len() <= super::literals::MAX_DENSE_REPORT {
        let count = |i: usize| counts.get(&(i as u32)).copied().unwrap_or(0);
        return names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), count(i)))
            .collect();
    }
    counts
        .iter()
        .filter(|(_, &n)| n > 0)
        .filter_map(|(&i, &n)| Some((names.get(i as usize)?.clone(), n)))
        .collect()
}

/// A file with no chunk folded yet: every analysis at its identity (the
/// patterns' counts are filled when it is emitted if `host` runs them).
fn new_open(file: &FileEntry, analyses: &[Analysis], cfg: &ScanConfig, host: bool) -> Open {
    let patterns: &[Vec<u8>] = if host { &[] } else { &cfg.patterns };
    let mut report = FileReport::new(file.path.clone(), cfg, patterns);
    report.custom = cfg
        .payloads
        .iter()
        .map(|p| (p.name.clone(), Vec::new()))
        .collect();
    Open {
        report,
        acc: analyses.iter().map(|a| a.folder.start()).collect(),
        chunks: 0,
        host: BTreeMap::new(),
        regex: None,
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

/// Seals one file's report: checks nothing was lost, puts every analysis's
/// file result in.
fn finish(o: &mut Open, analyses: &[Analysis], expected: u64, s: &mut ScanSummary) {
    let r = &mut o.report;
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
    for (a, words) in analyses.iter().zip(&o.acc) {
        a.present(words, r);
    }
    s.bytes += r.bytes;
}

#[cfg(test)]
mod tests {
    use super::*;
    use vyre_core::feeder::{Batch, ChunkDesc};
    use vyre_core::megakernel::TenantId;

    fn chunk(file: usize, file_offset: u64, len: u32) -> ChunkDesc {
        ChunkDesc {
            file,
            file_offset,
            len,
            look_behind: 0,
            arena_offset: 0,
        }
    }

    fn done(seq: u64, chunks: Vec<ChunkDesc>, lines: &[u32], faults: Vec<(usize, u32)>) -> Done {
        let bytes = chunks.iter().map(|c| u64::from(c.len)).sum();
        Done {
            seq,
            device: 0,
            batch: Batch {
                chunks,
                failures: Vec::new(),
                bytes,
            },
            words: lines.to_vec(),
            ends: (1..=lines.len()).collect(),
            faults,
            host: Vec::new(),
            regex: Vec::new(),
            literal_engine: Default::default(),
            regex_engine: Default::default(),
        }
    }

    /// A file is emitted when all its chunks are folded (an empty file has
    /// one, which may open the next batch), or when it failed; chunks of a
    /// file emitted as failed are dropped, not held.
    #[test]
    fn files_wait_for_every_chunk_and_failed_files_are_not_held() {
        let files = [
            FileEntry::new("a".into(), 8),
            FileEntry::new("empty".into(), 0),
            FileEntry::new("c".into(), 8),
            FileEntry::new("d".into(), 4),
        ];
        let cfg = ScanConfig {
            chunk_size: 4,
            crc32: false,
            ..ScanConfig::default()
        };
        let analyses = super::super::analyses::analyses(&cfg).expect("analyses");
        let plan = Plan {
            analyses: &analyses,
            tenant: TenantId(0),
            files: &files,
            chunk_size: 4,
            literals: None,
            regexes: None,
        };
        let mut fold = Fold::new(&files, None);
        let mut summary = ScanSummary::default();
        let mut seen: Vec<FileReport> = Vec::new();
        let mut emit = |r: &FileReport| seen.push(r.clone());
        // Batch 0: both chunks of a, nothing of the empty file yet.
        let b0 = done(0, vec![chunk(0, 0, 4), chunk(0, 4, 4)], &[1, 2], vec![]);
        fold.batch(&b0, &plan, &cfg, &mut summary, &mut emit);
        assert_eq!(fold.emitted, 1, "the empty file waits for its chunk");
        // Batch 1: the empty file's chunk, and c's first chunk faults.
        let b1 = done(1, vec![chunk(1, 0, 0), chunk(2, 0, 4)], &[0], vec![(1, 3)]);
        fold.batch(&b1, &plan, &cfg, &mut summary, &mut emit);
        assert_eq!(fold.emitted, 3, "the failed file is emitted at once");
        assert!(
            fold.open.is_empty(),
            "{:?}",
            fold.open.keys().collect::<Vec<_>>()
        );
        // Batch 2: c's second chunk (dropped, c is out) and d.
        let b2 = done(2, vec![chunk(2, 4, 4), chunk(3, 0, 4)], &[5, 7], vec![]);
        fold.batch(&b2, &plan, &cfg, &mut summary, &mut emit);
        assert_eq!(fold.emitted, 4);
        assert!(fold.open.is_empty());
        assert_eq!(seen[0].lines, Some(3));
        assert_eq!((seen[1].lines, seen[1].error.is_none()), (Some(0), true));
        assert!(seen[2]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("iteration budget"));
        assert_eq!(seen[3].lines, Some(7));
        assert_eq!(summary.failed, 1);
    }
}
