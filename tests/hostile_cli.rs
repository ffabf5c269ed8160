//! `vyre scan` against hostile input, through the real binary on real temp
//! files: every bad option is refused with a `Fix:` and exit status 2 (never
//! a panic, abort or hang), names round-trip in JSON and print escaped in
//! text, duplicate patterns and payloads are refused, patterns take any bytes
//! and escapes, a closed stdout ends the scan quietly with status 0, and the
//! exit status is 0/1/2 as documented.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use vyre::scan::ScanConfig;

fn vyre() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vyre"))
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vyre-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn os(b: &[u8]) -> OsString {
    OsString::from_vec(b.to_vec())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json_lines(out: &[u8]) -> Vec<serde_json::Value> {
    text(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Exit status 2, a `Fix:` on stderr, no panic; returns stderr.
fn assert_refused(out: &Output, what: &str) -> String {
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{what}: status {:?}, stderr {err}",
        out.status
    );
    assert!(err.contains("Fix:"), "{what}: no Fix: in {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert!(
        out.stdout.is_empty(),
        "{what}: printed {}",
        text(&out.stdout)
    );
    err
}

fn base64_decode(s: &str) -> Vec<u8> {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = ABC.iter().position(|&a| a == c).expect("base64 digit") as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// A small file to scan.
fn small_file(name: &str) -> PathBuf {
    let d = tmpdir(name);
    let f = d.join("f.txt");
    std::fs::write(&f, b"one\ntwo\n").unwrap();
    f
}

#[test]
fn out_of_range_options_are_refused_with_a_fix_on_every_backend() {
    let f = small_file("opts");
    let huge_usize = usize::MAX.to_string();
    let cases: &[(&str, &str, &str)] = &[
        ("--chunk-size", "0", "not positive"),
        ("--chunk-size", "1", "multiple of 4"),
        ("--chunk-size", "3", "multiple of 4"),
        ("--chunk-size", "67108868", "maximum"),
        ("--chunk-size", "4294967292", "maximum"),
        ("--chunk-size", "4294967295", "multiple of 4"),
        ("--chunk-size", "4294967296", "larger than"),
        ("--batch-bytes", "0", "one chunk"),
        ("--batch-bytes", "1", "one chunk"),
        ("--batch-bytes", "1073741825", "maximum"),
        ("--batch-bytes", "4294967296", "maximum"),
        ("--batch-bytes", &huge_usize, "maximum"),
        ("--batch-bytes", "99999999999999999999999", "larger than"),
        ("--read-threads", "65", "maximum 64"),
        ("--read-threads", "20000", "maximum 64"),
        ("--read-threads", "4294967295", "maximum 64"),
        ("--in-flight", "0", "1 to 16"),
        ("--in-flight", "17", "1 to 16"),
        ("--in-flight", "5000", "1 to 16"),
        ("--in-flight", "4294967295", "1 to 16"),
        ("--iteration-budget", "0", "at least 1"),
        ("--iteration-budget", "4294967296", "larger than"),
        ("--iteration-budget", "268435457", "larger than the maximum"),
        (
            "--iteration-budget",
            "4294967295",
            "larger than the maximum",
        ),
        ("--chunk-size", "1e6", "not a whole number"),
        ("--chunk-size", "", "not a whole number"),
    ];
    for &(flag, value, why) in cases {
        // The CPU reference and the default (wgpu) backend refuse alike,
        // before a device is opened.
        for backend in ["cpu", "gpu"] {
            let t = Instant::now();
            let out = vyre()
                .args(["scan", "--backend", backend, flag, value])
                .arg(&f)
                .output()
                .unwrap();
            let err = assert_refused(&out, &format!("{flag} {value} on {backend}"));
            assert!(err.contains(why), "{flag} {value}: {err}");
            assert!(t.elapsed() < Duration::from_secs(20), "{flag} {value} slow");
        }
    }
    // Negative numbers, as a separate word and after `=`: clap's "invalid
    // value" with our reason, exit status 2.
    for flag in [
        "--chunk-size",
        "--batch-bytes",
        "--read-threads",
        "--in-flight",
        "--iteration-budget",
    ] {
        for args in [
            vec![flag.to_string(), "-1".into()],
            vec![format!("{flag}=-1")],
            vec![format!("{flag}=-4294967296")],
        ] {
            let out = vyre()
                .args(["scan", "--backend", "cpu"])
                .args(&args)
                .arg(&f)
                .output()
                .unwrap();
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.contains("invalid value") && err.contains("is negative. Fix:"),
                "{args:?}: {err}"
            );
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}

#[test]
fn limits_themselves_are_accepted() {
    let f = small_file("edges");
    for args in [
        &["--chunk-size", "4", "--batch-bytes", "4"][..],
        &["--chunk-size", "67108864", "--batch-bytes", "67108864"],
        &["--batch-bytes", "1073741824"],
        &["--read-threads", "0"],
        &["--read-threads", "64", "--no-uring"],
        &["--in-flight", "1"],
        &["--in-flight", "16"],
        &["--iteration-budget", "268435456"],
        &["-L"],
        &["--follow"],
    ] {
        let out = vyre()
            .args(["scan", "--json", "--lines", "--backend", "cpu"])
            .args(args)
            .arg(&f)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let v = json_lines(&out.stdout);
        assert_eq!(v[0]["lines"], 2, "{args:?}");
    }
    let help = vyre().args(["scan", "--help"]).output().unwrap();
    let help = text(&help.stdout);
    for word in ["--iteration-budget", "--follow", "-L", "0 to 64", "1 to 16"] {
        assert!(help.contains(word), "--help lacks {word}: {help}");
    }
}

#[test]
fn library_validate_checks_every_limit() {
    let ok = ScanConfig::default();
    ok.validate().unwrap();
    let bad: Vec<(&str, ScanConfig)> = vec![
        (
            "queue 0",
            ScanConfig {
                queue_depth: 0,
                ..ok.clone()
            },
        ),
        (
            "queue 4097",
            ScanConfig {
                queue_depth: 4097,
                ..ok.clone()
            },
        ),
        (
            "queue max",
            ScanConfig {
                queue_depth: u32::MAX,
                ..ok.clone()
            },
        ),
        (
            "budget 0",
            ScanConfig {
                iteration_budget: 0,
                ..ok.clone()
            },
        ),
        (
            "chunk max",
            ScanConfig {
                chunk_size: u32::MAX,
                ..ok.clone()
            },
        ),
        (
            "batch 0",
            ScanConfig {
                batch_bytes: 0,
                ..ok.clone()
            },
        ),
        (
            "batch max",
            ScanConfig {
                batch_bytes: usize::MAX,
                ..ok.clone()
            },
        ),
        (
            "threads",
            ScanConfig {
                read_threads: 65,
                ..ok.clone()
            },
        ),
        (
            "empty pattern",
            ScanConfig {
                patterns: vec![vec![]],
                ..ok.clone()
            },
        ),
        (
            "long pattern",
            ScanConfig {
                patterns: vec![vec![b'a'; 257]],
                ..ok.clone()
            },
        ),
    ];
    for (what, cfg) in bad {
        let e = cfg.validate().unwrap_err();
        assert!(matches!(e, vyre::Error::BadInput { .. }), "{what}: {e:?}");
        assert!(e.to_string().contains("Fix:"), "{what}: {e}");
        // scan_devices checks first, before touching a device or a file.
        let e = vyre::scan::scan(
            vyre::cpu::CpuBackend::new(),
            &[PathBuf::from("/nonexistent")],
            &cfg,
            |_| panic!("{what}: scanned"),
            |_, _| {},
        )
        .unwrap_err();
        assert!(e.to_string().contains("Fix:"), "{what}: {e}");
    }
    // Repeated patterns: fine for the library (one entry each in
    // FileReport::matches), refused by validate_distinct (the JSON form).
    let twice = ScanConfig {
        patterns: vec![b"ab".to_vec(), b"x".to_vec(), b"ab".to_vec()],
        ..ok.clone()
    };
    twice.validate().unwrap();
    let e = twice.validate_distinct().unwrap_err().to_string();
    assert!(e.contains("twice") && e.contains("Fix:"), "{e}");
    ok.validate_distinct().unwrap();
    for cfg in [
        ScanConfig {
            queue_depth: 1,
            ..ok.clone()
        },
        ScanConfig {
            queue_depth: 4096,
            ..ok.clone()
        },
        ScanConfig {
            iteration_budget: 1,
            ..ok.clone()
        },
        ScanConfig {
            read_threads: 64,
            ..ok.clone()
        },
    ] {
        cfg.validate().unwrap();
    }
    assert!(vyre::scan::validate_in_flight(0).is_err());
    assert!(vyre::scan::validate_in_flight(17).is_err());
    vyre::scan::validate_in_flight(16).unwrap();
}

#[test]
fn non_utf8_names_round_trip_in_json() {
    let d = tmpdir("names");
    let names: [&[u8]; 3] = [b"a\xff", b"a\xfe", b"plain.txt"];
    for (i, n) in names.iter().enumerate() {
        std::fs::write(d.join(OsStr::from_bytes(n)), vec![b'\n'; i + 1]).unwrap();
    }
    let missing = d.join(OsStr::from_bytes(b"gone\xff"));
    let out = vyre()
        .args(["scan", "--json", "--lines", "--backend", "cpu"])
        .arg(&d)
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v = json_lines(&out.stdout);
    let mut got = Vec::new();
    for o in v.iter().filter(|o| o.get("path").is_some()) {
        let path = o["path"].as_str().unwrap();
        let bytes = match o.get("path_bytes") {
            Some(b) => {
                assert!(path.contains('\u{fffd}'), "{o}");
                base64_decode(b.as_str().unwrap())
            }
            None => path.as_bytes().to_vec(),
        };
        let p = PathBuf::from(OsString::from_vec(bytes));
        got.push((p, o.get("lines").cloned(), o.get("error").is_some()));
    }
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want: Vec<(PathBuf, Option<serde_json::Value>, bool)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (d.join(OsStr::from_bytes(n)), Some((i + 1).into()), false))
        .collect();
    want.push((missing, None, true));
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want);
    // The valid UTF-8 name has no path_bytes.
    assert!(v.iter().any(
        |o| o["path"].as_str().is_some_and(|p| p.ends_with("plain.txt"))
            && o.get("path_bytes").is_none()
    ));
}

#[test]
fn text_mode_escapes_names() {
    let d = tmpdir("text");
    let names: [(&[u8], &str); 6] = [
        (b"plain name.txt", "plain name.txt"),
        (b"new\nline", "new\\nline"),
        (b"tab\there", "tab\\there"),
        (b"esc\x1b[31mred", "esc\\x1b[31mred"),
        (b"bad\xffbyte", "bad\\xffbyte"),
        (b"back\\slash", "back\\\\slash"),
    ];
    for (n, _) in names {
        std::fs::write(d.join(OsStr::from_bytes(n)), b"x\n").unwrap();
    }
    let missing = d.join(OsStr::from_bytes(b"gone\n\x07"));
    let out = vyre()
        .args(["scan", "--lines", "--backend", "cpu", "--quiet"])
        .arg(&d)
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = String::from_utf8(out.stdout).expect("text output is UTF-8");
    assert!(
        !stdout.chars().any(|c| c.is_control() && c != '\n'),
        "{stdout:?}"
    );
    // One line per path and the summary: no name broke a line.
    assert_eq!(stdout.lines().count(), names.len() + 2, "{stdout}");
    for (_, shown) in names {
        let want = format!("{}/{shown}: 2 bytes, 1 lines", d.display());
        assert!(
            stdout.lines().any(|l| l == want),
            "no line {want:?} in {stdout}"
        );
    }
    assert!(
        stdout.contains(&format!("{}/gone\\n\\x07: error: ", d.display())),
        "{stdout}"
    );
}

#[test]
fn duplicate_patterns_and_payloads_are_refused() {
    let f = small_file("dups");
    for pats in [
        &["a", "a"][..],
        &["a", "\\x61"],
        &["\\n", "\n"],
        &["x", "y", "x"],
    ] {
        let mut c = vyre();
        c.args(["scan", "--backend", "cpu"]);
        for p in pats {
            c.args(["-e", p]);
        }
        let err = assert_refused(&c.arg(&f).output().unwrap(), &format!("{pats:?}"));
        assert!(err.contains("twice"), "{err}");
    }
    let d = tmpdir("dup-payloads");
    let a = d.join("a.vir0");
    let out = vyre()
        .args(["compile", "--payload", "line_count", "-o"])
        .arg(&a)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let b = d.join("b.vir0");
    std::fs::copy(&a, &b).unwrap();
    let one = vyre()
        .args(["scan", "--json", "--backend", "cpu", "--payload"])
        .arg(&a)
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(one.status.code(), Some(0), "{}", text(&one.stderr));
    for (x, y, why) in [
        (&a, &a, "given twice"),
        (&a, &d.join(".").join("a.vir0"), "given twice"),
        (&a, &b, "payload `line_count` is given twice"),
    ] {
        let out = vyre()
            .args(["scan", "--backend", "cpu", "--payload"])
            .arg(x)
            .arg("--payload")
            .arg(y)
            .arg(&f)
            .output()
            .unwrap();
        let err = assert_refused(&out, &format!("{x:?} {y:?}"));
        assert!(err.contains(why), "{err}");
    }
}

#[test]
fn patterns_take_any_bytes_and_escapes() {
    let d = tmpdir("bytes");
    let f = d.join("data");
    std::fs::write(&f, b"a\xffb\xff\n\\x\t\\z\r\0\0\0").unwrap();
    let out = vyre()
        .args(["scan", "--json", "--backend", "cpu"])
        .arg("-e")
        .arg(os(b"\xff")) // a raw byte that is not UTF-8
        .args([
            "-e",
            "\\xffb",
            "-e",
            "\\n",
            "-e",
            "\\\\",
            "-e",
            "\\t\\\\z\\r",
        ])
        .args(["-e", "\\0\\0", "-e", "-x", "-e", "\\x5C"])
        .arg(&f)
        .output()
        .unwrap();
    // `\x5C` and `\\` are the same byte: refused, not merged.
    let err = assert_refused(&out, "\\x5C and \\\\");
    assert!(err.contains("twice"), "{err}");
    let out = vyre()
        .args(["scan", "--json", "--backend", "cpu"])
        .arg("-e")
        .arg(os(b"\xff"))
        .args([
            "-e",
            "\\xffb",
            "-e",
            "\\n",
            "-e",
            "\\\\",
            "-e",
            "\\t\\\\z\\r",
        ])
        .args(["-e", "\\0\\0", "-e", "-x", "-e", "ü"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json_lines(&out.stdout);
    let m = v[0]["matches"].as_object().expect("matches");
    let want = [
        ("\\xff", 2),
        ("\\xffb", 1),
        ("\\n", 1),
        ("\\\\", 2),
        ("\\t\\\\z\\r", 1),
        ("\\0\\0", 2),
        ("-x", 0),
        ("ü", 0),
    ];
    assert_eq!(m.len(), want.len(), "{m:?}");
    for (k, n) in want {
        assert_eq!(m.get(k), Some(&n.into()), "key {k:?} in {m:?}");
    }
    // Text mode shows the same escaped keys.
    let out = vyre()
        .args(["scan", "--backend", "cpu", "--quiet", "-e", "\\n", "-e"])
        .arg(os(b"\xff"))
        .arg(&f)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("1 x \"\\n\", 2 x \"\\xff\""), "{stdout}");
    for (bad, why) in [
        ("\\q", "unknown escape"),
        ("\\xZ1", "two hex digits"),
        ("\\x4", "two hex digits"),
        ("ab\\", "lone backslash"),
        ("", "empty"),
        ("a\\\\\\", "lone backslash"),
    ] {
        let out = vyre()
            .args(["scan", "--backend", "cpu", "-e", bad])
            .arg(&f)
            .output()
            .unwrap();
        let err = assert_refused(&out, bad);
        assert!(err.contains(why), "{bad:?}: {err}");
    }
}

#[test]
fn closed_stdout_stops_the_scan_quietly_with_status_0() {
    let d = tmpdir("pipe");
    for i in 0..4000 {
        std::fs::write(d.join(format!("f{i:05}")), format!("{i}\n")).unwrap();
    }
    for json in [true, false] {
        let mut c = vyre();
        c.args(["scan", "--backend", "cpu", "--quiet", "--lines"]);
        if json {
            c.arg("--json");
        }
        let mut child = c
            .arg(&d)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(line.contains("f0"), "{line}");
        let t = Instant::now();
        drop(stdout);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if t.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                panic!("the scan kept running after its stdout closed");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(0), "json {json}: stderr {err}");
        let err: Vec<&str> = err
            .lines()
            .filter(|l| !l.starts_with("vyre: scanning on"))
            .collect();
        assert!(err.is_empty(), "json {json}: stderr {err:?}");
    }
}

#[test]
fn exit_status_is_0_1_2() {
    let f = small_file("exit");
    let run = |args: &[&OsStr]| {
        vyre()
            .args(["scan", "--backend", "cpu", "--json"])
            .args(args)
            .output()
            .unwrap()
    };
    let ok = run(&[f.as_os_str()]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    // A missing path: reported with its reason, the others scanned, status 1.
    let missing = f.with_file_name("missing");
    let some = run(&[missing.as_os_str(), f.as_os_str()]);
    assert_eq!(some.status.code(), Some(1), "{}", text(&some.stderr));
    let v = json_lines(&some.stdout);
    assert!(v
        .iter()
        .any(|o| o["path"] == missing.to_str().unwrap() && o["error"].is_string()));
    assert!(v
        .iter()
        .any(|o| o["path"] == f.to_str().unwrap() && o["lines"] == 2));
    assert_eq!(v.last().unwrap()["summary"]["failed"], 1);
    // Bad usage: status 2.
    for args in [
        &[][..],
        &[OsStr::new("--no-such-flag"), f.as_os_str()],
        &[OsStr::new("--chunk-size"), OsStr::new("3"), f.as_os_str()],
    ] {
        let out = run(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(!text(&out.stderr).contains("panicked"));
    }
    // Output that cannot be written (a full disk): the error, status 2.
    if let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") {
        let out = vyre()
            .args(["scan", "--backend", "cpu", "--json"])
            .arg(&f)
            .stdout(full)
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("writing results failed") && err.contains("Fix:"),
            "{err}"
        );
    }
    // --help and --version are not errors.
    assert_eq!(
        vyre()
            .args(["scan", "--help"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn escaping_round_trips_and_base64_is_standard() {
    use vyre::scan::{base64, escape_bytes, parse_pattern};
    for (i, o) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(i.as_bytes()), o);
    }
    assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    let mut seed = 7u64;
    for n in 1..300 {
        let bytes: Vec<u8> = (0..n % 23 + 1)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let e = escape_bytes(&bytes);
        assert!(!e.chars().any(char::is_control), "{e:?}");
        assert_eq!(parse_pattern(e.as_bytes()).unwrap(), bytes, "{e}");
        assert_eq!(base64_decode(&base64(&bytes)), bytes);
    }
    assert_eq!(escape_bytes(b"plain name.txt"), "plain name.txt");
    assert_eq!(escape_bytes("ünï".as_bytes()), "ünï");
    assert_eq!(escape_bytes("\u{202e}".as_bytes()), "\\xe2\\x80\\xae");
}
