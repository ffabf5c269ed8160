//! `vyre scan`: files → feeder → megakernel → per-file results.
//!
//! Every chunk of every file becomes one slot per analysis (lines,
//! histogram, crc32, one per pattern) in a batch that mixes them all; one
//! fused megakernel runs the batch; the host folds slot results into
//! per-file results in file order. Patterns see `len - 1` bytes of
//! look-behind and count only matches that end in the chunk they own, so a
//! match across a chunk boundary is counted exactly once.

pub mod crc;
pub mod pattern;
mod report;

use std::path::PathBuf;
use std::time::Instant;

use vyre_core::feeder::{collect_files, Feeder, FeederConfig};
use vyre_core::megakernel::{DataRef, Megakernel, SlotId};
use vyre_core::{Backend, Error, Payload, Result};

pub use report::{FileReport, ScanSummary};

/// Lanes per workgroup of the scan megakernel.
pub const SCAN_LANES: u32 = 64;

/// A payload loaded at run time must fit the scan: one byte input, no scalar
/// arguments, declared output lengths.
fn check_runtime_payload(p: &Payload) -> Result<()> {
    use vyre_core::ParamKind;
    for q in &p.params {
        let bad = match q.kind {
            ParamKind::Scalar | ParamKind::IoQueue => {
                Some("scan passes no scalar arguments or read queue")
            }
            ParamKind::Output | ParamKind::Accumulator if q.len.is_none() => {
                Some("its results need a declared length, e.g. `param acc: accumulator[1]`")
            }
            _ => None,
        };
        if let Some(why) = bad {
            return Err(Error::BadInput(format!(
                "payload `{}` cannot run in `vyre scan`: parameter `{}`: {why}. Fix: give it only bytes, chunk_start, lanes and outputs/accumulators with lengths",
                p.name, q.name
            )));
        }
    }
    Ok(())
}

/// Most workgroups per scan dispatch.
pub const SCAN_WORKGROUPS: u32 = 1024;

/// Chunk size used on devices with a loop-iteration limit (llvmpipe).
pub const LIMITED_CHUNK: u32 = 64 << 10;

/// What to compute and how to read.
#[derive(Clone, Debug)]
pub struct ScanConfig {
    /// Count `\n` bytes (same as `wc -l`).
    pub lines: bool,
    /// 256-bin byte histogram.
    pub histogram: bool,
    /// CRC-32/IEEE of each file (same as `crc32fast::hash`).
    pub crc32: bool,
    /// Literal byte patterns; overlapping occurrences are counted.
    pub patterns: Vec<Vec<u8>>,
    /// Bytes per chunk (a multiple of 4).
    pub chunk_size: u32,
    /// Bytes of file data per batch (one megakernel run).
    pub batch_bytes: usize,
    /// io_uring reads in flight.
    pub queue_depth: u32,
    /// Use plain reads instead of io_uring.
    pub force_fallback: bool,
    /// Payloads loaded at run time (`--payload FILE`, text IR or VIR0): each
    /// runs on every chunk; its result words are summed per file.
    pub payloads: Vec<Payload>,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            lines: true,
            histogram: false,
            crc32: true,
            patterns: Vec::new(),
            chunk_size: 256 << 10,
            batch_bytes: 64 << 20,
            queue_depth: 32,
            force_fallback: false,
            payloads: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Lines,
    Histogram,
    Crc,
    Pattern(usize),
    Custom(usize),
}

fn kind_name(k: Kind) -> String {
    match k {
        Kind::Lines => "line_count".into(),
        Kind::Histogram => "byte_histogram".into(),
        Kind::Crc => "crc32".into(),
        Kind::Pattern(i) => format!("pattern_{i}"),
        Kind::Custom(i) => format!("user_{i}"),
    }
}

/// The analyses of a config, with their payloads.
fn analyses(cfg: &ScanConfig) -> Result<Vec<(Kind, Payload)>> {
    let mut v = Vec::new();
    if cfg.lines {
        v.push((Kind::Lines, crate::payloads::line_count::payload()));
    }
    if cfg.histogram {
        v.push((Kind::Histogram, crate::payloads::byte_histogram::payload()));
    }
    if cfg.crc32 {
        v.push((Kind::Crc, crc::crc32_blocks::payload()));
    }
    for (i, p) in cfg.patterns.iter().enumerate() {
        v.push((
            Kind::Pattern(i),
            pattern::pattern_payload(&kind_name(Kind::Pattern(i)), p)?,
        ));
    }
    for (i, p) in cfg.payloads.iter().enumerate() {
        check_runtime_payload(p)?;
        v.push((Kind::Custom(i), p.clone()));
    }
    for (k, p) in v.iter_mut() {
        p.name = kind_name(*k);
    }
    if v.is_empty() {
        return Err(Error::BadInput(
            "no analysis selected. Fix: pass --lines, --histogram, --crc32 or -e PATTERN".into(),
        ));
    }
    Ok(v)
}

/// Scans `paths` on `backend`, calling `on_file` for every file (in walk
/// order, failures included) and `on_progress` with bytes done so far.
pub fn scan<B: Backend>(
    backend: B,
    paths: &[PathBuf],
    cfg: &ScanConfig,
    mut on_file: impl FnMut(&FileReport),
    mut on_progress: impl FnMut(u64, u64),
) -> Result<ScanSummary> {
    let t0 = Instant::now();
    let mut cfg = cfg.clone();
    let mut slot_budget = u32::MAX;
    if let Some(limit) = backend.loop_iteration_limit() {
        // Keep every lane's loop iterations per dispatch well under the
        // device's silent cut-off: small chunks, few slots per workgroup.
        cfg.chunk_size = cfg.chunk_size.min(LIMITED_CHUNK);
        let per_slot = (cfg.chunk_size / SCAN_LANES) as u64 + 64;
        slot_budget = ((limit / 2) / per_slot).clamp(1, u32::MAX as u64) as u32;
    }
    let cfg = &cfg;
    if cfg.chunk_size == 0 || cfg.chunk_size % 4 != 0 {
        return Err(Error::BadInput(format!(
            "chunk size {} is not a positive multiple of 4. Fix: pass a chunk size like 1048576",
            cfg.chunk_size
        )));
    }
    let analyses = analyses(cfg)?;
    let look_behind = analyses
        .iter()
        .map(|a| a.1.look_behind)
        .max()
        .unwrap_or(0)
        .div_ceil(4)
        * 4;
    let mut builder = Megakernel::builder().name("vyre_scan");
    let names: Vec<String> = analyses.iter().map(|a| a.1.name.clone()).collect();
    for (_, p) in &analyses {
        builder = builder.payload(p.clone());
    }
    let name_refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let lanes = SCAN_LANES;
    // Enough workgroups to fill a large GPU (132 SMs on an H100) several times over;
    // each loops over slots, so more workgroups than slots costs nothing.
    let mut mk = builder
        .tenant("scan", &name_refs)
        .workgroup_size(lanes)
        .workgroups(SCAN_WORKGROUPS)
        .slot_budget(slot_budget)
        .build(backend)?;
    let tenant = mk.tenant_id("scan")?;

    let (files, walk_failures) = collect_files(paths);
    let mut summary = ScanSummary::default();
    for f in &walk_failures {
        let r = FileReport::failed(f.path.clone(), f.reason.clone());
        summary.failed += 1;
        on_file(&r);
    }
    let total: u64 = files.iter().map(|f| f.size).sum();
    let mut reports: Vec<FileReport> = files
        .iter()
        .map(|f| FileReport::new(f.path.clone(), cfg, &cfg.patterns))
        .map(|mut r| {
            r.custom = cfg
                .payloads
                .iter()
                .map(|p| {
                    (
                        p.name.clone(),
                        vec![0; vyre_core::megakernel::embed::result_words(p) as usize],
                    )
                })
                .collect();
            r
        })
        .collect();
    let mut crcs: Vec<crc32fast::Hasher> = files.iter().map(|_| crc32fast::Hasher::new()).collect();
    let fcfg = FeederConfig {
        chunk_size: cfg.chunk_size,
        queue_depth: cfg.queue_depth,
        look_behind,
        force_fallback: cfg.force_fallback,
        ..FeederConfig::default()
    };
    let feeder = Feeder::new(files.clone(), fcfg)?;
    summary.ingest = feeder.backend_name().to_string();
    let arena_len = cfg.batch_bytes.max(feeder.config().min_arena_len());
    let mut next_emit = 0usize;
    let mut done_bytes = 0u64;
    let mut phases = Phases::default();
    // A reader thread fills one arena while the megakernel runs the other:
    // disk reads and GPU work of different batches overlap.
    // Arenas are word buffers the feeder reads into through a byte view, so
    // the megakernel adopts them without a copy.
    let (full_tx, full_rx) =
        std::sync::mpsc::sync_channel::<Result<(vyre_core::feeder::Batch, Vec<u32>)>>(1);
    let (free_tx, free_rx) = std::sync::mpsc::channel::<Vec<u32>>();
    for _ in 0..2 {
        let _ = free_tx.send(vec![0u32; arena_len.div_ceil(4)]);
    }
    std::thread::scope(|scope| -> Result<()> {
        // Owned here, so an early error return drops them and the reader stops.
        let (free_tx, full_rx) = (free_tx, full_rx);
        scope.spawn(move || {
            let mut feeder = feeder;
            while !feeder.is_done() {
                let Ok(mut arena) = free_rx.recv() else {
                    return;
                };
                let r = feeder
                    .fill(bytemuck::cast_slice_mut(&mut arena[..]))
                    .map_err(Error::from)
                    .map(|b| {
                        if cfg!(target_endian = "big") {
                            // The GPU reads bytes as little-endian words.
                            arena.iter_mut().for_each(|w| *w = u32::from_le(*w));
                        }
                        (b, arena)
                    });
                let failed = r.is_err();
                if full_tx.send(r).is_err() || failed {
                    return;
                }
            }
        });
        let mut tw = Instant::now();
        for next in full_rx.iter() {
            let (batch, arena) = next?;
            phases.wait += tw.elapsed().as_secs_f64();
            let tp = Instant::now();
            for (file, reason) in &batch.failures {
                if let Some(r) = reports.get_mut(*file) {
                    r.error = Some(reason.clone());
                }
            }
            mk.reset();
            let used = batch
                .chunks
                .iter()
                .map(|c| c.arena_offset + (c.look_behind + c.len) as usize)
                .max()
                .unwrap_or(0);
            let base = mk.adopt_arena(arena, used.div_ceil(4))?;
            let mut slots: Vec<(SlotId, usize, Kind)> = Vec::new();
            for (ci, c) in batch.chunks.iter().enumerate() {
                if c.arena_offset % 4 != 0 || c.look_behind % 4 != 0 {
                    return Err(Error::BadInput(format!(
                        "feeder placed a chunk at arena offset {} with look-behind {}, not word aligned. Fix: this is a vyre bug; please report it",
                        c.arena_offset, c.look_behind
                    )));
                }
                let full = DataRef {
                    word_offset: base.word_offset + (c.arena_offset / 4) as u32,
                    len: c.look_behind + c.len,
                };
                let owned = DataRef {
                    word_offset: full.word_offset + c.look_behind / 4,
                    len: c.len,
                };
                for (kind, p) in &analyses {
                    let slot = match kind {
                        Kind::Pattern(_) => {
                            mk.publish_ref(&p.name, tenant, full, c.look_behind, &[], None)?
                        }
                        Kind::Custom(_) if p.look_behind > 0 => {
                            mk.publish_ref(&p.name, tenant, full, c.look_behind, &[], None)?
                        }
                        _ => mk.publish_ref(&p.name, tenant, owned, 0, &[], None)?,
                    };

                    slots.push((slot, ci, *kind));
                }
            }
            phases.publish += tp.elapsed().as_secs_f64();
            let tr = Instant::now();
            let run = mk.run()?;
            phases.run += tr.elapsed().as_secs_f64();
            let tf = Instant::now();
            if run.faults > 0 || run.left_by_shutdown > 0 {
                return Err(Error::Gpu(format!(
                    "{} slot(s) faulted and {} were left unrun in a scan batch. Fix: this is a vyre bug; please report it",
                    run.faults, run.left_by_shutdown
                )));
            }
            for (slot, ci, kind) in slots {
                let c = &batch.chunks[ci];
                let r = &mut reports[c.file];
                let words = mk.results(slot)?;
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
                        crcs[c.file].combine(&crc::join_parts(words, c.len, lanes));
                    }
                    Kind::Pattern(i) => {
                        r.matches[i].1 += words.first().copied().unwrap_or(0) as u64
                    }
                    Kind::Custom(i) => {
                        for (a, b) in r.custom[i].1.iter_mut().zip(words) {
                            *a += *b as u64;
                        }
                    }
                }
            }
            for c in &batch.chunks {
                reports[c.file].bytes += c.len as u64;
            }
            done_bytes += batch.bytes;
            phases.fold += tf.elapsed().as_secs_f64();
            on_progress(done_bytes, total);
            // Emit every file that is now complete, in order.
            while next_emit < reports.len() {
                let r = &mut reports[next_emit];
                let expected = files[next_emit].size;
                let complete = r.error.is_some() || r.bytes == expected;
                if !complete {
                    break;
                }
                finish(r, &mut crcs[next_emit], expected, cfg, &mut summary);
                on_file(r);
                next_emit += 1;
            }
            // Hand the arena back to the reader (it may have finished already).
            let _ = free_tx.send(mk.take_arena());
            tw = Instant::now();
        }
        Ok(())
    })?;
    while next_emit < reports.len() {
        let expected = files[next_emit].size;
        let r = &mut reports[next_emit];
        finish(r, &mut crcs[next_emit], expected, cfg, &mut summary);
        on_file(r);
        next_emit += 1;
    }
    summary.files = reports.len() as u64 + walk_failures.len() as u64;
    summary.seconds = t0.elapsed().as_secs_f64();
    if std::env::var_os("VYRE_TIMING").is_some() {
        eprintln!(
            "vyre timing: waiting for reads {:.3} s, arena+publish {:.3} s, megakernel runs {:.3} s, folding {:.3} s, total {:.3} s",
            phases.wait, phases.publish, phases.run, phases.fold, summary.seconds
        );
    }
    Ok(summary)
}

/// Wall time per phase of the batch loop (`VYRE_TIMING=1` prints them).
#[derive(Default)]
struct Phases {
    wait: f64,
    publish: f64,
    run: f64,
    fold: f64,
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
