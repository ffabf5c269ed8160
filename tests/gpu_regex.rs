//! The device line filter of the `-r` regexes (`scan::regex_filter`): the
//! DFA of the regexes' factors lets through every line that holds a match
//! (walked on the host over random regex sets and texts, and lets fewer
//! lines through than there are); run by the device DFA program on the CPU
//! reference and the GPU (llvmpipe here) with either recording (hit
//! positions, per-chunk count table, after an overflow), the host engine
//! searching only the lines let through gives exactly the chunk results of
//! the host engine searching every line, located matches included; a `gpu`
//! scan runs it (the summary says so) with counts equal to the `regex`
//! crate line by line.

mod support;

use support::rng::Rng;

use vyre::feeder::ChunkDesc;
use vyre::scan::gpu_literals::{DeviceLiterals, Recording};
use vyre::scan::literal_dfa::OUTPUT_FLAG;
use vyre::scan::regex::Regexes;
use vyre::scan::regex_filter;
use vyre::scan::Scan;

/// Rules like a secret scanner's, with bounded and unbounded parts,
/// classes, alternations, word boundaries, case-insensitive parts and
/// non-ASCII.
const RULES: &[&str] = &[
    r"AKIA[0-9A-Z]{16}",
    r"ghp_[A-Za-z0-9]{8}",
    r"xox[baprs]-[0-9a-zA-Z]{4,12}",
    r"(?i)password\s*=\s*\S+",
    r"\bkey_[a-f0-9]+\b",
    r"-----BEGIN [A-Z ]+-----",
    r"sk_(?:live|test)_\w{6}",
    r"[0-9]{3}-[0-9]{4}",
    r"é+x",
    r"(?-u:\xff)ab",
    r"^start\w*",
    r"end$",
    r"\w*tail",
    r"(?:ab)*",
];

const WORDS: &[&str] = &[
    "AKIA",
    "ABCDEFGHIJKLMNOP0123",
    "ghp_",
    "abcDEF12",
    "xoxb-",
    "xoxp-12ab",
    "password",
    "PassWord = ",
    "hunter2",
    "key_",
    "deadbeef",
    "-----BEGIN ",
    "RSA KEY",
    "-----",
    "sk_live_",
    "sk_test_",
    "abc123",
    "555-1234",
    "é",
    "éx",
    "\u{ff}",
    "x",
    " ",
    "  ",
    "\t",
    "=",
    "start",
    "end",
    "tail",
    "_",
    "a",
    "Z",
    "9",
    "\n",
    "\n",
    "\n",
];

/// Random text of `len` bytes or more from `WORDS` (and a raw `\xff`).
fn text(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut t = Vec::new();
    while t.len() < len {
        match rng.below(40) {
            0 => t.push(0xff),
            _ => t.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes()),
        }
    }
    t
}

/// Per line of `text`, whether `re` matches it (the oracle).
fn lines_matching(re: &regex::bytes::Regex, text: &[u8]) -> Vec<bool> {
    text.split(|&b| b == b'\n')
        .map(|l| re.is_match(l))
        .collect()
}

#[test]
fn the_filter_lets_through_every_line_with_a_match() {
    let regexes = Regexes::new(RULES).expect("compiles");
    let filter = regexes.device_filter().expect("a filter");
    let dfa = filter.dfa();
    // `\w*tail` is filtered by `tail`; `(?:ab)*` matches the empty string.
    let filtered: Vec<bool> = (0..RULES.len()).map(|i| filter.is_filtered(i)).collect();
    assert_eq!(
        filtered.iter().filter(|&&f| f).count(),
        RULES.len() - 1,
        "{filtered:?}"
    );
    assert!(!filter.is_filtered(RULES.len() - 1));
    let (mut lines, mut passed) = (0usize, 0usize);
    for seed in 1..=6u64 {
        let mut rng = Rng(0xf117_e500 ^ seed);
        let mut t = text(&mut rng, 20_000);
        // A match is reported on the byte after it: end the last line.
        t.push(b'\n');
        // Where the walk says each regex may match: line numbers.
        let mut candidate = vec![std::collections::HashSet::new(); RULES.len()];
        let (mut st, mut line) = (0u32, 0usize);
        for (p, &b) in t.iter().enumerate() {
            st = dfa.step(st, b);
            if st & OUTPUT_FLAG != 0 && p > 0 {
                // Reported on the byte after the match (p): its last byte,
                // p - 1, is not a \n, so it is on line `line`.
                filter.regexes_at(st, |r| {
                    candidate[r as usize].insert(line);
                });
            }
            if b == b'\n' {
                line += 1;
            }
        }
        for (i, rule) in RULES.iter().enumerate() {
            if !filter.is_filtered(i) {
                continue;
            }
            let oracle = regex::bytes::Regex::new(rule).unwrap();
            for (l, m) in lines_matching(&oracle, &t).into_iter().enumerate() {
                lines += 1;
                passed += usize::from(candidate[i].contains(&l));
                assert!(
                    !m || candidate[i].contains(&l),
                    "seed {seed}: /{rule}/ matches line {l} but the filter drops it"
                );
            }
        }
    }
    eprintln!("{passed} of {lines} (regex, line) pairs let through");
    assert!(
        passed * 2 < lines,
        "the filter should drop most lines: {passed} of {lines} let through"
    );
}

#[test]
fn the_secret_rule_set_makes_one_small_filter() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/patterns/secrets-regex.txt"
    );
    let text = std::fs::read(path).unwrap();
    let rules = vyre::scan::regex::parse_regex_file(&text, path).unwrap();
    let regexes = Regexes::new(&rules).expect("compiles");
    let filter = regexes.device_filter().expect("a filter");
    let filtered = (0..rules.len()).filter(|&i| filter.is_filtered(i)).count();
    assert!(
        filtered + 2 >= rules.len(),
        "{filtered} of {} filtered",
        rules.len()
    );
    assert!(
        filter.dfa().states() < 100_000,
        "{} states",
        filter.dfa().states()
    );
    assert!(filter.warm_up() <= 256, "{}", filter.warm_up());
}

/// Lays `text` out as the feeder does (see tests/gpu_literals.rs): chunks
/// of `chunk` bytes after up to `look_behind` bytes, word aligned, with
/// junk between them.
fn layout(text: &[u8], chunk: usize, look_behind: usize) -> (Vec<u32>, Vec<ChunkDesc>) {
    let mut arena: Vec<u8> = Vec::new();
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let lb = look_behind.min(at);
        let len = chunk.min(text.len() - at);
        chunks.push(ChunkDesc {
            file: at / (chunk * 3),
            file_offset: at as u64,
            len: len as u32,
            look_behind: lb as u32,
            arena_offset: arena.len(),
        });
        arena.extend_from_slice(&text[at - lb..at + len]);
        arena.extend_from_slice(b"AKIAAAAAAAAAAAAAAAAAAAAA\n");
        while arena.len() % 4 != 0 {
            arena.push(b'a');
        }
        at += len;
    }
    (support::le_words(&arena), chunks)
}

#[test]
fn device_candidates_give_the_host_engines_chunk_results() {
    let cpu = vyre::cpu::CpuBackend::new();
    let _gpu = support::GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let regexes = Regexes::new(RULES).expect("compiles").locating(Some(3));
    let filter = regexes.device_filter().expect("a filter");
    let mut rng = Rng(0x7e57);
    let t = text(&mut rng, 6000);
    let lb = (filter.dfa().longest() - 1).div_ceil(4) * 4;
    let mut selective = false;
    for (chunk, segment) in [(200usize, 64u32), (2000, 256)] {
        let (mut words, chunks) = layout(&t, chunk, lb.min(64));
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let want = regexes.chunk_batch(&bytes, &chunks, None, None);
        assert!(
            want.iter().any(|c| !c.counts.is_empty()),
            "the text has matches"
        );
        for backend in support::ir_backends(&cpu) {
            for (forced, cap) in [
                (None, None),
                (Some(Recording::Hits), None),
                (Some(Recording::Table), None),
                (None, Some(2)),
            ] {
                let mut dev =
                    DeviceLiterals::new(filter.dfa().clone(), "regex_filter_test", segment)
                        .unwrap();
                dev.rows_per_chunk = true;
                dev.keep_positions = true;
                dev.force_recording = forced;
                dev.initial_hit_capacity = cap;
                let run = dev
                    .run_batch(backend, &mut words, &chunks)
                    .unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
                let table = run.recording == Recording::Table;
                let cands = regex_filter::candidates(&filter, &run.positions, &run.counts, table);
                assert_eq!(cands.len(), chunks.len());
                let got = regexes.chunk_batch(&bytes, &chunks, None, Some((&filter, &cands)));
                let what = format!(
                    "chunk {chunk} segment {segment} {forced:?} cap {cap:?} ({:?}) on {}",
                    run.recording,
                    backend.name()
                );
                assert_eq!(got, want, "{what}");
                if !table {
                    let placed = cands
                        .iter()
                        .flatten()
                        .filter(|c| c.1 != regex_filter::ANYWHERE);
                    selective |= placed.count() > 0;
                }
            }
        }
    }
    assert!(selective, "hit recordings place candidates on lines");
}

/// The oracle: matches of `re` in each line of `text` on its own.
fn oracle(re: &regex::bytes::Regex, text: &[u8]) -> u64 {
    if text.is_empty() {
        return 0;
    }
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    body.split(|&b| b == b'\n')
        .map(|line| re.find_iter(line).count() as u64)
        .sum()
}

#[test]
fn a_gpu_scan_filters_lines_on_the_device_and_counts_exactly() {
    let _gpu = support::GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = support::tmpdir("gpu-regex");
    let mut rng = Rng(0x5ca9);
    let mut texts = Vec::new();
    for (i, size) in [0usize, 5, 700, 9000, 40_000].iter().enumerate() {
        let t = text(&mut rng, *size);
        std::fs::write(dir.join(format!("f{i}")), &t).unwrap();
        texts.push(t);
    }
    let oracles: Vec<_> = RULES
        .iter()
        .map(|r| regex::bytes::Regex::new(r).unwrap())
        .collect();
    for chunk in [256u32, 65_536] {
        let mut files = Scan::new([&dir])
            .regex(RULES)
            .config(|c| {
                c.chunk_size = chunk;
                c.batch_bytes = 16 * chunk as usize;
            })
            .devices("gpu")
            .run()
            .expect("scan starts");
        let mut n = 0;
        for f in files.by_ref() {
            assert_eq!(f.error(), None);
            let name = f.path().file_name().unwrap().to_string_lossy().to_string();
            let i: usize = name[1..].parse().unwrap();
            let want: Vec<(String, u64)> = RULES
                .iter()
                .zip(&oracles)
                .map(|(r, o)| (r.to_string(), oracle(o, &texts[i])))
                .collect();
            assert_eq!(f.report().regex_matches, want, "{name}, chunk {chunk}");
            n += 1;
        }
        assert_eq!(n, texts.len());
        let summary = files.finish().expect("summary");
        assert!(summary.regexes.device > 0, "{summary:?}");
        assert_eq!(summary.regexes.fallback, 0, "{summary:?}");
        let text = summary.to_text();
        assert!(text.contains("device line filter"), "{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
