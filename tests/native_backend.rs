//! The native backend (`vyre scan --backend native`, `Scan::devices("native")`)
//! gives the per-file results of the CPU reference and the GPU (llvmpipe
//! here): every standard payload and every user payload of
//! `examples/user_payloads`, over trees whose files chunks split (look-behind,
//! combines, reductions, runtime words); payloads without native code run
//! as JIT code; a runaway payload fails only its files; a
//! cancelled scan stops; direct native calls never stop.

#[path = "../examples/user_payloads/payloads.rs"]
mod payloads;
mod support;

use std::sync::atomic::{AtomicU32, Ordering};

use payloads::*;
use vyre::scan::{Scan, ScanFile};
use vyre::Lanes;

/// Every runtime word, folded so that each chunk's words count:
/// sums of chunk counts and indices, xor of offsets, max of file lengths,
/// and the start (look-behind) of chunks.
#[vyre::payload(look_behind = 3)]
fn positions(
    data: &[u8],
    #[vyre(start)] start: u32,
    #[vyre(chunk_offset)] off: u32,
    #[vyre(chunk_offset_hi)] off_hi: u32,
    #[vyre(file_len)] len: u32,
    #[vyre(file_len_hi)] len_hi: u32,
    #[vyre(chunk_index)] index: u32,
    #[vyre(len = 3)] sums: &mut [u32],
    #[vyre(len = 1, reduce = xor)] offs: &[AtomicU32],
    #[vyre(len = 2, reduce = max)] lens: &[AtomicU32],
    lanes: Lanes,
) {
    if lanes.id() == 0 {
        sums[0] = 1;
        sums[1] = index;
        sums[2] = start + data.len() as u32 + off_hi;
        offs[0].fetch_xor(off, Ordering::Relaxed);
        lens[0].fetch_max(len, Ordering::Relaxed);
        lens[1].fetch_max(len_hi, Ordering::Relaxed);
    }
}

/// Loops forever on chunks whose first owned byte is `!`; counts chunks.
#[vyre::payload]
fn spin_on_bang(data: &[u8], #[vyre(len = 1)] n: &[AtomicU32], lanes: Lanes) {
    let mut k = 0u32;
    if data[0] == b'!' {
        loop {
            k += 1;
            if k == 0 {
                break;
            }
        }
    }
    if lanes.id() == 0 && k == 0 {
        n[0].fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts to `n` in a loop (a long but finite loop).
#[vyre::payload]
fn count_to(n: u32, #[vyre(len = 1)] out: &mut [u32]) {
    let mut i = 0;
    while i < n {
        i += 1;
    }
    out[0] = i;
}

/// Text-like files, sizes around `chunk` and a few bigger, plus the
/// shared tree of `support::make_tree` (patterns across chunk boundaries).
fn tree(name: &str, chunk: usize) -> std::path::PathBuf {
    let dir = support::tmpdir(name);
    support::make_tree(&dir.join("t"), chunk);
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for (i, n) in [0usize, 1, 5, chunk - 3, chunk + 5, 3 * chunk + 1, 7000]
        .into_iter()
        .enumerate()
    {
        let d: Vec<u8> = (0..n)
            .map(|_| {
                let r = rnd();
                match r % 19 {
                    0..=2 => b'\n',
                    3..=5 => b' ',
                    6 => 0xC3,
                    7 => b'G',
                    _ => b"GPLicense the"[(r >> 9) as usize % 13],
                }
            })
            .collect();
        std::fs::write(dir.join(format!("u{i}")), d).unwrap();
    }
    dir
}

const PATTERNS: [&[u8]; 5] = [b"GPL", b"License", b"the", b"ab", b"b\nxyz\x80"];

/// Every standard analysis and every user payload, on `device`.
fn scan_all(dir: &std::path::Path, device: &str, chunk: u32, fused: bool) -> Vec<ScanFile> {
    Scan::new([dir])
        .payload(word_count::payload())
        .payload_with_args(first_byte::payload(), &[("needle", u32::from(b'\n'))])
        .unwrap()
        .payload(max_byte::payload())
        .payload(all_ascii::payload())
        .payload(xor_words::payload())
        .payload(longest_line::payload())
        .payload(positions::payload())
        .config(|c| {
            c.lines = true;
            c.histogram = true;
            c.crc32 = true;
            c.patterns = PATTERNS.iter().map(|p| p.to_vec()).collect();
            c.chunk_size = chunk;
            c.batch_bytes = 16 * chunk as usize;
            c.fused_payloads = fused;
        })
        .devices(device)
        .run()
        .expect("scan starts")
        .collect()
}

#[test]
fn native_equals_cpu_reference_and_gpu_for_every_payload() {
    let dir = tree("native-diff", 256);
    for chunk in [256u32, 1028] {
        let native = scan_all(&dir, "native", chunk, true);
        let reports: Vec<_> = native.iter().map(|f| f.report().clone()).collect();
        support::check_against_reference(&reports, &PATTERNS);
        for f in &native {
            let d = std::fs::read(f.path()).unwrap();
            let n = d.len() as u64;
            assert_eq!(f.get::<u64>("word_count"), Some(reference::word_count(&d)));
            assert_eq!(
                f.get::<u64>("first_byte"),
                Some(reference::first_byte(&d, b'\n'))
            );
            assert_eq!(f.get::<u64>("max_byte"), Some(reference::max_byte(&d)));
            assert_eq!(f.get::<bool>("all_ascii"), Some(reference::all_ascii(&d)));
            assert_eq!(f.get::<u64>("xor_words"), Some(reference::xor_words(&d)));
            let ll: LongestLine = f.get("longest_line").unwrap();
            assert_eq!(ll.longest(), reference::longest_line(&d));
            let chunks = n.div_ceil(u64::from(chunk)).max(1);
            let pos = f.words("positions").unwrap();
            assert_eq!(pos[0], chunks, "{}", f.path().display());
            assert_eq!(pos[1], chunks * (chunks - 1) / 2);
            assert_eq!(&pos[4..], &[n, 0]);
        }
        let cpu = scan_all(&dir, "cpu", chunk, true);
        assert_eq!(native, cpu, "native vs cpu reference, chunk {chunk}");
        let gpu = scan_all(&dir, "gpu", chunk, false);
        assert_eq!(native, gpu, "native vs gpu (interpreted), chunk {chunk}");
    }
}

/// Payloads loaded from VIR0 have no rustc-compiled code: a native scan
/// runs them as JIT code (`vyre_core::jit`), with the same results.
#[test]
fn payloads_without_native_code_run_as_jit_code() {
    let dir = tree("native-loaded", 512);
    let load = |p: vyre::Payload| {
        let back = vyre::vir0::decode_payload(&vyre::vir0::encode_payload(&p)).unwrap();
        assert!(!back.native.is_some());
        back
    };
    let run = |device: &str, loaded: bool| -> Vec<ScanFile> {
        let (ll, xw) = match loaded {
            true => (load(longest_line::payload()), load(xor_words::payload())),
            false => (longest_line::payload(), xor_words::payload()),
        };
        Scan::new([dir.as_path()])
            .payload(ll)
            .payload(max_byte::payload())
            .payload(xw)
            .config(|c| {
                c.lines = true;
                c.chunk_size = 512;
                c.fused_payloads = false;
            })
            .devices(device)
            .run()
            .unwrap()
            .collect()
    };
    let mixed = run("native", true);
    assert!(mixed.iter().all(|f| f.error().is_none()));
    assert_eq!(mixed, run("native", false));
    assert_eq!(mixed, run("cpu", true));
}

/// A payload that loops forever on some chunks fails only their files on
/// the native backend, with the message the CPU reference gives; the other
/// files keep their results.
#[test]
fn a_runaway_payload_fails_only_its_files() {
    let dir = support::tmpdir("native-runaway");
    std::fs::write(dir.join("a_ok"), b"fine\n").unwrap();
    std::fs::write(dir.join("b_bang"), b"!boom").unwrap();
    std::fs::write(dir.join("c_ok"), vec![b'x'; 3000]).unwrap();
    let mut late = vec![b'y'; 2048];
    late[1024] = b'!';
    std::fs::write(dir.join("d_late_bang"), late).unwrap();
    let run = |device: &str| -> Vec<ScanFile> {
        Scan::new([dir.as_path()])
            .payload(spin_on_bang::payload())
            .config(|c| {
                c.lines = true;
                c.chunk_size = 1024;
                c.iteration_budget = 2000;
            })
            .devices(device)
            .run()
            .unwrap()
            .collect()
    };
    let native = run("native");
    let failed: Vec<bool> = native.iter().map(|f| f.error().is_some()).collect();
    assert_eq!(failed, [false, true, false, true]);
    assert!(native[1].error().unwrap().contains(
        "exceeded its iteration budget (2000 loop iterations per lane per chunk) at offset 0"
    ));
    assert!(native[3].error().unwrap().contains("at offset 1024"));
    assert_eq!(native[2].get::<u64>("spin_on_bang"), Some(3));
    assert_eq!(native[2].report().lines, Some(0));
    assert_eq!(native, run("cpu"));
}

/// Native code called directly (no scan) never stops early, whatever the
/// loop count; inside a budget it stops and says so.
#[test]
fn direct_native_calls_have_no_budget() {
    let mut out = [0u32; 1];
    count_to(3_000_000, &mut out);
    assert_eq!(out[0], 3_000_000);
    let ((), spent) = vyre::__private::native::with_iteration_budget(1000, || {
        count_to(3_000_000, &mut out);
    });
    assert!(spent);
    assert!(out[0] <= 1001, "{}", out[0]);
    let ((), spent) =
        vyre::__private::native::with_iteration_budget(1000, || count_to(999, &mut out));
    assert!(!spent);
    assert_eq!(out[0], 999);
    // And outside again: no budget.
    count_to(2_000_000, &mut out);
    assert_eq!(out[0], 2_000_000);
}

/// A cancelled native scan ends with `Cancelled` and reports no file twice.
#[test]
fn a_cancelled_native_scan_stops() {
    let dir = support::tmpdir("native-cancel");
    for i in 0..1500 {
        std::fs::write(dir.join(format!("f{i:04}")), vec![b'a'; 300]).unwrap();
    }
    let scan = Scan::new([dir.as_path()])
        .payload(longest_line::payload())
        .config(|c| {
            c.chunk_size = 256;
            c.batch_bytes = 1024;
        })
        .devices("native");
    let token = scan.cancel_token();
    let mut files = scan.run().unwrap();
    let first = files.next().expect("a first file");
    token.cancel();
    let rest: Vec<ScanFile> = files.by_ref().collect();
    assert!(
        rest.len() < 1499,
        "stopped early ({} more files)",
        rest.len()
    );
    assert!(rest.iter().all(|f| f.path() != first.path()));
    assert!(matches!(files.finish(), Err(vyre::Error::Cancelled)));
}

/// `vyre scan --backend native` prints what `--backend cpu` prints, and
/// names the native backend in its summary.
#[test]
fn the_command_line_runs_native() {
    let dir = tree("native-cli", 300);
    let run = |backend: &str| {
        let out = support::vyre_bin()
            .args([
                "scan",
                "--json",
                "--lines",
                "--crc32",
                "--histogram",
                "-e",
                "GPL",
                "-e",
                "License",
                "--chunk-size",
                "300",
                "--backend",
                backend,
            ])
            .arg(&dir)
            .output()
            .unwrap();
        support::assert_ok(&out, backend);
        out.stdout
    };
    let native = run("native");
    assert_eq!(
        support::json_lines(&native),
        support::json_lines(&run("cpu"))
    );
    let text = String::from_utf8_lossy(&native);
    assert!(text.contains("native ("), "{text}");
}

/// A payload declared in a function body, naming types imported there,
/// gets a native entry point that binds the slot as the ABI does: the
/// results split in declaration order (clipped), scalars in order, the
/// runtime words.
#[test]
fn native_entry_of_a_payload_in_a_function_body() {
    use std::sync::atomic::AtomicU32;
    use std::sync::atomic::Ordering as O;
    #[vyre::payload]
    fn local(
        data: &[u8],
        a: u32,
        #[vyre(file_len)] len: u32,
        b: u32,
        #[vyre(len = 2)] out: &mut [u32],
        #[vyre(len = 3)] acc: &[AtomicU32],
    ) {
        out[0] = a;
        out[1] = b;
        acc[0].fetch_add(data.len() as u32, O::Relaxed);
        acc[2].fetch_add(len, O::SeqCst);
    }
    let p = local::payload();
    let mut results = [0u32, 0, 10, 0, 0];
    let mut slot = vyre::NativeSlot {
        data: b"abc",
        start: 0,
        args: &[7, 9],
        chunk_offset: 0,
        chunk_offset_hi: 0,
        file_len: 40,
        file_len_hi: 0,
        chunk_index: 0,
        results: &mut results,
    };
    assert!(p.native.call(&mut slot));
    assert_eq!(results, [7, 9, 13, 0, 40]);
    // A bound scalar (as a scan binds it) moves the others up.
    let bound = vyre::scan::bind_scalar(&p, "a", 5).unwrap();
    let mut results = [0u32; 4];
    let mut slot = vyre::NativeSlot {
        data: b"",
        start: 0,
        args: &[6],
        chunk_offset: 0,
        chunk_offset_hi: 0,
        file_len: 0,
        file_len_hi: 0,
        chunk_index: 0,
        results: &mut results,
    };
    assert!(bound.native.call(&mut slot));
    assert_eq!(results, [5, 6, 0, 0], "clipped to the region");
}

/// A payload loaded at run time (text IR) has no rustc-compiled code: the
/// native backend runs it as JIT code, printing what `--backend cpu`
/// prints, and its summary says so.
#[test]
fn the_command_line_runs_loaded_payloads_as_jit_code() {
    let dir = tree("native-jit", 300);
    let mut zeros = vec![0u8; 1000];
    zeros[17] = 1;
    std::fs::write(dir.join("zeros"), zeros).unwrap();
    let payload = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/payloads/count_zero_bytes.vyre"
    );
    let run = |backend: &str| {
        let out = support::vyre_bin()
            .args([
                "scan",
                "--json",
                "--payload",
                payload,
                "--chunk-size",
                "300",
                "--backend",
                backend,
            ])
            .arg(&dir)
            .output()
            .unwrap();
        support::assert_ok(&out, backend);
        out.stdout
    };
    let native = run("native");
    let cpu = run("cpu");
    assert_eq!(support::json_lines(&native), support::json_lines(&cpu));
    let text = String::from_utf8_lossy(&native);
    assert!(text.contains("JIT: count_zero_bytes"), "{text}");
    assert!(text.contains("999"), "{text}");
}
