//! The analyses of a scan: ordinary payloads, each with the [`Folder`] that
//! joins its chunk results into the file's (the reductions the payload
//! declares) and the name its result has in a [`FileReport`]. The built-in
//! analyses (`--lines`, `--histogram`, `-e`, `--crc32`) are payloads like
//! any other: `line_count` and `byte_histogram` sum, the pattern groups sum
//! with look-behind, `crc32` folds with its combine.

use vyre_core::megakernel::fold::Folder;
use vyre_core::{Error, ParamKind, Payload, Result};

use super::{crc, literals, pattern, FileReport, ScanConfig};

/// A payload loaded at run time must fit the scan: one byte input, no
/// unbound scalar arguments, declared output lengths.
pub(super) fn check_runtime_payload(p: &Payload) -> Result<()> {
    for q in &p.params {
        let bad = match q.kind {
            ParamKind::Scalar => Some((
                "a scalar argument has no value",
                format!(
                    "bind it when setting up the scan: `--arg {}.{}=VALUE` on the command line, `Scan::payload_with_args(p, &[(\"{}\", VALUE)])` or `vyre::scan::bind_scalar` in the library",
                    p.name, q.name, q.name
                ),
            )),
            ParamKind::IoQueue | ParamKind::Debug => Some((
                "scan passes no read queue or debug log",
                "remove the parameter; scan payloads take bytes, lanes, runtime words (chunk_start, chunk_offset, file_len, chunk_index), bound scalars and results".to_string(),
            )),
            ParamKind::Output | ParamKind::Accumulator if q.len.is_none() => Some((
                "its results need a declared length",
                "declare one, e.g. `param acc: accumulator[1]` in text or `#[vyre(len = 1)]` in Rust".to_string(),
            )),
            _ => None,
        };
        if let Some((why, fix)) = bad {
            return Err(Error::bad_input(
                format!(
                    "payload `{}` cannot run in `vyre scan`: parameter `{}`: {why}",
                    p.name, q.name
                ),
                fix,
            ));
        }
    }
    Ok(())
}

/// Where an analysis's file result goes in a [`FileReport`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Show {
    /// `lines`: word 0 of `line_count`.
    Lines,
    /// `histogram`: the 256 words of `byte_histogram`.
    Histogram,
    /// `crc32`: word 0 of `crc32`'s folded summary.
    Crc32,
    /// `matches[first..]`: one word per pattern of the group.
    Patterns(usize),
    /// `payloads[i]`: the words of `cfg.payloads[i]`.
    Payload(usize),
}

/// One analysis: its payload (named uniquely in the kernel), how its chunk
/// results fold, where its result goes, and whether it runs interpreted.
pub(super) struct Analysis {
    pub payload: Payload,
    /// The name a user knows it by (in failure messages).
    pub name: String,
    pub folder: Folder,
    pub show: Show,
    pub interpreted: bool,
}

impl Analysis {
    /// Payload `payload`, renamed `kernel_name` in the kernel.
    fn new(
        mut payload: Payload,
        kernel_name: String,
        show: Show,
        interpreted: bool,
    ) -> Result<Analysis> {
        let folder = Folder::new(&payload)?;
        let name = std::mem::replace(&mut payload.name, kernel_name);
        Ok(Analysis {
            payload,
            name,
            folder,
            show,
            interpreted,
        })
    }

    /// Puts the file result `words` into the report.
    pub fn present(&self, words: &[u64], r: &mut FileReport) {
        match self.show {
            Show::Lines => r.lines = Some(words.first().copied().unwrap_or(0)),
            Show::Histogram => r.histogram = Some(words.to_vec()),
            Show::Crc32 => r.crc32 = Some(words.first().copied().unwrap_or(0) as u32),
            Show::Patterns(first) => {
                for (m, w) in r.matches[first..].iter_mut().zip(words) {
                    m.1 = *w;
                }
            }
            Show::Payload(i) => {
                if let Some(slot) = r.custom.get_mut(i) {
                    slot.1 = words.to_vec();
                }
            }
        }
    }
}

/// The analyses of a config.
pub(super) fn analyses(cfg: &ScanConfig) -> Result<Vec<Analysis>> {
    let mut v = Vec::new();
    if cfg.lines {
        let p = crate::payloads::line_count::payload();
        v.push(Analysis::new(p, "line_count".into(), Show::Lines, false)?);
    }
    if cfg.histogram {
        let p = crate::payloads::byte_histogram::payload();
        v.push(Analysis::new(
            p,
            "byte_histogram".into(),
            Show::Histogram,
            false,
        )?);
    }
    if cfg.crc32 {
        let p = crc::crc32::payload();
        v.push(Analysis::new(p, "crc32".into(), Show::Crc32, false)?);
    }
    // One payload per group of patterns: the words are loaded once for the
    // group. Large sets and `-i` run on the host engine instead.
    let payload_patterns: &[Vec<u8>] = match literals::uses_host_engine(cfg) {
        true => &[],
        false => &cfg.patterns,
    };
    for (g, group) in payload_patterns
        .chunks(pattern::MAX_PATTERNS_PER_PAYLOAD)
        .enumerate()
    {
        let first = g * pattern::MAX_PATTERNS_PER_PAYLOAD;
        let p = pattern::patterns_payload("patterns", group)?;
        v.push(Analysis::new(
            p,
            format!("patterns_{first}"),
            Show::Patterns(first),
            false,
        )?);
    }
    for (i, p) in cfg.payloads.iter().enumerate() {
        check_runtime_payload(p)?;
        v.push(Analysis::new(
            p.clone(),
            format!("user_{i}"),
            Show::Payload(i),
            !cfg.fused_payloads,
        )?);
    }
    if v.is_empty() && !literals::uses_host_engine(cfg) && cfg.regexes.is_empty() {
        return Err(Error::bad_input(
            "no analysis selected",
            "pass --lines, --histogram, --crc32, -e PATTERN, -r REGEX or --payload FILE",
        ));
    }
    Ok(v)
}
