//! Differential tests of the standard payloads: for random inputs (lengths
//! 0..=3000, so most are not multiples of 4 or of the workgroup size) the
//! native Rust function, the CPU reference running the generated IR and the
//! GPU (when an adapter exists) give the same results.

use std::sync::atomic::{AtomicU32, Ordering};

use proptest::prelude::*;
use vyre::cpu::CpuBackend;
use vyre::payloads::{
    byte_histogram, count_needle, crc32, crc32_finish, line_count, non_ascii_count, CRC32_INIT,
};
use vyre::{Lanes, ParamKind, Payload};

mod support;
use support::{ir_backends, le_words, GPU_LOCK};

fn words(bytes: &[u8]) -> Vec<u32> {
    let mut w = le_words(bytes);
    if w.is_empty() {
        w.push(0);
    }
    w
}

/// Runs `payload` (one Bytes parameter, an optional ChunkStart, one result
/// buffer starting as `init`) with `lanes` lanes; returns the result words
/// from the CPU reference and, if present, the GPU.
fn run_ir(payload: &Payload, data: &[u8], start: u32, init: &[u32], lanes: u32) -> Vec<Vec<u32>> {
    let program = payload.to_program(lanes);
    let mut args = vec![data.len() as u32];
    if payload.params_of(ParamKind::ChunkStart).next().is_some() {
        args.push(start);
    }
    let mut results = Vec::new();
    let cpu = CpuBackend::new();
    for b in ir_backends(&cpu) {
        let _guard = GPU_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut buffers = vec![args.clone(), words(data), init.to_vec()];
        b.run(&program, &mut buffers, 1)
            .unwrap_or_else(|e| panic!("{} on {}: {e}", payload.name, b.name()));
        results.push(buffers.pop().unwrap_or_default());
    }
    results
}

fn atomics(n: usize) -> Vec<AtomicU32> {
    (0..n).map(|_| AtomicU32::new(0)).collect()
}

fn read(a: &[AtomicU32]) -> Vec<u32> {
    a.iter().map(|x| x.load(Ordering::Relaxed)).collect()
}

/// Random bytes, biased towards the bytes the payloads look for.
fn input() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        Just(b'a'),
        Just(b'b'),
        Just(b'\n'),
        0x80u8..=0xff,
        any::<u8>()
    ];
    prop::collection::vec(byte, 0..=3000)
}

fn lanes() -> impl Strategy<Value = u32> {
    prop_oneof![Just(1u32), Just(7), Just(64), Just(256)]
}

fn check_all(name: &str, native: Vec<u32>, ir: Vec<Vec<u32>>) -> Result<(), TestCaseError> {
    for (i, r) in ir.iter().enumerate() {
        let which = if i == 0 { "CPU reference" } else { "GPU" };
        prop_assert_eq!(r, &native, "{}: {} differs from native", name, which);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn line_count_agrees(data in input(), lanes in lanes()) {
        let acc = atomics(1);
        line_count(&data, &acc, Lanes::all());
        prop_assert_eq!(read(&acc)[0], data.iter().filter(|&&b| b == b'\n').count() as u32);
        check_all("line_count", read(&acc), run_ir(&line_count::payload(), &data, 0, &[0], lanes))?;
    }

    #[test]
    fn byte_histogram_agrees(data in input(), lanes in lanes()) {
        let acc = atomics(256);
        byte_histogram(&data, &acc, Lanes::all());
        check_all("byte_histogram", read(&acc), run_ir(&byte_histogram::payload(), &data, 0, &[0; 256], lanes))?;
    }

    #[test]
    fn count_needle_agrees(data in input(), lanes in lanes()) {
        let acc = atomics(1);
        count_needle(&data, 0, &acc, Lanes::all());
        let expected = data.windows(4).filter(|w| w == b"abab").count() as u32;
        prop_assert_eq!(read(&acc)[0], expected);
        check_all("count_needle", read(&acc), run_ir(&count_needle::payload(), &data, 0, &[0], lanes))?;
    }

    #[test]
    fn count_needle_chunks_count_each_match_once(data in input(), cut in 1usize..700, lanes in lanes()) {
        // Split into chunks of `cut` bytes, each preceded by up to
        // `look_behind` bytes of the previous chunk: the sum is the whole count.
        let lb = count_needle::payload().look_behind as usize;
        let whole = data.windows(4).filter(|w| w == b"abab").count() as u32;
        let (mut native, mut cpu) = (0, 0);
        for s in (0..data.len()).step_by(cut) {
            let from = s.saturating_sub(lb);
            let chunk = &data[from..(s + cut).min(data.len())];
            let start = (s - from) as u32;
            let acc = atomics(1);
            count_needle(chunk, start, &acc, Lanes::all());
            native += read(&acc)[0];
            cpu += run_ir(&count_needle::payload(), chunk, start, &[0], lanes)[0][0];
        }
        prop_assert_eq!(native, whole);
        prop_assert_eq!(cpu, whole);
    }

    #[test]
    fn crc32_agrees(data in input(), lanes in lanes()) {
        let mut state = [CRC32_INIT];
        crc32(&data, &mut state, Lanes::all());
        prop_assert_eq!(crc32_finish(state[0]), crc32fast::hash(&data));
        check_all("crc32", state.to_vec(), run_ir(&crc32::payload(), &data, 0, &[CRC32_INIT], lanes))?;
    }

    #[test]
    fn crc32_chains_chunks(data in input(), cut in 1usize..700) {
        let mut state = [CRC32_INIT];
        for chunk in data.chunks(cut) {
            state[0] = run_ir(&crc32::payload(), chunk, 0, &state, 64)[0][0];
        }
        prop_assert_eq!(crc32_finish(state[0]), crc32fast::hash(&data));
    }

    #[test]
    fn non_ascii_count_agrees(data in input(), lanes in lanes()) {
        let acc = atomics(1);
        non_ascii_count(&data, &acc, Lanes::all());
        prop_assert_eq!(read(&acc)[0], data.iter().filter(|&&b| b >= 0x80).count() as u32);
        check_all("non_ascii_count", read(&acc), run_ir(&non_ascii_count::payload(), &data, 0, &[0], lanes))?;
    }
}
