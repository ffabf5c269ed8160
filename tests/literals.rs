//! Many literal patterns (`-f`, `-e`, `-i`; `Scan::patterns`) are counted
//! exactly on every backend: per file equal to the `aho-corasick` crate's
//! overlapping search over the whole file (and to a plain window count), on
//! random pattern sets with nested and overlapping patterns, non-ASCII
//! bytes, case folding and patterns longer than a chunk, on the native
//! backend, the CPU reference and the GPU (llvmpipe here); 100 000 patterns;
//! hostile pattern files get a `Fix:`.

mod support;

use support::rng::{reference, Rng};

use std::process::Command;

use vyre::scan::{escape_bytes, Scan};

fn window_count(text: &[u8], p: &[u8], fold: bool) -> u64 {
    if text.len() < p.len() {
        return 0;
    }
    text.windows(p.len())
        .filter(|w| {
            if fold {
                w.eq_ignore_ascii_case(p)
            } else {
                *w == p
            }
        })
        .count() as u64
}

/// Scans `dir` on `device` and returns (file name, matches) per file.
fn scan(
    dir: &std::path::Path,
    device: &str,
    patterns: &[Vec<u8>],
    fold: bool,
    chunk: u32,
) -> Vec<(String, Vec<(String, u64)>)> {
    let files = Scan::new([dir])
        .patterns(patterns)
        .ignore_case(fold)
        .config(|c| {
            c.chunk_size = chunk;
            c.batch_bytes = 64 * chunk as usize;
        })
        .devices(device)
        .run()
        .expect("scan starts");
    let mut out: Vec<_> = files
        .map(|f| {
            assert_eq!(f.error(), None, "{}", f.path().display());
            let name = f.path().file_name().unwrap().to_string_lossy().to_string();
            (name, f.report().matches.clone())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn random_sets_equal_aho_corasick_over_whole_files_on_every_backend() {
    let chunk = 32u32;
    for seed in 1..=3u64 {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
        let dir = support::tmpdir(&format!("literals-{seed}"));
        let alphabet = b"abAB\xff\n";
        let mut texts = Vec::new();
        for (i, size) in [0usize, 1, 31, 32, 33, 95, 200, 1000].iter().enumerate() {
            let text: Vec<u8> = (0..*size)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            std::fs::write(dir.join(format!("f{i}")), &text).unwrap();
            texts.push((format!("f{i}"), text));
        }
        // Short random patterns (nested, overlapping), then pieces of the
        // longest file longer than a chunk, so they do match across chunks.
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        while patterns.len() < 90 {
            let len = 1 + rng.below(6);
            let p: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            if !patterns.contains(&p) {
                patterns.push(p);
            }
        }
        let long = &texts.last().unwrap().1;
        for len in [40usize, 70, 200] {
            let at = rng.below(long.len() - len);
            let p = long[at..at + len].to_vec();
            if !patterns.contains(&p) {
                patterns.push(p);
            }
        }
        for fold in [false, true] {
            let mut expected: Vec<(String, Vec<(String, u64)>)> = texts
                .iter()
                .map(|(name, text)| {
                    let counts = reference(text, &patterns, fold);
                    for (p, &n) in patterns.iter().zip(&counts) {
                        assert_eq!(n, window_count(text, p, fold), "reference {p:?}");
                    }
                    let m = patterns
                        .iter()
                        .map(|p| escape_bytes(p))
                        .zip(counts)
                        .collect();
                    (name.clone(), m)
                })
                .collect();
            expected.sort();
            for device in ["native", "cpu", "gpu"] {
                let got = scan(&dir, device, &patterns, fold, chunk);
                assert_eq!(got, expected, "seed {seed} fold {fold} on {device}");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_hundred_thousand_patterns_report_the_ones_found() {
    let mut rng = Rng(42);
    let mut seen = std::collections::HashSet::new();
    let mut patterns: Vec<Vec<u8>> = Vec::new();
    while patterns.len() < 100_000 {
        let len = 3 + rng.below(8);
        let p: Vec<u8> = (0..len).map(|_| b'a' + rng.below(26) as u8).collect();
        if seen.insert(p.clone()) {
            patterns.push(p);
        }
    }
    let dir = support::tmpdir("literals-100k");
    let mut text = Vec::new();
    while text.len() < 300_000 {
        text.extend_from_slice(&patterns[rng.below(patterns.len())]);
        text.push(if rng.below(4) == 0 { b'\n' } else { b' ' });
    }
    std::fs::write(dir.join("words"), &text).unwrap();
    let counts = reference(&text, &patterns, false);
    let expected: Vec<(String, u64)> = patterns
        .iter()
        .zip(&counts)
        .filter(|(_, &n)| n > 0)
        .map(|(p, &n)| (escape_bytes(p), n))
        .collect();
    assert!(expected.len() > 1000, "{}", expected.len());
    for device in ["native", "cpu"] {
        let got = scan(&dir, device, &patterns, false, 4096);
        assert_eq!(
            got,
            vec![("words".to_string(), expected.clone())],
            "{device}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn vyre() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vyre"))
}

#[test]
fn pattern_files_from_the_command_line() {
    let dir = support::tmpdir("literals-cli");
    std::fs::write(dir.join("data"), b"GPL gpl Gpl \xff\xfe GPLv3").unwrap();
    let pats = dir.join("pats");
    std::fs::write(&pats, b"GPL\r\n\\xff\\xfe\nv3\n").unwrap();
    let out = vyre()
        .args([
            "scan",
            "--quiet",
            "--json",
            "--backend",
            "native",
            "-i",
            "-e",
            "pl",
            "-f",
        ])
        .arg(&pats)
        .arg(dir.join("data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["matches"]["pl"], 4, "{line}");
    assert_eq!(v["matches"]["GPL"], 4, "{line}");
    assert_eq!(v["matches"]["\\xff\\xfe"], 1, "{line}");
    assert_eq!(v["matches"]["v3"], 1, "{line}");
    let cases: [(&[u8], &str); 4] = [
        (b"", "has no patterns"),
        (b"a\n\nb\n", "line 2"),
        (b"ok\nbad\\q\n", "line 2"),
        (b"a\na\n", "given twice"),
    ];
    for (text, says) in cases {
        std::fs::write(&pats, text).unwrap();
        let out = vyre()
            .args(["scan", "--quiet", "--backend", "native", "-f"])
            .arg(&pats)
            .arg(dir.join("data"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(says) && err.contains("Fix:"), "{says}: {err}");
    }
    let out = vyre()
        .args(["scan", "--quiet", "-f"])
        .arg(dir.join("missing"))
        .arg(dir.join("data"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot read pattern file") && err.contains("Fix:"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The example rule set parses, and finds what it should in a fixture.
#[test]
fn the_secret_rule_set_example_finds_its_rules() {
    let rules_path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/patterns/secrets.txt");
    let rules = vyre::scan::parse_pattern_file(&std::fs::read(rules_path).unwrap(), "secrets")
        .expect("the example rules parse");
    let dir = support::tmpdir("literals-secrets");
    let text = b"x=1\nAWS key akiaABCDEFGH and PASSWORD=hunter2\n-----BEGIN RSA PRIVATE KEY-----\n";
    std::fs::write(dir.join("leak"), text).unwrap();
    let got = scan(&dir, "native", &rules, true, 4096);
    let counts = reference(text, &rules, true);
    let expected: Vec<(String, u64)> = rules.iter().map(|p| escape_bytes(p)).zip(counts).collect();
    assert_eq!(got, vec![("leak".to_string(), expected.clone())]);
    let hit = |r: &str| expected.iter().find(|(p, _)| p == r).map(|e| e.1);
    assert_eq!(hit("AKIA"), Some(1));
    assert_eq!(hit("password="), Some(1));
    assert_eq!(hit("-----BEGIN RSA PRIVATE KEY-----"), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}
