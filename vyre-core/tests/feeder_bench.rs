//! Throughput of the feeder (ignored by default):
//! `cargo test --release -p vyre-core --test feeder_bench -- --ignored --nocapture`

use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use vyre_core::feeder::{Feeder, FeederConfig, FileEntry};

fn setup(tag: &str, count: usize, size: usize) -> (PathBuf, Vec<FileEntry>) {
    let dir = std::env::temp_dir().join(format!("vyre-feeder-bench-{tag}-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let data: Vec<u8> = (0..size).map(|i| (i * 7 + i / 4096) as u8).collect();
    let files = (0..count)
        .map(|i| {
            let path = dir.join(format!("{i:06}"));
            fs::write(&path, &data).unwrap();
            FileEntry::new(path, size as u64)
        })
        .collect();
    (dir, files)
}

fn measure(label: &str, files: &[FileEntry], cfg: FeederConfig, arena: &mut [u8]) {
    let mut best = f64::MAX;
    let mut backend = "";
    let mut stats = None;
    for _ in 0..3 {
        let mut f = Feeder::new(files.to_vec(), cfg.clone()).unwrap();
        backend = f.backend_name();
        let t = Instant::now();
        let mut bytes = 0;
        while !f.is_done() {
            let b = f.fill(arena).unwrap();
            assert!(b.failures.is_empty(), "{:?}", b.failures);
            bytes += b.bytes;
        }
        assert_eq!(bytes, files.iter().map(|f| f.size).sum::<u64>());
        best = best.min(t.elapsed().as_secs_f64());
        stats = Some(f.stats());
    }
    let total: u64 = files.iter().map(|f| f.size).sum();
    let st = stats.unwrap();
    println!(
        "{label:<34} {backend:<8} {:>8.0} MiB/s {:>9.0} files/s  (reads {}, fixed {}, batches {})",
        total as f64 / best / (1 << 20) as f64,
        files.len() as f64 / best,
        st.reads,
        st.fixed_reads,
        st.batches
    );
}

/// Baseline: `std::fs::read` of every file, one after another.
fn naive(label: &str, files: &[FileEntry]) {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let n: usize = files.iter().map(|f| fs::read(&f.path).unwrap().len()).sum();
        assert_eq!(n as u64, files.iter().map(|f| f.size).sum::<u64>());
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{label:<34} {:<8} {:>8.0} MiB/s {:>9.0} files/s",
        "fs::read",
        files.iter().map(|f| f.size).sum::<u64>() as f64 / best / (1 << 20) as f64,
        files.len() as f64 / best
    );
}

#[test]
#[ignore]
fn feeder_throughput() {
    let mut arena = vec![0u8; 64 << 20];
    let (big_dir, big) = setup("big", 8, 128 << 20);
    let (small_dir, small) = setup("small", 20_000, 4096);
    let (tiny_dir, tiny) = setup("tiny", 20_000, 100);
    for (name, files) in [
        ("8 x 128 MiB, page cache", &big),
        ("20000 x 4 KiB, page cache", &small),
        ("20000 x 100 B, page cache", &tiny),
    ] {
        for fallback in [false, true] {
            let cfg = FeederConfig {
                look_behind: 64,
                force_fallback: fallback,
                ..Default::default()
            };
            measure(name, files, cfg, &mut arena);
        }
        // The reader threads `vyre scan` uses by default (a ring each), and
        // the same pool reading with pread.
        let threads = std::thread::available_parallelism().map_or(4, |n| n.get().min(8)) as u32;
        for fallback in [false, true] {
            let cfg = FeederConfig {
                look_behind: 64,
                read_threads: threads,
                force_fallback: fallback,
                ..Default::default()
            };
            measure(
                &format!("{name}, {threads} threads"),
                files,
                cfg,
                &mut arena,
            );
        }
        if let Ok(qd) = std::env::var("QD") {
            for q in qd.split(',') {
                let cfg = FeederConfig {
                    look_behind: 64,
                    queue_depth: q.parse().unwrap(),
                    ..Default::default()
                };
                measure(&format!("{name} qd={q}"), files, cfg, &mut arena);
            }
        }
        naive(name, files);
    }
    for fallback in [false, true] {
        let cfg = FeederConfig {
            look_behind: 64,
            force_fallback: fallback,
            o_direct: true,
            ..Default::default()
        };
        measure("8 x 128 MiB, O_DIRECT", &big, cfg, &mut arena);
    }
    for d in [big_dir, small_dir, tiny_dir] {
        fs::remove_dir_all(d).unwrap();
    }
}
