//! Checking a [`ScanConfig`] before a scan, parsing `-e` pattern escapes, and
//! the printable escaped form of patterns and file names.
//!
//! Every limit here is the same on every backend: a value that one device
//! would refuse is refused before any device is touched.

use std::collections::HashMap;

use vyre_core::{Error, Result};

use super::pattern::MAX_PATTERN;
use super::{ScanConfig, DEFAULT_ITERATION_BUDGET};

/// Largest [`ScanConfig::chunk_size`]: 64 MiB.
pub const MAX_CHUNK_SIZE: u32 = 64 << 20;

/// Largest [`ScanConfig::batch_bytes`]: 1 GiB (a batch's arena must be one
/// device buffer with 32-bit word offsets; devices may allow less, and
/// then refuse the arena with a `Fix:` when they open).
pub const MAX_BATCH_BYTES: u64 = 1 << 30;

/// Largest [`ScanConfig::iteration_budget`]: 2^28 loop iterations per lane
/// per chunk. A runaway payload runs this long before its file fails, so a
/// larger budget would be a hang in all but name.
pub const MAX_ITERATION_BUDGET: u32 = 1 << 28;

/// Most literal patterns one scan takes ([`ScanConfig::patterns`]: `-e`
/// and `-f` together): 2^20.
pub const MAX_PATTERNS: usize = 1 << 20;

/// Most reader threads ([`ScanConfig::read_threads`]).
pub const MAX_READ_THREADS: u32 = 64;

/// Most native backend threads ([`ScanConfig::native_threads`]): more
/// than this is a typo, not a machine.
pub const MAX_NATIVE_THREADS: usize = 1024;

/// Most io_uring reads in flight ([`ScanConfig::queue_depth`]).
pub const MAX_QUEUE_DEPTH: u32 = 4096;

/// Most batches in flight per GPU (`vyre scan --in-flight`, the `in_flight`
/// argument of [`super::open_devices`] and [`super::shared_gpu`]).
pub const MAX_IN_FLIGHT: u32 = 16;

fn bad(message: String, fix: String) -> Error {
    Error::bad_input(message, fix)
}

impl ScanConfig {
    /// Checks every option against its limits, the same for every backend:
    ///
    /// * `chunk_size`: a multiple of 4 from 4 to [`MAX_CHUNK_SIZE`];
    /// * `batch_bytes`: at least one chunk, at most [`MAX_BATCH_BYTES`];
    /// * `read_threads`: 0 to [`MAX_READ_THREADS`];
    /// * `native_threads`: 0 (one per core) to [`MAX_NATIVE_THREADS`];
    /// * `queue_depth`: 1 to [`MAX_QUEUE_DEPTH`];
    /// * `iteration_budget`: 1 to [`MAX_ITERATION_BUDGET`];
    /// * `patterns`: at most [`MAX_PATTERNS`], each 1 to [`MAX_PATTERN`] bytes.
    ///
    /// [`super::scan_devices`] calls it first; an error is
    /// [`Error::BadInput`] saying what is wrong and, after `Fix:`, what to do.
    /// See also [`ScanConfig::validate_distinct`].
    pub fn validate(&self) -> Result<()> {
        let c = self.chunk_size;
        if c == 0 || c % 4 != 0 || c > MAX_CHUNK_SIZE {
            let why = if c == 0 {
                "is not positive".to_string()
            } else if c % 4 != 0 {
                "is not a multiple of 4".to_string()
            } else {
                format!("is larger than the maximum {MAX_CHUNK_SIZE} (64 MiB)")
            };
            return Err(bad(
                format!("chunk size {c} {why}"),
                format!("pass a multiple of 4 from 4 to {MAX_CHUNK_SIZE}, such as 262144"),
            ));
        }
        let b = self.batch_bytes as u64;
        if b < c as u64 || b > MAX_BATCH_BYTES {
            let why = if b < c as u64 {
                format!("does not hold one chunk of {c} bytes")
            } else {
                format!("is larger than the maximum {MAX_BATCH_BYTES} (1 GiB)")
            };
            return Err(bad(format!("batch bytes {b} {why}"), format!("pass a batch size from the chunk size ({c}) to {MAX_BATCH_BYTES}, such as 67108864")));
        }
        if self.read_threads > MAX_READ_THREADS {
            return Err(bad(format!("{} reader threads is more than the maximum {MAX_READ_THREADS}", self.read_threads), format!("pass 0 to {MAX_READ_THREADS} reader threads, such as 8 (more than 8 rarely reads faster)")));
        }
        if self.native_threads > MAX_NATIVE_THREADS {
            return Err(bad(format!("{} native threads is more than the maximum {MAX_NATIVE_THREADS}", self.native_threads), format!("pass 1 to {MAX_NATIVE_THREADS} threads, or 0 (the default) for one per core ({})", super::default_native_threads())));
        }
        if self.queue_depth == 0 || self.queue_depth > MAX_QUEUE_DEPTH {
            return Err(bad(
                format!(
                    "queue depth {} is outside 1 to {MAX_QUEUE_DEPTH}",
                    self.queue_depth
                ),
                format!("use a queue depth from 1 to {MAX_QUEUE_DEPTH}, such as 32"),
            ));
        }
        if self.iteration_budget > MAX_ITERATION_BUDGET {
            return Err(bad(format!("iteration budget {} is larger than the maximum {MAX_ITERATION_BUDGET}: a runaway payload would run for hours before its file fails", self.iteration_budget), format!("pass an iteration budget up to {MAX_ITERATION_BUDGET}, such as {DEFAULT_ITERATION_BUDGET} (the default)")));
        }
        if self.iteration_budget == 0 {
            return Err(bad("iteration budget 0 would fail every chunk".to_string(), format!("pass an iteration budget of at least 1, such as {DEFAULT_ITERATION_BUDGET} (the default)")));
        }
        if self.patterns.len() > MAX_PATTERNS {
            return Err(bad(
                format!(
                    "{} patterns are more than the maximum {MAX_PATTERNS}",
                    self.patterns.len()
                ),
                format!("split the patterns over several scans of at most {MAX_PATTERNS} each"),
            ));
        }
        if let Some(max) = self.match_locations {
            let most = super::matches::MAX_MATCHES_PER_FILE;
            if max == 0 || max > most {
                return Err(bad(
                    format!("--max-matches-per-file {max} is outside 1 to {most}"),
                    format!(
                        "pass 1 to {most} (default {}); to print no match, leave out --matches",
                        super::matches::DEFAULT_MAX_MATCHES
                    ),
                ));
            }
            if self.patterns.is_empty() && self.regexes.is_empty() {
                return Err(bad(
                    "--matches has nothing to locate".to_string(),
                    "give -r REGEX, -e PATTERN or -f FILE with it".to_string(),
                ));
            }
            if let Some(p) = self.patterns.iter().find(|p| p.contains(&b'\n')) {
                return Err(bad(
                    format!("pattern \"{}\" holds a \\n: --matches reports matches by line, and it would span lines", escape_bytes(p)),
                    "leave out --matches to count it, or remove the \\n".to_string(),
                ));
            }
        }
        for (i, p) in self.patterns.iter().enumerate() {
            if p.is_empty() {
                return Err(bad(
                    format!("pattern {} is empty", i + 1),
                    "give each pattern at least one byte".to_string(),
                ));
            }
            if p.len() > MAX_PATTERN {
                return Err(bad(
                    format!(
                        "pattern \"{}\" has {} bytes, more than the maximum {MAX_PATTERN}",
                        escape_bytes(&p[..32]),
                        p.len()
                    ),
                    format!("give patterns of 1 to {MAX_PATTERN} bytes"),
                ));
            }
        }
        Ok(())
    }

    /// Checks that no pattern and no payload name is given twice, as the JSON
    /// form needs ([`super::FileReport::to_json`] keys `matches` by pattern
    /// and `payloads` by payload name, so a repeated one would be reported
    /// once). `vyre scan` refuses repeats with this; a library caller reading
    /// [`super::FileReport`]'s vectors, which keep one entry per pattern and
    /// payload in order, may repeat them.
    pub fn validate_distinct(&self) -> Result<()> {
        let mut seen = HashMap::new();
        for (i, p) in self.patterns.iter().enumerate() {
            if let Some(j) = seen.insert(p.as_slice(), i) {
                return Err(bad(format!("pattern \"{}\" is given twice (patterns {} and {}); its results would be reported once", escape_bytes(p), j + 1, i + 1), "give each pattern once".to_string()));
            }
        }
        let mut regexes = HashMap::new();
        for (i, r) in self.regexes.iter().enumerate() {
            if let Some(j) = regexes.insert(r.as_str(), i) {
                return Err(bad(format!("regex /{}/ is given twice (regexes {} and {}); its results would be reported once", escape_bytes(r.as_bytes()), j + 1, i + 1), "give each regex once".to_string()));
            }
        }
        let mut names = HashMap::new();
        for (i, p) in self.payloads.iter().enumerate() {
            if let Some(j) = names.insert(p.name.as_str(), i) {
                return Err(bad(format!("payload `{}` is given twice (payloads {} and {}); results are keyed by payload name", p.name, j + 1, i + 1), "give each payload once, and give different payloads different names".to_string()));
            }
        }
        Ok(())
    }
}

/// Checks a number of batches in flight per GPU: 1 to [`MAX_IN_FLIGHT`].
pub fn validate_in_flight(in_flight: u32) -> Result<()> {
    if in_flight == 0 || in_flight > MAX_IN_FLIGHT {
        return Err(bad(format!("{in_flight} batches in flight is outside 1 to {MAX_IN_FLIGHT} (each takes a batch of GPU memory)"), format!("pass --in-flight from 1 to {MAX_IN_FLIGHT}, such as 2")));
    }
    Ok(())
}

/// Parses the escapes of a pattern as given on the command line, like
/// ripgrep's: `\xHH` (a byte, two hex digits), `\n`, `\r`, `\t`, `\0` and
/// `\\` (a backslash); every other byte, UTF-8 or not, stands for itself.
/// An unknown escape, a bad `\x` or a trailing `\` is an error, as is an empty
/// pattern.
pub fn parse_pattern(text: &[u8]) -> Result<Vec<u8>> {
    let shown = escape_bytes(text);
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some(&e) = text.get(i) else {
            return Err(bad(
                format!("pattern \"{shown}\" ends with a lone backslash"),
                "write a literal backslash as \\\\".to_string(),
            ));
        };
        i += 1;
        out.push(match e {
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'0' => 0,
            b'\\' => b'\\',
            b'x' => {
                let hex = |k: usize| text.get(k).and_then(|&h| (h as char).to_digit(16));
                match (hex(i), hex(i + 1)) {
                    (Some(h), Some(l)) => {
                        i += 2;
                        (h * 16 + l) as u8
                    }
                    _ => {
                        return Err(bad(format!("pattern \"{shown}\" has a `\\x` escape without two hex digits"), "write a byte as \\x followed by two hex digits, e.g. \\xff, and a literal backslash as \\\\".to_string()))
                    }
                }
            }
            other => {
                return Err(bad(format!("pattern \"{shown}\" has the unknown escape `\\{}`", escape_bytes(&[other])), "use \\xHH, \\n, \\r, \\t, \\0 or \\\\ (a literal backslash is written \\\\)".to_string()))
            }
        });
    }
    if out.is_empty() {
        return Err(bad(
            "an empty pattern matches everywhere".to_string(),
            "give each -e pattern at least one byte".to_string(),
        ));
    }
    Ok(out)
}

/// The literal patterns of a pattern file (`vyre scan -f FILE`): one
/// pattern per line, lines ended by `\n` (a `\r` before it is dropped, so
/// CRLF files work; the last line needs no newline), each with the escapes
/// of [`parse_pattern`]. `name` names the file in errors. An empty line, a
/// bad escape, or a file without any pattern is an error saying which line
/// and, after `Fix:`, what to do.
pub fn parse_pattern_file(text: &[u8], name: &str) -> Result<Vec<Vec<u8>>> {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    if body.is_empty() {
        return Err(bad(
            format!("pattern file {name} has no patterns"),
            "put one pattern per line in it (or leave out -f)".to_string(),
        ));
    }
    body.split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                return Err(bad(
                    format!(
                        "pattern file {name}, line {}: an empty line is an empty pattern, which matches everywhere",
                        i + 1
                    ),
                    "remove empty lines from the pattern file".to_string(),
                ));
            }
            parse_pattern(line).map_err(|e| {
                bad(
                    format!("pattern file {name}, line {}: {}", i + 1, e.message()),
                    e.fix().unwrap_or("fix the line").to_string(),
                )
            })
        })
        .collect()
}

/// Printable, unambiguous text for arbitrary bytes (a pattern, a file name):
/// printable UTF-8 stays as it is; `\` becomes `\\`; newline, carriage
/// return, tab and NUL become `\n`, `\r`, `\t`, `\0`; the bytes of every other
/// control or bidirectional-formatting character, and every byte that is not
/// valid UTF-8, become `\xHH`. [`parse_pattern`] turns it back into the same
/// bytes, so two different byte strings never escape to the same text.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    let hex = |s: &mut String, b: u8| s.push_str(&format!("\\x{b:02x}"));
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => s.push_str("\\\\"),
                // Text mode quotes patterns with `"`: a quote inside one
                // must not end it.
                '"' => hex(&mut s, b'"'),
                '\n' => s.push_str("\\n"),
                '\r' => s.push_str("\\r"),
                '\t' => s.push_str("\\t"),
                '\0' => s.push_str("\\0"),
                c if c.is_control()
                    || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
                {
                    let mut buf = [0; 4];
                    for &b in c.encode_utf8(&mut buf).as_bytes() {
                        hex(&mut s, b);
                    }
                }
                c => s.push(c),
            }
        }
        for &b in chunk.invalid() {
            hex(&mut s, b);
        }
    }
    s
}

/// Standard base64 (RFC 4648, with `=` padding) of `bytes`.
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for g in bytes.chunks(3) {
        let n = (g[0] as u32) << 16
            | (*g.get(1).unwrap_or(&0) as u32) << 8
            | *g.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= g.len() {
                s.push(ABC[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// The bytes of a path: exact on Unix; elsewhere its lossy UTF-8 form.
pub fn path_bytes(path: &std::path::Path) -> std::borrow::Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::borrow::Cow::Borrowed(path.as_os_str().as_bytes())
    }
    #[cfg(not(unix))]
    {
        match path.to_string_lossy() {
            std::borrow::Cow::Borrowed(s) => std::borrow::Cow::Borrowed(s.as_bytes()),
            std::borrow::Cow::Owned(s) => std::borrow::Cow::Owned(s.into_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
        assert_eq!(base64(&[0xff, 0xfe]), "//4=");
    }

    #[test]
    fn escapes_round_trip() {
        let cases: [&[u8]; 7] = [
            b"plain name.txt",
            b"a\\b",
            b"new\nline\ttab\r\0",
            b"\x1b[31mred",
            b"\xff\xfe bad utf8 \xc3",
            "ünïcödé \u{202e}rtl \u{85}".as_bytes(),
            b"\\x41",
        ];
        for c in cases {
            let e = escape_bytes(c);
            assert!(!e.chars().any(|ch| ch.is_control()), "{e}");
            assert_eq!(parse_pattern(e.as_bytes()).unwrap(), c, "{e}");
        }
        assert_eq!(escape_bytes(b"plain name.txt"), "plain name.txt");
        assert_eq!(escape_bytes(b"a\nb\xff\\"), "a\\nb\\xff\\\\");
    }

    #[test]
    fn pattern_files_take_a_pattern_per_line() {
        let p = parse_pattern_file(b"GPL\r\na\\x41\n\\xff\\n", "f").unwrap();
        assert_eq!(
            p,
            vec![b"GPL".to_vec(), b"a\x41".to_vec(), b"\xff\n".to_vec()]
        );
        assert_eq!(parse_pattern_file(b"x", "f").unwrap(), vec![b"x".to_vec()]);
        for (text, says) in [
            (&b""[..], "no patterns"),
            (b"\n", "no patterns"),
            (b"a\n\nb\n", "line 2"),
            (b"a\nb\\q\n", "line 2"),
        ] {
            let e = parse_pattern_file(text, "f").unwrap_err().to_string();
            assert!(e.contains(says) && e.contains("Fix:"), "{e}");
        }
    }

    #[test]
    fn bad_escapes_are_refused() {
        for p in [&b"\\q"[..], b"\\xZ1", b"\\x4", b"ab\\", b""] {
            let e = parse_pattern(p).unwrap_err().to_string();
            assert!(e.contains("Fix:"), "{e}");
        }
        assert_eq!(parse_pattern(b"\\x41\\xfF\\\\").unwrap(), b"A\xff\\");
    }
}
