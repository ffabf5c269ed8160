//! Fused payloads over data already resident on the GPU: the kernel's own
//! throughput, without the host→device copy of the data.
//!
//! `cargo bench --bench resident` (plain `main`, no harness).
//!
//! A batch of `VYRE_RESIDENT_MIB` MiB (default 1024) in `VYRE_RESIDENT_CHUNK`-byte
//! chunks (default 256 KiB), run by `VYRE_RESIDENT_WORKGROUPS` workgroups (default 1024) of
//! `VYRE_RESIDENT_LANES` lanes (default 64), is
//! published once for each payload set and uploaded once. Sets
//! (`VYRE_RESIDENT_SETS`, default `lines,histogram,patterns,crc32,four`):
//! `lines`, `histogram`, `crc32` (each payload alone), `patterns` (3 patterns
//! in one payload, as `vyre scan -e` runs them), `patterns3` (the same as 3
//! payloads), `four` (line_count, byte_histogram, the 3-pattern payload and
//! crc32_blocks fused) and `six` (the same with the patterns as 3 payloads).
//! Each timed repetition then runs the kernel over the arena the device
//! already holds (`Backend::run_ranges` with no arena write), timed two
//! ways, median of each: **kernel**: re-publishes the slots (control and
//! ring words in, control words out); **with results**: also zeroes the
//! result region on the device and reads it back, as a batch of `vyre scan`
//! does (256 words per slot for the histogram and the CRC: 4 MiB per GiB
//! at 256 KiB chunks). GB/s = arena bytes / median wall time of the call
//! (kernel + copies + sync). Line counts are checked against
//! the CPU before timing. Before the timed repetitions the kernel runs
//! untimed for `VYRE_BENCH_WARMUP_MS` (default 1500), since a GPU raises its
//! clock only after a while under load (the H200 idles at 345 MHz).

use std::time::{Duration, Instant};

use vyre::gpu::WgpuBackend;
use vyre::megakernel::protocol::*;
use vyre::megakernel::Megakernel;
use vyre::payloads::{byte_histogram, line_count};
use vyre::scan::crc::crc32_blocks;
use vyre::scan::pattern::{pattern_payload, patterns_payload};
use vyre::{Backend, HostBuffers, Payload};

mod support;

use support::{env, gpu_or_skip, median_ms, text, warm_up};

/// Times the batch: the kernel alone, and with the results' upload and
/// readback.
fn measure(
    gpu: &WgpuBackend,
    payloads: Vec<Payload>,
    bytes: &[u8],
    reps: usize,
    (chunk, groups): (usize, u32),
) -> Timing {
    let names: Vec<String> = payloads.iter().map(|p| p.name.clone()).collect();
    let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let lanes = env("VYRE_RESIDENT_LANES", 64) as u32;
    let mut b = Megakernel::builder()
        .workgroup_size(lanes)
        .workgroups(groups);
    for p in payloads {
        b = b.payload(p);
    }
    let mut mk = b.tenant("t", &refs).build(gpu).expect("build");
    let t = mk.tenant_id("t").unwrap();
    let mut lines = Vec::new();
    for c in bytes.chunks(chunk) {
        let r = mk.add_data(c).expect("data");
        for n in &names {
            let s = mk.publish_ref(n, t, r, 0, &[], None).expect("publish");
            if n == "line_count" {
                lines.push(s);
            }
        }
    }
    let program = mk.program().clone();
    let mut bufs = HostBuffers::new(mk.host_buffers().to_vec());
    let fresh = bufs.clone();
    let slots = fresh[1].len() / SLOT_WORDS as usize;
    let whole = |i: usize| (i, 0..bufs[i].len());
    let all: Vec<(usize, std::ops::Range<usize>)> = (0..bufs.len()).map(whole).collect();
    // What a batch changes on the host: control and ring words (the slots
    // republished) and the zeroed results; what it reads back: the same.
    let batch: Vec<(usize, std::ops::Range<usize>)> = [0usize, 1, 3].map(whole).to_vec();
    // The kernel alone: control and ring in, control out (the results stay
    // on the device; repeated runs add to them, which costs the same).
    let kernel_in: Vec<(usize, std::ops::Range<usize>)> = [0usize, 1].map(whole).to_vec();
    let kernel_out: Vec<(usize, std::ops::Range<usize>)> = vec![whole(0)];
    let run = |writes: &[(usize, std::ops::Range<usize>)],
               reads: &[(usize, std::ops::Range<usize>)],
               bufs: &mut HostBuffers|
     -> Duration {
        for (i, _) in writes {
            bufs[*i].copy_from_slice(&fresh[*i]);
        }
        let t = Instant::now();
        gpu.run_ranges(&program, bufs, groups.min(slots as u32), writes, reads)
            .expect("run");
        let d = t.elapsed();
        let done = bufs[0][CTRL_DONE_COUNT as usize] as usize;
        assert_eq!(done, slots, "one dispatch must drain the batch");
        d
    };
    run(&all, &batch, &mut bufs);
    let ring = &bufs[1];
    let results = &bufs[3];
    let total: u64 = lines
        .iter()
        .map(|s| {
            let base = s.0 as usize * SLOT_WORDS as usize;
            results[ring[base + SLOT_OUT_OFF as usize] as usize] as u64
        })
        .sum();
    warm_up(|| {
        run(&batch, &batch, &mut bufs);
    });
    let with_results: Vec<Duration> = (0..reps).map(|_| run(&batch, &batch, &mut bufs)).collect();
    let kernel: Vec<Duration> = (0..reps)
        .map(|_| run(&kernel_in, &kernel_out, &mut bufs))
        .collect();
    Timing {
        kernel: median_ms(kernel) / 1e3,
        with_results: median_ms(with_results) / 1e3,
        result_bytes: fresh[3].len() * 4,
        lines: total,
    }
}

/// What [`measure`] found.
struct Timing {
    /// Seconds per run, median: the kernel with control and ring words.
    kernel: f64,
    /// Seconds per run, median: also zeroing and reading back the results.
    with_results: f64,
    /// Bytes of the results buffer.
    result_bytes: usize,
    /// The batch's line count (from the first run).
    lines: u64,
}

fn main() {
    let mib = env("VYRE_RESIDENT_MIB", 1024);
    let chunk = env("VYRE_RESIDENT_CHUNK", 256 << 10);
    let groups = env("VYRE_RESIDENT_WORKGROUPS", 1024) as u32;
    let reps = env("VYRE_BENCH_REPS", 20).max(1);
    let Some(gpu) = gpu_or_skip("resident") else {
        return;
    };
    // llvmpipe cuts long loops (the megakernel then reruns the cut slots,
    // some on the CPU reference), so its times would not measure a kernel.
    if gpu.loop_iteration_limit().is_some() {
        println!(
            "{} cuts long loops; this bench needs a GPU without a loop limit",
            gpu.name()
        );
        return;
    }
    let bytes = text(
        0x9E37_79B9_7F4A_7C15,
        mib << 20,
        b"abab cd\nefgh\xe9ab GPL License",
    );
    let want = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    println!(
        "resident bench on {}: {mib} MiB in {} KiB chunks, {groups} workgroups of {}, median of {reps}",
        gpu.name(),
        chunk >> 10,
        env("VYRE_RESIDENT_LANES", 64)
    );
    const PATTERNS: [&[u8]; 3] = [b"GPL", b"License", b"abab"];
    // The 3 patterns as 3 payloads, and as one payload (what `vyre scan -e`
    // runs).
    let three = || {
        PATTERNS
            .iter()
            .enumerate()
            .map(|(i, p)| pattern_payload(&format!("p{i}"), p).expect("pattern"))
            .collect::<Vec<_>>()
    };
    let one = || patterns_payload("patterns", &PATTERNS).expect("patterns");
    let mut six = vec![line_count::payload(), byte_histogram::payload()];
    six.extend(three());
    six.push(crc32_blocks::payload());
    let four = vec![
        line_count::payload(),
        byte_histogram::payload(),
        one(),
        crc32_blocks::payload(),
    ];
    let wanted = std::env::var("VYRE_RESIDENT_SETS")
        .unwrap_or_else(|_| "lines,histogram,patterns,crc32,four".into());
    let sets: Vec<(&str, Vec<Payload>)> = vec![
        ("line_count alone", vec![line_count::payload()]),
        ("byte_histogram alone", vec![byte_histogram::payload()]),
        ("3 patterns, 1 payload", vec![one()]),
        ("3 patterns, 3 payloads", three()),
        ("crc32_blocks alone", vec![crc32_blocks::payload()]),
        ("4 payloads fused", four),
        ("6 payloads fused", six),
    ]
    .into_iter()
    .zip([
        "lines",
        "histogram",
        "patterns",
        "patterns3",
        "crc32",
        "four",
        "six",
    ])
    .filter(|(_, key)| wanted.split(',').any(|w| w.trim() == *key))
    .map(|(set, _)| set)
    .collect();
    let gb = bytes.len() as f64 / 1e9;
    for (name, set) in sets {
        let counts_lines = set.iter().any(|p| p.name == "line_count");
        let t = measure(&gpu, set, &bytes, reps, (chunk, groups));
        if counts_lines {
            assert_eq!(t.lines, want, "line_count in `{name}`");
        }
        println!(
            "  {name:<22} kernel {:7.3} ms {:7.1} GB/s | with {:5.1} MiB of results in and out {:7.3} ms {:7.1} GB/s",
            t.kernel * 1e3,
            gb / t.kernel,
            t.result_bytes as f64 / f64::from(1 << 20),
            t.with_results * 1e3,
            gb / t.with_results
        );
    }
}
