//! VIR0: the portable bytecode of vyre programs and payloads.
//!
//! A VIR0 file holds one [`Program`] or one [`Payload`], exactly: decoding
//! gives back the IR that was encoded (`decode(encode(x)) == x`), and the
//! encoding is canonical: the same IR always gives the same bytes and the
//! decoder accepts only those bytes (`encode(decode(b)) == b`). So the
//! trailing digest ([`digest`], [`payload_digest`]) identifies the IR: it is
//! the **pipeline-cache key** of a program.
//!
//! The text form (`crate::ir::parse_program`, `crate::ir::parse_payload`) is
//! the human-readable twin; [`load_file`] reads either.
//!
//! # Format, version 1
//! All integers are little-endian. `varint` is unsigned LEB128 in its
//! shortest form (at most 10 bytes); `str` is a varint index into the string
//! table; `optlen` is a varint, 0 for `None` and `n + 1` for `Some(n)`.
//!
//! ```text
//! file     = header section(1 strings) section(2 decls) section(3 body) section(4 combine)? digest
//! header   = "VIR0" version:u16 kind:u8 flags:u8      kind 1 = program, 2 = payload; flags 0
//! section  = tag:u8 length:varint content[length]     content is used exactly
//! strings  = count:varint (len:varint utf8[len])*      unique, numbered in order of first use
//! decls    = program: name:str workgroup_size:varint count:varint buffer*
//!            payload: name:str look_behind:varint count:varint param*
//! buffer   = name:str access:u8 elem:u8 binding:varint len:optlen words?
//!            words (constant buffers only) = len × u32 little-endian
//! param    = name:str kind:u8 reduce:u8? len:optlen   kind | 0x80 when a reduce byte follows
//!            (min/max/and/or/xor = 1..5; sum, the default, is never written)
//!            payload decls end with, only when the payload has tables,
//!            count:varint (≥ 1) (name:str n:varint n × u32 little-endian)*
//! body     = statements:varint expressions:varint block    totals of the whole body
//! combine  = (payloads with a combine only) n:varint identity:n × u32
//!            len:varint function:len bytes   the combine function: a complete
//!            payload file (header to digest) with no combine of its own
//! block    = count:varint node*
//! digest   = blake3(every byte before it) [32]
//! ```
//! Enum codes are the variant's position in declaration order: access
//! read/read_write/uniform/workgroup/constant = 0..4; type u32/i32/f32/bool = 0..3;
//! param kind bytes/scalar/output/accumulator/lanes/chunk_start/io_queue/debug/
//! words/chunk_offset/chunk_offset_hi/file_len/file_len_hi/chunk_index = 0..13.
//!
//! Statements (`node`), an opcode byte then operands in field order:
//! `01 let name expr`, `02 assign name expr`, `03 store buffer index value`,
//! `04 eval expr`, `05 if cond block(then) block(else)`,
//! `06 for var start end step block`, `07 loop block`, `08 block block`,
//! `09 break`, `0A continue`, `0B barrier`, `0C return`.
//!
//! Expressions: `01 u32 varint`, `02 i32 zigzag-varint`, `03 f32 bits:u32`,
//! `04 false`, `05 true`, `06 var name`, `07 load buffer index`,
//! `08 len buffer`, `09 select c a b`, `0A cast type arg`,
//! `0B bitcast type arg`, `0C uniform_load buffer index`;
//! `10+op unary arg` (neg bitnot not clz ctz popcount);
//! `20+op binary lhs rhs` (add sub mul div rem bitand bitor bitxor shl shr
//! rotl rotr min max eq ne lt le gt ge and or);
//! `40+op atomic buffer index value` and `50+op atomic buffer index value
//! expected` (load store add sub max min and or xor exchange
//! compare_exchange); `60+b builtin` (global_id local_id workgroup_id
//! num_workgroups workgroup_size).
//!
//! # Hostile input
//! Decoding never panics and takes time linear in the input. It checks the
//! magic, version, kind, flags and digest first, then every length against
//! the bytes left, every count against the limits ([`MAX_NODES`],
//! [`MAX_EXPRS`], [`MAX_STRINGS`], [`MAX_STRING_LEN`], [`MAX_BUFFERS`])
//! *before* allocating, nesting against [`MAX_NODE_DEPTH`] and
//! [`MAX_EXPR_DEPTH`], string references,
//! UTF-8, enum codes, canonical form and trailing bytes. It allocates at
//! most [`ALLOC_PER_BYTE`] bytes per input byte plus [`ALLOC_SLACK`] (a
//! one-byte `break` is a whole `Node` in memory, about 200 bytes). Errors
//! give the byte offset, what is wrong, and a `Fix:`. [`decode`] and the
//! typed decoders then run the [validator](crate::validate): a VIR0 file
//! must hold a valid program (for a payload, `payload.to_program(64)`).
//! Encoding is total; like printing, it recurses, so encoding a program
//! nested far deeper than the validator allows is the caller's business.

pub(crate) mod codes;
mod decode;
mod encode;

use std::fmt;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::ir::{parse_payload, parse_program, ParseError, Payload, Program};
use crate::validate::{validate, Diagnostic, Limits};

/// The first four bytes of every VIR0 file.
pub const MAGIC: [u8; 4] = *b"VIR0";
/// The format version this build writes and reads.
pub const VERSION: u16 = 1;
/// Length of the trailing blake3 digest.
pub const DIGEST_LEN: usize = 32;
/// Deepest statement nesting; a top-level statement is at depth 1 (the validator's limit).
pub const MAX_NODE_DEPTH: u32 = Limits::DEFAULT.max_node_depth;
/// Deepest expression tree; a lone literal has depth 1 (the validator's limit).
pub const MAX_EXPR_DEPTH: u32 = Limits::DEFAULT.max_expr_depth;
/// Most statements in one file (the validator's limit).
pub const MAX_NODES: u64 = Limits::DEFAULT.max_nodes;
/// Most expression nodes in one file (the validator's limit).
pub const MAX_EXPRS: u64 = Limits::DEFAULT.max_exprs;
/// Most strings in the string table.
pub const MAX_STRINGS: u64 = 1 << 20;
/// Longest string, in bytes. Encoding does not check it (nor the other
/// caps): IR beyond them encodes but does not decode.
pub const MAX_STRING_LEN: u64 = 1 << 16;
/// Most buffers (program) or parameters (payload).
pub const MAX_BUFFERS: u64 = 1 << 16;
/// Bytes the decoder may allocate per input byte (see the module docs).
pub const ALLOC_PER_BYTE: usize = 256;
/// Bytes the decoder may allocate on top of [`ALLOC_PER_BYTE`].
pub const ALLOC_SLACK: usize = 64 << 10;
/// Largest file [`load_file`] reads.
pub const MAX_FILE_LEN: u64 = 64 << 20;

const HEADER_LEN: usize = 8;
const KIND_PROGRAM: u8 = 1;
const KIND_PAYLOAD: u8 = 2;

/// Why bytes could not be decoded as VIR0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Vir0Error {
    /// The bytes are not a well-formed, canonical VIR0 file.
    Malformed {
        /// Byte offset of the problem in the file.
        offset: usize,
        /// What is wrong.
        what: String,
        /// What to do about it.
        fix: String,
    },
    /// The file is well-formed but its program or payload fails validation.
    Invalid {
        /// Program or payload name.
        name: String,
        /// Every problem the validator found.
        problems: Vec<Diagnostic>,
    },
}

impl fmt::Display for Vir0Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Vir0Error::Malformed { offset, what, fix } => {
                write!(f, "VIR0 byte {offset}: {what}. Fix: {fix}")
            }
            Vir0Error::Invalid { name, problems } => {
                write!(
                    f,
                    "VIR0 file holds `{name}`, which fails validation ({} problem(s)):",
                    problems.len()
                )?;
                for p in problems {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Vir0Error {}

impl From<Vir0Error> for Error {
    fn from(e: Vir0Error) -> Error {
        match e {
            Vir0Error::Invalid { name, problems } => Error::Invalid {
                program: name,
                problems,
            },
            Vir0Error::Malformed { offset, what, fix } => {
                Error::bad_input(format!("VIR0 byte {offset}: {what}"), fix)
            }
        }
    }
}

/// What a VIR0 file or text file holds: a program or a payload.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Module {
    /// A whole program.
    Program(Program),
    /// A payload.
    Payload(Payload),
}

impl Module {
    /// The program's or payload's name.
    pub fn name(&self) -> &str {
        match self {
            Module::Program(p) => &p.name,
            Module::Payload(p) => &p.name,
        }
    }

    /// `"program"` or `"payload"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Module::Program(_) => "program",
            Module::Payload(_) => "payload",
        }
    }

    /// The VIR0 encoding, digest included.
    pub fn encode(&self) -> Vec<u8> {
        encode::sign(self.unsigned())
    }

    fn unsigned(&self) -> Vec<u8> {
        match self {
            Module::Program(p) => encode::program_unsigned(p),
            Module::Payload(p) => encode::payload_unsigned(p),
        }
    }

    /// The blake3 digest that ends the encoding (the cache key).
    pub fn digest(&self) -> [u8; DIGEST_LEN] {
        encode::hash(&self.unsigned())
    }

    /// Validates the program (for a payload, `to_program(64)`, and its
    /// combine function's `to_program(1)`).
    pub fn validate(&self) -> std::result::Result<(), Vec<Diagnostic>> {
        match self {
            Module::Program(p) => validate(p),
            Module::Payload(p) => {
                validate(&p.to_program(64))?;
                match &p.combine {
                    Some(c) => validate(&c.func.to_program(1)),
                    None => Ok(()),
                }
            }
        }
    }

    /// Parses a text form, a program or a payload by its first word.
    pub fn parse(text: &str) -> std::result::Result<Module, ParseError> {
        let first = text
            .lines()
            .map(str::trim_start)
            .find(|l| !l.is_empty() && !l.starts_with("//"))
            .and_then(|l| l.split_whitespace().next());
        if first == Some("payload") {
            parse_payload(text).map(Module::Payload)
        } else {
            parse_program(text).map(Module::Program)
        }
    }
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Module::Program(p) => p.fmt(f),
            Module::Payload(p) => p.fmt(f),
        }
    }
}

/// The VIR0 encoding of a program, digest included.
pub fn encode_program(program: &Program) -> Vec<u8> {
    encode::sign(encode::program_unsigned(program))
}

/// The VIR0 encoding of a payload, digest included.
pub fn encode_payload(payload: &Payload) -> Vec<u8> {
    encode::sign(encode::payload_unsigned(payload))
}

/// The blake3 digest of a program's canonical encoding (the last
/// [`DIGEST_LEN`] bytes of [`encode_program`]): equal exactly when the
/// programs are equal, so it is the pipeline-cache key.
pub fn digest(program: &Program) -> [u8; DIGEST_LEN] {
    encode::hash(&encode::program_unsigned(program))
}

/// The blake3 digest of a payload's canonical encoding.
pub fn payload_digest(payload: &Payload) -> [u8; DIGEST_LEN] {
    encode::hash(&encode::payload_unsigned(payload))
}

/// Decodes a VIR0 file with every structural check (see the module docs)
/// but without running the validator.
pub fn decode_unvalidated(bytes: &[u8]) -> std::result::Result<Module, Vir0Error> {
    decode::decode(bytes)
}

/// Decodes a VIR0 file and validates what it holds.
pub fn decode(bytes: &[u8]) -> std::result::Result<Module, Vir0Error> {
    let m = decode::decode(bytes)?;
    m.validate().map_err(|problems| Vir0Error::Invalid {
        name: m.name().to_string(),
        problems,
    })?;
    Ok(m)
}

fn wrong_kind(want: &str, got: &Module) -> Vir0Error {
    Vir0Error::Malformed {
        offset: 6,
        what: format!(
            "the file holds {} `{}`, not a {want}",
            got.kind(),
            got.name()
        ),
        fix: format!("give a VIR0 file compiled from a {want}"),
    }
}

/// Decodes and validates a VIR0 file that holds a program.
pub fn decode_program(bytes: &[u8]) -> std::result::Result<Program, Vir0Error> {
    match decode(bytes)? {
        Module::Program(p) => Ok(p),
        other => Err(wrong_kind("program", &other)),
    }
}

/// Decodes and validates a VIR0 file that holds a payload.
pub fn decode_payload(bytes: &[u8]) -> std::result::Result<Payload, Vir0Error> {
    match decode(bytes)? {
        Module::Payload(p) => Ok(p),
        other => Err(wrong_kind("payload", &other)),
    }
}

/// Reads a program or payload from a file: VIR0 if it starts with
/// [`MAGIC`], else the text form. Either way the result is validated.
/// Errors name the path (and for text, `line:column`).
pub fn load_file(path: impl AsRef<Path>) -> Result<Module> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_LEN + 1).read_to_end(&mut bytes))
        .map_err(|e| {
            Error::bad_input(
                format!("cannot read {shown}: {e}"),
                "check the file's path and permissions",
            )
        })?;
    load_bytes(&bytes, &shown)
}

/// [`load_file`] of bytes already read (`shown` names them in errors, e.g.
/// a path): VIR0 if they start with [`MAGIC`], else the text form;
/// validated either way.
pub fn load_bytes(bytes: &[u8], shown: &str) -> Result<Module> {
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(Error::bad_input(
            format!("{shown}: larger than {MAX_FILE_LEN} bytes"),
            "give a vyre text or VIR0 file",
        ));
    }
    if bytes.starts_with(&MAGIC) {
        return decode(bytes).map_err(|e| match e {
            Vir0Error::Malformed { offset, what, fix } => {
                Error::bad_input(format!("{shown}: VIR0 byte {offset}: {what}"), fix)
            }
            invalid => invalid.into(),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Error::bad_input(
            format!(
                "{shown}: neither a VIR0 file nor UTF-8 text (bad byte at offset {})",
                e.valid_up_to()
            ),
            "give a `.vyre` text file or a `.vir0` file",
        )
    })?;
    let module = Module::parse(text).map_err(|e| {
        Error::bad_input(
            format!("{shown}:{}:{}: {}", e.line, e.column, e.message),
            e.fix,
        )
    })?;
    module.validate().map_err(|problems| Error::Invalid {
        program: module.name().to_string(),
        problems,
    })?;
    Ok(module)
}

/// Reads a payload from a text (`.vyre`) or VIR0 file, validated: what
/// `vyre scan --payload FILE` runs.
pub fn load_payload_file(path: impl AsRef<Path>) -> Result<Payload> {
    let path = path.as_ref();
    payload_of(load_file(path)?, &path.display().to_string())
}

/// [`load_payload_file`] of bytes already read (text IR or VIR0; `shown`
/// names them in errors).
pub fn load_payload_bytes(bytes: &[u8], shown: &str) -> Result<Payload> {
    payload_of(load_bytes(bytes, shown)?, shown)
}

fn payload_of(module: Module, shown: &str) -> Result<Payload> {
    match module {
        Module::Payload(p) => Ok(p),
        Module::Program(p) => Err(Error::bad_input(
            format!("{shown}: holds program `{}`, not a payload", p.name),
            "give a file that starts with `payload NAME` (or was compiled from one)",
        )),
    }
}
