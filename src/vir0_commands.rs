//! `vyre compile` and `vyre disasm`: VIR0 in and out.

use std::path::PathBuf;

use vyre::Result;

use super::{print_out, warn};

/// A built-in payload: its name and the function that builds its IR.
type BuiltinPayload = (&'static str, fn() -> vyre::Payload);

/// The payloads `vyre compile --payload NAME` exports.
pub(crate) const BUILTIN_PAYLOADS: &[BuiltinPayload] = &[
    ("line_count", vyre::payloads::line_count::payload),
    ("byte_histogram", vyre::payloads::byte_histogram::payload),
    ("count_needle", vyre::payloads::count_needle::payload),
    ("crc32", vyre::payloads::crc32::payload),
    ("non_ascii_count", vyre::payloads::non_ascii_count::payload),
    ("crc32_blocks", vyre::scan::crc::crc32_blocks::payload),
    ("scan_crc32", vyre::scan::crc::crc32::payload),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `vyre compile`: text or built-in → validated → VIR0, checked to decode back to the same IR.
pub(crate) fn compile(
    input: Option<PathBuf>,
    payload: Option<String>,
    output: PathBuf,
) -> Result<()> {
    use vyre::vir0::{decode, load_file, Module};
    let module = match (&input, &payload) {
        (Some(path), _) => load_file(path)?,
        (None, Some(name)) => {
            let make = BUILTIN_PAYLOADS
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, f)| *f)
                .ok_or_else(|| {
                    vyre::Error::bad_input(
                        format!("no built-in payload `{name}`"),
                        "use one of the names `vyre compile --help` lists",
                    )
                })?;
            let m = Module::Payload(make());
            m.validate().map_err(|problems| vyre::Error::Invalid {
                program: m.name().to_string(),
                problems,
            })?;
            m
        }
        (None, None) => {
            return Err(vyre::Error::bad_input(
                "nothing to compile",
                "give an INPUT file or --payload NAME",
            ))
        }
    };
    let bytes = module.encode();
    if decode(&bytes)? != module {
        return Err(vyre::Error::internal(format!(
            "`{}` does not decode back to itself (report it with the input)",
            module.name()
        )));
    }
    std::fs::write(&output, &bytes).map_err(|source| vyre::Error::Io {
        path: output.display().to_string(),
        source,
    })?;
    warn(format_args!(
        "vyre: wrote {} {} `{}` ({} bytes, digest blake3:{})",
        output.display(),
        module.kind(),
        module.name(),
        bytes.len(),
        hex(&module.digest())
    ));
    Ok(())
}

/// `vyre disasm`: the text form, after a comment line with kind, size and digest (so it parses again).
pub(crate) fn disasm(file: PathBuf, bytecode: bool) -> Result<()> {
    let module = vyre::vir0::load_file(&file)?;
    if bytecode {
        let p = vyre::vir0::load_payload_file(&file)?;
        let bc = vyre::interp::compile(&p)?;
        return print_out(&format!(
            "// interpreter bytecode of `{}`: {} instructions, {} registers per lane, {}\n{}",
            p.name,
            bc.words.len() / vyre::interp::INSTR_WORDS as usize,
            bc.regs,
            if bc.all_lanes { "all lanes" } else { "lane 0" },
            bc.disassemble()
        ));
    }
    let size = module.encode().len();
    print_out(&format!(
        "// {} `{}`: {size} bytes of VIR0, digest blake3:{}\n{module}",
        module.kind(),
        module.name(),
        hex(&module.digest())
    ))
}
