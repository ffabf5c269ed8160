//! Benchmark of the device literal engine (`vyre::scan::gpu_literals`):
//! for the first 1 / 100 / 10 000 / 100 000 distinct lines of a pattern
//! file, counts them over the files of a directory (loaded into memory once,
//! laid out in 1 MiB chunks with look-behind as a scan does), on the GPU:
//!
//! * `end-to-end`: one batch from host memory: data upload, the program,
//!   hit readback and the host's per-chunk counts (tables already resident);
//! * `resident`: the data already on the device, the program run again
//!   (`--repeat` times; hits still read back and counted);
//! * `host AC`: the host engine (`aho-corasick`, all cores) on the same chunks.
//!
//! With `--regex-file R` it measures the regexes' device line filter
//! (`vyre::scan::regex_filter`) instead: the filter end to end and
//! resident, the host searching only the lines it lets through, and the
//! host searching every line (the `regex` engine without a device), whose
//! chunk results must be equal.
//!
//! Every device result is compared with the host engine's, per file: a
//! difference exits with status 1. `--recording table|hits` forces how the
//! device records matches (default: the engine's choice; the `rec` column
//! says which ran). Build once, copy the binary, run anywhere with a
//! Vulkan driver:
//!
//! ```text
//! cargo build --release --example literal_bench
//! target/release/examples/literal_bench DIR PATTERNS [--counts 1,100,10000,100000]
//!     [--ignore-case] [--repeat 5] [--max-bytes 1073741824] [--segment 4096] [--backend gpu|cpu]
//!     [--replicate N]   (the loaded files N times, as further files)
//!     [--recording table|hits]
//! target/release/examples/literal_bench DIR --regex-file R [--repeat 5] ...
//! ```

use std::sync::Arc;
use std::time::Instant;

use vyre::feeder::ChunkDesc;
use vyre::scan::gpu_literals::{DeviceLiterals, Recording};
use vyre::scan::literal_dfa::{LiteralDfa, MAX_DFA_BYTES};
use vyre::scan::literals::{ChunkCounts, Literals};
use vyre::Backend;

const CHUNK: usize = 1 << 20;

struct Args {
    dir: std::path::PathBuf,
    patterns: std::path::PathBuf,
    counts: Vec<usize>,
    ignore_case: bool,
    repeat: u32,
    max_bytes: usize,
    segment: u32,
    backend: String,
    replicate: usize,
    recording: Option<Recording>,
    regex_file: Option<std::path::PathBuf>,
}

fn usage(why: &str) -> ! {
    eprintln!("literal_bench: {why}\nusage: literal_bench DIR PATTERNS [--counts 1,100,10000,100000] [--ignore-case] [--repeat N] [--max-bytes N] [--segment N] [--backend gpu|cpu] [--replicate N] [--recording table|hits]");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let mut pos = Vec::new();
    let mut a = Args {
        dir: Default::default(),
        patterns: Default::default(),
        counts: vec![1, 100, 10_000, 100_000],
        ignore_case: false,
        repeat: 5,
        max_bytes: 1 << 30,
        segment: vyre::scan::gpu_literals::SEGMENT_BYTES,
        backend: "gpu".into(),
        replicate: 1,
        recording: None,
        regex_file: None,
    };
    while let Some(x) = it.next() {
        let mut val = |name: &str| {
            it.next()
                .unwrap_or_else(|| usage(&format!("{name} needs a value")))
        };
        let num = |v: String| {
            v.parse::<usize>()
                .unwrap_or_else(|_| usage(&format!("not a number: {v}")))
        };
        match x.as_str() {
            "--counts" => {
                a.counts = val("--counts")
                    .split(',')
                    .map(|v| num(v.to_string()))
                    .collect()
            }
            "--ignore-case" | "-i" => a.ignore_case = true,
            "--repeat" => a.repeat = num(val("--repeat")).max(1) as u32,
            "--max-bytes" => a.max_bytes = num(val("--max-bytes")),
            "--segment" => a.segment = num(val("--segment")) as u32,
            "--backend" => a.backend = val("--backend"),
            "--replicate" => a.replicate = num(val("--replicate")).max(1),
            "--recording" => {
                a.recording = match val("--recording").as_str() {
                    "table" => Some(Recording::Table),
                    "hits" => Some(Recording::Hits),
                    other => usage(&format!("--recording is table or hits, not {other}")),
                }
            }
            "--regex-file" => a.regex_file = Some(val("--regex-file").into()),
            _ if x.starts_with("--") => usage(&format!("unknown option {x}")),
            _ => pos.push(x),
        }
    }
    if pos.len() != 2 - usize::from(a.regex_file.is_some()) {
        usage("give a directory and a pattern file (or --regex-file R)");
    }
    a.dir = pos[0].clone().into();
    a.patterns = pos.get(1).cloned().unwrap_or_default().into();
    a
}

/// The files under `dir` (sorted walk), concatenated up to `max` bytes.
fn load(dir: &std::path::Path, max: usize) -> Vec<Vec<u8>> {
    let mut stack = vec![dir.to_path_buf()];
    let mut paths = Vec::new();
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            paths.push(d);
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() => paths.push(p),
                _ => {}
            }
        }
    }
    paths.sort();
    let mut files = Vec::new();
    let mut total = 0;
    for p in paths {
        if total >= max {
            break;
        }
        if let Ok(mut b) = std::fs::read(&p) {
            b.truncate(max - total);
            total += b.len();
            files.push(b);
        }
    }
    files
}

/// The files as a scan batch: 1 MiB chunks, each after `look_behind` bytes
/// of its file, at word-aligned arena offsets.
fn layout(files: &[Vec<u8>], look_behind: usize) -> (Vec<u32>, Vec<ChunkDesc>) {
    let mut arena: Vec<u8> = Vec::new();
    let mut chunks = Vec::new();
    for (f, text) in files.iter().enumerate() {
        let mut at = 0;
        while at < text.len() {
            let lb = look_behind.min(at);
            let len = CHUNK.min(text.len() - at);
            chunks.push(ChunkDesc {
                file: f,
                file_offset: at as u64,
                len: len as u32,
                look_behind: lb as u32,
                arena_offset: arena.len(),
            });
            arena.extend_from_slice(&text[at - lb..at + len]);
            arena.resize(arena.len().div_ceil(4) * 4, 0);
            at += len;
        }
    }
    let words = arena
        .chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (words, chunks)
}

fn gbps(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / secs / 1e9
}

fn main() {
    let a = parse_args();
    let backend: Box<dyn Backend> = match a.backend.as_str() {
        "gpu" => Box::new(vyre::gpu::WgpuBackend::new().unwrap_or_else(|e| usage(&e.to_string()))),
        "cpu" => Box::new(vyre::cpu::CpuBackend::new()),
        other => usage(&format!("unknown backend {other}")),
    };
    if let Some(r) = &a.regex_file {
        let files = load(&a.dir, a.max_bytes);
        let files: Vec<Vec<u8>> = (0..a.replicate)
            .flat_map(|_| files.iter().cloned())
            .collect();
        if !regex_filter_bench(&*backend, &a, r, &files) {
            eprintln!("literal_bench: the filtered regex results differ from every line searched");
            std::process::exit(1);
        }
        return;
    }
    let text = std::fs::read(&a.patterns)
        .unwrap_or_else(|e| usage(&format!("{}: {e}", a.patterns.display())));
    let mut seen = std::collections::HashSet::new();
    let all: Vec<Vec<u8>> = text
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .filter(|l| !l.is_empty() && seen.insert(l.clone()))
        .collect();
    let files = load(&a.dir, a.max_bytes);
    // The same files again as further files (a small corpus made large).
    let files: Vec<Vec<u8>> = (0..a.replicate)
        .flat_map(|_| files.iter().cloned())
        .collect();
    let bytes: u64 = files.iter().map(|f| f.len() as u64).sum();
    println!(
        "device: {}\ndata: {} files, {bytes} bytes from {}; patterns from {} ({} distinct lines){}",
        backend.name(),
        files.len(),
        a.dir.display(),
        a.patterns.display(),
        all.len(),
        if a.ignore_case { ", -i" } else { "" }
    );
    println!("patterns  states  classes  table_MiB  build_s  end-to-end_GB/s  resident_GB/s  host_AC_GB/s  hits  rec  exact");
    let mut failed = false;
    for &n in &a.counts {
        if n > all.len() {
            println!("{n:>8}  (only {} patterns in the file)", all.len());
            continue;
        }
        let pats = &all[..n];
        let tb = Instant::now();
        let dfa = match LiteralDfa::new(pats, a.ignore_case, MAX_DFA_BYTES) {
            Ok(d) => Arc::new(d),
            Err(e) => {
                println!("{n:>8}  refused: {e}");
                continue;
            }
        };
        let build = tb.elapsed().as_secs_f64();
        let (mut words, chunks) = layout(&files, (dfa.longest() - 1).div_ceil(4) * 4);
        let host = Literals::new(pats, a.ignore_case).expect("host engine");
        let th = Instant::now();
        let want = per_file(&host.count_batch(bytemuck_bytes(&words), &chunks), &chunks);
        let host_s = th.elapsed().as_secs_f64();
        let mut lits =
            DeviceLiterals::new(dfa.clone(), "literal_bench", a.segment).expect("engine");
        lits.force_recording = a.recording;
        let run = |lits: &mut DeviceLiterals, words: &mut Vec<u32>, resident: bool| {
            let t = Instant::now();
            let r = match resident {
                true => lits.rerun_resident(&*backend, words, &chunks),
                false => lits.run_batch(&*backend, words, &chunks),
            };
            (r, t.elapsed().as_secs_f64())
        };
        // First run: compile, tables and data up.
        let (first, _) = run(&mut lits, &mut words, false);
        let first = match first {
            Ok(r) => r,
            Err(e) => {
                println!("{n:>8}  device run failed: {e}");
                failed = true;
                continue;
            }
        };
        let (e2e, e2e_s) = run(&mut lits, &mut words, false);
        let mut best = f64::MAX;
        let same = |r: &vyre::scan::gpu_literals::BatchRun| per_file(&r.counts, &chunks) == want;
        let mut exact = same(&first) && e2e.as_ref().is_ok_and(same);
        for _ in 0..a.repeat {
            let (r, s) = run(&mut lits, &mut words, true);
            exact &= r.as_ref().is_ok_and(same);
            best = best.min(s);
        }
        failed |= !exact;
        println!(
            "{n:>8}  {:>6}  {:>7}  {:>9.1}  {build:>7.3}  {:>15.3}  {:>13.3}  {:>12.3}  {:>4}  {:?}  {}",
            dfa.states(),
            dfa.class_count,
            dfa.table_bytes() as f64 / (1 << 20) as f64,
            gbps(bytes, e2e_s),
            gbps(bytes, best),
            gbps(bytes, host_s),
            first.hits,
            first.recording,
            if exact { "yes" } else { "NO" }
        );
    }
    if failed {
        eprintln!("literal_bench: a device result differed from the host engine or failed");
        std::process::exit(1);
    }
}

/// Per (file, pattern), the sums of per-chunk counts (a device run with the
/// count table reports each file's matches on its first chunk of the batch).
fn per_file(
    counts: &[ChunkCounts],
    chunks: &[ChunkDesc],
) -> std::collections::BTreeMap<(usize, u32), u64> {
    let mut m = std::collections::BTreeMap::new();
    for (c, cc) in chunks.iter().zip(counts) {
        for &(p, n) in cc {
            *m.entry((c.file, p)).or_insert(0) += u64::from(n);
        }
    }
    m
}

fn bytemuck_bytes(words: &[u32]) -> &[u8] {
    bytemuck::cast_slice(words)
}

/// The `--regex-file` mode (see the module docs); false when the results
/// differ or the device fails.
fn regex_filter_bench(
    backend: &dyn Backend,
    a: &Args,
    path: &std::path::Path,
    files: &[Vec<u8>],
) -> bool {
    use vyre::scan::regex::{with_regex_files, Regexes};
    use vyre::scan::regex_filter::candidates;
    let rules = with_regex_files(Vec::new(), &[path.to_path_buf()])
        .unwrap_or_else(|e| usage(&e.to_string()));
    let regexes = Regexes::new(&rules).unwrap_or_else(|e| usage(&e.to_string()));
    let tb = Instant::now();
    let filter = match regexes.device_filter() {
        Ok(f) => f,
        Err(why) => {
            println!("no device filter: {why}");
            return false;
        }
    };
    let build = tb.elapsed().as_secs_f64();
    let filtered = (0..rules.len()).filter(|&i| filter.is_filtered(i)).count();
    let bytes: u64 = files.iter().map(|f| f.len() as u64).sum();
    let (mut words, chunks) = layout(files, (filter.dfa().longest() - 1).div_ceil(4) * 4);
    let th = Instant::now();
    let want = regexes.chunk_batch(bytemuck_bytes(&words), &chunks, None, None);
    let every_line_s = th.elapsed().as_secs_f64();
    let mut dev =
        DeviceLiterals::new(filter.dfa().clone(), "regex_filter_bench", a.segment).expect("engine");
    dev.rows_per_chunk = true;
    dev.keep_positions = true;
    dev.force_recording = a.recording;
    let mut run = |resident: bool| {
        let t = Instant::now();
        let r = match resident {
            true => dev.rerun_resident(backend, &mut words, &chunks),
            false => dev.run_batch(backend, &mut words, &chunks),
        };
        (r, t.elapsed().as_secs_f64())
    };
    let _ = run(false);
    let (e2e, e2e_s) = run(false);
    let mut best = f64::MAX;
    for _ in 0..a.repeat {
        let (r, s) = run(true);
        if r.is_ok() {
            best = best.min(s);
        }
    }
    let e2e = match e2e {
        Ok(r) => r,
        Err(e) => {
            println!("device run failed: {e}");
            return false;
        }
    };
    let table = e2e.recording == Recording::Table;
    let tv = Instant::now();
    let cands = candidates(&filter, &e2e.positions, &e2e.counts, table);
    let got = regexes.chunk_batch(
        bytemuck_bytes(&words),
        &chunks,
        None,
        Some((&filter, &cands)),
    );
    let verify_s = tv.elapsed().as_secs_f64();
    let exact = got == want;
    let matches: u64 = want
        .iter()
        .flat_map(|c| c.counts.iter())
        .map(|c| u64::from(c.1))
        .sum();
    println!(
        "device: {}\ndata: {} files, {bytes} bytes; {} regexes from {}, {filtered} filtered ({} DFA states, {} classes, build {build:.3} s)",
        backend.name(),
        files.len(),
        rules.len(),
        path.display(),
        filter.dfa().states(),
        filter.dfa().class_count,
    );
    println!("filter_end-to-end_GB/s  filter_resident_GB/s  host_verify_s  host_every_line_GB/s  candidates  rec  matches_inside_chunks  exact");
    println!(
        "{:>22.3}  {:>20.3}  {verify_s:>13.3}  {:>20.3}  {:>10}  {:?}  {matches:>21}  {}",
        gbps(bytes, e2e_s),
        gbps(bytes, best),
        gbps(bytes, every_line_s),
        e2e.hits,
        e2e.recording,
        if exact { "yes" } else { "NO" }
    );
    exact
}
