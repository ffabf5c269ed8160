//! Run-time payloads as `vyre scan` takes them: `--payload FILE` (text IR
//! or VIR0) and `--arg NAME.PARAM=VALUE`; the Python package uses the same
//! functions, so both refuse the same input with the same `Fix:`.

use std::path::PathBuf;

use vyre_core::{Error, Payload, Result};

use super::{bind_scalar, escape_bytes};

/// Loads the `--payload` files (text IR or VIR0, validated); the same file
/// given twice is refused (its results would be reported once).
pub fn load_payload_files(files: &[PathBuf]) -> Result<Vec<Payload>> {
    let mut seen = std::collections::HashMap::new();
    let mut payloads = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let key = std::fs::canonicalize(f).unwrap_or_else(|_| f.clone());
        if let Some(j) = seen.insert(key, i) {
            return Err(Error::bad_input(
                format!(
                    "payload file {} is given twice (--payload {} and {}); its results would be reported once",
                    escape_bytes(f.to_string_lossy().as_bytes()),
                    j + 1,
                    i + 1
                ),
                "give each --payload file once",
            ));
        }
        payloads.push(vyre_core::vir0::load_payload_file(f)?);
    }
    Ok(payloads)
}

/// Applies `--arg NAME.PARAM=VALUE` bindings (VALUE decimal or `0x` hex,
/// a `u32`) to `payloads` ([`bind_scalar`]).
pub fn bind_args(mut payloads: Vec<Payload>, args: &[String]) -> Result<Vec<Payload>> {
    let fix = "write `--arg PAYLOAD.PARAM=VALUE`, e.g. `--arg first_byte.needle=10` (VALUE decimal or 0x hex)";
    for a in args {
        let parsed = a.split_once('=').and_then(|(target, value)| {
            let (payload, param) = target.split_once('.')?;
            let value = match value
                .strip_prefix("0x")
                .or_else(|| value.strip_prefix("0X"))
            {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => value.parse::<u32>().ok()?,
            };
            Some((payload, param, value))
        });
        let Some((payload, param, value)) = parsed else {
            return Err(Error::bad_input(
                format!("`--arg {a}` is not PAYLOAD.PARAM=VALUE with a u32 VALUE"),
                fix,
            ));
        };
        let Some(p) = payloads.iter_mut().find(|p| p.name == payload) else {
            return Err(Error::bad_input(
                format!("`--arg {a}`: no --payload is named `{payload}`"),
                "name a payload given with --payload (its name is in its file: `payload NAME`)",
            ));
        };
        *p = bind_scalar(p, param, value)?;
    }
    Ok(payloads)
}
