//! The device literal engine (`scan::gpu_literals`): its dense DFA counts
//! exactly like `aho-corasick` (overlapping, `MatchKind::Standard`) on
//! random pattern sets (nested, overlapping, `\xff`, `\n`, `-i`, patterns
//! longer than a chunk); its IR program gives the same per-file counts on
//! the CPU reference and on the GPU (llvmpipe here) across chunk boundaries,
//! including after a hit-buffer overflow, recording hits or adding to the
//! per-file count table, with several files in one batch; a `gpu` scan runs it (the summary
//! says so) with counts equal to `aho-corasick`.

mod support;

use support::rng::{reference, Rng};

use std::sync::Arc;

use vyre::feeder::ChunkDesc;
use vyre::scan::gpu_literals::{DeviceLiterals, Recording};
use vyre::scan::literal_dfa::{LiteralDfa, MAX_DFA_BYTES};
use vyre::scan::literals::Literals;
use vyre::scan::Scan;

const ALPHABET: &[u8] = b"abAB\xff\n";

/// Random patterns: short ones (nested, overlapping) and pieces of `text`
/// of `long` bytes.
fn patterns(rng: &mut Rng, n: usize, text: &[u8], long: &[usize]) -> Vec<Vec<u8>> {
    let mut pats: Vec<Vec<u8>> = Vec::new();
    while pats.len() < n {
        let len = 1 + rng.below(6);
        let p = rng.bytes(len, ALPHABET);
        if !pats.contains(&p) {
            pats.push(p);
        }
    }
    for &len in long {
        if text.len() > len {
            let at = rng.below(text.len() - len);
            pats.push(text[at..at + len].to_vec());
        }
    }
    // A duplicate counts on its own.
    pats.push(pats[0].clone());
    pats
}

#[test]
fn the_dfa_counts_like_aho_corasick() {
    for seed in 1..=20u64 {
        let mut rng = Rng(0x51ed_2701 ^ seed);
        let len = 2000 + rng.below(3000);
        let text = rng.bytes(len, ALPHABET);
        let n = 10 + rng.below(200);
        let pats = patterns(&mut rng, n, &text, &[40, 300]);
        for fold in [false, true] {
            let dfa = LiteralDfa::new(&pats, fold, MAX_DFA_BYTES).expect("builds");
            assert_eq!(
                dfa.count(&text),
                reference(&text, &pats, fold),
                "seed {seed} fold {fold}"
            );
        }
    }
}

/// Lays `text` out as the feeder does: chunks of `chunk` bytes, each after
/// up to `look_behind` bytes of the text before it, at word-aligned arena
/// offsets with junk between them.
fn layout(text: &[u8], chunk: usize, look_behind: usize) -> (Vec<u32>, Vec<ChunkDesc>) {
    let mut arena: Vec<u8> = Vec::new();
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let lb = look_behind.min(at);
        let len = chunk.min(text.len() - at);
        chunks.push(ChunkDesc {
            file: 0,
            file_offset: at as u64,
            len: len as u32,
            look_behind: lb as u32,
            arena_offset: arena.len(),
        });
        arena.extend_from_slice(&text[at - lb..at + len]);
        // Junk that would match if read: pattern bytes.
        arena.extend_from_slice(b"abAB\xff\n\xffab");
        while arena.len() % 4 != 0 {
            arena.push(b'a');
        }
        at += len;
    }
    (support::le_words(&arena), chunks)
}

/// Runs `lits` over `text` in chunks on `backend`; per-pattern sums.
fn device_counts(
    lits: &mut DeviceLiterals,
    backend: &dyn vyre::Backend,
    text: &[u8],
    chunk: usize,
) -> (Vec<u64>, u32) {
    let lb = (lits.dfa().longest() - 1).div_ceil(4) * 4;
    let (mut words, chunks) = layout(text, chunk, lb);
    let before = words.clone();
    let run = lits
        .run_batch(backend, &mut words, &chunks)
        .unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
    assert_eq!(words, before, "the arena comes back unchanged");
    assert_eq!(run.counts.len(), chunks.len());
    let mut sums = vec![0u64; lits.dfa().patterns()];
    for c in &run.counts {
        for &(p, n) in c {
            sums[p as usize] += u64::from(n);
        }
    }
    (sums, run.overflow_reruns)
}

#[test]
fn the_device_program_equals_aho_corasick_on_cpu_reference_and_gpu() {
    let cpu = vyre::cpu::CpuBackend::new();
    let _gpu = support::GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for seed in 1..=3u64 {
        let mut rng = Rng(0xabcd_ef01 ^ seed);
        let len = 1500 + rng.below(500);
        let text = rng.bytes(len, ALPHABET);
        let pats = patterns(&mut rng, 80, &text, &[40, 70, 150]);
        for fold in [false, true] {
            let want = reference(&text, &pats, fold);
            let dfa = Arc::new(LiteralDfa::new(&pats, fold, MAX_DFA_BYTES).unwrap());
            // Segments smaller than chunks, and chunks smaller than the
            // longest pattern.
            for (chunk, segment) in [(64usize, 16u32), (1000, 256)] {
                for backend in support::ir_backends(&cpu) {
                    let mut lits = DeviceLiterals::new(dfa.clone(), "lits_test", segment).unwrap();
                    let (got, reruns) = device_counts(&mut lits, backend, &text, chunk);
                    assert_eq!(
                        got,
                        want,
                        "seed {seed} fold {fold} chunk {chunk} on {}",
                        backend.name()
                    );
                    assert_eq!(reruns, 0);
                    // A hit buffer of one record overflows: the batch runs
                    // again with room for every hit, still exact.
                    lits.initial_hit_capacity = Some(1);
                    let (got, reruns) = device_counts(&mut lits, backend, &text, chunk);
                    assert_eq!(got, want, "after overflow on {}", backend.name());
                    assert_eq!(reruns, 1, "{}", backend.name());
                }
            }
        }
    }
}

/// Per file, per pattern: the sums of `counts` (per chunk) over `chunks`.
fn per_file(counts: &[Vec<(u32, u32)>], chunks: &[ChunkDesc]) -> Vec<(usize, u32, u64)> {
    let mut m = std::collections::BTreeMap::new();
    for (c, cc) in chunks.iter().zip(counts) {
        for &(p, n) in cc {
            *m.entry((c.file, p)).or_insert(0u64) += u64::from(n);
        }
    }
    m.into_iter().map(|((f, p), n)| (f, p, n)).collect()
}

#[test]
fn both_recordings_count_each_file_of_a_batch_like_the_host_engine() {
    let cpu = vyre::cpu::CpuBackend::new();
    let _gpu = support::GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut rng = Rng(0x5eed);
    let text = rng.bytes(3000, ALPHABET);
    let pats = patterns(&mut rng, 60, &text, &[90]);
    for fold in [false, true] {
        let dfa = Arc::new(LiteralDfa::new(&pats, fold, MAX_DFA_BYTES).unwrap());
        let host = Literals::new(&pats, fold).unwrap();
        let lb = (dfa.longest() - 1).div_ceil(4) * 4;
        let (words, mut chunks) = layout(&text, 100, lb);
        // Runs of chunks belong to different files (1, 2, 3, ... chunks).
        let (mut file, mut left) = (0, 1);
        for c in chunks.iter_mut() {
            if left == 0 {
                file += 1;
                left = file + 1;
            }
            c.file = file;
            left -= 1;
        }
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let want = per_file(&host.count_batch(&bytes, &chunks), &chunks);
        assert!(want.iter().map(|w| w.0).max() > Some(3), "{want:?}");
        for backend in support::ir_backends(&cpu) {
            for (forced, cap) in [
                (None, None),
                (Some(Recording::Hits), None),
                (Some(Recording::Table), None),
                (Some(Recording::Hits), Some(2)),
                (None, Some(2)),
            ] {
                let mut lits = DeviceLiterals::new(dfa.clone(), "lits_rec", 64).unwrap();
                lits.force_recording = forced;
                lits.initial_hit_capacity = cap;
                let mut w = words.clone();
                let run = lits
                    .run_batch(backend, &mut w, &chunks)
                    .unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
                let how = format!("{forced:?} cap {cap:?} fold {fold} on {}", backend.name());
                assert_eq!(per_file(&run.counts, &chunks), want, "{how}");
                let total: u64 = want.iter().map(|w| w.2).sum();
                assert!(
                    run.hits > 0 && run.hits <= total,
                    "{how}: {} hits",
                    run.hits
                );
                if let Some(r) = forced {
                    assert_eq!(run.recording, r, "{how}");
                }
                // An overflow goes to the table unless hits are forced.
                if cap.is_some() {
                    assert_eq!(run.overflow_reruns, 1, "{how}");
                    assert_eq!(run.recording == Recording::Table, forced.is_none(), "{how}");
                }
            }
        }
    }
}

#[test]
fn engines_sharing_a_program_take_turns_each_with_its_own_tables() {
    let Some(gpu) = support::gpu() else {
        return;
    };
    let _gpu = support::GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut rng = Rng(0x7075_726e);
    let text = rng.bytes(3000, ALPHABET);
    // Two engines of one program (one name: one set of resident device
    // buffers) with different automata. Their tables go up with their own
    // first run only; each turn the device holds the other's, so each run
    // must upload its own again (its buffers' stamp is not the device's).
    let mut engines: Vec<(DeviceLiterals, Vec<u64>)> = (0..2)
        .map(|k| {
            let pats = patterns(&mut rng, 30 + 20 * k, &text, &[40]);
            let dfa = Arc::new(LiteralDfa::new(&pats, k == 1, MAX_DFA_BYTES).unwrap());
            let lits = DeviceLiterals::new(dfa, "lits_turns", 64).unwrap();
            (lits, reference(&text, &pats, k == 1))
        })
        .collect();
    for turn in 0..3 {
        for (k, (lits, want)) in engines.iter_mut().enumerate() {
            let (got, _) = device_counts(lits, gpu, &text, 500);
            assert_eq!(&got, want, "engine {k}, turn {turn}");
        }
    }
    // A new engine where the first was: its own tables, whatever the
    // device held.
    let (old, _) = engines.remove(0);
    drop(old);
    let pats = patterns(&mut rng, 45, &text, &[]);
    let dfa = Arc::new(LiteralDfa::new(&pats, false, MAX_DFA_BYTES).unwrap());
    let mut lits = DeviceLiterals::new(dfa, "lits_turns", 64).unwrap();
    let (got, _) = device_counts(&mut lits, gpu, &text, 500);
    assert_eq!(got, reference(&text, &pats, false), "a new engine");
}

#[test]
fn a_gpu_scan_counts_many_literals_on_the_device() {
    let Some(_) = support::gpu() else {
        return;
    };
    let _gpu = support::GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = support::tmpdir("gpu-literals-scan");
    let mut rng = Rng(7);
    let mut texts = Vec::new();
    for (i, size) in [0usize, 3, 100, 5000, 20_000].iter().enumerate() {
        let text = rng.bytes(*size, ALPHABET);
        std::fs::write(dir.join(format!("f{i}")), &text).unwrap();
        texts.push(text);
    }
    let mut pats = patterns(&mut rng, 100, &texts[4], &[100, 250]);
    // A scan refuses a pattern given twice.
    let mut seen = std::collections::HashSet::new();
    pats.retain(|p| seen.insert(p.clone()));
    for fold in [false, true] {
        let mut files = Scan::new([&dir])
            .patterns(&pats)
            .ignore_case(fold)
            .config(|c| {
                c.chunk_size = 256;
                c.batch_bytes = 16 * 1024;
            })
            .devices("gpu")
            .run()
            .expect("scan starts");
        let mut n = 0;
        for f in files.by_ref() {
            assert_eq!(f.error(), None);
            let name = f.path().file_name().unwrap().to_string_lossy().to_string();
            let i: usize = name[1..].parse().unwrap();
            let want = reference(&texts[i], &pats, fold);
            let got: Vec<u64> = f.report().matches.iter().map(|m| m.1).collect();
            let want_found: Vec<u64> = want.iter().copied().filter(|&c| c > 0).collect();
            // More than 256 patterns would list only those found; 100 list all.
            assert_eq!(got, want, "{name} fold {fold}");
            assert!(!want_found.is_empty() || texts[i].len() < 200);
            n += 1;
        }
        assert_eq!(n, texts.len());
        let summary = files.finish().expect("summary");
        assert!(summary.literals.device > 0, "{summary:?}");
        assert_eq!(summary.literals.fallback, 0, "{summary:?}");
        assert!(
            summary.to_text().contains("device DFA"),
            "{}",
            summary.to_text()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
