//! A payload a user writes: count the words of a text (runs of ASCII letters
//! or digits), using a helper, `lanes`, a `const` and an atomic accumulator;
//! then check that the native call, the CPU reference and the GPU agree.
//!
//! `cargo run --example custom_payload`

use std::sync::atomic::{AtomicU32, Ordering};

use vyre::{Backend, Lanes};

/// True for ASCII letters and digits.
#[vyre::helper]
fn is_word_byte(b: u8) -> bool {
    let lower = b | 0x20;
    (lower >= b'a' && lower <= b'z') || (b >= b'0' && b <= b'9')
}

/// Counts words: positions where a word byte follows a non-word byte (or
/// the start). `stats[0]` gets the words, `stats[1]` the longest run seen by
/// any lane (a lane sees whole runs starting in its positions).
#[vyre::payload]
fn word_stats(data: &[u8], #[vyre(len = 2)] stats: &[AtomicU32], lanes: Lanes) {
    const MAX_RUN: u32 = 1 << 16;
    let len = data.len() as u32;
    let mut words = 0;
    let mut longest = 0;
    for i in lanes.range(0..len) {
        let here = is_word_byte(data[i as usize]);
        let before = i > 0 && is_word_byte(data[(i - 1) as usize]);
        if here && !before {
            words += 1;
            let mut run = 1;
            while i + run < len && run < MAX_RUN && is_word_byte(data[(i + run) as usize]) {
                run += 1;
            }
            longest = longest.max(run);
        }
    }
    stats[0].fetch_add(words, Ordering::Relaxed);
    stats[1].fetch_max(longest, Ordering::Relaxed);
}

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

fn main() -> vyre::Result<()> {
    let text = b"The quick brown fox -- 42 jumps over the lazy dog; supercalifragilistic!";

    let stats = [AtomicU32::new(0), AtomicU32::new(0)];
    word_stats(text, &stats, Lanes::all());
    let native: Vec<u32> = stats.iter().map(|s| s.load(Ordering::Relaxed)).collect();
    println!("native: {} words, longest {}", native[0], native[1]);

    let payload = word_stats::payload();
    println!("{}", payload.to_program(64));
    let cpu = vyre::cpu::CpuBackend::new();
    let gpu = vyre::gpu::WgpuBackend::new();
    let mut backends: Vec<&dyn Backend> = vec![&cpu];
    if let Ok(g) = &gpu {
        backends.push(g);
    }
    for b in backends {
        let mut buffers = vec![vec![text.len() as u32], words(text), vec![0, 0]];
        b.run(&payload.to_program(64), &mut buffers, 1)?;
        println!(
            "{}: {:?} {}",
            b.name(),
            buffers[2],
            if buffers[2] == native {
                "(same as native)"
            } else {
                "MISMATCH"
            }
        );
    }
    Ok(())
}
