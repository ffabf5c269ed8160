//! User payloads of every reduction kind through the library scan API:
//! per-file results equal plain Rust on the CPU reference and on the GPU
//! (llvmpipe here), fused and interpreted, with chunks small enough that
//! every combine and reduction runs across many chunks; the combine's IR
//! equals its native function; VIR0 and the text form carry reductions and
//! combines; cancellation and progress.

#[path = "../examples/user_payloads/payloads.rs"]
mod payloads;
mod support;

use payloads::*;
use vyre::megakernel::fold::Folder;
use vyre::scan::{Scan, ScanFile};

/// Files of random bytes, text-like (words, lines of random lengths,
/// sometimes long lines and non-ASCII bytes), of sizes around the chunk size.
fn corpus(dir: &std::path::Path, seed: u64) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut x = seed | 1;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let sizes = [
        0usize, 1, 3, 4, 5, 255, 256, 257, 1023, 1024, 1025, 4096, 9000, 20000,
    ];
    let mut out = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let mut d = Vec::with_capacity(n);
        while d.len() < n {
            let r = rnd();
            let b = match r % 23 {
                0..=2 => b'\n',
                3..=6 => b' ',
                7 => b'\t',
                8 if i % 3 == 0 => 0xC3,
                9 if r % 7 == 0 => b'\n',
                _ => b'a' + (r >> 8) as u8 % 26,
            };
            d.push(b);
            // Some long lines.
            if r % 997 == 0 {
                d.extend(std::iter::repeat_n(b'x', (r % 3000) as usize));
            }
        }
        d.truncate(n);
        let p = dir.join(format!("f{i:02}"));
        std::fs::write(&p, &d).unwrap();
        out.push((p, d));
    }
    out
}

fn scan(dir: &std::path::Path, device: &str, fused: bool, chunk: u32) -> Vec<ScanFile> {
    Scan::new([dir])
        .payload(word_count::payload())
        .payload_with_args(first_byte::payload(), &[("needle", u32::from(b'\n'))])
        .unwrap()
        .payload(max_byte::payload())
        .payload(all_ascii::payload())
        .payload(xor_words::payload())
        .payload(longest_line::payload())
        .config(|c| {
            c.chunk_size = chunk;
            c.fused_payloads = fused;
        })
        .devices(device)
        .run()
        .expect("scan starts")
        .collect()
}

fn check(files: &[ScanFile], corpus: &[(std::path::PathBuf, Vec<u8>)], what: &str) {
    assert_eq!(files.len(), corpus.len(), "{what}");
    for (f, (p, d)) in files.iter().zip(corpus) {
        assert_eq!(f.path(), p, "{what}: walk order");
        assert_eq!(f.error(), None, "{what}: {}", p.display());
        let ll: LongestLine = f
            .get("longest_line")
            .expect("longest_line folds to one part");
        assert_eq!(
            (
                f.get::<u64>("word_count"),
                f.get::<u64>("first_byte"),
                f.get::<u64>("max_byte"),
                f.get::<bool>("all_ascii"),
                f.get::<u64>("xor_words"),
                ll.longest(),
            ),
            (
                Some(reference::word_count(d)),
                Some(reference::first_byte(d, b'\n')),
                Some(reference::max_byte(d)),
                Some(reference::all_ascii(d)),
                Some(reference::xor_words(d)),
                reference::longest_line(d),
            ),
            "{what}: {} ({} bytes)",
            p.display(),
            d.len()
        );
    }
}

#[test]
fn every_reduction_kind_is_exact_on_every_backend() {
    let dir = support::tmpdir("user-payloads-1");
    let c = corpus(dir.as_path(), 7);
    check(
        &scan(dir.as_path(), "cpu", true, 256),
        &c,
        "cpu reference, fused, 256-byte chunks",
    );
    check(
        &scan(dir.as_path(), "cpu", false, 1024),
        &c,
        "cpu reference, interpreted, 1 KiB chunks",
    );
    check(
        &scan(dir.as_path(), "gpu", true, 256),
        &c,
        "gpu, fused, 256-byte chunks",
    );
    check(
        &scan(dir.as_path(), "gpu", false, 4096),
        &c,
        "gpu, interpreted, 4 KiB chunks",
    );
}

/// Folding chunk summaries with the combine's IR (on the CPU reference)
/// gives what its native function gives, and a native call on a whole
/// buffer equals the fold over chunks.
#[test]
fn combine_ir_equals_native_and_chunking_does_not_matter() {
    let dir = support::tmpdir("user-payloads-2");
    let p = longest_line::payload();
    let native = Folder::new(&p).unwrap();
    let mut ir_only = p.clone();
    ir_only.combine.as_mut().unwrap().native = None;
    let ir = Folder::new(&ir_only).unwrap();
    for (_, d) in corpus(dir.as_path(), 11) {
        // Whole buffer, natively, one lane.
        let mut whole = LL_IDENTITY.to_vec();
        longest_line(&d, &mut whole, vyre::Lanes::all());
        for chunk in [7usize, 64, 1000] {
            let (mut a, mut b) = (native.start(), ir.start());
            for (k, part) in d.chunks(chunk).enumerate() {
                // Chunk summaries as 3 of 5 lanes would leave them.
                let mut s = LL_IDENTITY.to_vec();
                for lane in 0..5 {
                    longest_line(part, &mut s, vyre::Lanes::new(lane, 5));
                }
                native.fold(&mut a, &s).unwrap();
                ir.fold(&mut b, &s).unwrap();
                assert_eq!(a, b, "IR and native combine differ after chunk {k}");
            }
            let mut w = native.start();
            native.fold(&mut w, &whole).unwrap();
            let folded: LongestLine = vyre::scan::FromWords::from_words(&a).unwrap();
            assert_eq!(
                folded.longest(),
                reference::longest_line(&d),
                "chunk {chunk}"
            );
            let one: LongestLine = vyre::scan::FromWords::from_words(&w).unwrap();
            assert_eq!(one.longest(), folded.longest());
        }
    }
}

/// VIR0 and the text form carry reductions and the combine (identity and
/// function), and a decoded payload scans exactly like the macro's.
#[test]
fn vir0_and_text_carry_reductions_and_combines() {
    for p in [
        longest_line::payload(),
        first_byte::payload(),
        max_byte::payload(),
        vyre::scan::crc::crc32::payload(),
    ] {
        let bytes = vyre::vir0::encode_payload(&p);
        let mut back = vyre::vir0::decode_payload(&bytes).expect("decodes");
        assert_eq!(back, p, "VIR0 round trip of {}", p.name);
        assert!(back.combine.as_ref().is_none_or(|c| c.native.is_none()));
        let text = p.to_string();
        let parsed = vyre::ir::parse_payload(&text).expect("text parses");
        assert_eq!(parsed, p, "text round trip of {}:\n{text}", p.name);
        // A change anywhere (here the name) is a different encoding.
        back.name = format!("{}_loaded", p.name);
        assert_ne!(vyre::vir0::encode_payload(&back), bytes);
    }
    // The decoded longest_line (IR combine only) scans like the macro's.
    let dir = support::tmpdir("user-payloads-3");
    let c = corpus(dir.as_path(), 3);
    let loaded =
        vyre::vir0::decode_payload(&vyre::vir0::encode_payload(&longest_line::payload())).unwrap();
    let files: Vec<ScanFile> = Scan::new([dir.as_path()])
        .payload(loaded)
        .config(|c| c.chunk_size = 512)
        .on_cpu_reference()
        .run()
        .unwrap()
        .collect();
    for (f, (_, d)) in files.iter().zip(&c) {
        let ll: LongestLine = f.get("longest_line").unwrap();
        assert_eq!(ll.longest(), reference::longest_line(d));
    }
}

#[test]
fn setup_errors_say_what_and_fix() {
    let e = Scan::new(["."])
        .payload_with_args(first_byte::payload(), &[("needel", 10)])
        .err()
        .expect("a misspelled argument is refused");
    assert!(
        e.to_string().contains("no scalar parameter `needel`"),
        "{e}"
    );
    assert!(e.fix().is_some());
    let e = Scan::new(["."])
        .payload(first_byte::payload())
        .on_cpu_reference()
        .run()
        .err()
        .expect("an unbound scalar is refused");
    assert!(e.to_string().contains("needle"), "{e}");
    assert!(
        e.fix().is_some_and(|f| f.contains("payload_with_args")),
        "{e}"
    );
    let e = Scan::new(["."])
        .payload_with_args(first_byte::payload(), &[("needle", 10), ("needle", 11)])
        .err()
        .expect("a scalar bound twice is refused");
    assert!(e.to_string().contains("already bound"), "{e}");
    let e = Scan::new(["."])
        .on_cpu_reference()
        .run()
        .err()
        .expect("nothing to run");
    assert!(e.to_string().contains("no analysis"), "{e}");
}

#[test]
fn progress_and_cancellation() {
    let dir = support::tmpdir("user-payloads-4");
    let c = corpus(dir.as_path(), 5);
    let total: u64 = c.iter().map(|f| f.1.len() as u64).sum();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let files: Vec<ScanFile> = Scan::new([dir.as_path()])
        .payload(max_byte::payload())
        .config(|c| {
            c.chunk_size = 256;
            c.batch_bytes = 4096;
        })
        .on_progress(move |done, t| s2.lock().unwrap().push((done, t)))
        .on_cpu_reference()
        .run()
        .unwrap()
        .collect();
    assert_eq!(files.len(), c.len());
    let seen = seen.lock().unwrap();
    assert!(seen.len() > 1, "progress after every batch: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
    assert_eq!(seen.last().copied(), Some((total, total)));

    // Cancelled after the first file: no file comes after the cancel (not
    // even one of the batch in hand) and the scan ends with Cancelled.
    let scan = Scan::new([dir.as_path()])
        .payload(longest_line::payload())
        .config(|c| {
            c.chunk_size = 256;
            c.batch_bytes = 1024;
            c.fused_payloads = false;
        })
        .on_cpu_reference();
    let token = scan.cancel_token();
    let mut files = scan.run().unwrap();
    let first = files.next().expect("a first file");
    token.cancel();
    let rest: Vec<ScanFile> = files.by_ref().collect();
    assert!(
        rest.is_empty(),
        "{} files came after the cancel (first: {})",
        rest.len(),
        first.path().display()
    );
    assert!(matches!(files.finish(), Err(vyre::Error::Cancelled)));
}

/// README's "Run your own payloads over files" shows examples/readme_scan.rs
/// verbatim (which CI compiles with the other examples).
#[test]
fn readme_shows_the_compiled_example() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/readme_scan.rs"
    ))
    .unwrap();
    let code: String = example
        .lines()
        .skip_while(|l| l.starts_with("//!") || l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        readme.contains(&format!("```rust\n{code}```")),
        "README's scan example differs from examples/readme_scan.rs"
    );
}

/// `vyre scan --payload F.vir0 --arg ...` folds a user payload written with
/// the macro (reductions, combine, bound scalar) exactly as the library
/// does; `--crc32` equals the CRC-32 payload exported as VIR0.
#[test]
fn the_command_line_folds_like_the_library() {
    let dir = support::tmpdir("user-payloads-cli");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let c = corpus(&data, 13);
    let payloads = [
        ("ll.vir0", longest_line::payload()),
        ("fb.vir0", first_byte::payload()),
        ("x.vir0", xor_words::payload()),
    ];
    // The scan's own CRC-32 payload, exported as VIR0 and run interpreted
    // (its slice-by-4 table included) next to --crc32.
    let crc = dir.join("crc.vir0");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vyre"))
        .args(["compile", "--payload", "scan_crc32", "-o"])
        .arg(&crc)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vyre"));
    cmd.args([
        "scan",
        "--json",
        "--backend",
        "cpu",
        "--chunk-size",
        "512",
        "--crc32",
    ]);
    cmd.arg("--payload").arg(&crc);
    for (file, p) in &payloads {
        let path = dir.join(file);
        std::fs::write(&path, vyre::vir0::encode_payload(p)).unwrap();
        cmd.arg("--payload").arg(path);
    }
    cmd.args(["--arg", "first_byte.needle=0x0a"]).arg(&data);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v.get("summary").is_none())
        .collect();
    assert_eq!(lines.len(), c.len());
    for (v, (_, d)) in lines.iter().zip(&c) {
        let words = |name: &str| -> Vec<u64> {
            v["payloads"][name]
                .as_array()
                .unwrap_or_else(|| panic!("{name} in {v}"))
                .iter()
                .map(|w| w.as_u64().unwrap())
                .collect()
        };
        let ll: LongestLine = vyre::scan::FromWords::from_words(&words("longest_line")).unwrap();
        assert_eq!(ll.longest(), reference::longest_line(d));
        assert_eq!(words("first_byte"), [reference::first_byte(d, b'\n')]);
        assert_eq!(words("xor_words"), [reference::xor_words(d)]);
        assert_eq!(v["crc32"].as_u64(), Some(u64::from(crc32fast::hash(d))));
        assert_eq!(words("crc32")[0], u64::from(crc32fast::hash(d)));
    }
    // A scalar left unbound, a bad --arg: exit 2 with a Fix.
    for args in [
        vec!["--payload", "fb.vir0"],
        vec!["--payload", "fb.vir0", "--arg", "first_byte.needle=ten"],
        vec!["--payload", "fb.vir0", "--arg", "nope.needle=1"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vyre"))
            .current_dir(&dir)
            .args(["scan", "--backend", "cpu"])
            .args(&args)
            .arg(&data)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("Fix:"), "{args:?}: {err}");
    }
}

use std::sync::atomic::{AtomicU32, Ordering};

/// Every runtime word a payload can ask for, folded per file.
#[vyre::payload(look_behind = 3)]
fn positions(
    data: &[u8],
    #[vyre(start)] start: u32,
    #[vyre(chunk_offset)] off: u32,
    #[vyre(chunk_offset_hi)] off_hi: u32,
    #[vyre(file_len)] len: u32,
    #[vyre(file_len_hi)] len_hi: u32,
    #[vyre(chunk_index)] index: u32,
    #[vyre(len = 1)] chunks: &[AtomicU32],
    #[vyre(len = 1, reduce = max)] last_index: &[AtomicU32],
    #[vyre(len = 1, reduce = max)] file_len: &[AtomicU32],
    #[vyre(len = 1, reduce = or)] high_words: &[AtomicU32],
    #[vyre(len = 1)] owned: &[AtomicU32],
    #[vyre(len = 1, reduce = min)] consistent: &[AtomicU32],
    lanes: vyre::Lanes,
) {
    if lanes.id() == 0 {
        chunks[0].fetch_add(1, Ordering::Relaxed);
        last_index[0].fetch_max(index, Ordering::Relaxed);
        file_len[0].fetch_max(len, Ordering::Relaxed);
        high_words[0].fetch_or(off_hi | len_hi, Ordering::Relaxed);
        owned[0].fetch_add(data.len() as u32 - start, Ordering::Relaxed);
        // Chunks are `chunk_size` apart, so offset / index is the same for
        // every chunk but the first (1 when it holds).
        let mut ok = 1;
        if index > 0 && off % index != 0 {
            ok = 0;
        }
        consistent[0].fetch_min(ok, Ordering::Relaxed);
    }
}

#[test]
fn runtime_words_reach_the_payload() {
    let dir = support::tmpdir("user-payloads-positions");
    let c = corpus(&dir, 17);
    for (device, fused) in [("cpu", true), ("cpu", false), ("gpu", true), ("gpu", false)] {
        let files: Vec<ScanFile> = Scan::new([dir.as_path()])
            .payload(positions::payload())
            .config(|c| {
                c.chunk_size = 1024;
                c.fused_payloads = fused;
            })
            .devices(device)
            .run()
            .unwrap()
            .collect();
        for (f, (_, d)) in files.iter().zip(&c) {
            let n = d.len() as u64;
            let chunks = n.div_ceil(1024).max(1);
            assert_eq!(
                f.get::<[u64; 6]>("positions"),
                Some([chunks, chunks - 1, n, 0, n, 1]),
                "{device} fused={fused}: {} ({n} bytes)",
                f.path().display()
            );
        }
    }
}

/// Offsets and lengths past 4 GiB reach the payload as two words each.
#[test]
fn file_positions_past_4_gib_have_high_words() {
    #[vyre::payload]
    fn words(
        #[vyre(chunk_offset)] lo: u32,
        #[vyre(chunk_offset_hi)] hi: u32,
        #[vyre(file_len)] len: u32,
        #[vyre(file_len_hi)] len_hi: u32,
        #[vyre(chunk_index)] index: u32,
        #[vyre(len = 5)] out: &mut [u32],
    ) {
        out[0] = lo;
        out[1] = hi;
        out[2] = len;
        out[3] = len_hi;
        out[4] = index;
    }
    use vyre::megakernel::{ChunkPosition, Megakernel, SlotRef};
    let mut mk = Megakernel::builder()
        .payload(words::payload())
        .tenant("t", &["words"])
        .build(vyre::cpu::CpuBackend::new())
        .unwrap();
    let t = mk.tenant_id("t").unwrap();
    let data = mk.add_data(b"abcd").unwrap();
    let slot = mk
        .publish_slot(SlotRef {
            op: "words",
            tenant: t,
            data,
            start: 0,
            args: &[],
            result_words: None,
            position: ChunkPosition {
                file_offset: (5 << 32) | 7,
                file_len: (9 << 32) | 11,
                chunk_index: 3,
            },
        })
        .unwrap();
    mk.run().unwrap();
    assert_eq!(mk.results(slot).unwrap(), [7, 5, 11, 9, 3]);
}
