//! The feeder against hostile inputs: files whose size the kernel lies about
//! (procfs, sysfs), files that grow or shrink while being read, bytes held
//! in memory, batch chunk limits and unusable configurations.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use vyre_core::feeder::*;

/// (force_fallback, read_threads): io_uring, pread, 4 ring threads, 4 pread threads.
const ENGINES: [(bool, u32); 4] = [(false, 0), (true, 0), (false, 4), (true, 4)];

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "vyre-hostile-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn cfg(fallback: bool, threads: u32) -> FeederConfig {
    FeederConfig {
        chunk_size: 4096,
        queue_depth: 8,
        look_behind: 12,
        force_fallback: fallback,
        read_threads: threads,
        ..Default::default()
    }
}

/// Feeds `files` and rebuilds every file from its chunks (checking order,
/// look-behind and limits); returns the contents of files that did not fail
/// (None for failed ones), the failures, and the largest batch.
/// Per file: its bytes, or None if it failed.
type Contents = Vec<Option<Vec<u8>>>;

fn feed(
    files: Vec<FileEntry>,
    c: FeederConfig,
    arena_len: usize,
) -> (Contents, Vec<(usize, String)>, usize) {
    let n = files.len();
    let mut f = Feeder::new(files, c.clone()).unwrap();
    let mut arena = vec![0x5Au8; arena_len];
    let mut out: Vec<Vec<u8>> = vec![Vec::new(); n];
    let mut chunks = vec![0u64; n];
    let mut failures = Vec::new();
    let mut largest = 0;
    while !f.is_done() {
        let b = f.fill(&mut arena).unwrap();
        assert!(
            !b.chunks.is_empty() || !b.failures.is_empty(),
            "no progress"
        );
        assert!(
            b.chunks.len() <= c.max_chunks_per_batch,
            "{} chunks",
            b.chunks.len()
        );
        largest = largest.max(b.chunks.len());
        for ch in &b.chunks {
            let o = ch.arena_offset;
            let lb = ch.look_behind as usize;
            let file = &mut out[ch.file];
            assert_eq!(ch.file_offset, file.len() as u64, "order of {ch:?}");
            assert_eq!(lb, (c.look_behind as usize).min(file.len()));
            assert_eq!(&arena[o..o + lb], &file[file.len() - lb..], "look-behind");
            file.extend_from_slice(&arena[o + lb..o + lb + ch.len as usize]);
            chunks[ch.file] += 1;
        }
        failures.extend(b.failures);
    }
    let failed: Vec<usize> = failures.iter().map(|f| f.0).collect();
    let res = out
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            if failed.contains(&i) {
                return None;
            }
            assert_eq!(v.len() as u64, f.files()[i].size, "file {i} size");
            assert_eq!(chunks[i], chunk_count(v.len() as u64, c.chunk_size));
            Some(v)
        })
        .collect();
    (res, failures, largest)
}

fn walk(paths: &[&str]) -> (Vec<FileEntry>, Vec<PathFailure>) {
    let p: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    collect_files(&p, &WalkOptions::default())
}

/// /proc files stat as 0 bytes: the walk reads them whole and the feeder
/// delivers those bytes on every engine (they used to scan as 0 bytes).
#[test]
fn proc_files_scan_to_their_real_content() {
    if !Path::new("/proc/version").exists() {
        eprintln!("SKIP: no /proc");
        return;
    }
    let (files, failures) = walk(&["/proc/version", "/proc/cpuinfo", "/proc/self/status"]);
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(files.len(), 3);
    assert_eq!(fs::metadata("/proc/version").unwrap().len(), 0, "stat lies");
    let version = fs::read("/proc/version").unwrap();
    assert!(!version.is_empty());
    assert_eq!(files[0].size, version.len() as u64);
    assert_eq!(files[0].content.as_deref(), Some(&version[..]));
    let cpuinfo = fs::read("/proc/cpuinfo").unwrap();
    // Same lines as a plain read (cpu MHz values may move between reads).
    let lines = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
    let got = files[1].content.as_deref().expect("cpuinfo in memory");
    assert_eq!(lines(got), lines(&cpuinfo));
    assert!(
        got.starts_with(b"processor"),
        "{:?}",
        &got[..20.min(got.len())]
    );
    let status = files[2].content.as_deref().expect("status in memory");
    assert!(status.starts_with(b"Name:"));
    for (fallback, threads) in ENGINES {
        for direct in [false, true] {
            let c = FeederConfig {
                o_direct: direct,
                ..cfg(fallback, threads)
            };
            let (got, failures, _) = feed(files.clone(), c, 3 * 4096);
            assert!(failures.is_empty(), "{failures:?}");
            for (g, f) in got.iter().zip(&files) {
                assert_eq!(g.as_deref(), f.content.as_deref(), "{:?}", f.path);
            }
        }
    }
    // A file given through a link to /proc (/proc/self) is followed.
    let (files, _) = walk(&["/proc/self/cmdline"]);
    assert!(files[0].content.as_ref().is_some_and(|c| !c.is_empty()));
}

/// sysfs attributes stat as 4096 bytes and hold fewer.
#[test]
fn sysfs_files_scan_to_their_real_content() {
    let candidates = [
        "/sys/kernel/mm/transparent_hugepage/enabled",
        "/sys/devices/system/cpu/online",
        "/sys/kernel/osrelease",
        "/sys/power/state",
    ];
    let Some(p) = candidates.iter().find(|p| fs::read(p).is_ok()) else {
        eprintln!("SKIP: no readable sysfs file");
        return;
    };
    let real = fs::read(p).unwrap();
    eprintln!(
        "{p}: stat {} bytes, holds {}",
        fs::metadata(p).unwrap().len(),
        real.len()
    );
    let (files, failures) = walk(&[p]);
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(files[0].content.as_deref(), Some(&real[..]));
    let (got, failures, _) = feed(files, cfg(false, 0), 1 << 16);
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(got[0].as_deref(), Some(&real[..]));
}

/// The in-memory bounds: a file over the per-file bound, and files beyond
/// the walk's total, fail alone with a reason and a fix.
#[test]
fn untrusted_files_over_the_memory_bounds_fail_with_a_fix() {
    if !Path::new("/proc/version").exists() {
        return;
    }
    let opts = WalkOptions {
        max_in_memory_file: 10,
        ..Default::default()
    };
    let (files, failures) = collect_files(&["/proc/version".into()], &opts);
    assert!(files.is_empty());
    assert!(
        failures[0].reason.contains("more than 10 bytes") && failures[0].reason.contains("Fix:"),
        "{}",
        failures[0]
    );
    let n = fs::read("/proc/version").unwrap().len() as u64;
    let opts = WalkOptions {
        max_in_memory_total: n + 5,
        ..Default::default()
    };
    let (files, failures) = collect_files(&["/proc/version".into(), "/proc/version".into()], &opts);
    assert_eq!(files.len(), 1);
    assert_eq!(failures.len(), 1);
    assert!(failures[0].reason.contains("already holds") && failures[0].reason.contains("Fix:"));
}

/// An empty regular file is an ordinary 0-byte entry with one empty chunk; a
/// file that stats 0 bytes but reads more (written since the stat; or a
/// file system that lies) gets the bytes read.
#[test]
fn empty_files_scan_as_zero_bytes() {
    let dir = Scratch::new("empty");
    fs::write(dir.path("e"), b"").unwrap();
    fs::write(dir.path("x"), b"xy").unwrap();
    let (files, failures) = collect_files(std::slice::from_ref(&dir.0), &WalkOptions::default());
    assert!(failures.is_empty());
    assert_eq!(files[0], FileEntry::new(dir.path("e"), 0));
    for (fallback, threads) in ENGINES {
        let mut f = Feeder::new(files.clone(), cfg(fallback, threads)).unwrap();
        let mut arena = vec![0u8; 1 << 16];
        let b = f.fill(&mut arena).unwrap();
        assert!(b.failures.is_empty(), "{:?}", b.failures);
        assert_eq!(b.chunks.len(), 2);
        assert_eq!((b.chunks[0].file, b.chunks[0].len), (0, 0));
        assert_eq!(b.bytes, 2);
        assert!(f.is_done());
    }
}

/// Bytes in memory are delivered without opening the path (it does not
/// exist here), in several chunks with look-behind, on every engine, with
/// and without O_DIRECT, next to ordinary files.
#[test]
fn in_memory_content_is_delivered_on_every_engine() {
    let dir = Scratch::new("mem");
    let data: Vec<u8> = (0..3 * 4096 + 1000).map(|i| (i * 31 % 251) as u8).collect();
    let disk: Vec<u8> = (0..5000).map(|i| (i % 7) as u8).collect();
    fs::write(dir.path("disk"), &disk).unwrap();
    let files = vec![
        FileEntry::new(dir.path("disk"), disk.len() as u64),
        FileEntry {
            path: dir.path("not-there"),
            size: data.len() as u64,
            content: Some(Arc::from(&data[..])),
        },
        FileEntry {
            path: dir.path("also-not-there"),
            size: 0,
            content: Some(Arc::from(&b""[..])),
        },
        FileEntry::new(dir.path("disk"), disk.len() as u64),
    ];
    for (fallback, threads) in ENGINES {
        for direct in [false, true] {
            for arena in [4096 * 3 + 100, 1 << 20] {
                let c = FeederConfig {
                    o_direct: direct,
                    ..cfg(fallback, threads)
                };
                let (got, failures, _) = feed(files.clone(), c, arena);
                assert!(failures.is_empty(), "{failures:?}");
                assert_eq!(got[0].as_deref(), Some(&disk[..]));
                assert_eq!(got[1].as_deref(), Some(&data[..]));
                assert_eq!(got[2].as_deref(), Some(&b""[..]));
                assert_eq!(got[3].as_deref(), Some(&disk[..]));
            }
        }
    }
    let bad = vec![FileEntry {
        path: dir.path("x"),
        size: 5,
        content: Some(Arc::from(&b"abc"[..])),
    }];
    let e = Feeder::new(bad, FeederConfig::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("Fix:"), "{e}");
}

/// A file that grows or shrinks between the walk and its read fails alone
/// with "changed size during the scan", on every engine. The growth is made
/// by the fault hook right before the read is issued, so it is seen by the
/// read itself (the one-byte end-of-file probe), not only by the fstat
/// after it.
#[test]
fn files_growing_or_shrinking_while_read_fail_alone() {
    for (fallback, threads) in ENGINES {
        for direct in [false, true] {
            for chunk_size in [4096, 1 << 20] {
                let dir = Scratch::new("resize");
                let sizes = [300usize, 5000, 700, 9000, 100];
                let mut files = Vec::new();
                let mut want = Vec::new();
                for (i, n) in sizes.iter().enumerate() {
                    let p = dir.path(&format!("f{i}"));
                    let data: Vec<u8> = (0..*n).map(|j| (j + i) as u8).collect();
                    fs::write(&p, &data).unwrap();
                    files.push(FileEntry::new(p, *n as u64));
                    want.push(data);
                }
                let paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
                let once = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
                let o = once.clone();
                // File 1 grows by 3 bytes and file 3 shrinks by 1000 before their first read.
                let hook: FaultHook = Arc::new(move |file, _| {
                    if file == 1 && !o[0].swap(true, Ordering::SeqCst) {
                        let mut f = fs::OpenOptions::new().append(true).open(&paths[1]).unwrap();
                        f.write_all(b"new").unwrap();
                    }
                    if file == 3 && !o[1].swap(true, Ordering::SeqCst) {
                        let f = fs::OpenOptions::new().write(true).open(&paths[3]).unwrap();
                        f.set_len(8000).unwrap();
                    }
                    None
                });
                let c = FeederConfig {
                    o_direct: direct,
                    chunk_size,
                    inject: Some(hook),
                    ..cfg(fallback, threads)
                };
                let (got, mut failures, _) = feed(files, c, 1 << 21);
                failures.sort();
                let what = format!(
                    "fallback {fallback} threads {threads} direct {direct} chunk {chunk_size}"
                );
                assert_eq!(failures.len(), 2, "{what}: {failures:?}");
                assert_eq!(failures[0].0, 1);
                assert_eq!(failures[1].0, 3);
                for (_, r) in &failures {
                    assert!(r.starts_with("changed size during the scan"), "{what}: {r}");
                }
                if !direct {
                    assert_eq!(
                        failures[0].1,
                        "changed size during the scan: expected 5000 bytes, but it holds more (now 5003)",
                        "{what}"
                    );
                }
                for i in [0, 2, 4] {
                    assert_eq!(got[i].as_deref(), Some(&want[i][..]), "{what}");
                }
            }
        }
    }
}

/// `max_chunks_per_batch` bounds every batch; every byte is still delivered
/// exactly once.
#[test]
fn batches_never_exceed_max_chunks() {
    let dir = Scratch::new("maxchunks");
    let mut files = Vec::new();
    let mut want = Vec::new();
    for i in 0..300usize {
        let n = (i * 37) % 900 + if i % 50 == 0 { 9000 } else { 0 };
        let data: Vec<u8> = (0..n).map(|j| (j * 3 + i) as u8).collect();
        let p = dir.path(&format!("f{i:03}"));
        fs::write(&p, &data).unwrap();
        files.push(FileEntry::new(p, n as u64));
        want.push(data);
    }
    for max in [1, 3, 7, 64, usize::MAX] {
        for (fallback, threads) in [(false, 0), (true, 4)] {
            let c = FeederConfig {
                max_chunks_per_batch: max,
                ..cfg(fallback, threads)
            };
            let (got, failures, largest) = feed(files.clone(), c, 1 << 20);
            assert!(failures.is_empty(), "{failures:?}");
            assert!(largest <= max);
            if max < 300 {
                assert_eq!(largest, max, "batches should fill up to the limit");
            }
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.as_deref(), Some(&w[..]));
            }
        }
    }
}

/// Unusable configurations are refused by `Feeder::new` with a fix, before
/// any thread is started or anything is allocated from them.
#[test]
fn hostile_configs_are_rejected_with_a_fix() {
    let d = FeederConfig::default;
    let bad = [
        FeederConfig {
            read_threads: 20000,
            ..d()
        },
        FeederConfig {
            read_threads: u32::MAX,
            ..d()
        },
        FeederConfig {
            read_threads: 65,
            ..d()
        },
        FeederConfig {
            queue_depth: 0,
            ..d()
        },
        FeederConfig {
            queue_depth: 4097,
            ..d()
        },
        FeederConfig {
            queue_depth: u32::MAX,
            ..d()
        },
        FeederConfig {
            chunk_size: 0,
            ..d()
        },
        FeederConfig {
            chunk_size: 6,
            ..d()
        },
        FeederConfig {
            chunk_size: (64 << 20) + 4,
            ..d()
        },
        FeederConfig {
            chunk_size: u32::MAX - 3,
            ..d()
        },
        FeederConfig {
            look_behind: u32::MAX,
            ..d()
        },
        FeederConfig {
            max_chunks_per_batch: 0,
            ..d()
        },
    ];
    for c in bad {
        let what = format!("{c:?}");
        assert!(c.validate().is_err(), "{what}");
        let e = Feeder::new(vec![], c).unwrap_err().to_string();
        assert!(e.contains("Fix:"), "{what}: {e}");
    }
    for c in [
        FeederConfig {
            read_threads: 64,
            ..d()
        },
        FeederConfig {
            queue_depth: 4096,
            chunk_size: 64 << 20,
            ..d()
        },
        FeederConfig {
            chunk_size: 4,
            ..d()
        },
    ] {
        let mut f = Feeder::new(vec![], c).unwrap();
        assert!(f.fill(&mut []).unwrap().chunks.is_empty());
    }
}

/// Cost of the end-of-file probe: 100 000 files of 100-900 bytes through the
/// feeder (ignored by default; `-- --ignored --nocapture`).
#[test]
#[ignore]
fn probe_cost_on_100k_small_files() {
    let dir = Scratch::new("probe-cost");
    let mut files = Vec::new();
    for i in 0..100_000usize {
        let p = dir.path(&format!("{:03}/{i:06}", i / 1000));
        if i % 1000 == 0 {
            fs::create_dir_all(p.parent().unwrap()).unwrap();
        }
        let n = 100 + (i * 7919) % 801;
        fs::write(&p, vec![b'a'; n]).unwrap();
        files.push(FileEntry::new(p, n as u64));
    }
    let t = Instant::now();
    let (walked, _) = collect_files(std::slice::from_ref(&dir.0), &WalkOptions::default());
    eprintln!(
        "walk: {} files in {:.3} s",
        walked.len(),
        t.elapsed().as_secs_f64()
    );
    for (fallback, threads) in [(false, 0), (true, 0), (false, 2)] {
        let mut best = f64::MAX;
        let mut stats = None;
        for _ in 0..3 {
            let c = FeederConfig {
                chunk_size: 256 << 10,
                queue_depth: 64,
                force_fallback: fallback,
                read_threads: threads,
                ..Default::default()
            };
            let mut f = Feeder::new(walked.clone(), c).unwrap();
            let mut arena = vec![0u8; 64 << 20];
            let t = Instant::now();
            while !f.is_done() {
                let b = f.fill(&mut arena).unwrap();
                assert!(b.failures.is_empty());
            }
            best = best.min(t.elapsed().as_secs_f64());
            stats = Some(f.stats());
        }
        eprintln!(
            "fallback {fallback} threads {threads}: best of 3 {best:.3} s ({:.2} us/file), {:?}",
            best * 1e6 / 100_000.0,
            stats.unwrap()
        );
    }
}
