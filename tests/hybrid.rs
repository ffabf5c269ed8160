//! The native backend's thread count (`vyre scan --threads`, `Scan::threads`)
//! and the native backend next to other devices on one scan: every
//! per-file result equals the CPU reference's.

mod support;

use std::path::Path;

use vyre::scan::{
    scan_cpu_backend, scan_engines, Device, Engine, FileReport, Scan, ScanConfig, ScanFile,
    ScanSummary,
};

/// Files of text-like bytes, sizes around `chunk` and several chunks long.
fn tree(name: &str, chunk: usize, files: usize) -> std::path::PathBuf {
    let dir = support::tmpdir(name);
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..files {
        let n = match i % 5 {
            0 => i,
            1 => chunk - 1,
            2 => chunk + 3,
            3 => 3 * chunk + 7,
            _ => 9 * chunk + (i * 37) % chunk,
        };
        let d: Vec<u8> = (0..n)
            .map(|_| {
                let r = rnd();
                match r % 13 {
                    0 => b'\n',
                    1 => 0xE2,
                    _ => b"GPL the License "[(r >> 11) as usize % 16],
                }
            })
            .collect();
        std::fs::write(dir.join(format!("f{i:03}")), d).unwrap();
    }
    dir
}

/// Lines, CRC-32, histogram and two patterns of every file on `devices`,
/// with `threads` native threads, and the summary's device names.
fn scan(
    dir: &std::path::Path,
    devices: &str,
    threads: usize,
    chunk: u32,
) -> (Vec<ScanFile>, Vec<(String, u64)>) {
    let mut files = Scan::new([dir])
        .config(|c| {
            c.lines = true;
            c.crc32 = true;
            c.histogram = true;
            c.patterns = vec![b"GPL".to_vec(), b"e L".to_vec()];
            c.chunk_size = chunk;
            c.batch_bytes = 8 * chunk as usize;
            c.later_min_bytes = 0;
        })
        .devices(devices)
        .threads(threads)
        .run()
        .expect("scan starts");
    let out: Vec<ScanFile> = files.by_ref().collect();
    let summary = files.finish().expect("scan ends");
    let devices = summary
        .devices
        .iter()
        .map(|d| (d.name.clone(), d.batches))
        .collect();
    (out, devices)
}

/// Any thread count gives the CPU reference's results, and the summary
/// names the count asked for (0: one per core).
#[test]
fn thread_counts_give_the_reference_results() {
    let dir = tree("hybrid-threads", 1024, 40);
    let (reference, _) = scan(&dir, "cpu", 0, 1024);
    assert_eq!(reference.len(), 40);
    for threads in [1usize, 3, 0] {
        let (native, devices) = scan(&dir, "native", threads, 1024);
        assert_eq!(native, reference, "{threads} threads");
        let want = vyre::scan::native_name(match threads {
            0 => vyre::scan::default_native_threads(),
            n => n,
        });
        assert_eq!(devices.len(), 1);
        assert!(devices[0].0.starts_with(&want), "{devices:?} vs {want}");
    }
}

/// Too many threads, or a thread count for a scan without the native
/// backend, are refused before the scan starts, with a `Fix:`.
#[test]
fn bad_thread_counts_are_refused() {
    let dir = tree("hybrid-bad-threads", 64, 2);
    let err = |devices: &str, threads: usize| {
        let scan = Scan::new([&dir]).config(|c| c.lines = true);
        match scan.devices(devices).threads(threads).run() {
            Ok(_) => panic!("{devices} with {threads} threads was accepted"),
            Err(e) => e.to_string(),
        }
    };
    let e = err("native", vyre::scan::MAX_NATIVE_THREADS + 1);
    assert!(
        e.contains("more than the maximum 1024") && e.contains("Fix:"),
        "{e}"
    );
    let e = err("cpu", 4);
    assert!(
        e.contains("runs no native backend") && e.contains("Fix:"),
        "{e}"
    );
    // The command line says the same, with exit status 2.
    let out = support::vyre_bin()
        .args(["scan", "--backend", "cpu", "--threads", "2"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("runs no native backend") && stderr.contains("Fix:"),
        "{stderr}"
    );
    let out = support::vyre_bin()
        .args(["scan", "--json", "--backend", "native", "--threads", "1"])
        .arg(&dir)
        .output()
        .unwrap();
    support::assert_ok(&out, "--threads 1");
    let text = String::from_utf8_lossy(&out.stdout);
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["summary"]["devices"][0]["name"], "native (1 thread)");
}

/// The standard analyses with small chunks and batches (many batches,
/// files across batches: the CRC-32 combine order matters), host arenas.
fn small_batches() -> ScanConfig {
    ScanConfig {
        lines: true,
        histogram: true,
        crc32: true,
        patterns: vec![b"GPL".to_vec(), b"e L".to_vec(), b"\xE2".to_vec()],
        chunk_size: 4096,
        batch_bytes: 8192,
        // Tiny trees: open later devices all the same.
        later_min_bytes: 0,
        ..ScanConfig::default()
    }
}

fn run(engines: Vec<Engine>, dir: &Path, cfg: &ScanConfig) -> (Vec<FileReport>, ScanSummary) {
    let mut out = Vec::new();
    let summary = scan_engines(
        engines,
        &[dir.to_path_buf()],
        cfg,
        |r| out.push(r.clone()),
        |_, _| {},
    )
    .expect("scan");
    (out, summary)
}

/// A device that opens while native code already scans joins the same
/// batch queue: both run batches, and every per-file result (CRC-32
/// across batches run by different engines included) is the CPU
/// reference's, in the same order.
#[test]
fn a_later_device_joins_native_code_with_the_reference_results() {
    let dir = tree("hybrid-later", 4096, 60);
    let cfg = small_batches();
    let (want, _) = run(
        vec![Engine::Device(Box::new(scan_cpu_backend()))],
        &dir,
        &cfg,
    );
    let later = Engine::Later {
        open: Box::new(|| Ok(vec![Box::new(scan_cpu_backend()) as Device])),
        workers: 1,
    };
    let (got, summary) = run(vec![later, Engine::Native { threads: 1 }], &dir, &cfg);
    assert_eq!(got, want);
    let d = &summary.devices;
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].name, "cpu-reference", "the device joined: {d:?}");
    assert!(
        d[0].batches > 0 && d[1].batches > 0,
        "both ran batches: {d:?}"
    );
    assert_eq!(d[0].bytes + d[1].bytes, summary.bytes);
}

/// A scan under `later_min_bytes` that native code runs whole does not
/// open its later devices at all (the opener is never called): the summary
/// says so, and native code gives the reference results.
#[test]
fn a_small_scan_does_not_open_its_later_devices() {
    let dir = tree("hybrid-small", 4096, 8);
    let total: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let cfg = ScanConfig {
        later_min_bytes: total + 1,
        ..small_batches()
    };
    let (want, _) = run(
        vec![Engine::Device(Box::new(scan_cpu_backend()))],
        &dir,
        &cfg,
    );
    let opened = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A CPU-reference device opening later whose opener records that it ran.
    let later = |workers: usize| {
        let flag = opened.clone();
        Engine::Later {
            open: Box::new(move || {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(vec![Box::new(scan_cpu_backend()) as Device])
            }),
            workers,
        }
    };
    let (got, summary) = run(vec![later(2), Engine::Native { threads: 2 }], &dir, &cfg);
    assert_eq!(got, want);
    assert!(!opened.load(std::sync::atomic::Ordering::SeqCst));
    let d = &summary.devices;
    assert_eq!(d.len(), 3, "{d:?}");
    assert!(
        d[..2]
            .iter()
            .all(|x| x.name == vyre::scan::NOT_NEEDED && x.batches == 0),
        "{d:?}"
    );
    assert_eq!(d[2].bytes, summary.bytes);
    // One byte over the threshold: opened (it may or may not join in time).
    let cfg = ScanConfig {
        later_min_bytes: total,
        ..cfg
    };
    let (got, summary) = run(vec![later(1), Engine::Native { threads: 1 }], &dir, &cfg);
    assert_eq!(got, want);
    assert_ne!(summary.devices[0].name, vyre::scan::NOT_NEEDED);
    for _ in 0..500 {
        if opened.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        opened.load(std::sync::atomic::Ordering::SeqCst),
        "the opener ran"
    );
}

/// A GPU that joins native code as the scan's only device brings upload
/// arenas of its own: the reader fills them for it (the summary says
/// zero-copy) while native code keeps host memory, and every per-file
/// result is the CPU reference's.
#[test]
fn a_joining_gpu_reads_its_batches_straight_into_its_arenas() {
    if support::gpu().is_none() {
        return;
    }
    let _gpu = support::GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tree("hybrid-zero-copy", 4096, 100);
    let cfg = small_batches();
    let (want, _) = run(
        vec![Engine::Device(Box::new(scan_cpu_backend()))],
        &dir,
        &cfg,
    );
    // Reads slow enough (20 ms a file after the first five) for the GPU to
    // open and join while batches remain.
    let hook: vyre::feeder::FaultHook = std::sync::Arc::new(|file, _| {
        if file >= 5 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    });
    let cfg = ScanConfig {
        inject: Some(vyre::scan::FaultInjection(hook)),
        ..cfg
    };
    let gpu = vyre::gpu::WgpuBackend::new().expect("the adapter support::gpu() found");
    let later = Engine::Later {
        open: Box::new(move || Ok(vec![Box::new(gpu) as Device])),
        workers: 1,
    };
    let (got, summary) = run(vec![later, Engine::Native { threads: 1 }], &dir, &cfg);
    assert_eq!(got, want);
    let d = &summary.devices;
    assert!(d[0].name.starts_with("wgpu"), "{d:?}");
    assert!(d[0].batches > 0, "the GPU joined and ran batches: {d:?}");
    assert!(summary.zero_copy, "its batches came in its upload arenas");
    assert_eq!(d[0].bytes + d[1].bytes, summary.bytes);
}

/// A scan that ends while its GPU still opens leaves the opening thread
/// running: `gpu_still_opening` says so, and `wait_for_gpu_openers` (what a
/// program calls before it exits) returns once it has finished.
#[test]
fn a_program_can_wait_for_a_gpu_still_opening() {
    let dir = tree("hybrid-opening", 4096, 4);
    let later = Engine::Later {
        open: Box::new(|| {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            Ok(vec![Box::new(scan_cpu_backend()) as Device])
        }),
        workers: 1,
    };
    let (_, summary) = run(
        vec![later, Engine::Native { threads: 1 }],
        &dir,
        &small_batches(),
    );
    assert_eq!(summary.devices[0].name, vyre::scan::NOT_OPENED);
    assert!(vyre::scan::gpu_still_opening());
    assert!(vyre::scan::wait_for_gpu_openers(
        std::time::Duration::from_secs(30)
    ));
}

/// A device that cannot open is a failed device: the scan ends on native
/// code with the reference results, and the summary says why.
#[test]
fn a_device_that_fails_to_open_leaves_the_scan_to_native_code() {
    let dir = tree("hybrid-later-fails", 4096, 10);
    let cfg = small_batches();
    let (want, _) = run(
        vec![Engine::Device(Box::new(scan_cpu_backend()))],
        &dir,
        &cfg,
    );
    let later = Engine::Later {
        open: Box::new(|| Err(vyre::Error::no_adapter("no GPU on this test host", "none"))),
        workers: 2,
    };
    let (got, summary) = run(vec![later, Engine::Native { threads: 2 }], &dir, &cfg);
    assert_eq!(got, want);
    let d = &summary.devices;
    assert_eq!(d.len(), 3, "{d:?}");
    assert_eq!(d[2].bytes, summary.bytes);
    // Failed, or still opening when the scan ended (it cannot have run).
    for x in &d[..2] {
        assert_eq!(x.batches, 0);
        assert!(
            x.failed
                .as_deref()
                .is_some_and(|f| f.contains("no GPU on this test host"))
                || x.name == vyre::scan::NOT_OPENED,
            "{x:?}"
        );
    }
    // Only devices opening later: nothing could start the scan.
    let only = Engine::Later {
        open: Box::new(|| Ok(vec![Box::new(scan_cpu_backend()) as Device])),
        workers: 1,
    };
    let e = scan_engines(vec![only], &[dir], &cfg, |_| {}, |_, _| {}).unwrap_err();
    assert!(e.to_string().contains("Fix:"), "{e}");
}

/// llvmpipe and native code together (`--backend gpu+native`,
/// `--adapters llvmpipe,native`) give what native code alone and the CPU
/// reference give.
#[test]
fn gpu_and_native_together_equal_native_and_the_reference() {
    if support::gpu().is_none() {
        return;
    }
    let dir = tree("hybrid-gpu-native", 16384, 25);
    let (reference, _) = scan(&dir, "cpu", 0, 16384);
    let (native, _) = scan(&dir, "native", 0, 16384);
    assert_eq!(native, reference);
    let (both, devices) = scan(&dir, "llvmpipe,native", 0, 16384);
    assert_eq!(both, reference);
    assert_eq!(devices.len(), 3, "{devices:?}");
    let cli = |backend: &str| {
        let out = support::vyre_bin()
            .args([
                "scan",
                "--json",
                "--histogram",
                "--lines",
                "--crc32",
                "-e",
                "GPL",
            ])
            .args([
                "--chunk-size",
                "16384",
                "--batch-bytes",
                "65536",
                "--backend",
                backend,
            ])
            .arg(&dir)
            .output()
            .unwrap();
        support::assert_ok(&out, backend);
        support::json_lines(&out.stdout)
    };
    assert_eq!(cli("gpu+native"), cli("cpu"));
}
