//! Interpreter vs fused megakernel: throughput on the same batch, and the
//! time to the first result of a payload the process has never seen.
//!
//! `cargo bench --bench interp` (plain `main`, no harness).
//!
//! 1. Throughput: 4 payloads (line_count, byte_histogram, count_needle,
//!    crc32_blocks) over the same chunks, run once fused into the kernel and
//!    once loaded into the interpreter as bytecode. Results are checked equal
//!    first; figures are medians of measured wall times of reset + publish +
//!    run + read results, after an untimed warm-up.
//! 2. Time to first result of a new payload (counts one byte value; the value
//!    differs every trial, so no pipeline or driver cache can help the fused
//!    path): interpreter = compile to bytecode + load into an already-running
//!    megakernel + run one slot; fused = build the kernel IR with the payload,
//!    validate, compile the pipeline and run one slot. Wall time from having
//!    the payload's IR to holding its result.
//!
//! Environment: `VYRE_BENCH_SLOTS` (chunks, default 256), `VYRE_BENCH_CHUNK`
//! (bytes, default 16384), `VYRE_BENCH_REPS` (default 5), `VYRE_ADAPTER`.

use std::time::{Duration, Instant};

use vyre::gpu::WgpuBackend;
use vyre::megakernel::{Megakernel, Work};
use vyre::payloads::{byte_histogram, count_needle, line_count};
use vyre::scan::crc::crc32_blocks;
use vyre::{Backend, Payload};

mod support;
use support::{chunks, env, gpu_or_skip, median_ms};

const LANES: u32 = 64;

fn payloads() -> Vec<Payload> {
    vec![
        line_count::payload(),
        byte_histogram::payload(),
        count_needle::payload(),
        crc32_blocks::payload(),
    ]
}

fn builder(backend: &dyn Backend) -> vyre::megakernel::MegakernelBuilder {
    let limited = backend.loop_iteration_limit().is_some();
    Megakernel::builder()
        .workgroup_size(LANES)
        .workgroups(if limited { 64 } else { 1024 })
        .slot_budget(if limited { 1 } else { u32::MAX })
}

fn build(backend: &dyn Backend, interpreted: bool) -> Megakernel<&dyn Backend> {
    let mut b = builder(backend);
    let names: Vec<String> = payloads().iter().map(|p| p.name.clone()).collect();
    for p in payloads() {
        b = if interpreted {
            b.interpreted(p)
        } else {
            b.payload(p)
        };
    }
    let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    b.tenant("bench", &names).build(backend).expect("build")
}

fn run(mk: &mut Megakernel<&dyn Backend>, data: &[Vec<u8>]) -> Vec<Vec<u32>> {
    mk.reset();
    let t = mk.tenant_id("bench").unwrap();
    let names: Vec<String> = payloads().iter().map(|p| p.name.clone()).collect();
    let mut slots = Vec::new();
    for d in data {
        let r = mk.add_data(d).unwrap();
        for n in &names {
            slots.push(mk.publish_ref(n, t, r, 0, &[], None).unwrap());
        }
    }
    let report = mk.run().expect("run");
    assert_eq!(report.done as usize, slots.len(), "{report:?}");
    slots
        .iter()
        .map(|&s| mk.results(s).unwrap().to_vec())
        .collect()
}

/// A payload counting bytes equal to `value` (a new program for every value).
fn count_value(value: u8) -> Payload {
    let text = include_str!("../examples/payloads/count_zero_bytes.vyre")
        .replace("count_zero_bytes", &format!("count_{value}"))
        .replace("eq(byte, 0u)", &format!("eq(byte, {value}u)"));
    vyre::ir::parse_payload(&text).expect("payload text")
}

/// Time to first result: (interpreter ms, fused ms) for a never-seen payload.
fn first_result(gpu: &WgpuBackend, trial: u8, data: &[u8]) -> (f64, f64) {
    let want = data.iter().filter(|&&b| b == trial).count() as u32;
    // Interpreter: a running megakernel (pipeline built before the clock).
    let mut mk = builder(gpu)
        .interpreter()
        .tenant("t", &[])
        .build(gpu)
        .expect("build");
    mk.reset();
    mk.run().expect("warm-up run");
    let p = count_value(trial);
    let t = Instant::now();
    mk.load_payload(&p, &["t"]).expect("load");
    let tid = mk.tenant_id("t").unwrap();
    let s = mk.publish(Work::new(&p.name, tid, data)).unwrap();
    mk.run().expect("run");
    let got = mk.results(s).unwrap()[0];
    let interp = t.elapsed();
    assert_eq!(got, want, "interpreter result");
    // Fused: a new kernel with the payload in it.
    let p = count_value(trial.wrapping_add(128));
    let want = data
        .iter()
        .filter(|&&b| b == trial.wrapping_add(128))
        .count() as u32;
    let t = Instant::now();
    let mut mk = builder(gpu)
        .payload(p.clone())
        .tenant("t", &[&p.name])
        .build(gpu)
        .expect("build");
    let tid = mk.tenant_id("t").unwrap();
    let s = mk.publish(Work::new(&p.name, tid, data)).unwrap();
    mk.run().expect("run");
    let got = mk.results(s).unwrap()[0];
    let fused = t.elapsed();
    assert_eq!(got, want, "fused result");
    (interp.as_secs_f64() * 1e3, fused.as_secs_f64() * 1e3)
}

fn main() {
    let chunk = env("VYRE_BENCH_CHUNK", 16 << 10);
    let n = env("VYRE_BENCH_SLOTS", 256);
    let reps = env("VYRE_BENCH_REPS", 5).max(1);
    let Some(gpu) = gpu_or_skip("interp") else {
        return;
    };
    println!("interp bench on {}", gpu.name());
    let data = chunks(n, chunk);
    let mut fused = build(&gpu, false);
    let mut interp = build(&gpu, true);
    let f = run(&mut fused, &data);
    let i = run(&mut interp, &data);
    assert_eq!(f, i, "interpreted results differ from fused");
    let (mut tf, mut ti) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let t = Instant::now();
        std::hint::black_box(run(&mut fused, &data));
        tf.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(run(&mut interp, &data));
        ti.push(t.elapsed());
    }
    let (mf, mi) = (median_ms(tf), median_ms(ti));
    let mib = (n * chunk) as f64 / (1 << 20) as f64;
    println!(
        "throughput, 4 payloads x {n} chunks x {chunk} B ({mib:.1} MiB per payload), median of {reps}:"
    );
    println!(
        "  fused       {mf:9.2} ms  {:8.4} GB/s (bytes x payloads)",
        mib * 4.0 * 1.048_576e-3 / (mf * 1e-3)
    );
    println!(
        "  interpreted {mi:9.2} ms  {:8.4} GB/s  ({:.1}x slower)",
        mib * 4.0 * 1.048_576e-3 / (mi * 1e-3),
        mi / mf
    );
    let trials = reps.clamp(3, 20);
    let one = &data[0];
    let (mut a, mut b) = (Vec::new(), Vec::new());
    // Byte values new to this process and, as far as can be, to the driver's
    // on-disk shader cache (Mesa and NVIDIA keep one across processes).
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as usize);
    for k in 0..trials {
        let (x, y) = first_result(&gpu, (seed + k * 7 + 1) as u8, one);
        a.push(Duration::from_secs_f64(x / 1e3));
        b.push(Duration::from_secs_f64(y / 1e3));
    }
    println!("time to first result of a new payload ({chunk} B slot), median of {trials}:");
    println!(
        "  interpreter (bytecode load, no compile) {:9.2} ms",
        median_ms(a)
    );
    println!(
        "  fused (new kernel: IR + pipeline compile) {:7.2} ms",
        median_ms(b)
    );
}
