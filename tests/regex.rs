//! Regular expressions (`-r`, `--regex-file`; `Scan::regex`) are counted
//! exactly on every backend: per file and regex equal to the `regex`
//! crate's `find_iter` over each line on its own (the oracle), on random
//! patterns from a small grammar (literals, classes, alternation,
//! repetition, anchors, word boundaries, non-ASCII, empty matches) over
//! random files whose lines are longer than the 32-byte chunks, on the
//! native backend, the CPU reference and the GPU (llvmpipe here); hostile
//! input (bad regexes, regexes that need a `\n`, regex files, a line longer
//! than the 64 MiB bound) gets a `Fix:`.

mod support;

use support::rng::Rng;

use std::process::Command;

use vyre::scan::Scan;

/// A random regex of the grammar, at most `depth` levels deep.
fn random_regex(rng: &mut Rng, depth: u32) -> String {
    const ATOMS: [&str; 16] = [
        "a",
        "b",
        "ab",
        "é",
        r"(?-u:\xff)",
        "[ab]",
        "[^a]",
        r"\w",
        r"\s",
        ".",
        r"\d",
        "^",
        "$",
        r"\b",
        r"\A",
        r"\z",
    ];
    if depth == 0 || rng.below(3) == 0 {
        return ATOMS[rng.below(ATOMS.len())].to_string();
    }
    let sub = |rng: &mut Rng| random_regex(rng, depth - 1);
    match rng.below(8) {
        0 | 1 => format!("{}{}", sub(rng), sub(rng)),
        2 => format!("(?:{}|{})", sub(rng), sub(rng)),
        3 => format!("(?:{})*", sub(rng)),
        4 => format!("(?:{})+", sub(rng)),
        5 => format!("(?:{})?", sub(rng)),
        6 => format!("(?:{}){{1,3}}?", sub(rng)),
        _ => format!("(?i:{})", sub(rng)),
    }
}

/// The oracle: matches of `re` in each line of `text` on its own.
fn oracle(re: &regex::bytes::Regex, text: &[u8]) -> u64 {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    if text.is_empty() {
        return 0;
    }
    body.split(|&b| b == b'\n')
        .map(|line| re.find_iter(line).count() as u64)
        .sum()
}

/// (file name, regex counts) per file of `dir`, scanned on `device`.
fn scan(
    dir: &std::path::Path,
    device: &str,
    regexes: &[String],
    chunk: u32,
) -> Vec<(String, Vec<(String, u64)>)> {
    let files = Scan::new([dir])
        .regex(regexes)
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
            (name, f.report().regex_matches.clone())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn random_regexes_equal_the_regex_crate_line_by_line_on_every_backend() {
    let chunk = 32u32;
    let mut compared = 0;
    for seed in 1..=3u64 {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ seed);
        let dir = support::tmpdir(&format!("regex-{seed}"));
        let pieces: [&[u8]; 9] = [
            b"a",
            b"b",
            b"A",
            b" ",
            b"\t",
            b"\n",
            "é".as_bytes(),
            b"\xff",
            b"7",
        ];
        let mut texts = Vec::new();
        for (i, size) in [0usize, 1, 31, 33, 100, 300, 1200].iter().enumerate() {
            let mut text = Vec::new();
            // Lines of every length, some far longer than a chunk.
            let long = rng.below(3) == 0;
            while text.len() < *size {
                let p = pieces[rng.below(pieces.len())];
                if p == b"\n" && long && rng.below(4) != 0 {
                    continue;
                }
                text.extend_from_slice(p);
            }
            if i == 1 {
                text = b"\n".to_vec();
            }
            std::fs::write(dir.join(format!("f{i}")), &text).unwrap();
            texts.push((format!("f{i}"), text));
        }
        let mut regexes: Vec<String> = Vec::new();
        while regexes.len() < 40 {
            let r = random_regex(&mut rng, 3);
            if !regexes.contains(&r) {
                regexes.push(r);
            }
        }
        let oracles: Vec<regex::bytes::Regex> = regexes
            .iter()
            .map(|r| regex::bytes::Regex::new(r).expect("oracle compiles"))
            .collect();
        let mut expected: Vec<(String, Vec<(String, u64)>)> = texts
            .iter()
            .map(|(name, text)| {
                let counts = regexes
                    .iter()
                    .zip(&oracles)
                    .map(|(r, o)| (r.clone(), oracle(o, text)))
                    .collect();
                (name.clone(), counts)
            })
            .collect();
        expected.sort();
        let nonzero = expected
            .iter()
            .flat_map(|(_, c)| c.iter())
            .filter(|(_, n)| *n > 0)
            .count();
        assert!(
            nonzero > 40,
            "the random sets should match something: {nonzero}"
        );
        let devices: &[&str] = if seed == 1 {
            &["native", "cpu", "gpu"]
        } else {
            &["native", "cpu"]
        };
        for device in devices {
            for c in [chunk, 4096] {
                let got = scan(&dir, device, &regexes, c);
                assert_eq!(got, expected, "seed {seed} on {device}, chunk {c}");
                compared += regexes.len() * texts.len();
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(compared > 2000);
}

fn vyre() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vyre"))
}

#[test]
fn regexes_from_the_command_line_and_regex_files() {
    let dir = support::tmpdir("regex-cli");
    let data = dir.join("data");
    std::fs::write(&data, b"key=AKIA0123\nKEY=akia9\nno key\n").unwrap();
    let file = dir.join("regexes");
    std::fs::write(&file, b"(?i)akia\\d+\r\n^no\n").unwrap();
    let out = vyre()
        .args([
            "scan",
            "--quiet",
            "--json",
            "--backend",
            "native",
            "-r",
            "key",
            "--regex-file",
        ])
        .arg(&file)
        .arg(&data)
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
    assert_eq!(v["regex_matches"]["key"], 2, "{line}");
    assert_eq!(v["regex_matches"][r"(?i)akia\d+"], 2, "{line}");
    assert_eq!(v["regex_matches"]["^no"], 1, "{line}");
    assert!(
        v.get("lines").is_none(),
        "-r alone computes only regexes: {line}"
    );
    // Text mode names each regex between slashes.
    let out = vyre()
        .args(["scan", "--quiet", "--backend", "native", "-r", r"\d"])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(r"5 x /\d/"), "{text}");

    let bad: [(&[&str], &str); 8] = [
        (&["-r", "a("], "not a valid regex"),
        (&["-r", r"(?<=a)b"], "look-around"),
        (&["-r", r"a\nb"], "multi-line"),
        (&["-r", r"[\n]"], "multi-line"),
        (&["-r", r"[\n\x0A]"], "multi-line"),
        (&["-r", "(?R)a$"], "CRLF"),
        (&["-r", ""], "empty regex"),
        (&["-r", "a", "-r", "a"], "given twice"),
    ];
    for (args, says) in bad {
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
    let files: [(&[u8], &str); 3] = [
        (b"", "has no regexes"),
        (b"a\n\nb\n", "line 2"),
        (b"a\n\xff\n", "line 2 is not valid UTF-8"),
    ];
    for (text, says) in files {
        std::fs::write(&file, text).unwrap();
        let out = vyre()
            .args(["scan", "--quiet", "--backend", "native", "--regex-file"])
            .arg(&file)
            .arg(&data)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(says) && err.contains("Fix:"), "{says}: {err}");
    }
    // The library refuses at run(), with the same message.
    let e = Scan::new([&data])
        .regex(["(a"])
        .devices("native")
        .run()
        .err()
        .expect("refused");
    assert!(e.to_string().contains("Fix:"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A line longer than the 64 MiB bound fails its file with a `Fix:`; the
/// other files keep their exact counts.
#[test]
fn a_line_longer_than_the_bound_fails_only_its_file() {
    let dir = support::tmpdir("regex-long-line");
    let mut long = vec![b'a'; vyre::scan::regex::MAX_LINE + 1];
    long.extend_from_slice(b"\nab\n");
    std::fs::write(dir.join("long"), &long).unwrap();
    drop(long);
    std::fs::write(dir.join("short"), b"ab ab\nb").unwrap();
    let mut seen = Vec::new();
    for f in Scan::new([&dir])
        .regex(["ab"])
        .config(|c| c.chunk_size = 4 << 20)
        .devices("native")
        .run()
        .expect("scan starts")
    {
        let name = f.path().file_name().unwrap().to_string_lossy().to_string();
        seen.push((name, f.error().map(str::to_string), f.regex_count("ab")));
    }
    seen.sort();
    assert_eq!(seen.len(), 2);
    let err = seen[0].1.as_deref().unwrap_or("");
    assert!(err.contains("64 MiB") && err.contains("Fix:"), "{seen:?}");
    assert_eq!(seen[1], ("short".to_string(), None, Some(2)));
    let _ = std::fs::remove_dir_all(&dir);
}

/// This repository's sources and docs as a real corpus: the example
/// secret-like rule set and a few everyday regexes, per file, equal the
/// `regex` crate line by line and, where ripgrep is installed, `rg -c -o`.
#[test]
fn a_real_corpus_equals_the_regex_crate_and_ripgrep() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = std::fs::read(root.join("examples/patterns/secrets-regex.txt")).unwrap();
    let mut regexes = vyre::scan::regex::parse_regex_file(&rules, "secrets-regex.txt").unwrap();
    for r in [
        r"\bfn\b",
        r"^\s*//",
        r"[A-Z][a-z]+",
        r"\w+",
        r"(?i)error",
        r"\d+\.\d+",
        r"\s+$",
    ] {
        regexes.push(r.to_string());
    }
    let paths = [
        root.join("src"),
        root.join("README.md"),
        root.join("ARCHITECTURE.md"),
    ];
    let oracles: Vec<regex::bytes::Regex> = regexes
        .iter()
        .map(|r| regex::bytes::Regex::new(r).unwrap())
        .collect();
    let mut files = 0;
    let mut by_path = std::collections::BTreeMap::new();
    for f in Scan::new(&paths)
        .regex(&regexes)
        .devices("native")
        .run()
        .unwrap()
    {
        assert_eq!(f.error(), None);
        let text = std::fs::read(f.path()).unwrap();
        for ((r, n), o) in f.report().regex_matches.iter().zip(&oracles) {
            assert_eq!(*n, oracle(o, &text), "/{r}/ in {}", f.path().display());
        }
        by_path.insert(f.path().to_path_buf(), f.report().regex_matches.clone());
        files += 1;
    }
    assert!(files > 20, "{files}");
    let rg = Command::new("rg").arg("--version").output();
    if !rg.is_ok_and(|o| o.status.success()) {
        eprintln!("ripgrep (rg) is not installed: compared with the regex crate only");
        return;
    }
    for (k, r) in regexes.iter().enumerate() {
        let out = Command::new("rg")
            .args([
                "--no-config",
                "-a",
                "-c",
                "-o",
                "--no-ignore",
                "--with-filename",
                "-e",
                r,
            ])
            .args(&paths)
            .output()
            .unwrap();
        let listed: std::collections::BTreeMap<std::path::PathBuf, u64> =
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|l| {
                    let (p, n) = l.rsplit_once(':').unwrap();
                    (std::path::PathBuf::from(p), n.parse().unwrap())
                })
                .collect();
        for (path, counts) in &by_path {
            let want = listed.get(path).copied().unwrap_or(0);
            assert_eq!(counts[k].1, want, "/{r}/ in {} vs rg", path.display());
        }
    }
}
