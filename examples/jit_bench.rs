//! Benchmark: each standard payload as rustc-compiled native code, as JIT
//! code of its IR (`vyre_core::jit`), and on the CPU reference interpreter,
//! over the same bytes, one thread each. Prints a Markdown table of GB/s
//! and checks that all three give the same result words on every chunk
//! (the reference on a small prefix: it is ~1000x slower); a mismatch
//! ends the run with status 1.
//!
//! ```sh
//! cargo run --release --example jit_bench -- [MIB] [REFERENCE_KIB]
//! ```
//! `JIT_BENCH_ONLY=TEXT` keeps the rows whose name contains TEXT.
//! (default 64 MiB of text-like bytes in 256 KiB chunks, the scan's
//! default chunk size; the reference runs on the first 256 KiB.)
//! Payloads: `vyre::payloads`, the scan's CRC-32 and block CRC and its
//! pattern payloads, the user payloads of `examples/user_payloads`, and
//! every `examples/payloads/*.vyre` (no native code: JIT and reference
//! only).

#[allow(dead_code)]
#[path = "user_payloads/payloads.rs"]
mod user;

use std::time::Instant;

use vyre::cpu::CpuBackend;
use vyre::megakernel::abi::initial_results;
use vyre::{Backend, NativePayload, NativeSlot, ParamKind, Payload};

/// The scan's chunk size.
const CHUNK: usize = 256 << 10;

/// Text-like bytes: words from a small vocabulary, spaces, newlines, some
/// UTF-8 and a few zero bytes, from a fixed seed.
fn corpus(len: usize) -> Vec<u8> {
    const WORDS: [&str; 12] = [
        "the", "License", "GPL", "fn", "return", "struct", "é", "data", "0x1F", "abab", "\t", "—",
    ];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(WORDS[(x % 12) as usize].as_bytes());
        out.push(match (x >> 8) % 23 {
            0..=2 => b'\n',
            3 => 0,
            _ => b' ',
        });
    }
    out.truncate(len);
    out
}

/// One slot of `data`: chunk `k`, with the payload's look-behind.
struct Slot<'a> {
    data: &'a [u8],
    start: u32,
    offset: u64,
    index: u32,
    file_len: u64,
}

fn slots(data: &[u8], look_behind: u32) -> Vec<Slot<'_>> {
    (0..data.len().div_ceil(CHUNK))
        .map(|k| {
            let from = k * CHUNK;
            let back = (look_behind as usize).min(from);
            Slot {
                data: &data[from - back..(from + CHUNK).min(data.len())],
                start: back as u32,
                offset: from as u64,
                index: k as u32,
                file_len: data.len() as u64,
            }
        })
        .collect()
}

/// Runs `code` on every slot (results preset to `init`), under a budget
/// as the scan runs it; the result words of each slot.
fn run_code(code: &NativePayload, slots: &[Slot<'_>], init: &[u32]) -> Vec<Vec<u32>> {
    slots
        .iter()
        .map(|s| {
            let mut results = init.to_vec();
            let mut slot = NativeSlot {
                data: s.data,
                start: s.start,
                args: &[],
                chunk_offset: s.offset as u32,
                chunk_offset_hi: (s.offset >> 32) as u32,
                file_len: s.file_len as u32,
                file_len_hi: (s.file_len >> 32) as u32,
                chunk_index: s.index,
                results: &mut results,
            };
            let (ran, spent) =
                vyre::__private::native::with_iteration_budget(1 << 40, || code.call(&mut slot));
            assert!(ran && !spent, "the code ran within its budget");
            results
        })
        .collect()
}

/// `p` on the CPU reference, one lane per slot (as native code runs):
/// its standalone program with the slot's words.
fn run_reference(p: &Payload, slots: &[Slot<'_>], init: &[u32]) -> Vec<Vec<u32>> {
    let prog = p.to_program(1);
    let cpu = CpuBackend::with_step_budget(u64::MAX);
    slots
        .iter()
        .map(|s| {
            let mut args = vec![s.data.len() as u32];
            for q in p.params.iter().filter(|q| q.kind.is_position()) {
                args.push(match q.kind {
                    ParamKind::ChunkStart => s.start,
                    ParamKind::ChunkOffset => s.offset as u32,
                    ParamKind::ChunkOffsetHi => (s.offset >> 32) as u32,
                    ParamKind::FileLen => s.file_len as u32,
                    ParamKind::FileLenHi => (s.file_len >> 32) as u32,
                    _ => s.index,
                });
            }
            let mut words: Vec<u32> = s
                .data
                .chunks(4)
                .map(|c| {
                    let mut b = [0u8; 4];
                    b[..c.len()].copy_from_slice(c);
                    u32::from_le_bytes(b)
                })
                .collect();
            words.push(0);
            // Result regions in declaration order; the program binds
            // outputs first, then accumulators.
            let mut regions = Vec::new();
            let mut at = 0usize;
            for q in p.params.iter().filter(|q| q.kind.is_result()) {
                let n = q.len.unwrap_or(0) as usize;
                regions.push((q.kind, at, n));
                at += n;
            }
            let order: Vec<usize> = (0..regions.len())
                .filter(|&i| regions[i].0 == ParamKind::Output)
                .chain((0..regions.len()).filter(|&i| regions[i].0 == ParamKind::Accumulator))
                .collect();
            let mut bufs = vec![args, words];
            for &i in &order {
                let (_, from, n) = regions[i];
                bufs.push(init[from..from + n].to_vec());
            }
            cpu.run(&prog, &mut bufs, 1).expect("reference run");
            let mut out = init.to_vec();
            for (b, &i) in order.iter().enumerate() {
                let (_, from, n) = regions[i];
                out[from..from + n].copy_from_slice(&bufs[2 + b]);
            }
            out
        })
        .collect()
}

/// Best GB/s of `f` over `bytes` bytes: runs it until 0.5 s passed (at
/// least 3 times) and keeps the fastest run; also its last output.
fn gbps<T>(bytes: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let t0 = Instant::now();
    let mut best = f64::MAX;
    let mut runs = 0;
    loop {
        let t = Instant::now();
        let out = std::hint::black_box(f());
        best = best.min(t.elapsed().as_secs_f64());
        runs += 1;
        if runs >= 3 && t0.elapsed().as_secs_f64() > 0.5 {
            return (bytes as f64 / best / 1e9, out);
        }
    }
}

/// The payloads measured, each with the name of its row.
fn payloads() -> Result<Vec<(String, Payload)>, Box<dyn std::error::Error>> {
    use vyre::scan::{crc, pattern};
    let mut out = vec![
        (
            "payloads::line_count",
            vyre::payloads::line_count::payload(),
        ),
        (
            "payloads::byte_histogram",
            vyre::payloads::byte_histogram::payload(),
        ),
        (
            "payloads::non_ascii_count",
            vyre::payloads::non_ascii_count::payload(),
        ),
        (
            "payloads::count_needle",
            vyre::payloads::count_needle::payload(),
        ),
        (
            "payloads::crc32 (bitwise)",
            vyre::payloads::crc32::payload(),
        ),
        ("scan::crc::crc32 (--crc32)", crc::crc32::payload()),
        ("scan::crc::crc32_blocks", crc::crc32_blocks::payload()),
        (
            "-e GPL (pattern payload)",
            pattern::pattern_payload("p", b"GPL")?,
        ),
        (
            "-e GPL -e License -e the",
            pattern::patterns_payload("ps", &[&b"GPL"[..], b"License", b"the"])?,
        ),
        ("user: word_count", user::word_count::payload()),
        ("user: max_byte", user::max_byte::payload()),
        ("user: all_ascii", user::all_ascii::payload()),
        ("user: xor_words", user::xor_words::payload()),
        ("user: longest_line", user::longest_line::payload()),
    ];
    let mut out: Vec<(String, Payload)> = out.drain(..).map(|(l, p)| (l.to_string(), p)).collect();
    let mut files: Vec<_> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/payloads"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "vyre"))
            .collect();
    files.sort();
    for p in vyre::scan::load_payload_files(&files)? {
        out.push((format!("{}.vyre", p.name), p));
    }
    Ok(out)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mib: usize = args.next().map_or(Ok(64), |a| a.parse())?;
    let ref_kib: usize = args.next().map_or(Ok(256), |a| a.parse())?;
    let data = corpus(mib << 20);
    let small = &data[..(ref_kib << 10).min(data.len())];
    println!(
        "{} MiB in {} KiB chunks, one thread; reference on {} KiB",
        mib,
        CHUNK >> 10,
        small.len() >> 10
    );
    println!("| payload | native GB/s | JIT GB/s | JIT/native | reference GB/s | equal |");
    println!("|---|---|---|---|---|---|");
    let mut mismatches = 0;
    let only = std::env::var("JIT_BENCH_ONLY").unwrap_or_default();
    for (label, p) in payloads()?.into_iter().filter(|(l, _)| l.contains(&only)) {
        let init = initial_results(&p);
        let all = slots(&data, p.look_behind);
        let few = slots(small, p.look_behind);
        let jit = vyre_core::jit::compile(&p)?;
        let (jit_gbps, jit_words) = gbps(data.len(), || run_code(&jit, &all, &init));
        let (ref_gbps, ref_words) = gbps(small.len(), || run_reference(&p, &few, &init));
        // The reference against the JIT on the small input; native code
        // against both (on the small input, and on every chunk of the big
        // one against the JIT).
        let mut equal = run_code(&jit, &few, &init) == ref_words;
        let (native, ratio) = if p.native.is_some() {
            let (n_gbps, n_words) = gbps(data.len(), || run_code(&p.native, &all, &init));
            equal &= n_words == jit_words && run_code(&p.native, &few, &init) == ref_words;
            (
                format!("{n_gbps:.2}"),
                format!("{:.0} %", 100.0 * jit_gbps / n_gbps),
            )
        } else {
            ("— (no native code)".to_string(), "—".to_string())
        };
        if !equal {
            mismatches += 1;
        }
        println!(
            "| `{label}` | {native} | {jit_gbps:.2} | {ratio} | {ref_gbps:.4} | {} |",
            if equal { "yes" } else { "NO" }
        );
    }
    if mismatches > 0 {
        eprintln!("{mismatches} payloads gave different results: a vyre bug");
        std::process::exit(1);
    }
    Ok(())
}
