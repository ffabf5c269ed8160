//! Payloads that loop long or forever, through the real `vyre` binary on
//! real files, on every backend (the GPU here is llvmpipe, which cuts loops
//! past 65535 iterations without a word): a result is exact or its file is
//! reported failed with the reason, the other files keep their results.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn payload(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/payloads")
        .join(name)
}

/// Runs `vyre scan --json` with `args`; returns exit code and the JSON objects.
fn scan(args: &[&str], paths: &[&Path]) -> (i32, Vec<Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vyre"))
        .args(["scan", "--json", "--quiet"])
        .args(args)
        .args(paths)
        .output()
        .expect("run vyre");
    let objects = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), objects, stderr)
}

fn file<'a>(objects: &'a [Value], path: &Path) -> &'a Value {
    objects
        .iter()
        .find(|o| o["path"] == path.to_str().unwrap())
        .unwrap_or_else(|| panic!("no result for {}: {objects:?}", path.display()))
}

const BACKENDS: &[&[&str]] = &[
    &["--backend", "gpu"],
    &["--backend", "gpu", "--fused"],
    &["--backend", "cpu"],
];

/// A payload that loops forever on files starting with `x` fails exactly
/// those files, with the payload's name, the offset and a Fix; the others
/// get their results; exit code 1; on every backend, in bounded time.
#[test]
fn a_runaway_payload_fails_only_the_files_it_runs_away_on() {
    let dir = support::tmpdir("runaway");
    let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
    std::fs::write(&a, b"xhello\n").unwrap();
    std::fs::write(&b, b"hello\nworld\n").unwrap();
    std::fs::write(&c, b"yes\n").unwrap();
    let spin = payload("spin_on_x.vyre");
    for backend in BACKENDS {
        let mut args = vec!["--lines", "--payload", spin.to_str().unwrap()];
        args.extend_from_slice(backend);
        args.extend(["--iteration-budget", "200000"]);
        let t = std::time::Instant::now();
        let (code, objects, stderr) = scan(&args, &[&a, &b, &c]);
        assert_eq!(code, 1, "{backend:?}: {stderr}");
        let err = file(&objects, &a)["error"].as_str().expect("a failed");
        assert!(
            err.contains("payload spin_on_x exceeded its iteration budget")
                && err.contains("at offset 0")
                && err.contains("Fix:"),
            "{backend:?}: {err}"
        );
        assert_eq!(file(&objects, &b)["lines"], 2, "{backend:?}");
        assert_eq!(file(&objects, &b)["payloads"]["spin_on_x"][0], 1);
        assert_eq!(file(&objects, &c)["payloads"]["spin_on_x"][0], 1);
        let summary = &objects.last().unwrap()["summary"];
        assert_eq!(
            (summary["files"].clone(), summary["failed"].clone()),
            (3.into(), 1.into())
        );
        assert!(
            t.elapsed().as_secs() < 120,
            "{backend:?}: {:?}",
            t.elapsed()
        );
    }
}

/// A loop of 100 000 iterations (llvmpipe stops loops after 65 535) gives
/// 100 000 interpreted, fused and on the CPU reference.
#[test]
fn long_loops_are_exact_on_every_backend() {
    let dir = support::tmpdir("long-loop");
    let f = dir.join("f");
    std::fs::write(&f, b"some bytes\n").unwrap();
    let long = payload("long_loop.vyre");
    for backend in BACKENDS {
        let mut args = vec!["--payload", long.to_str().unwrap()];
        args.extend_from_slice(backend);
        let (code, objects, stderr) = scan(&args, &[&f]);
        assert_eq!(code, 0, "{backend:?}: {stderr}");
        assert_eq!(
            file(&objects, &f)["payloads"]["long_loop"][0],
            100_000,
            "{backend:?}"
        );
    }
}

/// Run-time payloads on the interpreter (the default), fused and on the CPU
/// reference agree at the default chunk size over files of many chunks
/// (a slot over 22 KB used to give 0 on llvmpipe), and equal plain Rust.
#[test]
fn the_interpreter_equals_fused_and_cpu_over_many_chunks() {
    let dir = support::tmpdir("interp-many-chunks");
    let mut files = Vec::new();
    for (i, size) in [30_000usize, 150_001].iter().enumerate() {
        let bytes: Vec<u8> = (0..*size)
            .map(|k| match (k * 7 + i) % 11 {
                0 => b' ',
                1 => 0,
                _ => b'a' + (k % 26) as u8,
            })
            .collect();
        let p = dir.join(format!("f{i}"));
        std::fs::write(&p, &bytes).unwrap();
        files.push((p, bytes));
    }
    let paths: Vec<&Path> = files.iter().map(|f| f.0.as_path()).collect();
    let spaces = payload("space_count.vyre");
    let zeros =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/payloads/count_zero_bytes.vyre");
    for backend in BACKENDS {
        let mut args = vec![
            "--payload",
            spaces.to_str().unwrap(),
            "--payload",
            zeros.to_str().unwrap(),
        ];
        args.extend_from_slice(backend);
        let (code, objects, stderr) = scan(&args, &paths);
        assert_eq!(code, 0, "{backend:?}: {stderr}");
        for (p, bytes) in &files {
            let o = file(&objects, p);
            let count = |b: u8| bytes.iter().filter(|&&x| x == b).count() as u64;
            assert_eq!(
                o["payloads"]["space_count"][0],
                count(b' '),
                "{backend:?} {}",
                p.display()
            );
            assert_eq!(
                o["payloads"]["count_zero_bytes"][0],
                count(0),
                "{backend:?}"
            );
        }
    }
}

/// The standard payloads run as run-time payloads: interpreted on the GPU
/// (the default), fused on the GPU and on the CPU reference give the same
/// per-file results at the scan's default chunk size, over files of several
/// chunks. `crc32` runs 9 loop iterations per byte in one lane, far past
/// llvmpipe's loop limit per chunk (its slots are cut, rerun, then run on
/// the CPU reference). `crc32_blocks` reads a constant table of 1024 words
/// on every path.
#[test]
fn standard_payloads_interpreted_equal_fused_and_cpu() {
    use vyre::scan::{scan, scan_cpu_backend, FileReport, ScanConfig};
    let dir = support::tmpdir("std-interp");
    let mut paths = Vec::new();
    for (i, size) in [20_000usize, 150_003].iter().enumerate() {
        let bytes: Vec<u8> = (0..*size)
            .map(|k| (k.wrapping_mul(2654435761) >> (i + 3)) as u8)
            .collect();
        let p = dir.join(format!("f{i}"));
        std::fs::write(&p, &bytes).unwrap();
        paths.push(p);
    }
    let gpu = vyre::gpu::WgpuBackend::new().expect("a wgpu adapter");
    let run = |payloads: Vec<vyre::Payload>, fused: bool, on_gpu: bool, files: &[PathBuf]| {
        let cfg = ScanConfig {
            lines: false,
            crc32: false,
            payloads,
            fused_payloads: fused,
            ..ScanConfig::default()
        };
        let mut got: Vec<FileReport> = Vec::new();
        let summary = if on_gpu {
            scan(&gpu, files, &cfg, |r| got.push(r.clone()), |_, _| {})
        } else {
            scan(
                scan_cpu_backend(),
                files,
                &cfg,
                |r| got.push(r.clone()),
                |_, _| {},
            )
        }
        .expect("scan");
        assert_eq!(summary.failed, 0, "{got:?}");
        got.into_iter().map(|r| r.custom).collect::<Vec<_>>()
    };
    let many = vec![
        vyre::payloads::line_count::payload(),
        vyre::payloads::byte_histogram::payload(),
        vyre::payloads::non_ascii_count::payload(),
    ];
    let want = run(many.clone(), true, false, &paths);
    assert_eq!(
        run(many.clone(), false, true, &paths),
        want,
        "interpreted on the GPU"
    );
    assert_eq!(run(many, true, true, &paths), want, "fused on the GPU");
    // The bit-by-bit CRC over the small file (its one lane loops 180 000 times).
    let crc = vec![vyre::payloads::crc32::payload()];
    let small = &paths[..1];
    let want = run(crc.clone(), true, false, small);
    assert_eq!(
        run(crc.clone(), false, true, small),
        want,
        "interpreted on the GPU"
    );
    assert_eq!(run(crc, true, true, small), want, "fused on the GPU");
    // A payload with a constant table (slice-by-4 CRC, 1024 words). Its
    // parts depend on the chunking, which differs between llvmpipe (64 KiB
    // chunks) and the CPU reference: every file on the GPU both ways, the
    // one-chunk file against the CPU reference.
    let tables = vec![vyre::scan::crc::crc32_blocks::payload()];
    let want = run(tables.clone(), true, true, &paths);
    assert_eq!(
        run(tables.clone(), false, true, &paths),
        want,
        "interpreted on the GPU"
    );
    assert_eq!(
        run(tables.clone(), true, false, small),
        want[..1],
        "fused on the CPU reference"
    );
}
