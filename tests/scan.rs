//! `vyre scan` end to end: generated files and real files, GPU (wgpu) and CPU
//! reference, compared with plain-Rust references; failures reported per path.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use vyre::scan::{scan, FileReport, ScanConfig};

mod support;
use support::{
    assert_ok, check_against_reference, json_lines, make_tree, overlapping, tmpdir, vyre_bin,
};

/// wgpu on lavapipe misbehaves when several tests drive it at once.
static GPU: Mutex<()> = Mutex::new(());

fn run_scan<B: vyre::Backend + Send>(
    backend: B,
    paths: &[PathBuf],
    cfg: &ScanConfig,
) -> Vec<FileReport> {
    let mut out = Vec::new();
    let summary = scan(backend, paths, cfg, |r| out.push(r.clone()), |_, _| {}).unwrap();
    assert_eq!(summary.files as usize, out.len());
    assert_eq!(
        summary.bytes,
        out.iter()
            .filter(|r| r.error.is_none())
            .map(|r| r.bytes)
            .sum::<u64>()
    );
    out
}

fn full_config(chunk: u32, patterns: &[&[u8]]) -> ScanConfig {
    ScanConfig {
        lines: true,
        histogram: true,
        crc32: true,
        patterns: patterns.iter().map(|p| p.to_vec()).collect(),
        chunk_size: chunk,
        batch_bytes: 64 << 10,
        ..ScanConfig::default()
    }
}

#[test]
fn generated_files_gpu_and_cpu_equal_references() {
    let dir = tmpdir("gen");
    let chunk = 4096;
    make_tree(&dir, chunk);
    let pats: [&[u8]; 4] = [b"abab", b"ab", b"\n", b"xyz\x80"];
    let cfg = full_config(chunk as u32, &pats);
    let cpu = run_scan(
        vyre::cpu::CpuBackend::new(),
        std::slice::from_ref(&dir),
        &cfg,
    );
    check_against_reference(&cpu, &pats);
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let gpu_backend = vyre::gpu::WgpuBackend::new().expect("a wgpu adapter");
    eprintln!("scan test on {}", vyre::Backend::name(&gpu_backend));
    let gpu = run_scan(&gpu_backend, std::slice::from_ref(&dir), &cfg);
    check_against_reference(&gpu, &pats);
    assert_eq!(cpu, gpu);
    // The default reads straight into GPU upload arenas (zero-copy); the
    // other way copies host arenas into staging memory.
    assert!(cfg.zero_copy);
    let copied = ScanConfig {
        zero_copy: false,
        ..cfg.clone()
    };
    assert_eq!(
        cpu,
        run_scan(&gpu_backend, std::slice::from_ref(&dir), &copied)
    );
    // Every read engine gives the same results: one io_uring ring, plain
    // pread, 3 threads with a ring each and 3 pread threads.
    for (read_threads, force_fallback) in [(0, false), (0, true), (3, false), (3, true)] {
        let engine = ScanConfig {
            read_threads,
            force_fallback,
            ..cfg.clone()
        };
        let got = run_scan(
            vyre::cpu::CpuBackend::new(),
            std::slice::from_ref(&dir),
            &engine,
        );
        assert_eq!(
            cpu, got,
            "read_threads={read_threads} fallback={force_fallback}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn more_patterns_than_one_payload_holds_are_all_counted() {
    // 20 patterns: two pattern payloads (16 + 4), lengths 1 to 9, so the
    // groups have different look-behinds and counters past the first group.
    let dir = tmpdir("many-patterns");
    let chunk = 4096;
    make_tree(&dir, chunk);
    let owned: Vec<Vec<u8>> = (0..20u8)
        .map(|i| {
            let base: &[u8] = [&b"ab"[..], b"ba", b"\n", b"abab", b"b\na"][usize::from(i % 5)];
            base.iter()
                .cycle()
                .take(1 + usize::from(i % 9))
                .copied()
                .collect()
        })
        .collect();
    let pats: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    let cfg = full_config(chunk as u32, &pats);
    let cpu = run_scan(
        vyre::cpu::CpuBackend::new(),
        std::slice::from_ref(&dir),
        &cfg,
    );
    check_against_reference(&cpu, &pats);
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let gpu = run_scan(
        vyre::gpu::WgpuBackend::new().expect("a wgpu adapter"),
        std::slice::from_ref(&dir),
        &cfg,
    );
    assert_eq!(cpu, gpu);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cli_real_files_gpu_json_equals_cpu_json() {
    // Real files from the machine, cut into small chunks so patterns cross chunk boundaries.
    let real = PathBuf::from("/usr/share/common-licenses");
    if !real.is_dir() {
        eprintln!("skipping: {real:?} not present");
        return;
    }
    let args = [
        "scan",
        "--json",
        "--lines",
        "--crc32",
        "--histogram",
        "-e",
        "License",
        "-e",
        "the",
        "--chunk-size",
        "8192",
    ];
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let gpu = vyre_bin()
        .args(args)
        .args(["--backend", "gpu"])
        .arg(&real)
        .output()
        .unwrap();
    let cpu = vyre_bin()
        .args(args)
        .args(["--backend", "cpu"])
        .arg(&real)
        .output()
        .unwrap();
    assert_ok(&gpu, "gpu");
    assert_ok(&cpu, "cpu");
    let (g, c) = (json_lines(&gpu.stdout), json_lines(&cpu.stdout));
    assert_eq!(g, c, "GPU and CPU JSON differ");
    // Host arenas copied into staging (not the default zero-copy), with
    // three batches in flight on the one GPU.
    let copied = vyre_bin()
        .args(args)
        .args(["--backend", "gpu", "--no-zero-copy", "--in-flight", "3"])
        .arg(&real)
        .output()
        .unwrap();
    assert_ok(&copied, "copied");
    assert_eq!(json_lines(&copied.stdout), c, "--no-zero-copy JSON differs");
    assert!(g.len() > 3);
    for v in &g[..g.len() - 1] {
        let path = v["path"].as_str().unwrap();
        let d = std::fs::read(path).unwrap();
        assert_eq!(v["bytes"], d.len() as u64);
        assert_eq!(
            v["lines"],
            d.iter().filter(|&&b| b == b'\n').count() as u64,
            "{path}"
        );
        assert_eq!(v["crc32"], crc32fast::hash(&d) as u64, "{path}");
        assert_eq!(
            v["matches"]["License"],
            overlapping(&d, b"License"),
            "{path}"
        );
        assert_eq!(v["matches"]["the"], overlapping(&d, b"the"), "{path}");
        let h: Vec<u64> = (0..256)
            .map(|b| d.iter().filter(|&&x| x as usize == b).count() as u64)
            .collect();
        assert_eq!(v["histogram"], serde_json::json!(h), "{path}");
    }
    let summary = &g[g.len() - 1]["summary"];
    assert_eq!(summary["failed"], 0);
}

#[test]
fn cli_reports_each_bad_path_and_exits_nonzero() {
    let dir = tmpdir("bad");
    std::fs::write(dir.join("good.txt"), b"one\ntwo\n").unwrap();
    let fifo = dir.join("pipe");
    let ok = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let missing = dir.join("does-not-exist");
    let mut cmd = vyre_bin();
    cmd.args(["scan", "--json", "--backend", "cpu"])
        .arg(dir.join("good.txt"))
        .arg(&missing)
        .arg("/dev/null");
    if ok {
        cmd.arg(&fifo);
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out.stdout);
    let find = |p: &Path| {
        lines
            .iter()
            .find(|v| v["path"] == p.to_string_lossy().as_ref())
            .cloned()
    };
    let good = find(&dir.join("good.txt")).expect("good file reported");
    assert_eq!(good["lines"], 2);
    let m = find(&missing).expect("missing path reported");
    assert!(
        m["error"].as_str().unwrap().contains("No such file")
            || m["error"].as_str().unwrap().contains("not found"),
        "{m}"
    );
    let dev = find(Path::new("/dev/null")).expect("device reported");
    assert!(dev["error"].as_str().unwrap().contains("device"), "{dev}");
    if ok {
        let f = find(&fifo).expect("fifo reported");
        assert!(f["error"].as_str().unwrap().contains("FIFO"), "{f}");
    }
    let summary = &lines[lines.len() - 1]["summary"];
    assert_eq!(summary["failed"], if ok { 3 } else { 2 });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cli_rejects_bad_options_with_fix() {
    let out = vyre_bin()
        .args([
            "scan",
            "--chunk-size",
            "1001",
            "--backend",
            "cpu",
            "/usr/share/common-licenses",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Fix:"), "{err}");
    let out = vyre_bin()
        .args([
            "scan",
            "-e",
            "",
            "--backend",
            "cpu",
            "/usr/share/common-licenses",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Fix:"));
}

#[test]
fn cli_runtime_payload_from_vir0_runs_on_gpu_and_cpu() {
    // A payload that was never compiled into the binary: text IR → VIR0 → scan.
    let dir = tmpdir("vir0");
    let vir0 = dir.join("count_zero_bytes.vir0");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/payloads/count_zero_bytes.vyre");
    let out = vyre_bin()
        .arg("compile")
        .arg(&src)
        .arg("-o")
        .arg(&vir0)
        .output()
        .unwrap();
    assert_ok(&out, "out");
    let data: Vec<u8> = (0..50_001u32)
        .map(|i| if i % 7 == 0 { 0 } else { (i % 251) as u8 + 1 })
        .collect();
    let file = dir.join("data.bin");
    std::fs::write(&file, &data).unwrap();
    let want = data.iter().filter(|&&b| b == 0).count() as u64;
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    // Interpreted (default) and fused, small and default chunks, GPU and CPU.
    for (backend, mode, chunk) in [
        ("gpu", "--quiet", "4096"),
        ("gpu", "--quiet", "262144"),
        ("gpu", "--fused", "4096"),
        ("cpu", "--quiet", "4096"),
        ("cpu", "--fused", "4096"),
    ] {
        let out = vyre_bin()
            .args([
                "scan",
                "--json",
                mode,
                "--chunk-size",
                chunk,
                "--backend",
                backend,
                "--payload",
            ])
            .arg(&vir0)
            .arg(&file)
            .output()
            .unwrap();
        assert_ok(&out, "out");
        let lines = json_lines(&out.stdout);
        assert_eq!(
            lines[0]["payloads"]["count_zero_bytes"],
            serde_json::json!([want]),
            "{backend} {mode} {chunk}"
        );
    }
    // A corrupt file is refused with a Fix, not run.
    let mut bytes = std::fs::read(&vir0).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&vir0, &bytes).unwrap();
    let out = vyre_bin()
        .args(["scan", "--backend", "cpu", "--payload"])
        .arg(&vir0)
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Fix:"));
    let _ = std::fs::remove_dir_all(&dir);
}
