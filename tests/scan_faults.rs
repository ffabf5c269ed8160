//! Read faults injected into a whole scan: the files whose reads fail are
//! reported with the reason, short reads are completed, every other file's
//! results equal the plain-Rust references, and the totals count exactly the
//! good files — on every read engine, on the CPU reference and on wgpu.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use vyre::scan::{scan, FaultInjection, FileReport, ScanConfig};
use vyre_core::feeder::FaultKind;

mod support;
use support::{check_against_reference, tmpdir};

static GPU: Mutex<()> = Mutex::new(());

const CHUNK: u64 = 4096;

/// 24 files of 0..~5 chunks, names in walk order.
fn make_files(dir: &Path) -> Vec<PathBuf> {
    (0..24u64)
        .map(|i| {
            let len = (i * 2711) % (5 * CHUNK) + i % 3;
            let data: Vec<u8> = (0..len)
                .map(|k| b"ab\nabab x\x80"[((k * 7 + i) % 10) as usize])
                .collect();
            let p = dir.join(format!("f{i:02}"));
            std::fs::write(&p, data).unwrap();
            p
        })
        .collect()
}

/// Fails file 3 at its second chunk, file 7 at its first read, file 20 with
/// EINVAL (22) at its third chunk (EIO is 5); the first read of every odd
/// chunk comes back short. Counts injections.
fn hook(short: Arc<AtomicU64>, errors: Arc<AtomicU64>) -> FaultInjection {
    FaultInjection(Arc::new(move |file, off| {
        let fail = match file {
            // Reads start up to a few bytes early (look-behind).
            3 => off >= CHUNK - 64,
            7 => true,
            20 => off >= 2 * CHUNK - 64,
            _ => false,
        };
        if fail {
            errors.fetch_add(1, Ordering::Relaxed);
            return Some(FaultKind::Error(if file == 20 { 22 } else { 5 }));
        }
        // The first read of every odd chunk (look-behind included) is short.
        let starts = off % CHUNK == 0 || off % CHUNK >= CHUNK - 64;
        if starts && ((off + 64) / CHUNK) % 2 == 1 {
            short.fetch_add(1, Ordering::Relaxed);
            return Some(FaultKind::ShortRead);
        }
        None
    }))
}

fn run<B: vyre::Backend + Send>(backend: B, dir: &Path, read_threads: u32, fallback: bool) {
    let (short, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let pats: [&[u8]; 2] = [b"abab", b"\nab"];
    let cfg = ScanConfig {
        lines: true,
        histogram: true,
        crc32: true,
        patterns: pats.iter().map(|p| p.to_vec()).collect(),
        chunk_size: CHUNK as u32,
        batch_bytes: 48 << 10,
        read_threads,
        force_fallback: fallback,
        inject: Some(hook(short.clone(), errors.clone())),
        ..ScanConfig::default()
    };
    let mut out: Vec<FileReport> = Vec::new();
    let summary = scan(
        backend,
        &[dir.to_path_buf()],
        &cfg,
        |r| out.push(r.clone()),
        |_, _| {},
    )
    .expect("the scan goes on past failed files");
    let what = format!("read_threads={read_threads} fallback={fallback}");
    let names = |rs: &[&FileReport]| -> Vec<String> {
        rs.iter()
            .map(|r| r.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    let failed: Vec<&FileReport> = out.iter().filter(|r| r.error.is_some()).collect();
    assert_eq!(names(&failed), ["f03", "f07", "f20"], "{what}");
    for r in &failed {
        let e = r.error.as_deref().unwrap_or("");
        assert!(
            e.contains("Input/output error") || e.contains("Invalid argument"),
            "{what}: {e}"
        );
    }
    let good: Vec<FileReport> = out.iter().filter(|r| r.error.is_none()).cloned().collect();
    assert_eq!(good.len(), 21, "{what}");
    check_against_reference(&good, &pats);
    let good_bytes: u64 = good
        .iter()
        .map(|r| std::fs::metadata(&r.path).unwrap().len())
        .sum();
    assert_eq!(
        (summary.files, summary.failed, summary.bytes),
        (24, 3, good_bytes),
        "{what}"
    );
    assert!(
        short.load(Ordering::Relaxed) > 5,
        "{what}: short reads injected"
    );
    assert!(
        errors.load(Ordering::Relaxed) >= 3,
        "{what}: errors injected"
    );
    eprintln!(
        "{what}: {} short reads and {} errors injected; 21 files exact, 3 reported",
        short.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed)
    );
}

#[test]
fn injected_read_faults_fail_only_their_files_on_every_engine() {
    let dir = tmpdir("faults");
    make_files(&dir);
    for (threads, fallback) in [(0, false), (0, true), (3, false), (3, true)] {
        run(vyre::cpu::CpuBackend::new(), &dir, threads, fallback);
    }
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let gpu = vyre::gpu::WgpuBackend::new().expect("a wgpu adapter");
    run(gpu, &dir, 2, false);
    let _ = std::fs::remove_dir_all(&dir);
}
