//! How the megakernel's cost grows: per slot, per payload fused into the
//! kernel, and with chunk size. Wall times of whole runs (reset + publish +
//! run + read results), medians, after untimed runs for `VYRE_BENCH_WARMUP_MS`
//! (default 1500: a GPU raises its clock only after a while under load).
//!
//! `cargo bench --bench overhead` (plain `main`, no harness).
//!
//! 1. Slots per batch: N slots of 64 bytes of line_count, N = 1 .. 16384;
//!    the per-slot cost is the slope.
//! 2. Payloads per kernel: the same 64 MiB batch of line_count slots run by
//!    kernels that fuse 1, 2, 4, 8 and 16 payloads (the extra ones are copies
//!    under other names that the batch does not use): what a bigger kernel
//!    costs the slots it runs.
//! 3. Chunk size: 64 MiB of line_count in chunks of 4 KiB .. 4 MiB.
//!
//! Environment: `VYRE_BENCH_REPS` (default 5), `VYRE_ADAPTER`.

use std::time::Instant;

use vyre::gpu::WgpuBackend;
use vyre::megakernel::Megakernel;
use vyre::payloads::line_count;
use vyre::{Backend, Payload};

mod support;
use support::{env, gpu_or_skip, median_ms, text, warm_up, TEXT};

/// Seed of the bench data.
const SEED: u64 = 0x2545_F491_4F6C_DD1D;

fn kernel(gpu: &WgpuBackend, payloads: usize) -> Megakernel<&WgpuBackend> {
    let limited = gpu.loop_iteration_limit().is_some();
    let mut b = Megakernel::builder()
        .workgroup_size(64)
        .workgroups(if limited { 64 } else { 4096 })
        .slot_budget(if limited { 1 } else { u32::MAX });
    let mut names = Vec::new();
    for i in 0..payloads {
        let mut p: Payload = line_count::payload();
        if i > 0 {
            p.name = format!("line_count_{i}");
        }
        names.push(p.name.clone());
        b = b.payload(p);
    }
    let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    b.tenant("t", &refs).build(gpu).expect("build")
}

/// Median wall time (ms) of a run of line_count over `data` in `chunk`-byte
/// slots; checks the line count.
fn time_run(mk: &mut Megakernel<&WgpuBackend>, data: &[u8], chunk: usize, reps: usize) -> f64 {
    let want = data.iter().filter(|&&b| b == b'\n').count() as u64;
    let mut run = || {
        let t0 = Instant::now();
        mk.reset();
        let t = mk.tenant_id("t").unwrap();
        let r = mk.add_data(data).unwrap();
        let mut slots = Vec::new();
        for (i, c) in data.chunks(chunk).enumerate() {
            let part = vyre::megakernel::DataRef {
                word_offset: r.word_offset + (i * chunk / 4) as u32,
                len: c.len() as u32,
            };
            slots.push(mk.publish_ref("line_count", t, part, 0, &[], None).unwrap());
        }
        mk.run().expect("run");
        let got: u64 = slots
            .iter()
            .map(|s| mk.results(*s).unwrap()[0] as u64)
            .sum();
        let d = t0.elapsed();
        assert_eq!(got, want, "line count");
        d
    };
    warm_up(|| {
        run();
    });
    median_ms((0..reps).map(|_| run()).collect())
}

fn main() {
    let reps = env("VYRE_BENCH_REPS", 5).max(1);
    let Some(gpu) = gpu_or_skip("overhead") else {
        return;
    };
    let limited = gpu.loop_iteration_limit().is_some();
    let big = if limited { 4 << 20 } else { 64 << 20 };
    println!("overhead bench on {}, median of {reps}", gpu.name());

    println!("\n1. slots per batch (64 B each, line_count):");
    let mut mk = kernel(&gpu, 1);
    let t1 = time_run(&mut mk, &text(SEED, 64, TEXT), 64, reps);
    println!("{:>8} {:>10}", "slots", "ms");
    println!("{:>8} {t1:>10.3}", 1);
    for n in [16usize, 256, 4096, 16384] {
        let t = time_run(&mut mk, &text(SEED, 64 * n, TEXT), 64, reps);
        println!(
            "{n:>8} {t:>10.3}   ({:.3} us per extra slot)",
            (t - t1) * 1e3 / (n - 1) as f64
        );
    }

    println!(
        "\n2. payloads fused per kernel ({} MiB of line_count in 256 KiB slots):",
        big >> 20
    );
    let data = text(SEED, big, TEXT);
    println!("{:>8} {:>10} {:>8}", "payloads", "ms", "GB/s");
    for k in [1usize, 2, 4, 8, 16] {
        let mut mk = kernel(&gpu, k);
        let t = time_run(&mut mk, &data, 256 << 10, reps);
        println!("{k:>8} {t:>10.3} {:>8.2}", big as f64 / 1e6 / t);
    }

    println!(
        "\n3. chunk size ({} MiB of line_count, one kernel):",
        big >> 20
    );
    println!("{:>8} {:>8} {:>10} {:>8}", "chunk", "slots", "ms", "GB/s");
    let mut mk = kernel(&gpu, 1);
    for chunk in [
        4usize << 10,
        16 << 10,
        64 << 10,
        256 << 10,
        1 << 20,
        4 << 20,
    ] {
        if limited && chunk > 64 << 10 {
            break; // llvmpipe cuts loops that long
        }
        let t = time_run(&mut mk, &data, chunk, reps);
        println!(
            "{:>7}K {:>8} {t:>10.3} {:>8.2}",
            chunk >> 10,
            big / chunk,
            big as f64 / 1e6 / t
        );
    }
}
