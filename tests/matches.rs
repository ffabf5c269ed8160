//! Match locations (`--matches`; `Scan::matches`) are exact on every
//! backend: per file, the first N of all regex matches (the `regex` crate,
//! line by line) and literal matches (`aho-corasick`, overlapping, over the
//! whole file) in (offset, kind, pattern) order, with line, column and line
//! text, and the rest counted, on random regexes, literals (some longer than
//! a chunk, case-folded) and files whose lines straddle 32-byte chunks, on
//! the native backend, the CPU reference and the GPU (llvmpipe); the CLI's
//! JSON and text forms; hostile bounds.

mod support;

use support::rng::Rng;

use std::process::Command;
use std::sync::Arc;

use aho_corasick::{AhoCorasickBuilder, MatchKind};
use vyre::scan::matches::{Kind, Located};
use vyre::scan::{escape_bytes, Scan};

/// Every match of the file, located from scratch, in report order.
fn oracle(text: &[u8], regexes: &[String], literals: &[Vec<u8>], fold: bool) -> Vec<Located> {
    let line_of = |off: usize| {
        let start = text[..off]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let end = text[off..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |p| off + p);
        let line = text[..off].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        (line, (off - start) as u64 + 1, Arc::from(&text[start..end]))
    };
    let mut out = Vec::new();
    for (i, r) in regexes.iter().enumerate() {
        let re = regex::bytes::Regex::new(r).unwrap();
        let mut at = 0;
        let body = text.strip_suffix(b"\n").unwrap_or(text);
        if text.is_empty() {
            continue;
        }
        for l in body.split(|&b| b == b'\n') {
            for m in re.find_iter(l) {
                let (line, column, t) = line_of(at + m.start());
                out.push(Located {
                    offset: (at + m.start()) as u64,
                    line,
                    column,
                    kind: Kind::Regex,
                    pattern: i as u32,
                    pattern_text: r.as_str().into(),
                    text: t,
                });
            }
            at += l.len() + 1;
        }
    }
    if !literals.is_empty() {
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(fold)
            .build(literals)
            .unwrap();
        for m in ac.find_overlapping_iter(text) {
            let (line, column, t) = line_of(m.start());
            let p = m.pattern().as_usize();
            out.push(Located {
                offset: m.start() as u64,
                line,
                column,
                kind: Kind::Literal,
                pattern: p as u32,
                pattern_text: escape_bytes(&literals[p]).into(),
                text: t,
            });
        }
    }
    out.sort_by_key(|l| (l.offset, l.kind, l.pattern));
    out
}

type Got = Vec<(String, Vec<Located>, u64)>;

#[allow(clippy::too_many_arguments)]
fn scan(
    dir: &std::path::Path,
    device: &str,
    regexes: &[String],
    literals: &[Vec<u8>],
    fold: bool,
    chunk: u32,
    max: usize,
) -> Got {
    let files = Scan::new([dir])
        .regex(regexes)
        .patterns(literals)
        .ignore_case(fold)
        .matches(max)
        .config(|c| {
            c.chunk_size = chunk;
            c.batch_bytes = 64 * chunk as usize;
        })
        .devices(device)
        .run()
        .expect("scan starts");
    let mut out: Got = files
        .map(|f| {
            assert_eq!(f.error(), None, "{}", f.path().display());
            let name = f.path().file_name().unwrap().to_string_lossy().to_string();
            let (found, more) = f.located().expect("located with matches()");
            (name, found.to_vec(), more)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn random_locations_equal_the_oracles_on_every_backend() {
    let mut compared = 0usize;
    for seed in 1..=2u64 {
        let mut rng = Rng(0x51_7cc1_b727_220a ^ seed);
        let dir = support::tmpdir(&format!("matches-{seed}"));
        let pieces: [&[u8]; 8] = [
            b"a",
            b"b",
            b"A",
            b" ",
            b"\n",
            "é".as_bytes(),
            b"\xff",
            b"ab",
        ];
        let mut texts = Vec::new();
        for (i, size) in [0usize, 1, 40, 150, 700].iter().enumerate() {
            let mut text = Vec::new();
            let long = i % 2 == 1;
            while text.len() < *size {
                let p = pieces[rng.below(pieces.len())];
                if p == b"\n" && long && rng.below(5) != 0 {
                    continue;
                }
                text.extend_from_slice(p);
            }
            std::fs::write(dir.join(format!("f{i}")), &text).unwrap();
            texts.push((format!("f{i}"), text));
        }
        let regexes: Vec<String> = [
            "a+",
            "b",
            r"\bab",
            "^A",
            "é$",
            "(?i)ab|ba",
            "x*",
            r"(?-u:\xff)",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut literals: Vec<Vec<u8>> = Vec::new();
        for p in [&b"a"[..], b"ab", b"aba", b"\xffa", b"A b"] {
            literals.push(p.to_vec());
        }
        // Pieces of the longest line, longer than a chunk.
        let long = &texts[3].1;
        let line = long
            .split(|&b| b == b'\n')
            .max_by_key(|l| l.len())
            .unwrap()
            .to_vec();
        if line.len() > 40 {
            let at = rng.below(line.len() - 40);
            literals.push(line[at..at + 40].to_vec());
        }
        for (fold, max) in [(false, 1000), (false, 7), (true, 1), (true, 1000)] {
            let mut expected: Got = texts
                .iter()
                .map(|(name, text)| {
                    let all = oracle(text, &regexes, &literals, fold);
                    let n = all.len();
                    let kept: Vec<Located> = all.into_iter().take(max).collect();
                    let more = (n - kept.len()) as u64;
                    (name.clone(), kept, more)
                })
                .collect();
            expected.sort_by(|a, b| a.0.cmp(&b.0));
            let total: usize = expected.iter().map(|e| e.1.len()).sum();
            assert!(max < 10 || total > 100, "the sets should match: {total}");
            let devices: &[&str] = match (seed, max) {
                (1, 1000) => &["native", "cpu", "gpu"],
                _ => &["native", "cpu"],
            };
            for device in devices {
                for chunk in [32u32, 4096] {
                    let got = scan(&dir, device, &regexes, &literals, fold, chunk, max);
                    assert_eq!(
                        got, expected,
                        "seed {seed} fold {fold} max {max} on {device}, chunk {chunk}"
                    );
                    compared += total;
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(compared > 5000, "{compared}");
}

fn vyre() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vyre"))
}

#[test]
fn the_cli_prints_matches_as_json_lines_and_text() {
    let dir = support::tmpdir("matches-cli");
    let data = dir.join("data");
    std::fs::write(&data, b"key=AKIA1\n\tno\xff key\nAKIA22 AKIA3").unwrap();
    let out = vyre()
        .args([
            "scan",
            "--quiet",
            "--json",
            "--backend",
            "native",
            "--matches",
            "--max-matches-per-file",
            "3",
            "-r",
            r"AKIA\d+",
            "-e",
            "key",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        5,
        "3 matches, the file, the summary: {lines:?}"
    );
    let m = &lines[0];
    assert_eq!(m["type"], "match");
    assert_eq!(
        (
            m["offset"].as_u64(),
            m["line"].as_u64(),
            m["column"].as_u64()
        ),
        (Some(0), Some(1), Some(1))
    );
    assert_eq!(
        (
            m["kind"].as_str(),
            m["pattern"].as_u64(),
            m["pattern_text"].as_str()
        ),
        (Some("literal"), Some(0), Some("key"))
    );
    assert_eq!(m["text"], "key=AKIA1");
    assert_eq!(
        (lines[1]["kind"].as_str(), lines[1]["offset"].as_u64()),
        (Some("regex"), Some(4))
    );
    assert_eq!(lines[2]["text"], "\tno\u{fffd} key", "lossy UTF-8");
    assert_eq!(
        (lines[2]["line"].as_u64(), lines[2]["column"].as_u64()),
        (Some(2), Some(6))
    );
    assert!(lines[3].get("type").is_none());
    assert_eq!(lines[3]["matches_omitted"], 2, "{:?}", lines[3]);
    assert_eq!(lines[3]["regex_matches"][r"AKIA\d+"], 3);
    let out = vyre()
        .args([
            "scan",
            "--quiet",
            "--backend",
            "native",
            "--matches",
            "-e",
            "key",
        ])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let shown = data.display();
    assert!(
        text.starts_with(&format!(
            "{shown}:1:1:key=AKIA1\n{shown}:2:6:\\tno\\xff key\n"
        )),
        "{text}"
    );

    for (args, says) in [
        (
            &["--matches", "--max-matches-per-file", "0", "-e", "key"][..],
            "outside 1 to",
        ),
        (
            &[
                "--matches",
                "--max-matches-per-file",
                "2000000",
                "-e",
                "key",
            ],
            "outside 1 to",
        ),
        (&["--matches", "-e", r"a\nb"], "holds a \\n"),
        (&["--matches", "--lines"], "nothing to locate"),
    ] {
        let out = vyre()
            .args(["scan", "--quiet", "--backend", "native"])
            .args(args)
            .arg(&data)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(says) && err.contains("Fix:"),
            "{args:?}: {err}"
        );
    }
    // A long line shows a window of 4096 bytes around the match.
    let mut long = vec![b'.'; 10_000];
    long[5_999..6_003].copy_from_slice(b"KEY!");
    std::fs::write(dir.join("long"), &long).unwrap();
    let out = vyre()
        .args([
            "scan",
            "--quiet",
            "--json",
            "--backend",
            "native",
            "--matches",
            "-e",
            "KEY!",
        ])
        .arg(dir.join("long"))
        .output()
        .unwrap();
    let m: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(
        (
            m["column"].as_u64(),
            m["text_column"].as_u64(),
            m["line_bytes"].as_u64()
        ),
        (Some(6000), Some(4976), Some(10_000))
    );
    let text = m["text"].as_str().unwrap();
    assert_eq!((text.len(), &text[1024..1028]), (4096, "KEY!"));
    let out = vyre()
        .args([
            "scan",
            "--quiet",
            "--backend",
            "native",
            "--matches",
            "-e",
            "KEY!",
        ])
        .arg(dir.join("long"))
        .output()
        .unwrap();
    let first = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        first.contains(":1:6000:[...]....") && first.ends_with("....[...]") && first.len() < 4200,
        "{first}"
    );
    let e = Scan::new([&data])
        .patterns(["key"])
        .matches(0)
        .devices("native")
        .run()
        .err()
        .expect("refused");
    assert!(e.to_string().contains("Fix:"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
