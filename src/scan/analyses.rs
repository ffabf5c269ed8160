//! The analyses of a scan: the standard payloads a config asks for, the
//! `-e` pattern groups and the run-time payloads, each with the kind the
//! fold uses to combine its slot results.

use vyre_core::{Error, Payload, Result};

use super::{crc, pattern, ScanConfig};

/// A payload loaded at run time must fit the scan: one byte input, no scalar
/// arguments, declared output lengths.
pub(super) fn check_runtime_payload(p: &Payload) -> Result<()> {
    use vyre_core::ParamKind;
    for q in &p.params {
        let bad = match q.kind {
            ParamKind::Scalar | ParamKind::IoQueue | ParamKind::Debug => {
                Some("scan passes no scalar arguments, read queue or debug log")
            }
            ParamKind::Output | ParamKind::Accumulator if q.len.is_none() => {
                Some("its results need a declared length, e.g. `param acc: accumulator[1]`")
            }
            _ => None,
        };
        if let Some(why) = bad {
            return Err(Error::bad_input(
                format!(
                    "payload `{}` cannot run in `vyre scan`: parameter `{}`: {why}",
                    p.name, q.name
                ),
                "give it only bytes, chunk_start, lanes and outputs/accumulators with lengths",
            ));
        }
    }
    Ok(())
}

/// What an analysis is, for folding its slot results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Lines,
    Histogram,
    Crc,
    /// Patterns `i..` (up to [`pattern::MAX_PATTERNS_PER_PAYLOAD`]) in one payload.
    Patterns(usize),
    Custom(usize),
}

pub(super) fn kind_name(k: Kind) -> String {
    match k {
        Kind::Lines => "line_count".into(),
        Kind::Histogram => "byte_histogram".into(),
        Kind::Crc => "crc32".into(),
        Kind::Patterns(i) => format!("patterns_{i}"),
        Kind::Custom(i) => format!("user_{i}"),
    }
}

/// The analyses of a config, with their payloads.
pub(super) fn analyses(cfg: &ScanConfig) -> Result<Vec<(Kind, Payload)>> {
    let mut v = Vec::new();
    if cfg.lines {
        v.push((Kind::Lines, crate::payloads::line_count::payload()));
    }
    if cfg.histogram {
        v.push((Kind::Histogram, crate::payloads::byte_histogram::payload()));
    }
    if cfg.crc32 {
        v.push((Kind::Crc, crc::crc32_blocks::payload()));
    }
    // One payload per group of patterns: the words are loaded once for the group.
    for (g, group) in cfg
        .patterns
        .chunks(pattern::MAX_PATTERNS_PER_PAYLOAD)
        .enumerate()
    {
        let kind = Kind::Patterns(g * pattern::MAX_PATTERNS_PER_PAYLOAD);
        v.push((kind, pattern::patterns_payload(&kind_name(kind), group)?));
    }
    for (i, p) in cfg.payloads.iter().enumerate() {
        check_runtime_payload(p)?;
        v.push((Kind::Custom(i), p.clone()));
    }
    for (k, p) in v.iter_mut() {
        p.name = kind_name(*k);
    }
    if v.is_empty() {
        return Err(Error::bad_input(
            "no analysis selected",
            "pass --lines, --histogram, --crc32 or -e PATTERN",
        ));
    }
    Ok(v)
}
