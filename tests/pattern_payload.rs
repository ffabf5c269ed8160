//! The run-time pattern payload (`vyre scan -e`) against a plain count of
//! overlapping matches, on the CPU reference and the GPU: random text from
//! a small alphabet (so matches are frequent), random patterns (1 byte,
//! repeated bytes, a zero last byte) and random chunk starts.

use proptest::prelude::*;
use vyre::scan::pattern::{
    count_overlapping, pattern_payload, patterns_payload, MAX_PATTERNS_PER_PAYLOAD,
};

mod support;
use support::{ir_backends, le_words, GPU_LOCK};

/// For each pattern, its overlapping matches that end at an index >= start
/// (those that begin at start + 1 - n or later).
fn expected_counts(data: &[u8], start: u32, patterns: &[Vec<u8>]) -> Vec<u32> {
    patterns
        .iter()
        .map(|p| {
            let skip = (start as usize + 1).saturating_sub(p.len()).min(data.len());
            count_overlapping(&data[skip..], p) as u32
        })
        .collect()
}

/// Runs a pattern program on every IR backend and checks its counters.
fn check_counts(
    program: &vyre::Program,
    data: &[u8],
    start: u32,
    want: &[u32],
    lanes: u32,
) -> Result<(), TestCaseError> {
    let mut words = le_words(data);
    words.push(0);
    let cpu = vyre::cpu::CpuBackend::new();
    for backend in ir_backends(&cpu) {
        let _g = GPU_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut buffers = vec![
            vec![data.len() as u32, start],
            words.clone(),
            vec![0; want.len()],
        ];
        backend
            .run(program, &mut buffers, 1)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(
            &buffers[2][..],
            want,
            "{} lanes on {}, start {}",
            lanes,
            backend.name(),
            start
        );
    }
    Ok(())
}

fn alphabet() -> impl Strategy<Value = u8> {
    prop_oneof![Just(b'a'), Just(b'b'), Just(0u8), Just(0xff), Just(b'\n')]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn pattern_counts_agree(
        data in prop::collection::vec(alphabet(), 0..=300),
        pattern in prop::collection::vec(alphabet(), 1..=9),
        start_frac in 0u32..=100,
        lanes in prop_oneof![Just(1u32), Just(7), Just(64)],
    ) {
        let start = (data.len() as u32 * start_frac / 100).min(data.len() as u32);
        // Matches that end at an index >= start are those that begin at
        // start + 1 - n or later.
        let skip = (start as usize + 1).saturating_sub(pattern.len()).min(data.len());
        let want = count_overlapping(&data[skip..], &pattern);
        let program = pattern_payload("p", &pattern).expect("pattern").to_program(lanes);
        let mut words = le_words(&data);
        words.push(0);
        let cpu = vyre::cpu::CpuBackend::new();
        for backend in ir_backends(&cpu) {
            let _g = GPU_LOCK.lock().unwrap_or_else(|p| p.into_inner());
            let mut buffers = vec![vec![data.len() as u32, start], words.clone(), vec![0]];
            backend.run(&program, &mut buffers, 1).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(buffers[2][0] as u64, want, "{} lanes on {}, start {}", lanes, backend.name(), start);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Several patterns in one payload: each counter equals the plain count
    /// of its pattern (patterns of different lengths share the words).
    #[test]
    fn several_patterns_count_each(
        data in prop::collection::vec(alphabet(), 0..=300),
        patterns in prop::collection::vec(prop::collection::vec(alphabet(), 1..=7), 1..=5),
        start_frac in 0u32..=100,
        lanes in prop_oneof![Just(1u32), Just(7), Just(64)],
    ) {
        let start = (data.len() as u32 * start_frac / 100).min(data.len() as u32);
        let want = expected_counts(&data, start, &patterns);
        let payload = patterns_payload("ps", &patterns).expect("patterns");
        let longest = patterns.iter().map(Vec::len).max().unwrap_or(1) as u32;
        prop_assert_eq!(payload.look_behind, longest - 1);
        let program = payload.to_program(lanes);
        check_counts(&program, &data, start, &want, lanes)?;
    }
}

#[test]
fn pattern_lists_out_of_range_are_refused_with_a_fix() {
    let none: [&[u8]; 0] = [];
    let too_many = vec![b"a".to_vec(); MAX_PATTERNS_PER_PAYLOAD + 1];
    for err in [
        patterns_payload("ps", &none).unwrap_err(),
        patterns_payload("ps", &too_many).unwrap_err(),
        patterns_payload("ps", &[b"ok".to_vec(), Vec::new()]).unwrap_err(),
    ] {
        assert!(err.to_string().contains("Fix:"), "{err}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Long patterns (5 to 70 bytes) cut out of the data itself, so they
    /// match, at every alignment: their bytes before the last 4 are compared
    /// a word at a time.
    #[test]
    fn long_patterns_taken_from_the_data_agree(
        data in prop::collection::vec(prop_oneof![Just(b'a'), Just(b'b')], 80..=400),
        cuts in prop::collection::vec((0usize..1000, 5usize..=70), 1..=3),
        start_frac in 0u32..=100,
        lanes in prop_oneof![Just(1u32), Just(64)],
    ) {
        let patterns: Vec<Vec<u8>> = cuts
            .iter()
            .map(|&(at, len)| {
                let len = len.min(data.len());
                let at = at % (data.len() - len + 1);
                data[at..at + len].to_vec()
            })
            .collect();
        let start = (data.len() as u32 * start_frac / 100).min(data.len() as u32);
        let want = expected_counts(&data, start, &patterns);
        let program = patterns_payload("long", &patterns).expect("patterns").to_program(lanes);
        check_counts(&program, &data, start, &want, lanes)?;
    }
}
