//! Usage errors of the real `vyre` binary: every option the argument parser
//! refuses (an option that needs another, options that exclude each other,
//! a missing, unknown or badly valued argument) exits with status 2, says
//! what is wrong and, on a `Fix:` line, what to do; help still prints as
//! usual with status 0.

use std::path::PathBuf;
use std::process::{Command, Output};

fn vyre() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vyre"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A small file to scan.
fn small_file() -> PathBuf {
    let d = std::env::temp_dir().join(format!("vyre-usage-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let f = d.join("f.txt");
    std::fs::write(&f, b"one\ntwo\n").unwrap();
    f
}

/// Exit status 2, nothing on stdout, stderr with clap's message, `says`
/// and a `Fix:` line that says `fix`.
fn assert_usage_error(out: &Output, what: &str, says: &str, fix: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: {err}");
    assert!(out.stdout.is_empty(), "{what}: {}", text(&out.stdout));
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert!(err.starts_with("error: "), "{what}: {err}");
    assert!(err.contains(says), "{what}: no {says:?} in {err}");
    let fix_line = err
        .lines()
        .find(|l| l.contains("Fix:"))
        .unwrap_or_else(|| panic!("{what}: no Fix: in {err}"));
    assert!(fix_line.contains(fix), "{what}: no {fix:?} in {fix_line}");
}

#[test]
fn max_matches_per_file_without_matches_says_fix() {
    let f = small_file();
    let out = vyre()
        .args(["scan", "--max-matches-per-file", "5", "-r", "one"])
        .arg(&f)
        .output()
        .unwrap();
    assert_usage_error(
        &out,
        "--max-matches-per-file without --matches",
        "--matches",
        "add --matches",
    );
    // With --matches it runs, and the bound holds.
    let out = vyre()
        .args([
            "scan",
            "--quiet",
            "--backend",
            "native",
            "--matches",
            "--max-matches-per-file",
            "1",
            "-r",
            "o",
        ])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.starts_with(&format!("{}:1:1:one\n", f.display())),
        "{shown}"
    );
    assert!(shown.contains("1 more matches not printed"), "{shown}");
}

#[test]
fn every_parser_error_says_fix() {
    let f = small_file();
    let f = f.to_str().unwrap();
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &[
                "scan",
                "--matches",
                "--max-matches-per-file",
                "x5",
                "-e",
                "o",
                f,
            ],
            "not a whole number",
            "digits only",
        ),
        (
            &[
                "scan",
                "--matches",
                "--max-matches-per-file=-1",
                "-e",
                "o",
                f,
            ],
            "is negative",
            "without a sign",
        ),
        (
            &["scan", "--adapters", "cpu", "--backend", "cpu", f],
            "cannot be used with",
            "leave out --backend and --adapter",
        ),
        (
            &["scan", "--adapter", "llvmpipe", "--adapters", "cpu", f],
            "cannot be used with",
            "leave out --backend and --adapter",
        ),
        (
            &["scan", "--zero-copy", "--no-zero-copy", f],
            "cannot be used with",
            "leave out --zero-copy",
        ),
        (
            &["scan", "--lines", "--lines", f],
            "cannot be used multiple times",
            "give --lines once",
        ),
        (&["scan", "--lines"], "<PATHS>", "at least one file"),
        (
            &["scan", "--backend", "tpu", f],
            "invalid value 'tpu'",
            "pass one of: gpu, cpu, native, gpu+native",
        ),
        (
            &["scan", f, "--regex"],
            "a value is required",
            "give --regex",
        ),
        (
            &["scan", "--no-such-flag", f],
            "unexpected argument",
            "leave out --no-such-flag",
        ),
        (
            &[
                "compile",
                "x.vyre",
                "--payload",
                "line_count",
                "-o",
                "x.vir0",
            ],
            "cannot be used with",
            "not both",
        ),
        (&["compile", "-o", "x.vir0"], "<INPUT>", "--payload NAME"),
        (&["compile", "x.vyre"], "--output", "add -o OUT"),
        (
            &["compile", "--payload", "nope", "-o", "x.vir0"],
            "invalid value 'nope'",
            "pass one of: line_count",
        ),
        (
            &["frobnicate"],
            "unrecognized subcommand",
            "scan, compile, disasm",
        ),
    ];
    for &(args, says, fix) in cases {
        let out = vyre().args(args).output().unwrap();
        assert_usage_error(&out, &args.join(" "), says, fix);
    }
}

#[test]
fn no_command_prints_the_help_and_a_fix() {
    let out = vyre().output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("Commands:") && err.contains("scan"), "{err}");
    assert!(err.contains("error: no command given"), "{err}");
    assert!(err.contains("Fix: give a command"), "{err}");
}

#[test]
fn help_and_version_are_not_errors() {
    for args in [&["--help"][..], &["scan", "--help"], &["--version"]] {
        let out = vyre().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let shown = text(&out.stdout);
        assert!(
            !shown.is_empty() && !shown.contains("Fix:"),
            "{args:?}: {shown}"
        );
    }
}
