//! The pattern payloads (`vyre scan -e`) compiled by the JIT
//! (`vyre_core::jit`), whose word loop goes through the JIT's data idioms
//! (`jit/idiom.rs`), against a plain count of overlapping matches and
//! against their native code (`memchr::memmem`): random data from a small
//! alphabet (frequent matches, partial last words), 1 to 5 patterns of 1
//! to 9 bytes, random chunk starts; and the iteration budget: a slot runs
//! in exactly the iterations the native code charges and is cut (spent)
//! with one fewer, like native code. And the standard payloads as JIT code
//! against their native code.

use proptest::prelude::*;
use vyre::__private::native::with_iteration_budget;
use vyre::scan::pattern::{count_overlapping, patterns_payload};
use vyre::{NativePayload, NativeSlot};

/// For each pattern, its overlapping matches that end at an index >= start.
fn expected_counts(data: &[u8], start: u32, patterns: &[Vec<u8>]) -> Vec<u32> {
    patterns
        .iter()
        .map(|p| {
            let skip = (start as usize + 1).saturating_sub(p.len()).min(data.len());
            count_overlapping(&data[skip..], p) as u32
        })
        .collect()
}

/// `code` on one slot of `data` from `start`, `n` counters, under `budget`
/// iterations: the counters and whether the budget was spent.
fn run(code: &NativePayload, data: &[u8], start: u32, n: usize, budget: u64) -> (Vec<u32>, bool) {
    let mut results = vec![0u32; n];
    let mut slot = NativeSlot {
        data,
        start,
        args: &[],
        chunk_offset: 0,
        chunk_offset_hi: 0,
        file_len: data.len() as u32,
        file_len_hi: 0,
        chunk_index: 0,
        results: &mut results,
    };
    let (ran, spent) = with_iteration_budget(budget, || code.call(&mut slot));
    assert!(ran, "the payload has code");
    (results, spent)
}

fn alphabet() -> impl Strategy<Value = u8> {
    prop_oneof![Just(b'a'), Just(b'b'), Just(0u8), Just(0xff), Just(b'\n')]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn jit_pattern_counts_agree(
        data in prop::collection::vec(alphabet(), 0..=600),
        patterns in prop::collection::vec(prop::collection::vec(alphabet(), 1..=9), 1..=5),
        start_frac in 0u32..=100,
    ) {
        let start = (data.len() as u32 * start_frac / 100).min(data.len() as u32);
        let p = patterns_payload("p", &patterns).unwrap();
        let jit = vyre_core::jit::compile(&p).unwrap();
        let want = expected_counts(&data, start, &patterns);
        let (got, spent) = run(&jit, &data, start, patterns.len(), u64::MAX - 1);
        prop_assert!(!spent);
        prop_assert_eq!(&got, &want, "JIT, start {}", start);
        let (native, _) = run(&p.native, &data, start, patterns.len(), u64::MAX - 1);
        prop_assert_eq!(&native, &want, "native, start {}", start);
    }

    /// Patterns of at most 4 bytes (no inner loop): the word loop runs
    /// `ceil((words - first word) / 4)` iterations, what native code
    /// charges; one fewer cuts both.
    #[test]
    fn jit_pattern_loop_spends_the_budget_like_native_code(
        data in prop::collection::vec(alphabet(), 0..=300),
        patterns in prop::collection::vec(prop::collection::vec(alphabet(), 1..=4), 1..=3),
        start_frac in 0u32..=100,
    ) {
        let start = (data.len() as u32 * start_frac / 100).min(data.len() as u32);
        let p = patterns_payload("p", &patterns).unwrap();
        let jit = vyre_core::jit::compile(&p).unwrap();
        let shortest = patterns.iter().map(Vec::len).min().unwrap() as u32;
        let first_word = start.max(shortest - 1) >> 2;
        let iterations = u64::from((data.len() as u32).div_ceil(4).saturating_sub(first_word).div_ceil(4));
        let want = expected_counts(&data, start, &patterns);
        let (got, spent) = run(&jit, &data, start, patterns.len(), iterations);
        prop_assert!(!spent, "{} iterations suffice", iterations);
        prop_assert_eq!(&got, &want);
        if iterations > 0 {
            prop_assert!(run(&jit, &data, start, patterns.len(), iterations - 1).1, "JIT cut");
            prop_assert!(run(&p.native, &data, start, patterns.len(), iterations - 1).1, "native cut");
        }
    }
}

/// A longer text-like input (words, newlines, zero bytes; partial last
/// word) in chunks with look-behind: the JIT's counts are exact.
#[test]
fn jit_pattern_counts_on_text_chunks() {
    let vocabulary: [&[u8]; 6] = [b"the", b"License", b"GPL", b"fn", b"\0", b"abab"];
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut text = Vec::new();
    while text.len() < (1 << 18) + 3 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        text.extend_from_slice(vocabulary[(x % 6) as usize]);
        text.push(if x % 7 == 0 { b'\n' } else { b' ' });
    }
    let patterns: Vec<Vec<u8>> = [&b"GPL"[..], b"License", b"the", b"ab", b"b\nt", b"\0 "]
        .iter()
        .map(|p| p.to_vec())
        .collect();
    let p = patterns_payload("text", &patterns).unwrap();
    let jit = vyre_core::jit::compile(&p).unwrap();
    let chunk = 40_000usize;
    let mut total = vec![0u64; patterns.len()];
    for from in (0..text.len()).step_by(chunk) {
        let back = (p.look_behind as usize).min(from);
        let slot = &text[from - back..(from + chunk).min(text.len())];
        let (got, spent) = run(&jit, slot, back as u32, patterns.len(), u64::MAX - 1);
        assert!(!spent);
        for (t, g) in total.iter_mut().zip(got) {
            *t += u64::from(g);
        }
    }
    let want: Vec<u64> = patterns
        .iter()
        .map(|q| count_overlapping(&text, q))
        .collect();
    assert!(want.iter().all(|&w| w > 0), "every pattern occurs");
    assert_eq!(total, want);
}

/// The standard payloads, whose loops read through the data helpers (the
/// JIT's idioms): JIT code gives the result words of their rustc-compiled
/// native code (itself checked against the CPU reference by
/// `macro_differential.rs`) on every length 0 to 70 (partial last words)
/// and a longer input, from several chunk starts.
#[test]
fn standard_payloads_jit_equals_native_code() {
    use vyre::megakernel::abi::initial_results;
    use vyre::scan::crc;
    let payloads = [
        vyre::payloads::line_count::payload(),
        vyre::payloads::byte_histogram::payload(),
        vyre::payloads::non_ascii_count::payload(),
        vyre::payloads::count_needle::payload(),
        vyre::payloads::crc32::payload(),
        crc::crc32::payload(),
        crc::crc32_blocks::payload(),
    ];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut bytes = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                [b'a', b'\n', 0, 0xC3, 0xA9, b'G'][(x % 6) as usize]
            })
            .collect()
    };
    let mut inputs: Vec<Vec<u8>> = (0..=70).map(&mut bytes).collect();
    inputs.push(bytes(5003));
    for p in &payloads {
        assert!(p.native.is_some(), "{} has native code", p.name);
        let jit = vyre_core::jit::compile(p).unwrap();
        let init = initial_results(p);
        for data in &inputs {
            for start in [0, 1, 5, data.len() as u32 / 2] {
                let start = start.min(data.len() as u32);
                let go = |code: &NativePayload| {
                    let mut results = init.clone();
                    let mut slot = NativeSlot {
                        data,
                        start,
                        args: &[],
                        chunk_offset: 0,
                        chunk_offset_hi: 0,
                        file_len: data.len() as u32,
                        file_len_hi: 0,
                        chunk_index: 0,
                        results: &mut results,
                    };
                    let (ran, spent) = with_iteration_budget(1 << 40, || code.call(&mut slot));
                    assert!(ran && !spent);
                    results
                };
                assert_eq!(
                    go(&jit),
                    go(&p.native),
                    "{} on {} bytes from {start}",
                    p.name,
                    data.len()
                );
            }
        }
    }
}
