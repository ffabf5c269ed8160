//! Pipeline cold vs warm start: how long building the megakernel's pipeline
//! takes the first time in a process, from the in-memory cache, and again in
//! a fresh device (what a second process pays: there is no on-disk cache yet).
//!
//! `cargo run --release --example cold_warm`

use std::time::Instant;

use vyre::gpu::WgpuBackend;
use vyre::megakernel::Megakernel;
use vyre::payloads::{byte_histogram, count_needle, line_count};
use vyre::scan::crc::crc32_blocks;
use vyre::Backend;

fn kernel() -> vyre::Result<vyre::Program> {
    let mk = Megakernel::builder()
        .payload(line_count::payload())
        .payload(byte_histogram::payload())
        .payload(count_needle::payload())
        .payload(crc32_blocks::payload())
        .build(vyre::cpu::CpuBackend::new())?;
    Ok(mk.program().clone())
}

fn main() -> vyre::Result<()> {
    let t = Instant::now();
    let program = kernel()?;
    let build_ir = t.elapsed();
    let t = Instant::now();
    let gpu = WgpuBackend::new()?;
    let open = t.elapsed();
    let t = Instant::now();
    gpu.compile(&program)?;
    let cold = t.elapsed();
    let t = Instant::now();
    gpu.compile(&program)?;
    let warm = t.elapsed();
    let t = Instant::now();
    let fresh = WgpuBackend::new()?;
    fresh.compile(&program)?;
    let fresh_device = t.elapsed();
    println!("adapter: {}", gpu.name());
    println!(
        "megakernel IR (4 payloads) built+validated: {:.2} ms",
        build_ir.as_secs_f64() * 1e3
    );
    println!("device open: {:.1} ms", open.as_secs_f64() * 1e3);
    println!(
        "pipeline cold (validate + lower + naga + driver): {:.1} ms",
        cold.as_secs_f64() * 1e3
    );
    println!(
        "pipeline warm (in-memory cache hit): {:.3} ms",
        warm.as_secs_f64() * 1e3
    );
    println!(
        "fresh device + pipeline (a second process today): {:.1} ms",
        fresh_device.as_secs_f64() * 1e3
    );
    Ok(())
}
