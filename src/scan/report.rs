//! Per-file results and their text and JSON forms.

use std::path::PathBuf;

use serde_json::{json, Map, Value};

use super::matches::{Kind, Located};
use super::options::{base64, escape_bytes, path_bytes};
use super::ScanConfig;

/// The results for one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReport {
    /// The path as found by the walk.
    pub path: PathBuf,
    /// Bytes processed.
    pub bytes: u64,
    /// `\n` count, if asked for.
    pub lines: Option<u64>,
    /// Byte histogram (256 counts), if asked for.
    pub histogram: Option<Vec<u64>>,
    /// (pattern as escaped text, overlapping occurrences) per `-e` pattern;
    /// the text is [`super::escape_bytes`] of the pattern's bytes, so it is
    /// printable and [`super::parse_pattern`] gives the bytes back.
    pub matches: Vec<(String, u64)>,
    /// (regex as given, matches) per `-r` regex, in order: leftmost-first,
    /// non-overlapping matches within lines, as `rg -c -o` counts them
    /// ([`super::regex`]).
    pub regex_matches: Vec<(String, u64)>,
    /// With `--matches` ([`ScanConfig::match_locations`]): the first
    /// located matches, in (offset, kind, pattern) order
    /// ([`super::matches`]).
    pub located: Option<Vec<Located>>,
    /// With `--matches`: the file's matches (regex and literal) not in
    /// `located` because of the per-file bound.
    pub located_omitted: u64,
    /// CRC-32/IEEE, if asked for.
    pub crc32: Option<u32>,
    /// (payload name, file result words: its chunks' results folded as the
    /// payload declares) per run-time payload, in order.
    pub custom: Vec<(String, Vec<u64>)>,
    /// Why the path failed, if it did.
    pub error: Option<String>,
}

/// Totals of a scan.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScanSummary {
    /// Paths reported (files and failures).
    pub files: u64,
    /// Paths that failed.
    pub failed: u64,
    /// Bytes processed in files that succeeded.
    pub bytes: u64,
    /// Wall time of the whole scan.
    pub seconds: f64,
    /// How files were read (`io_uring` or `pread`).
    pub ingest: String,
    /// What each device did, in the order the devices were given.
    pub devices: Vec<DeviceReport>,
    /// Files were read straight into GPU upload arenas.
    pub zero_copy: bool,
    /// Which engines counted the literal patterns (`-f`, many `-e`, `-i`).
    pub literals: EngineStats,
    /// Which engines chose the lines the `-r` regexes searched: the device
    /// line filter ([`super::regex_filter`]) or every line on the host.
    pub regexes: EngineStats,
}

/// Batches per pattern engine (all zero when there were no such patterns,
/// or the literals ran as payloads).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Batches run by the device DFA program (`scan::gpu_literals`):
    /// literals counted there, regex lines filtered there.
    pub device: u64,
    /// Batches run on the host alone by choice (no device engine).
    pub host: u64,
    /// Batches the device engine could not run exactly (loop cut, too
    /// many hits, device error), run on the host alone instead.
    pub fallback: u64,
    /// Why the first such batch fell back.
    pub fallback_reason: Option<String>,
}

impl EngineStats {
    pub(super) fn add(&mut self, engine: &super::device_patterns::PatternEngine) {
        use super::device_patterns::PatternEngine;
        match engine {
            PatternEngine::None => {}
            PatternEngine::Host => self.host += 1,
            PatternEngine::Device => self.device += 1,
            PatternEngine::Fallback(why) => {
                self.fallback += 1;
                self.fallback_reason.get_or_insert_with(|| why.clone());
            }
        }
    }

    /// `; {what}: …` for the summary line, empty without such batches;
    /// `device` and `host` name the two engines.
    fn to_text(&self, what: &str, device: &str, host: &str) -> String {
        let mut parts = Vec::new();
        if self.device > 0 {
            parts.push(format!("{device} {} batches", self.device));
        }
        if self.host > 0 {
            parts.push(format!("{host} {} batches", self.host));
        }
        if self.fallback > 0 {
            parts.push(format!(
                "host fallback {} batches ({})",
                self.fallback,
                self.fallback_reason.as_deref().unwrap_or("")
            ));
        }
        match parts.is_empty() {
            true => String::new(),
            false => format!("; {what}: {}", parts.join(", ")),
        }
    }
}

/// What one device did in a scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceReport {
    /// The backend's name, e.g. `wgpu: NVIDIA H100 (Vulkan)` or `cpu-reference`.
    pub name: String,
    /// Batches whose results came from this device.
    pub batches: u64,
    /// File bytes in those batches.
    pub bytes: u64,
    /// Why the device was lost, each time it was lost and recovered (its
    /// batch then ran again on the fresh device).
    pub recovered: Vec<String>,
    /// Why the device stopped taking work, if it did (its unfinished batch
    /// ran on another device).
    pub failed: Option<String>,
}

impl DeviceReport {
    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "batches": self.batches,
            "bytes": self.bytes,
            "recovered": self.recovered.len(),
            "failed": self.failed,
        })
    }

    fn to_text(&self) -> String {
        let mut s = format!(
            "{}: {} batches, {} bytes",
            self.name, self.batches, self.bytes
        );
        if !self.recovered.is_empty() {
            s += &format!(", lost and recovered {} time(s)", self.recovered.len());
        }
        if self.failed.is_some() {
            s += ", failed";
        }
        s
    }
}

impl FileReport {
    pub(crate) fn new(path: PathBuf, cfg: &ScanConfig, patterns: &[Vec<u8>]) -> Self {
        FileReport {
            path,
            bytes: 0,
            lines: cfg.lines.then_some(0),
            histogram: cfg.histogram.then(|| vec![0; 256]),
            matches: patterns.iter().map(|p| (escape_bytes(p), 0)).collect(),
            regex_matches: Vec::new(),
            located: None,
            located_omitted: 0,
            crc32: None,
            custom: Vec::new(),
            error: None,
        }
    }

    /// The report of `path`, which failed with `reason` (no results).
    pub fn failed(path: PathBuf, reason: String) -> Self {
        FileReport {
            path,
            bytes: 0,
            lines: None,
            histogram: None,
            matches: Vec::new(),
            regex_matches: Vec::new(),
            located: None,
            located_omitted: 0,
            crc32: None,
            custom: Vec::new(),
            error: Some(reason),
        }
    }

    /// The `--json` object of this file: `path`, `bytes`, then each result
    /// asked for (`lines`, `histogram`, `matches`, `regex_matches` (keyed
    /// by the regex as given), `crc32`, `payloads`); for
    /// a path that failed, `path` and `error` only.
    ///
    /// Names round-trip exactly: `path` is the path as a JSON string when it
    /// is valid UTF-8. When it is not, `path` is its lossy form (each invalid
    /// sequence replaced by U+FFFD, so two paths may show the same `path`)
    /// and `path_bytes` holds the path's exact bytes in standard base64
    /// (RFC 4648, `+/` alphabet with `=` padding); consumers that need the
    /// real name use `path_bytes` when it is present.
    ///
    /// The keys of `matches` are the patterns as escaped text
    /// ([`super::escape_bytes`]): printable UTF-8 as is, `\\` for a
    /// backslash, `\n` `\r` `\t` `\0`, and `\xHH` for any other control
    /// byte and every byte that is not UTF-8, the same syntax `-e` accepts,
    /// so every key is printable and different patterns have different keys.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        match self.path.to_str() {
            Some(p) => {
                m.insert("path".into(), json!(p));
            }
            None => {
                m.insert("path".into(), json!(self.path.to_string_lossy()));
                m.insert("path_bytes".into(), json!(base64(&path_bytes(&self.path))));
            }
        }
        if let Some(e) = &self.error {
            m.insert("error".into(), json!(e));
            return Value::Object(m);
        }
        m.insert("bytes".into(), json!(self.bytes));
        if let Some(l) = self.lines {
            m.insert("lines".into(), json!(l));
        }
        if let Some(h) = &self.histogram {
            m.insert("histogram".into(), json!(h));
        }
        if !self.matches.is_empty() {
            let mut mm = Map::new();
            for (p, n) in &self.matches {
                mm.insert(p.clone(), json!(n));
            }
            m.insert("matches".into(), Value::Object(mm));
        }
        if !self.regex_matches.is_empty() {
            let mut mm = Map::new();
            for (p, n) in &self.regex_matches {
                mm.insert(p.clone(), json!(n));
            }
            m.insert("regex_matches".into(), Value::Object(mm));
        }
        if let Some(c) = self.crc32 {
            m.insert("crc32".into(), json!(c));
        }
        if self.located.is_some() {
            m.insert("matches_omitted".into(), json!(self.located_omitted));
        }
        if !self.custom.is_empty() {
            let mut mm = Map::new();
            for (name, words) in &self.custom {
                mm.insert(name.clone(), json!(words));
            }
            m.insert("payloads".into(), Value::Object(mm));
        }
        Value::Object(m)
    }

    /// One human-readable line. The path (and an error's text) is escaped
    /// with [`super::escape_bytes`], so a name never puts control
    /// characters, line breaks or invalid UTF-8 on the terminal: `\\` for a
    /// backslash, `\n` `\r` `\t` `\0`, `\xHH` for other control bytes
    /// and bytes that are not UTF-8; plain names print unchanged. Patterns
    /// appear in the same escaped form, in double quotes; regexes as
    /// written between slashes, control characters as `\u{..}`.
    pub fn to_text(&self) -> String {
        let path = escape_bytes(&path_bytes(&self.path));
        if let Some(e) = &self.error {
            return format!("{path}: error: {}", escape_bytes(e.as_bytes()));
        }
        let mut s = format!("{path}: {} bytes", self.bytes);
        if let Some(l) = self.lines {
            s += &format!(", {l} lines");
        }
        if let Some(c) = self.crc32 {
            s += &format!(", crc32 {c:08x}");
        }
        for (p, n) in &self.matches {
            s += &format!(", {n} x \"{p}\"");
        }
        for (p, n) in &self.regex_matches {
            // As written, control characters escaped (`\u{..}`).
            let shown: String = p
                .chars()
                .map(|c| match c.is_control() {
                    true => c.escape_unicode().to_string(),
                    false => c.to_string(),
                })
                .collect();
            s += &format!(", {n} x /{shown}/");
        }
        for (name, words) in &self.custom {
            s += &format!(", {name} {words:?}");
        }
        if self.located.is_some() && self.located_omitted > 0 {
            s += &format!(", {} more matches not printed", self.located_omitted);
        }
        if let Some(h) = &self.histogram {
            let top = h
                .iter()
                .enumerate()
                .max_by_key(|(_, n)| **n)
                .map(|(b, n)| (b, *n));
            if let Some((b, n)) = top.filter(|t| t.1 > 0) {
                s += &format!(", most common byte 0x{b:02x} ({n} times)");
            }
        }
        s
    }
}

impl FileReport {
    /// With `--matches`, the `--json` objects of the file's located matches,
    /// in order: `{"type": "match", "path", ("path_bytes"), "offset",
    /// "line", "column", "kind": "regex"|"literal", "pattern": index among
    /// its kind, "pattern_text": the regex as given or the literal escaped,
    /// "text": the whole line, lossy UTF-8 (each invalid sequence U+FFFD)}`;
    /// a line longer than [`MAX_SHOWN_LINE`](super::matches::MAX_SHOWN_LINE)
    /// bytes shows only a window of that many bytes around the match, and
    /// the object adds `"text_column"` (the 1-based column of the window's
    /// first byte) and `"line_bytes"` (the line's length).
    pub fn located_json(&self) -> Vec<Value> {
        let Some(found) = &self.located else {
            return Vec::new();
        };
        let path = self.path.to_str();
        found
            .iter()
            .map(|l| {
                let mut m = Map::new();
                m.insert("type".into(), json!("match"));
                m.insert("path".into(), json!(self.path.to_string_lossy()));
                if path.is_none() {
                    m.insert("path_bytes".into(), json!(base64(&path_bytes(&self.path))));
                }
                m.insert("offset".into(), json!(l.offset));
                m.insert("line".into(), json!(l.line));
                m.insert("column".into(), json!(l.column));
                let kind = match l.kind {
                    Kind::Regex => "regex",
                    Kind::Literal => "literal",
                };
                m.insert("kind".into(), json!(kind));
                m.insert("pattern".into(), json!(l.pattern));
                m.insert("pattern_text".into(), json!(&*l.pattern_text));
                let (start, text) = super::matches::shown(l);
                m.insert("text".into(), json!(String::from_utf8_lossy(text)));
                if text.len() < l.text.len() {
                    // A long line: a window of it (matches::MAX_SHOWN_LINE).
                    m.insert("text_column".into(), json!(start + 1));
                    m.insert("line_bytes".into(), json!(l.text.len()));
                }
                Value::Object(m)
            })
            .collect()
    }

    /// With `--matches`, one `PATH:LINE:COLUMN:TEXT` line per located match
    /// (as `rg -n --column`), path and line escaped as in
    /// [`FileReport::to_text`]; a line longer than
    /// [`MAX_SHOWN_LINE`](super::matches::MAX_SHOWN_LINE) bytes shows the
    /// window of that many bytes around the match, `[...]` marking the cuts.
    pub fn located_text(&self) -> Vec<String> {
        let Some(found) = &self.located else {
            return Vec::new();
        };
        let path = escape_bytes(&path_bytes(&self.path));
        found
            .iter()
            .map(|l: &Located| {
                let (start, text) = super::matches::shown(l);
                let cut = |yes: bool| if yes { "[...]" } else { "" };
                let (before, after) = (cut(start > 0), cut(start + text.len() < l.text.len()));
                format!(
                    "{path}:{}:{}:{before}{}{after}",
                    l.line,
                    l.column,
                    escape_bytes(text)
                )
            })
            .collect()
    }
}

impl ScanSummary {
    /// The `--json` summary object.
    pub fn to_json(&self) -> Value {
        let devices: Vec<Value> = self.devices.iter().map(DeviceReport::to_json).collect();
        json!({ "summary": { "files": self.files, "failed": self.failed, "bytes": self.bytes, "seconds": self.seconds, "devices": devices } })
    }

    /// Throughput in GB/s (10^9 bytes per second) over the whole wall time.
    pub fn gb_per_s(&self) -> f64 {
        if self.seconds > 0.0 {
            self.bytes as f64 / self.seconds / 1e9
        } else {
            0.0
        }
    }

    /// The human summary line; with several distinct devices, or a device
    /// that was lost or failed, it names what each device (worker) did.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{} files ({} failed), {} bytes in {:.3} s = {:.3} GB/s (read with {})",
            self.files,
            self.failed,
            self.bytes,
            self.seconds,
            self.gb_per_s(),
            if self.zero_copy {
                format!("{}, zero-copy", self.ingest)
            } else {
                self.ingest.clone()
            }
        );
        let eventful = self
            .devices
            .iter()
            .any(|d| d.failed.is_some() || !d.recovered.is_empty());
        // Workers sharing one GPU (batches in flight) carry the same name.
        let distinct = self
            .devices
            .iter()
            .map(|d| d.name.as_str())
            .collect::<std::collections::HashSet<_>>()
            .len();
        if distinct > 1 || eventful {
            let parts: Vec<String> = self.devices.iter().map(DeviceReport::to_text).collect();
            s += &format!("; devices: {}", parts.join("; "));
        }
        s += &self
            .literals
            .to_text("literals", "device DFA", "host Aho-Corasick");
        s += &self
            .regexes
            .to_text("regexes", "device line filter", "host every line");
        s
    }
}
