//! The run-time pattern payload (`vyre scan -e`) against a plain count of
//! overlapping matches, on the CPU reference and the GPU: random text from
//! a small alphabet (so matches are frequent), random patterns (1 byte,
//! repeated bytes, a zero last byte) and random chunk starts.

use std::sync::{Mutex, OnceLock};

use proptest::prelude::*;
use vyre::scan::pattern::{count_overlapping, pattern_payload};
use vyre::Backend;

fn gpu() -> Option<&'static vyre::gpu::WgpuBackend> {
    static GPU: OnceLock<Option<vyre::gpu::WgpuBackend>> = OnceLock::new();
    GPU.get_or_init(|| vyre::gpu::WgpuBackend::new().ok())
        .as_ref()
}

fn alphabet() -> impl Strategy<Value = u8> {
    prop_oneof![Just(b'a'), Just(b'b'), Just(0u8), Just(0xff), Just(b'\n')]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn pattern_counts_agree(
        data in prop::collection::vec(alphabet(), 0..=300),
        pattern in prop::collection::vec(alphabet(), 1..=6),
        start_frac in 0u32..=100,
        lanes in prop_oneof![Just(1u32), Just(7), Just(64)],
    ) {
        let start = (data.len() as u32 * start_frac / 100).min(data.len() as u32);
        // Matches that end at an index >= start are those that begin at
        // start + 1 - n or later.
        let skip = (start as usize + 1).saturating_sub(pattern.len()).min(data.len());
        let want = count_overlapping(&data[skip..], &pattern);
        let program = pattern_payload("p", &pattern).expect("pattern").to_program(lanes);
        let mut words: Vec<u32> = data
            .chunks(4)
            .map(|c| c.iter().rev().fold(0, |acc, &v| (acc << 8) | v as u32))
            .collect();
        words.push(0);
        let cpu = vyre::cpu::CpuBackend::new();
        let mut backends: Vec<&dyn Backend> = vec![&cpu];
        if let Some(g) = gpu() {
            backends.push(g);
        }
        static LOCK: Mutex<()> = Mutex::new(());
        for backend in backends {
            let _g = LOCK.lock().unwrap_or_else(|p| p.into_inner());
            let mut buffers = vec![vec![data.len() as u32, start], words.clone(), vec![0]];
            backend.run(&program, &mut buffers, 1).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(buffers[2][0] as u64, want, "{} lanes on {}, start {}", lanes, backend.name(), start);
        }
    }
}
