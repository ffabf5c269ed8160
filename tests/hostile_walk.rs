//! `vyre scan` over hostile trees, end to end through the binary (CPU
//! reference backend): symbolic links (ripgrep's rule), files whose size the
//! kernel lies about (/proc), and many small files.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

fn vyre() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vyre"))
}

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p =
            std::env::temp_dir().join(format!("vyre-hostile-walk-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The per-file JSON lines of a `--json` scan, by path (the summary apart).
fn reports(out: &Output) -> (HashMap<PathBuf, serde_json::Value>, serde_json::Value) {
    let mut files = HashMap::new();
    let mut summary = serde_json::Value::Null;
    for l in text(&out.stdout).lines() {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}"));
        if let Some(s) = v.get("summary") {
            summary = s.clone();
            continue;
        }
        let p = PathBuf::from(v["path"].as_str().expect("path"));
        assert!(files.insert(p.clone(), v).is_none(), "{p:?} reported twice");
    }
    (files, summary)
}

fn scan(args: &[&str], paths: &[&Path]) -> Output {
    vyre()
        .args(["scan", "--backend", "cpu", "--json"])
        .args(args)
        .args(paths)
        .output()
        .unwrap()
}

/// Links met while walking are not followed (`up -> ..` used to leave the
/// tree and scan its parent); links named on the command line are.
#[test]
fn links_in_the_walk_are_skipped_and_named_links_followed() {
    let s = Scratch::new("links");
    let tree = s.0.join("tree");
    fs::create_dir_all(tree.join("sub")).unwrap();
    fs::create_dir_all(s.0.join("outside")).unwrap();
    fs::write(tree.join("a"), b"one\ntwo\n").unwrap();
    fs::write(tree.join("sub/b"), b"x\n").unwrap();
    fs::write(s.0.join("outside/o"), b"outside\n").unwrap();
    fs::write(s.0.join("parent-file"), b"in the parent\n").unwrap();
    std::os::unix::fs::symlink("..", tree.join("up")).unwrap();
    std::os::unix::fs::symlink("../outside", tree.join("ext")).unwrap();
    std::os::unix::fs::symlink("a", tree.join("a-link")).unwrap();
    std::os::unix::fs::symlink("nowhere", tree.join("dangling")).unwrap();
    let out = scan(&["--lines"], &[&tree]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (files, summary) = reports(&out);
    let mut got: Vec<&PathBuf> = files.keys().collect();
    got.sort();
    assert_eq!(
        got,
        [&tree.join("a"), &tree.join("sub/b")],
        "{}",
        text(&out.stdout)
    );
    assert_eq!(summary["failed"], 0);
    // Named links are scanned as their targets.
    let (link, dir_link) = (tree.join("a-link"), tree.join("ext"));
    let out = scan(&["--lines"], &[&link, &dir_link]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (files, _) = reports(&out);
    assert_eq!(files[&link]["lines"], 2);
    assert_eq!(files[&dir_link.join("o")]["lines"], 1);
    assert_eq!(files.len(), 2);
}

/// With `follow_links` (the library's switch behind `-L`): a link to an
/// ancestor is a failure with its reason, a second route to a directory is
/// scanned once, a dangling link is a failure; the rest is scanned.
#[test]
fn followed_links_report_loops_and_dangling_links() {
    let s = Scratch::new("follow");
    let tree = s.0.join("tree");
    fs::create_dir_all(tree.join("sub")).unwrap();
    fs::write(tree.join("sub/b"), b"x\ny\n").unwrap();
    std::os::unix::fs::symlink("..", tree.join("sub/up")).unwrap();
    std::os::unix::fs::symlink("sub", tree.join("sub-again")).unwrap();
    std::os::unix::fs::symlink("nowhere", tree.join("dangling")).unwrap();
    let cfg = vyre::scan::ScanConfig {
        lines: true,
        follow_links: true,
        ..Default::default()
    };
    let mut out = Vec::new();
    let summary = vyre::scan::scan(
        vyre::cpu::CpuBackend::new(),
        std::slice::from_ref(&tree),
        &cfg,
        |r| out.push(r.clone()),
        |_, _| {},
    )
    .unwrap();
    let by: HashMap<PathBuf, &vyre::scan::FileReport> =
        out.iter().map(|r| (r.path.clone(), r)).collect();
    assert_eq!(out.len(), 3, "{out:#?}");
    assert_eq!(summary.failed, 2);
    assert_eq!(by[&tree.join("sub/b")].lines, Some(2));
    let up = by[&tree.join("sub/up")].error.as_deref().unwrap();
    assert!(
        up.contains("file system loop") && up.contains("not followed again"),
        "{up}"
    );
    let d = by[&tree.join("dangling")].error.as_deref().unwrap();
    assert!(d.contains("broken symbolic link"), "{d}");
}

/// /proc files stat as 0 bytes; they scan to their real content.
#[test]
fn proc_files_scan_to_their_content() {
    let p = Path::new("/proc/version");
    if !p.exists() {
        eprintln!("SKIP: no /proc");
        return;
    }
    let want = fs::read(p).unwrap();
    let out = scan(&["--lines", "--crc32"], &[p]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (files, _) = reports(&out);
    let r = &files[p];
    assert_eq!(r["bytes"], want.len() as u64, "{r}");
    assert!(!want.is_empty());
    assert_eq!(
        r["lines"],
        want.iter().filter(|&&b| b == b'\n').count() as u64
    );
    assert_eq!(r["crc32"], crc32fast::hash(&want) as u64, "{r}");
}

fn count(hay: &[u8], pat: &[u8]) -> u64 {
    hay.windows(pat.len()).filter(|w| *w == pat).count() as u64
}

/// Many small files: every file's lines, CRC, pattern counts and histogram
/// equal plain Rust's, and the scan exits 0; on the GPU (llvmpipe here:
/// 100 000 files, whose ~600 000 slots need bounded batches) and on the CPU
/// reference (slower: 5 000 files). `VYRE_MANY_FILES` overrides the count.
#[test]
fn a_hundred_thousand_small_files_scan_exactly_on_the_gpu() {
    many_small_files(100_000, "gpu");
}

#[test]
fn many_small_files_scan_exactly_on_the_cpu_reference() {
    many_small_files(5_000, "cpu");
}

fn many_small_files(default: usize, backend: &str) {
    let n: usize = std::env::var("VYRE_MANY_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let s = Scratch::new(&format!("many-{backend}"));
    let t = Instant::now();
    let mut want = HashMap::new();
    let words: [&[u8]; 6] = [b"the ", b"a ", b"cat\n", b"sat ", b"at ", b"\n"];
    for i in 0..n {
        let dir = s.0.join(format!("{:03}", i / 1000));
        if i % 1000 == 0 {
            fs::create_dir_all(&dir).unwrap();
        }
        let len = 100 + (i * 7919) % 801;
        let mut data = Vec::with_capacity(len + 8);
        let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        while data.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data.extend_from_slice(words[(x % 6) as usize]);
        }
        data.truncate(len);
        let p = dir.join(format!("{i:06}"));
        fs::write(&p, &data).unwrap();
        want.insert(p, data);
    }
    eprintln!("made {n} files in {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let out = vyre()
        .args(["scan", "--backend", backend, "--json", "--lines", "--crc32"])
        .args(["--histogram", "-e", "a", "-e", "the"])
        .arg(&s.0)
        .output()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    eprintln!("scanned {n} files in {secs:.1} s");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (files, summary) = reports(&out);
    assert_eq!(summary["files"], n as u64);
    assert_eq!(summary["failed"], 0);
    assert_eq!(files.len(), n);
    for (p, data) in &want {
        let r = &files[p];
        assert!(r.get("error").is_none(), "{r}");
        assert_eq!(r["bytes"], data.len() as u64, "{p:?}");
        assert_eq!(r["lines"], count(data, b"\n"), "{p:?}");
        assert_eq!(r["crc32"], crc32fast::hash(data) as u64, "{p:?}");
        assert_eq!(r["matches"]["a"], count(data, b"a"), "{p:?}");
        assert_eq!(r["matches"]["the"], count(data, b"the"), "{p:?}");
        let mut h = [0u64; 256];
        data.iter().for_each(|&b| h[b as usize] += 1);
        assert_eq!(r["histogram"], serde_json::json!(h.to_vec()), "{p:?}");
    }
}
