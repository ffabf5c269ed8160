//! Helpers shared by the tests: generated file trees and plain-Rust
//! reference results for the scan tests; the backends, GPU lock and word
//! packing for the IR differential tests.
#![allow(dead_code)]

pub mod rng;

use std::path::{Path, PathBuf};
use std::process::Command;

use vyre::scan::FileReport;

pub fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vyre-scan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn overlapping(hay: &[u8], pat: &[u8]) -> u64 {
    if hay.len() < pat.len() {
        return 0;
    }
    hay.windows(pat.len()).filter(|w| *w == pat).count() as u64
}

/// Files whose sizes straddle chunk boundaries, with patterns cut by them.
pub fn make_tree(dir: &Path, chunk: usize) {
    let mut seed = 0x1234_5678u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    std::fs::write(dir.join("empty"), b"").unwrap();
    std::fs::write(dir.join("one"), b"\n").unwrap();
    for (i, size) in [
        3,
        chunk - 1,
        chunk,
        chunk + 1,
        3 * chunk + 7,
        10 * chunk + 333,
    ]
    .iter()
    .enumerate()
    {
        let mut v: Vec<u8> = (0..*size)
            .map(|_| b"ab\nxyz\x80\xff"[(rnd() % 8) as usize])
            .collect();
        // Plant "abab" across every chunk boundary.
        let mut b = chunk;
        while b + 2 < v.len() {
            v[b - 2..b + 2].copy_from_slice(b"abab");
            b += chunk;
        }
        let sub = if i % 2 == 0 { "sub" } else { "sub/deeper" };
        std::fs::write(dir.join(sub).join(format!("f{i}")), v).unwrap();
    }
}

pub fn check_against_reference(reports: &[FileReport], patterns: &[&[u8]]) {
    assert!(!reports.is_empty());
    for r in reports {
        assert!(r.error.is_none(), "{:?}: {:?}", r.path, r.error);
        let d = std::fs::read(&r.path).unwrap();
        assert_eq!(r.bytes, d.len() as u64, "{:?} bytes", r.path);
        assert_eq!(
            r.lines,
            Some(d.iter().filter(|&&b| b == b'\n').count() as u64),
            "{:?} lines",
            r.path
        );
        assert_eq!(r.crc32, Some(crc32fast::hash(&d)), "{:?} crc32", r.path);
        let mut h = vec![0u64; 256];
        for &b in &d {
            h[b as usize] += 1;
        }
        assert_eq!(r.histogram.as_ref(), Some(&h), "{:?} histogram", r.path);
        for (i, p) in patterns.iter().enumerate() {
            assert_eq!(
                r.matches[i].1,
                overlapping(&d, p),
                "{:?} pattern {:?}",
                r.path,
                p
            );
        }
    }
}

/// Asserts that a `vyre` run succeeded, showing its stderr (and `what`) if not.
pub fn assert_ok(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn vyre_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vyre"))
}

/// JSON lines without the run-specific fields of the summary (time, devices).
pub fn json_lines(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| {
            let mut v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}"));
            if let Some(s) = v.get_mut("summary").and_then(|s| s.as_object_mut()) {
                s.remove("seconds");
                s.remove("devices");
            }
            v
        })
        .collect()
}

/// The wgpu adapter the IR differential tests also run on, opened once per
/// test binary; `None` (after saying why) when there is none.
pub fn gpu() -> Option<&'static vyre::gpu::WgpuBackend> {
    static GPU: std::sync::OnceLock<Option<vyre::gpu::WgpuBackend>> = std::sync::OnceLock::new();
    GPU.get_or_init(|| match vyre::gpu::WgpuBackend::new() {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("no GPU adapter, comparing native and CPU only: {e}");
            None
        }
    })
    .as_ref()
}

/// One GPU submission at a time: proptest cases run on parallel test threads.
pub static GPU_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The CPU reference and, when there is an adapter, the GPU.
pub fn ir_backends(cpu: &vyre::cpu::CpuBackend) -> Vec<&dyn vyre::Backend> {
    let mut v: Vec<&dyn vyre::Backend> = vec![cpu];
    if let Some(g) = gpu() {
        v.push(g);
    }
    v
}

/// `bytes` as little-endian `u32` words, the last one zero-padded.
pub fn le_words(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks(4)
        .map(|c| c.iter().rev().fold(0, |acc, &v| (acc << 8) | v as u32))
        .collect()
}
