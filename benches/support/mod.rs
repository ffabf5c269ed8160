//! What the benches share: environment knobs, deterministic text-like data,
//! medians of measured wall times and the GPU adapter.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// The number in environment variable `name`, or `default`.
pub fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Newlines, `abab` runs, spaces and a high byte.
pub const TEXT: &[u8] = b"abab cd\nefgh\xe9ab";

/// `bytes` bytes drawn from `alphabet` by xorshift64 from `seed`.
pub fn text(seed: u64, bytes: usize, alphabet: &[u8]) -> Vec<u8> {
    let mut x = seed;
    (0..bytes)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % alphabet.len() as u64) as usize]
        })
        .collect()
}

/// `n` chunks of `len` bytes of [`TEXT`] (one stream, cut).
pub fn chunks(n: usize, len: usize) -> Vec<Vec<u8>> {
    text(0x2545_F491_4F6C_DD1D, n * len, TEXT)
        .chunks(len.max(1))
        .map(<[u8]>::to_vec)
        .collect()
}

/// The median of `times`, in milliseconds.
pub fn median_ms(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1e3
}

/// The default wgpu adapter, or `None` after printing that bench `name`
/// needs one.
pub fn gpu_or_skip(name: &str) -> Option<vyre::gpu::WgpuBackend> {
    match vyre::gpu::WgpuBackend::new() {
        Ok(g) => Some(g),
        Err(e) => {
            println!("{name} bench needs a GPU adapter: {e}");
            None
        }
    }
}

/// Calls `run` untimed for `VYRE_BENCH_WARMUP_MS` milliseconds (default
/// 1500), at least once. A GPU raises its clock only after a while under
/// load (the H200 idles at 345 MHz and runs at 1980 MHz), so short timed
/// repetitions right after setup would measure a cold clock.
pub fn warm_up(mut run: impl FnMut()) {
    let until = Duration::from_millis(env("VYRE_BENCH_WARMUP_MS", 1500) as u64);
    let start = Instant::now();
    loop {
        run();
        if start.elapsed() >= until {
            break;
        }
    }
}
