//! Differential test: random valid programs run on the CPU reference and on
//! wgpu must give bit-identical buffers. A failure is shrunk to a minimal
//! program, printed in text form.
//!
//! `VYRE_DIFF_CASES` sets the number of programs (default 500),
//! `VYRE_DIFF_SEED` the first seed (default 0).

mod support;

use support::progen::{random_inputs, random_program, shrink_candidates, GROUPS};
use vyre_core::cpu::CpuBackend;
use vyre_core::gpu::WgpuBackend;
use vyre_core::{Backend, Program};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `p` on both backends; `Some(description)` if they disagree.
fn mismatch(
    p: &Program,
    inputs: &[Vec<u32>],
    cpu: &CpuBackend,
    gpu: &WgpuBackend,
) -> Option<String> {
    let mut a = inputs.to_vec();
    let mut b = inputs.to_vec();
    let ra = cpu.run(p, &mut a, GROUPS);
    let rb = gpu.run(p, &mut b, GROUPS);
    match (ra, rb) {
        (Ok(()), Ok(())) => {
            if a == b {
                return None;
            }
            let names = p.host_buffers();
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                if let Some(j) = (0..x.len()).find(|&j| x[j] != y[j]) {
                    return Some(format!(
                        "buffer `{}` word {j}: cpu {:#010x} gpu {:#010x}",
                        names[i].name, x[j], y[j]
                    ));
                }
            }
            Some("buffers differ".into())
        }
        (Err(e), Ok(())) => Some(format!("cpu failed, gpu ran: {e}")),
        (Ok(()), Err(e)) => Some(format!("gpu failed, cpu ran: {e}")),
        (Err(_), Err(_)) => None,
    }
}

fn shrink(
    mut p: Program,
    inputs: &[Vec<u32>],
    cpu: &CpuBackend,
    gpu: &WgpuBackend,
) -> (Program, String) {
    let mut why = mismatch(&p, inputs, cpu, gpu).unwrap_or_default();
    // Bounded: a shrink never runs more than this many candidate programs.
    let mut tries = 0u32;
    'outer: loop {
        for q in shrink_candidates(&p) {
            tries += 1;
            if tries > 3000 {
                return (p, why);
            }
            if vyre_core::validate::validate(&q).is_err() {
                continue;
            }
            if let Some(w) = mismatch(&q, inputs, cpu, gpu) {
                p = q;
                why = w;
                continue 'outer;
            }
        }
        return (p, why);
    }
}

#[test]
fn random_programs_cpu_equals_gpu() {
    let gpu = WgpuBackend::new()
        .expect("a wgpu adapter (install mesa-vulkan-drivers for the software one)");
    let cpu = CpuBackend::new();
    let cases = env_u64("VYRE_DIFF_CASES", 500);
    let first = env_u64("VYRE_DIFF_SEED", 0);
    eprintln!(
        "differential: {cases} random programs, cpu-reference vs {}",
        gpu.name()
    );
    let mut ran = 0;
    for seed in first..first + cases {
        let p = random_program(seed);
        if let Err(problems) = vyre_core::validate::validate(&p) {
            panic!("generator produced an invalid program (seed {seed}):\n{p}\n{problems:#?}");
        }
        let inputs = random_inputs(seed);
        if let Some(why) = mismatch(&p, &inputs, &cpu, &gpu) {
            let (small, why_small) = shrink(p.clone(), &inputs, &cpu, &gpu);
            panic!(
                "seed {seed}: CPU and GPU disagree: {why}\nminimal program ({why_small}):\n{small}\ninputs: {:?}",
                &inputs[..2]
            );
        }
        ran += 1;
    }
    // Written straight to stderr (not eprintln!, which the test harness
    // captures) so CI logs show which adapter the suite ran on.
    let line = format!(
        "differential: {ran} random programs bit-identical on cpu-reference and {}\n",
        gpu.name()
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
}
