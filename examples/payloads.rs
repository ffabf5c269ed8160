//! The standard payloads: called natively, then run as IR on the CPU
//! reference and (when an adapter is available) on the GPU.
//!
//! `cargo run --example payloads`

use std::sync::atomic::{AtomicU32, Ordering};

use vyre::cpu::CpuBackend;
use vyre::gpu::WgpuBackend;
use vyre::payloads::{
    byte_histogram, count_needle, crc32, crc32_finish, line_count, non_ascii_count, CRC32_INIT,
};
use vyre::{Backend, Lanes, Payload};

/// Packs bytes into little-endian words (at least one word).
fn words(bytes: &[u8]) -> Vec<u32> {
    let mut w: Vec<u32> = bytes
        .chunks(4)
        .map(|c| c.iter().rev().fold(0, |a, &b| (a << 8) | b as u32))
        .collect();
    if w.is_empty() {
        w.push(0);
    }
    w
}

/// Runs a payload with one `Bytes` parameter, optional `ChunkStart` 0 and one
/// output/accumulator `init` on `backend`; returns the result words.
fn run(
    backend: &dyn Backend,
    payload: &Payload,
    data: &[u8],
    init: Vec<u32>,
) -> vyre::Result<Vec<u32>> {
    let program = payload.to_program(64);
    let mut args = vec![data.len() as u32];
    if payload
        .params_of(vyre::ParamKind::ChunkStart)
        .next()
        .is_some()
    {
        args.push(0);
    }
    let mut buffers = vec![args, words(data), init];
    backend.run(&program, &mut buffers, 1)?;
    Ok(buffers.pop().unwrap_or_default())
}

fn main() -> vyre::Result<()> {
    let text = "vyre: ababab\nnon-ASCII: héllo wörld\nend\n".repeat(3);
    let data = text.as_bytes();

    // Native calls: ordinary Rust functions.
    let counter = || [AtomicU32::new(0)];
    let lines = counter();
    line_count(data, &lines, Lanes::all());
    let needles = counter();
    count_needle(data, 0, &needles, Lanes::all());
    let non_ascii = counter();
    non_ascii_count(data, &non_ascii, Lanes::all());
    let bins: Vec<AtomicU32> = (0..256).map(|_| AtomicU32::new(0)).collect();
    byte_histogram(data, &bins, Lanes::all());
    let mut state = [CRC32_INIT];
    crc32(data, &mut state, Lanes::all());
    let native = [
        ("line_count", lines[0].load(Ordering::Relaxed)),
        ("count_needle", needles[0].load(Ordering::Relaxed)),
        ("non_ascii_count", non_ascii[0].load(Ordering::Relaxed)),
        (
            "byte_histogram[b'a']",
            bins[b'a' as usize].load(Ordering::Relaxed),
        ),
        ("crc32", crc32_finish(state[0])),
    ];
    println!("crc32fast: {:08x}", crc32fast::hash(data));

    let cpu = CpuBackend::new();
    let gpu = WgpuBackend::new();
    let mut backends: Vec<(&str, &dyn Backend)> = vec![("cpu", &cpu)];
    match &gpu {
        Ok(g) => backends.push(("gpu", g)),
        Err(e) => println!("(no GPU: {e})"),
    }
    for (name, backend) in backends {
        let ir = [
            (
                "line_count",
                run(backend, &line_count::payload(), data, vec![0])?[0],
            ),
            (
                "count_needle",
                run(backend, &count_needle::payload(), data, vec![0])?[0],
            ),
            (
                "non_ascii_count",
                run(backend, &non_ascii_count::payload(), data, vec![0])?[0],
            ),
            (
                "byte_histogram[b'a']",
                run(backend, &byte_histogram::payload(), data, vec![0; 256])?[b'a' as usize],
            ),
            (
                "crc32",
                crc32_finish(run(backend, &crc32::payload(), data, vec![CRC32_INIT])?[0]),
            ),
        ];
        for ((what, n), (_, i)) in native.iter().zip(ir) {
            let same = if *n == i { "ok" } else { "MISMATCH" };
            println!("{name:>4} {what:<22} native {n:>10} ir {i:>10}  {same}");
        }
    }
    Ok(())
}
