//! End-to-end tests of `vyre_core::feeder`: walking, planning and reading
//! through io_uring and the pread fallback.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use vyre_core::feeder::*;

const C: u32 = 16384;

/// A unique scratch directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!(
            "vyre-feeder-{tag}-{}-{nanos}-{n}",
            std::process::id()
        ));
        fs::create_dir_all(&p).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        Scratch(p)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Restore permissions a test may have removed, then delete.
        let _ = std::process::Command::new("chmod")
            .args(["-R", "u+rwx"])
            .arg(&self.0)
            .status();
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 24) as u8
    };
    (0..n).map(|_| next()).collect()
}

/// Writes files of the given sizes; returns entries and contents.
fn make_files(dir: &Scratch, sizes: &[usize]) -> (Vec<FileEntry>, Vec<Vec<u8>>) {
    let mut entries = Vec::new();
    let mut contents = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let p = dir.path(&format!("f{i:05}"));
        let data = bytes(i as u64 + 1, n);
        fs::write(&p, &data).unwrap();
        entries.push(FileEntry::new(p, n as u64));
        contents.push(data);
    }
    (entries, contents)
}

/// Everything a feeder delivered, copied out batch by batch.
#[derive(Debug)]
struct Run {
    chunks: Vec<(ChunkDesc, Vec<u8>, Vec<u8>)>,
    failures: Vec<(usize, String)>,
    batches: usize,
    backend: &'static str,
    stats: FeedStats,
}

fn run_with(files: Vec<FileEntry>, cfg: FeederConfig, arena: &mut [u8]) -> Run {
    let mut f = Feeder::new(files, cfg).unwrap();
    let mut run = Run {
        chunks: vec![],
        failures: vec![],
        batches: 0,
        backend: f.backend_name(),
        stats: f.stats(),
    };
    while !f.is_done() {
        let b = f.fill(arena).unwrap();
        run.batches += 1;
        assert!(
            !b.chunks.is_empty() || !b.failures.is_empty(),
            "a fill before done made no progress"
        );
        assert_eq!(
            b.bytes,
            b.chunks.iter().map(|c| u64::from(c.len)).sum::<u64>()
        );
        for c in &b.chunks {
            let o = c.arena_offset;
            let lb = c.look_behind as usize;
            run.chunks.push((
                *c,
                arena[o..o + lb].to_vec(),
                arena[o + lb..o + lb + c.len as usize].to_vec(),
            ));
        }
        run.failures.extend(b.failures);
    }
    assert!(f.fill(arena).unwrap().chunks.is_empty());
    run.stats = f.stats();
    run
}

fn run(files: Vec<FileEntry>, cfg: FeederConfig, arena_len: usize) -> Run {
    run_with(files, cfg, &mut vec![0xA5u8; arena_len])
}

/// Checks chunks against the expected contents: exact reconstruction, look-behind,
/// alignment, accounting. Files in `failed_ok` may fail; no other may.
fn check(run: &Run, expected: &[Vec<u8>], cfg: &FeederConfig, failed_ok: &[usize]) {
    let failed: HashMap<usize, &String> = run.failures.iter().map(|(f, r)| (*f, r)).collect();
    assert_eq!(
        failed.len(),
        run.failures.len(),
        "a file was reported twice: {:?}",
        run.failures
    );
    for f in failed.keys() {
        assert!(
            failed_ok.contains(f),
            "file {f} failed unexpectedly: {:?}",
            failed[f]
        );
    }
    let mut rebuilt: Vec<Vec<u8>> = vec![Vec::new(); expected.len()];
    let mut count = vec![0u64; expected.len()];
    for (c, lb, data) in &run.chunks {
        assert!(!failed.contains_key(&c.file) || failed_ok.contains(&c.file));
        assert_eq!(c.arena_offset % 4, 0, "arena offset not 4-aligned: {c:?}");
        let exp = &expected[c.file];
        let off = c.file_offset as usize;
        assert_eq!(
            off,
            rebuilt[c.file].len(),
            "chunk out of order or missing: {c:?}"
        );
        assert_eq!(off as u64, count[c.file] * u64::from(cfg.chunk_size));
        assert_eq!(c.look_behind as usize, (cfg.look_behind as usize).min(off));
        assert_eq!(
            lb.as_slice(),
            &exp[off - lb.len()..off],
            "look-behind of {c:?}"
        );
        assert_eq!(
            data.as_slice(),
            &exp[off..off + data.len()],
            "bytes of {c:?}"
        );
        rebuilt[c.file].extend_from_slice(data);
        count[c.file] += 1;
    }
    for (f, exp) in expected.iter().enumerate() {
        if failed.contains_key(&f) {
            continue;
        }
        assert_eq!(
            rebuilt[f].len(),
            exp.len(),
            "file {f}: sum of chunk lens != size"
        );
        assert!(rebuilt[f] == *exp, "file {f} differs");
        assert_eq!(
            count[f],
            chunk_count(exp.len() as u64, cfg.chunk_size),
            "file {f} chunk count"
        );
    }
}

fn descs(run: &Run) -> Vec<ChunkDesc> {
    run.chunks.iter().map(|c| c.0).collect()
}

fn cfg(lb: u32, fallback: bool, direct: bool) -> FeederConfig {
    FeederConfig {
        chunk_size: C,
        queue_depth: 8,
        look_behind: lb,
        o_direct: direct,
        force_fallback: fallback,
        read_threads: 0,
        max_chunks_per_batch: usize::MAX,
        inject: None,
    }
}

/// The read engines every test runs with: (force_fallback, read_threads) =
/// io_uring, plain pread, 4 threads with a ring each, 4 pread threads.
const ENGINES: [(bool, u32); 4] = [(false, 0), (true, 0), (false, 4), (true, 4)];

const SIZES: &[usize] = &[
    0,
    1,
    3,
    C as usize - 1,
    C as usize,
    C as usize + 1,
    3 * C as usize,
    3 * C as usize + 7,
    5,
    0,
    4096,
    70001,
];

#[test]
fn sizes_roundtrip_uring_and_pread() {
    let dir = Scratch::new("sizes");
    let mut sizes = SIZES.to_vec();
    let r = bytes(99, 8);
    sizes.extend(r.iter().map(|b| *b as usize * 397));
    let (files, expected) = make_files(&dir, &sizes);
    for direct in [false, true] {
        for lb in [0u32, 100, 20000] {
            let lb = if direct { lb / 4 * 4 } else { lb };
            let c0 = cfg(lb, false, direct);
            let min = c0.min_arena_len();
            for arena in [1 << 20, min, min + C as usize / 2] {
                let mut results = Vec::new();
                // One arena for both: O_DIRECT placement depends on its address.
                let mut buf = vec![0u8; arena];
                for (fallback, threads) in ENGINES {
                    let c = FeederConfig {
                        force_fallback: fallback,
                        read_threads: threads,
                        ..c0.clone()
                    };
                    let r = run_with(files.clone(), c.clone(), &mut buf);
                    check(&r, &expected, &c, &[]);
                    if arena == min {
                        assert!(r.batches >= sizes.len(), "{} batches", r.batches);
                    }
                    if direct {
                        assert_eq!(
                            r.stats.direct_fallbacks,
                            0,
                            "O_DIRECT refused on {:?}: {:?}",
                            std::env::temp_dir(),
                            r.stats
                        );
                    }
                    results.push((r.backend, descs(&r)));
                }
                assert_eq!(results[1].0, "pread");
                assert_eq!(results[0].1, results[1].1, "io_uring and pread disagree");
            }
        }
    }
    let f = Feeder::new(files.clone(), FeederConfig::default()).unwrap();
    eprintln!("default backend here: {}", f.backend_name());
    // Where one ring can be set up, the reader threads read with rings too
    // (and with pread only when asked).
    let threads = |force_fallback| {
        let c = FeederConfig {
            read_threads: 3,
            force_fallback,
            ..FeederConfig::default()
        };
        Feeder::new(files.clone(), c).unwrap().backend_name()
    };
    assert_eq!(threads(true), "pread threads");
    if f.backend_name() == "io_uring" {
        assert_eq!(threads(false), "io_uring threads");
    }
}

#[test]
fn many_small_files_share_a_batch_and_registration_is_reused() {
    let dir = Scratch::new("small");
    let sizes: Vec<usize> = bytes(7, 600).iter().map(|b| *b as usize * 13).collect();
    let (files, expected) = make_files(&dir, &sizes);
    let c = FeederConfig {
        queue_depth: 32,
        look_behind: 8,
        ..cfg(8, false, false)
    };
    let r = run(files.clone(), c.clone(), 256 << 10);
    check(&r, &expected, &c, &[]);
    assert!(r.batches < 10, "{} batches for 600 small files", r.batches);
    if r.backend == "io_uring" {
        assert_eq!(r.stats.registrations, 1, "{:?}", r.stats);
        assert_eq!(r.stats.fixed_reads, r.stats.reads, "{:?}", r.stats);
    }
    assert_eq!(r.stats.files_opened, 600);
}

#[test]
fn fresh_arena_every_fill() {
    let dir = Scratch::new("realloc");
    let (files, expected) = make_files(&dir, &[3 << 20, 1 << 20, 5 << 20]);
    let c = FeederConfig {
        chunk_size: 1 << 20,
        look_behind: 16,
        ..Default::default()
    };
    let mut f = Feeder::new(files, c.clone()).unwrap();
    let mut addrs = Vec::new();
    let mut got: Vec<Vec<u8>> = vec![Vec::new(); 3];
    while !f.is_done() {
        let mut arena = vec![0u8; 4 << 20]; // fresh mapping each time
        addrs.push(arena.as_ptr() as usize);
        let b = f.fill(&mut arena).unwrap();
        assert!(b.failures.is_empty());
        for ch in &b.chunks {
            let o = ch.arena_offset + ch.look_behind as usize;
            got[ch.file].extend_from_slice(&arena[o..o + ch.len as usize]);
        }
    }
    assert!(got == expected, "delivered bytes differ");
    let reused = addrs.windows(2).filter(|w| w[0] == w[1]).count();
    eprintln!(
        "{} fills, {reused} at a reused address, stats {:?}",
        addrs.len(),
        f.stats()
    );
}

/// An anonymous private mapping of `len` bytes, at `hint` exactly if given.
fn map(len: usize, hint: Option<usize>) -> &'static mut [u8] {
    let flags = libc::MAP_PRIVATE
        | libc::MAP_ANONYMOUS
        | if hint.is_some() {
            libc::MAP_FIXED_NOREPLACE
        } else {
            0
        };
    // SAFETY: an anonymous private mapping; the result is checked below (FFI).
    let p = unsafe {
        libc::mmap(
            hint.unwrap_or(0) as *mut _,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            -1,
            0,
        )
    };
    assert_ne!(
        p,
        libc::MAP_FAILED,
        "mmap: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: p points to len bytes mapped read-write above, alive until munmap.
    unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), len) }
}

#[test]
fn remapped_arena_at_same_address_is_detected() {
    // The arena is unmapped and a new one mapped at the very same address:
    // the io_uring registration still pins the old pages and must be redone.
    let dir = Scratch::new("remap");
    let (files, expected) = make_files(&dir, &[3 << 20, 1 << 20, 5 << 20]);
    let c = FeederConfig {
        chunk_size: 1 << 20,
        look_behind: 16,
        ..Default::default()
    };
    let mut f = Feeder::new(files, c).unwrap();
    let len = 4 << 20;
    let mut addr = None;
    let mut got: Vec<Vec<u8>> = vec![Vec::new(); 3];
    while !f.is_done() {
        let arena = map(len, addr);
        addr = Some(arena.as_ptr() as usize);
        let b = f.fill(arena).unwrap();
        assert!(b.failures.is_empty());
        for ch in &b.chunks {
            let o = ch.arena_offset + ch.look_behind as usize;
            got[ch.file].extend_from_slice(&arena[o..o + ch.len as usize]);
        }
        // SAFETY: arena is the live mapping of len bytes made above, unmapped once (FFI).
        assert_eq!(unsafe { libc::munmap(arena.as_mut_ptr().cast(), len) }, 0);
    }
    assert!(
        got == expected,
        "delivered bytes differ: a fixed read went to stale pages"
    );
    let st = f.stats();
    eprintln!("{st:?}");
    if f.backend_name() == "io_uring" {
        assert_eq!(st.stale_registrations, st.batches - 1, "{st:?}");
        assert_eq!(st.registrations, st.batches, "{st:?}");
        assert_eq!(st.fixed_reads, st.reads, "{st:?}");
    }
}

#[test]
fn unaligned_arena_base() {
    let dir = Scratch::new("unaligned");
    let (files, expected) = make_files(&dir, SIZES);
    for direct in [false, true] {
        let c = FeederConfig {
            look_behind: 12,
            ..cfg(12, false, direct)
        };
        let mut arena = vec![0u8; 300_001];
        let r = run_with(files.clone(), c.clone(), &mut arena[1..]);
        check(&r, &expected, &c, &[]);
    }
}

#[test]
fn walk_sorts_skips_links_unless_followed_and_reports_special_files() {
    let dir = Scratch::new("walk");
    let d = dir.path("tree");
    fs::create_dir_all(d.join("sub/deeper")).unwrap();
    fs::create_dir_all(dir.path("outside")).unwrap();
    for (p, n) in [
        ("tree/b.txt", 3),
        ("tree/a.txt", 1),
        ("tree/sub/z", 0),
        ("tree/sub/deeper/x", 7),
        ("outside/o", 2),
    ] {
        fs::write(dir.path(p), vec![b'x'; n]).unwrap();
    }
    std::os::unix::fs::symlink("..", d.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink(dir.path("outside"), d.join("c-out")).unwrap();
    std::os::unix::fs::symlink("a.txt", d.join("a-link")).unwrap();
    std::os::unix::fs::symlink("nowhere", d.join("broken")).unwrap();
    // A second route to `sub`: listed once when following.
    std::os::unix::fs::symlink("sub", d.join("sub2")).unwrap();
    let fifo = d.join("fifo");
    let cpath = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: cpath is a valid NUL-terminated path (FFI).
    assert_eq!(unsafe { libc::mkfifo(cpath.as_ptr(), 0o644) }, 0);
    let _sock = std::os::unix::net::UnixListener::bind(d.join("sock")).unwrap();
    let missing = dir.path("missing");
    let args = vec![
        d.clone(),
        missing.clone(),
        PathBuf::from("/dev/null"),
        dir.path("outside/o"),
        // Links given explicitly are followed.
        d.join("a-link"),
        d.join("c-out"),
        d.join("broken"),
    ];
    for follow in [false, true] {
        let opts = WalkOptions {
            follow_links: follow,
            ..Default::default()
        };
        let (files, failures) = collect_files(&args, &opts);
        let rel: Vec<String> = files
            .iter()
            .map(|f| f.path.strip_prefix(&dir.0).unwrap().display().to_string())
            .collect();
        let mut want = vec![];
        if follow {
            want.extend(["tree/a-link", "tree/a.txt", "tree/b.txt", "tree/c-out/o"]);
            want.extend(["tree/sub/deeper/x", "tree/sub/z"]);
        } else {
            want.extend([
                "tree/a.txt",
                "tree/b.txt",
                "tree/sub/deeper/x",
                "tree/sub/z",
            ]);
        }
        // Explicit paths; `c-out` was walked already when following.
        want.extend(["outside/o", "tree/a-link"]);
        if !follow {
            want.push("tree/c-out/o");
        }
        assert_eq!(rel, want, "walk order, follow_links {follow}");
        let sizes: Vec<u64> = files.iter().map(|f| f.size).collect();
        let want_sizes: &[u64] = if follow {
            &[1, 1, 3, 2, 7, 0, 2, 1]
        } else {
            &[1, 3, 7, 0, 2, 1, 2]
        };
        assert_eq!(sizes, want_sizes);
        assert!(files.iter().all(|f| f.content.is_none()), "{files:?}");
        let reason = |p: &Path| {
            failures
                .iter()
                .find(|f| f.path == p)
                .map(|f| f.reason.clone())
                .unwrap_or_else(|| panic!("no failure for {p:?}: {failures:?}"))
        };
        assert!(
            reason(&d.join("fifo")).contains("FIFO (named pipe); vyre scans regular files only")
        );
        assert!(reason(&d.join("sock")).contains("socket"));
        assert!(reason(&missing).contains("not found"));
        assert!(reason(Path::new("/dev/null")).contains("character device"));
        let broken: Vec<_> = failures
            .iter()
            .filter(|f| f.path == d.join("broken"))
            .collect();
        // Given explicitly: always reported; met in the walk: only when following.
        assert_eq!(broken.len(), 1 + usize::from(follow), "{failures:#?}");
        assert!(broken
            .iter()
            .all(|f| f.reason.contains("broken symbolic link")));
        if follow {
            let l = reason(&d.join("sub/loop"));
            assert!(
                l.contains("file system loop")
                    && l.contains("ancestor")
                    && l.contains("not followed again"),
                "{l}"
            );
        }
        assert_eq!(failures.len(), 5 + 2 * usize::from(follow), "{failures:#?}");
        for f in &failures {
            eprintln!("{f}");
        }
    }
}

/// Runs `f` on another thread; fails the test if it takes over 60 s (a hang).
fn no_hang<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(f()).unwrap());
    rx.recv_timeout(Duration::from_secs(60))
        .expect("feeder hung")
}

#[test]
fn non_regular_entries_given_to_the_feeder_are_reported_without_hanging() {
    for (fallback, threads) in ENGINES {
        let dir = Scratch::new("nonreg");
        let (mut files, expected) = make_files(&dir, &[10, 20000, 30]);
        // A path replaced by a FIFO after the walk: must not block in open.
        fs::remove_file(&files[1].path).unwrap();
        let cpath = std::ffi::CString::new(files[1].path.to_str().unwrap()).unwrap();
        // SAFETY: cpath is a valid NUL-terminated path (FFI).
        assert_eq!(unsafe { libc::mkfifo(cpath.as_ptr(), 0o644) }, 0);
        files.push(FileEntry::new(dir.0.clone(), 0));
        files.push(FileEntry::new(dir.path("gone"), 5));
        let mut expected = expected;
        expected.push(vec![]);
        expected.push(vec![0; 5]);
        let c = FeederConfig {
            read_threads: threads,
            ..cfg(4, fallback, false)
        };
        let c2 = c.clone();
        let r = no_hang(move || run(files, c2, 1 << 20));
        check(&r, &expected, &c, &[1, 3, 4]);
        let reasons: HashMap<usize, String> = r.failures.into_iter().collect();
        assert!(reasons[&1].contains("FIFO"), "{reasons:?}");
        assert!(reasons[&3].contains("is a directory"), "{reasons:?}");
        assert!(reasons[&4].contains("disappeared"), "{reasons:?}");
    }
}

#[test]
fn permission_denied_reported() {
    if let Ok(dir) = std::env::var("VYRE_FEEDER_PERM_DIR") {
        return check_permission_denied(Path::new(&dir)); // the unprivileged child
    }
    let dir = Scratch::new("perm");
    fs::write(dir.path("ok"), b"hello").unwrap();
    fs::write(dir.path("secret"), b"top secret").unwrap();
    fs::create_dir(dir.path("locked")).unwrap();
    fs::write(dir.path("locked/inner"), b"x").unwrap();
    for p in ["ok", "secret", "locked/inner"] {
        fs::set_permissions(dir.path(p), fs::Permissions::from_mode(0o644)).unwrap();
    }
    fs::set_permissions(dir.path("secret"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(dir.path("locked"), fs::Permissions::from_mode(0o000)).unwrap();
    // SAFETY: geteuid has no preconditions (FFI).
    if unsafe { libc::geteuid() } != 0 {
        return check_permission_denied(&dir.0);
    }
    // Root bypasses permission bits: rerun this test as `nobody`.
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(&exe)
        .args([
            "--exact",
            "permission_denied_reported",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("VYRE_FEEDER_PERM_DIR", &dir.0)
        .uid(65534)
        .gid(65534)
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(text.contains("1 passed"), "child ran no test:\n{text}");
            eprintln!(
                "{}",
                text.lines()
                    .find(|l| l.contains("permission checks passed"))
                    .unwrap_or("?")
            );
        }
        Ok(o)
            if String::from_utf8_lossy(&o.stderr).contains("Permission denied")
                && o.stdout.is_empty() =>
        {
            eprintln!("SKIP permission test: test binary {exe:?} not executable by nobody");
        }
        Ok(o) => panic!(
            "child failed: {}\n{}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => eprintln!("SKIP permission test: cannot run as nobody: {e}"),
    }
}

fn check_permission_denied(dir: &Path) {
    let (files, failures) = collect_files(&[dir.to_path_buf()], &WalkOptions::default());
    let locked = failures
        .iter()
        .find(|f| f.path.ends_with("locked"))
        .expect("locked dir reported");
    assert!(
        locked.reason.contains("cannot list directory")
            && locked.reason.contains("Permission denied"),
        "{locked}"
    );
    let names: Vec<_> = files
        .iter()
        .map(|f| f.path.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["ok", "secret"]);
    for (fallback, threads) in ENGINES {
        let r = run(
            files.clone(),
            FeederConfig {
                read_threads: threads,
                ..cfg(0, fallback, false)
            },
            1 << 16,
        );
        assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
        assert_eq!(r.failures[0].0, 1);
        assert!(
            r.failures[0].1.contains("permission denied"),
            "{:?}",
            r.failures
        );
        assert_eq!(r.chunks.len(), 1);
        assert_eq!(r.chunks[0].2, b"hello");
    }
    // SAFETY: geteuid has no preconditions (FFI).
    println!("permission checks passed as uid {}", unsafe {
        libc::geteuid()
    });
}

#[test]
fn injected_errors_fail_only_their_file() {
    let dir = Scratch::new("inject-err");
    let (files, expected) = make_files(
        &dir,
        &[5 * C as usize, 5 * C as usize + 3, 7, 3 * C as usize],
    );
    for (fallback, arena) in [
        (false, 1 << 20),
        (true, 1 << 20),
        (false, 40000),
        (true, 40000),
    ] {
        for direct in [false, true] {
            // Fails the read of chunk 2 of file 1 (its read starts with the look-behind).
            let c2 = 2 * C as u64;
            let hook: FaultHook = Arc::new(move |file, off| {
                (file == 1 && off < c2 && off + C as u64 > c2)
                    .then_some(FaultKind::Error(libc::EIO))
            });
            let c = FeederConfig {
                inject: Some(hook),
                ..cfg(16, fallback, direct)
            };
            let r = run(files.clone(), c.clone(), arena);
            check(&r, &expected, &c, &[1]);
            assert_eq!(r.failures.len(), 1);
            assert!(
                r.failures[0].1.contains("Input/output error"),
                "{:?}",
                r.failures
            );
            // Only chunks delivered before the failing batch may exist for file 1.
            assert!(r
                .chunks
                .iter()
                .all(|c| c.0.file != 1 || c.0.file_offset < 2 * C as u64));
        }
    }
}

#[test]
fn injected_short_reads_are_completed() {
    let dir = Scratch::new("inject-short");
    let (files, expected) = make_files(&dir, SIZES);
    for (fallback, threads) in ENGINES {
        for direct in [false, true] {
            let calls = Arc::new(AtomicU64::new(0));
            let k = calls.clone();
            let hook: FaultHook = Arc::new(move |_, _| {
                (k.fetch_add(1, Ordering::Relaxed) % 2 == 0).then_some(FaultKind::ShortRead)
            });
            let c = FeederConfig {
                inject: Some(hook),
                ..FeederConfig {
                    read_threads: threads,
                    ..cfg(40, fallback, direct)
                }
            };
            let r = run(files.clone(), c.clone(), 100_000);
            check(&r, &expected, &c, &[]);
            assert!(r.stats.short_reads > 0, "{:?}", r.stats);
        }
    }
}

#[test]
fn files_changing_size_are_reported() {
    for (fallback, threads) in ENGINES {
        for direct in [false, true] {
            let dir = Scratch::new("resize");
            let n = 4 * C as usize + 100;
            let (files, expected) = make_files(&dir, &[n, n, 50, n]);
            // Shrunk before reading; grown before reading.
            fs::OpenOptions::new()
                .write(true)
                .open(&files[0].path)
                .unwrap()
                .set_len(n as u64 / 2)
                .unwrap();
            fs::OpenOptions::new()
                .append(true)
                .open(&files[2].path)
                .unwrap()
                .write_all_at(b"more", 50)
                .unwrap();
            let c = FeederConfig {
                read_threads: threads,
                ..cfg(8, fallback, direct)
            };
            // Arena of about one chunk: file 3 is truncated between batches.
            let mut f = Feeder::new(files, c.clone()).unwrap();
            let mut arena = vec![0u8; c.min_arena_len()];
            let mut failures = Vec::new();
            let mut delivered3 = 0;
            while !f.is_done() {
                let b = f.fill(&mut arena).unwrap();
                failures.extend(b.failures);
                for ch in &b.chunks {
                    let o = ch.arena_offset + ch.look_behind as usize;
                    assert_eq!(
                        &arena[o..o + ch.len as usize],
                        &expected[ch.file][ch.file_offset as usize..][..ch.len as usize]
                    );
                    if ch.file == 3 {
                        delivered3 += 1;
                        if delivered3 == 2 {
                            fs::OpenOptions::new()
                                .write(true)
                                .open(&f.files()[3].path)
                                .unwrap()
                                .set_len(3 * C as u64 + 5)
                                .unwrap();
                        }
                    }
                }
            }
            failures.sort();
            assert_eq!(failures.len(), 3, "{failures:?}");
            assert_eq!(
                failures[0],
                (
                    0,
                    format!(
                        "changed size during the scan: expected {n} bytes, read {}",
                        n / 2
                    )
                )
            );
            assert_eq!(
                failures[1],
                (
                    2,
                    "changed size during the scan: expected 50 bytes, but it holds more (now 54)"
                        .to_string()
                )
            );
            assert_eq!(
                failures[2],
                (
                    3,
                    format!(
                        "changed size during the scan: expected {n} bytes, read {}",
                        3 * C + 5
                    )
                )
            );
        }
    }
}

#[test]
fn sparse_file_over_4_gib() {
    let dir = Scratch::new("sparse");
    let p = dir.path("big");
    let size: u64 = (5 << 30) + 123;
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&p)
        .unwrap();
    file.set_len(size).unwrap();
    let marks: [(u64, &[u8]); 4] = [
        (0, b"HEAD"),
        ((4 << 30) - 3, b"ACROSS4G"),
        (size - 10, b"0123456789"),
        ((4 << 30) + (4 << 20) - 2, b"XY"),
    ];
    for (off, m) in marks {
        file.write_all_at(m, off).unwrap();
    }
    let cs: u32 = 4 << 20;
    let lb = 64;
    // Planning, all in u64.
    assert_eq!(chunk_count(size, cs), 1281);
    let all: Vec<PlannedChunk> = plan_chunks(size, cs, lb).collect();
    assert_eq!(all.iter().map(|c| u64::from(c.len)).sum::<u64>(), size);
    assert_eq!(all[1024].file_offset, 4 << 30);
    assert_eq!(all[1024].look_behind, 64);
    assert_eq!(
        all[1280],
        PlannedChunk {
            index: 1280,
            file_offset: 5 << 30,
            len: 123,
            look_behind: 64
        }
    );
    assert_eq!(plan_chunk(size, cs, lb, 1281), None);
    let expect = |off: u64, len: usize| {
        let mut v = vec![0u8; len];
        file.read_exact_at(&mut v, off).unwrap();
        v
    };
    let entries = vec![FileEntry::new(p.clone(), size)];
    for (fallback, threads) in ENGINES {
        for direct in [false, true] {
            let c = FeederConfig {
                chunk_size: cs,
                look_behind: lb,
                force_fallback: fallback,
                read_threads: threads,
                o_direct: direct,
                ..Default::default()
            };
            let mut f = Feeder::new(entries.clone(), c.clone()).unwrap();
            let mut arena = vec![0u8; 2 * c.min_arena_len()];
            f.seek(0, 1023).unwrap();
            let b = f.fill(&mut arena).unwrap();
            assert_eq!(b.chunks.len(), 2, "{b:?}");
            for ch in &b.chunks {
                let start = ch.file_offset - u64::from(ch.look_behind);
                let n = (ch.look_behind + ch.len) as usize;
                assert!(
                    arena[ch.arena_offset..][..n] == expect(start, n)[..],
                    "chunk at {}",
                    ch.file_offset
                );
            }
            let ch = b.chunks[1];
            let o = ch.arena_offset + 64 - 3;
            assert_eq!(&arena[o..o + 8], b"ACROSS4G");
            assert_eq!(f.position(), (0, 1025));
            f.seek(0, 1280).unwrap();
            let b = f.fill(&mut arena).unwrap();
            assert!(b.failures.is_empty(), "{:?}", b.failures);
            let ch = b.chunks[0];
            assert_eq!((ch.file_offset, ch.len, ch.look_behind), (5 << 30, 123, 64));
            let o = ch.arena_offset + 64 + 123 - 10;
            assert_eq!(&arena[o..o + 10], b"0123456789");
            assert!(f.is_done());
        }
    }
}

#[test]
fn arena_too_small_is_a_clear_recoverable_error() {
    let dir = Scratch::new("small-arena");
    let (files, expected) = make_files(&dir, &[10, 3 * C as usize]);
    let c = cfg(100, false, false);
    let mut f = Feeder::new(files, c.clone()).unwrap();
    let mut tiny = vec![0u8; 1000];
    let b = f.fill(&mut tiny).unwrap(); // the 10-byte file fits
    assert_eq!(b.chunks.len(), 1);
    let e = f.fill(&mut tiny).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("arena too small")
            && msg.contains("Fix:")
            && msg.contains(&c.min_arena_len().to_string()),
        "{msg}"
    );
    assert_eq!(f.position(), (1, 0));
    let mut arena = vec![0u8; c.min_arena_len()];
    let mut n = 0;
    while !f.is_done() {
        let b = f.fill(&mut arena).unwrap();
        for ch in &b.chunks {
            let o = ch.arena_offset + ch.look_behind as usize;
            assert_eq!(
                &arena[o..o + ch.len as usize],
                &expected[1][ch.file_offset as usize..][..ch.len as usize]
            );
            n += 1;
        }
    }
    assert_eq!(n, 3);
}

#[test]
fn bad_configs_are_rejected_with_a_fix() {
    let bad = [
        FeederConfig {
            chunk_size: 0,
            ..Default::default()
        },
        FeederConfig {
            queue_depth: 0,
            ..Default::default()
        },
        FeederConfig {
            o_direct: true,
            chunk_size: 5000,
            ..Default::default()
        },
        FeederConfig {
            o_direct: true,
            look_behind: 6,
            ..Default::default()
        },
    ];
    for c in bad {
        let e = Feeder::new(vec![], c).unwrap_err().to_string();
        assert!(e.contains("Fix:"), "{e}");
    }
    let mut f = Feeder::new(vec![], FeederConfig::default()).unwrap();
    assert!(f.is_done());
    assert!(f.seek(3, 0).is_err());
    fn send<T: Send>(_: &T) {}
    send(&f);
    assert_eq!(f.fill(&mut []).unwrap(), Batch::default());
}

#[test]
fn open_descriptors_stay_bounded() {
    let dir = Scratch::new("fds");
    let (files, expected) = make_files(&dir, &vec![100; 600]);
    let count = || {
        fs::read_dir("/proc/self/fd")
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let base = count();
    let max = Arc::new(AtomicU64::new(0));
    let m = max.clone();
    let hook: FaultHook = Arc::new(move |_, _| {
        m.fetch_max(count() as u64, Ordering::Relaxed);
        None
    });
    let c = FeederConfig {
        queue_depth: 4,
        inject: Some(hook),
        ..cfg(0, false, false)
    };
    let r = run(files, c.clone(), 1 << 20);
    check(&r, &expected, &c, &[]);
    assert!(r.batches <= 2, "all 600 files should share a batch");
    let peak = max.load(Ordering::Relaxed) as usize;
    eprintln!("fds: {base} before, peak {peak} while reading 600 files in one batch");
    // queue_depth + 1 open files; generous slack for tests running in parallel.
    assert!(
        peak < base + 100,
        "open files not bounded: {base} -> {peak}"
    );
}
