//! Fused megakernel vs one megakernel per payload, same batch, wall time.
//!
//! `cargo bench --bench megakernel` (plain `main`, no harness). The batch is
//! 4 payloads (line_count, byte_histogram, count_needle, crc32_blocks) over
//! the same chunks: the fused kernel runs all 4 * chunks slots in one
//! megakernel (chunks uploaded once, shared by the 4 slots of each chunk);
//! the baseline builds one megakernel per payload and runs them one after the
//! other (each uploads its chunks and dispatches on its own). A timed
//! repetition is reset + publish + run (+ results read back) — everything a
//! caller waits for; figures are medians of measured `Instant` wall times
//! after one untimed run (pipeline compile) and untimed runs for
//! `VYRE_BENCH_WARMUP_MS` (default 1500: a GPU raises its clock only after a
//! while under load). Fused and baseline results are checked to be equal
//! before timing.
//!
//! Environment: `VYRE_BENCH_SLOTS` (chunks per payload on the GPU, default
//! 256), `VYRE_BENCH_CHUNK` (bytes, default 16384), `VYRE_BENCH_REPS`
//! (default 5), `VYRE_BENCH_WARMUP_MS`, `VYRE_ADAPTER` (adapter choice).

use std::time::{Duration, Instant};

use vyre::cpu::CpuBackend;
use vyre::gpu::WgpuBackend;
use vyre::megakernel::{Megakernel, Work};
use vyre::payloads::{byte_histogram, count_needle, line_count};
use vyre::scan::crc::crc32_blocks;
use vyre::{Backend, Payload};

mod support;
use support::{chunks, env, median_ms, warm_up};

const LANES: u32 = 64;
const NAMES: [&str; 4] = [
    "line_count",
    "byte_histogram",
    "count_needle",
    "crc32_blocks",
];

fn payloads() -> Vec<Payload> {
    vec![
        line_count::payload(),
        byte_histogram::payload(),
        count_needle::payload(),
        crc32_blocks::payload(),
    ]
}

/// Most slots one workgroup runs per dispatch: keeps every lane's loop
/// iterations well under a device's silent cut-off (llvmpipe: 65535).
fn slot_budget(backend: &dyn Backend, chunk: usize) -> u32 {
    let limit = backend.loop_iteration_limit();
    let per_slot = (chunk as u64).div_ceil(LANES as u64) * 4 + 64;
    limit.map_or(u32::MAX, |l| (l / 2 / per_slot).max(1) as u32)
}

fn build(backend: &dyn Backend, ps: Vec<Payload>, chunk: usize) -> Megakernel<&dyn Backend> {
    let names: Vec<String> = ps.iter().map(|p| p.name.clone()).collect();
    let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let mut b = Megakernel::builder()
        .workgroup_size(LANES)
        .workgroups(64)
        .slot_budget(slot_budget(backend, chunk));
    for p in ps {
        b = b.payload(p);
    }
    b.tenant("bench", &names)
        .build(backend)
        .expect("build megakernel")
}

/// Fused: every payload's slots in one batch; each chunk uploaded once.
fn run_fused(mk: &mut Megakernel<&dyn Backend>, data: &[Vec<u8>]) -> Vec<Vec<u32>> {
    mk.reset();
    let t = mk.tenant_id("bench").unwrap();
    let mut slots = Vec::new();
    for d in data {
        let r = mk.add_data(d).unwrap();
        for name in NAMES {
            slots.push(mk.publish_ref(name, t, r, 0, &[], None).unwrap());
        }
    }
    let report = mk.run().expect("fused run");
    assert_eq!(report.done as usize, slots.len());
    slots
        .iter()
        .map(|&s| mk.results(s).unwrap().to_vec())
        .collect()
}

/// Baseline: one megakernel per payload, run one after the other.
fn run_separate(mks: &mut [Megakernel<&dyn Backend>], data: &[Vec<u8>]) -> Vec<Vec<u32>> {
    let mut out = vec![Vec::new(); data.len() * NAMES.len()];
    for (k, mk) in mks.iter_mut().enumerate() {
        mk.reset();
        let t = mk.tenant_id("bench").unwrap();
        let slots: Vec<_> = data
            .iter()
            .map(|d| mk.publish(Work::new(NAMES[k], t, d)).unwrap())
            .collect();
        let report = mk.run().expect("separate run");
        assert_eq!(report.done as usize, slots.len());
        for (i, s) in slots.into_iter().enumerate() {
            out[i * NAMES.len() + k] = mk.results(s).unwrap().to_vec();
        }
    }
    out
}

/// The same four analyses computed by the native Rust functions, chunks in
/// parallel on all cores (rayon); median wall time in ms.
fn native_rayon(data: &[Vec<u8>], reps: usize) -> f64 {
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    let run = || -> Vec<u32> {
        data.par_iter()
            .map(|d| {
                let acc = |n: usize| (0..n).map(|_| AtomicU32::new(0)).collect::<Vec<_>>();
                let (lines, hist, needle) = (acc(1), acc(256), acc(1));
                let all = vyre::Lanes::all();
                line_count(d, &lines, all);
                byte_histogram(d, &hist, all);
                count_needle(d, 0, &needle, all);
                let mut parts = [0u32; 256];
                crc32_blocks(d, &mut parts, all);
                lines[0].load(Ordering::Relaxed)
                    ^ hist[b'a' as usize].load(Ordering::Relaxed)
                    ^ needle[0].load(Ordering::Relaxed)
                    ^ parts[0]
            })
            .collect()
    };
    std::hint::black_box(run());
    let times: Vec<Duration> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(run());
            t.elapsed()
        })
        .collect();
    median_ms(times)
}

/// Times `reps` repetitions of fused and separate (interleaved) after a
/// checked run and [`warm_up`]; returns (fused ms, separate ms, dispatches fused, separate).
fn measure(backend: &dyn Backend, data: &[Vec<u8>], reps: usize) -> (f64, f64, u32, u32) {
    let chunk = data.first().map_or(0, |d| d.len());
    let mut fused = build(backend, payloads(), chunk);
    let mut separate: Vec<_> = payloads()
        .into_iter()
        .map(|p| build(backend, vec![p], chunk))
        .collect();
    let f = run_fused(&mut fused, data);
    let s = run_separate(&mut separate, data);
    assert_eq!(
        f,
        s,
        "fused and per-payload results differ on {}",
        backend.name()
    );
    let lines: u32 = data
        .iter()
        .map(|d| d.iter().filter(|&&b| b == b'\n').count() as u32)
        .sum();
    assert_eq!(
        f.iter().step_by(NAMES.len()).map(|r| r[0]).sum::<u32>(),
        lines,
        "line_count is wrong"
    );
    let dispatches = (
        fused.control(vyre::megakernel::protocol::CTRL_DISPATCHES),
        {
            separate
                .iter()
                .map(|m| m.control(vyre::megakernel::protocol::CTRL_DISPATCHES))
                .sum::<u32>()
        },
    );
    warm_up(|| {
        std::hint::black_box(run_fused(&mut fused, data));
        std::hint::black_box(run_separate(&mut separate, data));
    });
    let (mut tf, mut ts) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let t = Instant::now();
        std::hint::black_box(run_fused(&mut fused, data));
        tf.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(run_separate(&mut separate, data));
        ts.push(t.elapsed());
    }
    (median_ms(tf), median_ms(ts), dispatches.0, dispatches.1)
}

fn main() {
    let chunk = env("VYRE_BENCH_CHUNK", 16 << 10);
    let gpu_slots = env("VYRE_BENCH_SLOTS", 256);
    let reps = env("VYRE_BENCH_REPS", 5).max(1);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("megakernel bench: {} payloads x N chunks x {chunk} B, median of {reps} (host: {cores} cores)", NAMES.len());
    let mut rows = Vec::new();
    match WgpuBackend::new() {
        Ok(gpu) => {
            let data = chunks(gpu_slots, chunk);
            let native = native_rayon(&data, reps);
            println!(
                "native Rust (rayon, {} threads) on the same {gpu_slots} chunks: {native:.1} ms",
                rayon::current_num_threads()
            );
            rows.push((
                gpu.name(),
                gpu_slots,
                slot_budget(&gpu, chunk),
                measure(&gpu, &data, reps),
            ));
        }
        Err(e) => println!("(no GPU adapter, GPU rows skipped: {e})"),
    }
    // The CPU reference interprets the IR: a smaller batch keeps it quick.
    let cpu = CpuBackend::new();
    let cpu_slots = (gpu_slots / 16).max(1);
    let data = chunks(cpu_slots, chunk);
    rows.push((
        cpu.name(),
        cpu_slots,
        slot_budget(&cpu, chunk),
        measure(&cpu, &data, reps.min(3)),
    ));

    println!(
        "\n{:<46} {:>6} {:>8} {:>8} {:>11} {:>11} {:>13}",
        "backend", "chunks", "MiB", "budget", "fused ms", "separate ms", "separate/fused"
    );
    for (name, n, budget, (f, s, df, ds)) in rows {
        let mib = (n * chunk) as f64 / (1 << 20) as f64;
        let budget = if budget == u32::MAX {
            "none".to_string()
        } else {
            budget.to_string()
        };
        println!(
            "{name:<46} {n:>6} {mib:>8.2} {budget:>8} {f:>11.1} {s:>11.1} {:>13.2}",
            s / f
        );
        println!(
            "{:<46} dispatches per batch: fused {df}, separate {ds} (4 kernels)",
            ""
        );
    }
    println!("\nMiB = chunk bytes per payload (each payload reads all of them); ms = median wall time of reset + publish + run + read results");
}
