//! VIR0 bytes → IR, for hostile input: every read is bounds-checked, every
//! count is checked against the bytes left and the limits before anything is
//! allocated, recursion stops at the depth limits, and every allocation is
//! charged to a budget of [`ALLOC_PER_BYTE`] bytes per input byte. Each
//! statement and expression consumes at least one byte, so time is linear.
//! Only the canonical encoding is accepted (shortest varints, strings unique
//! and numbered in order of first use, no unused bytes).

mod body;

use std::collections::HashSet;
use std::mem::size_of;

use super::codes::{section, PARAM_REDUCE_FLAG};
use super::encode::hash;
use super::{
    Module, Vir0Error, ALLOC_PER_BYTE, ALLOC_SLACK, DIGEST_LEN, HEADER_LEN, KIND_PAYLOAD,
    KIND_PROGRAM, MAGIC, MAX_BUFFERS, MAX_STRINGS, MAX_STRING_LEN, VERSION,
};
use crate::ir::payload::Table;
use crate::ir::{
    Access, BufferDecl, Combine, DataType, Expr, Node, Param, ParamKind, Payload, Program, Reduce,
};

type R<T> = Result<T, Vir0Error>;

const NODE_COST: usize = size_of::<Node>();
const EXPR_COST: usize = size_of::<Expr>();
/// Charged per string copy on top of its bytes (a `String` header).
const STRING_COST: usize = size_of::<String>();

const RECREATE: &str = "re-create the file with `vyre compile` (or vyre_core::vir0::encode_*)";

fn malformed(offset: usize, what: impl Into<String>, fix: &str) -> Vir0Error {
    Vir0Error::Malformed {
        offset,
        what: what.into(),
        fix: fix.to_string(),
    }
}

struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
    /// End of the current section.
    end: usize,
    /// Name of the current section, for messages.
    section: &'static str,
    strings: Vec<String>,
    /// Strings must be first used in table order: the next unused index.
    next_new: usize,
    budget: usize,
    nodes: u64,
    exprs: u64,
    max_nodes: u64,
    max_exprs: u64,
}

impl<'a> Decoder<'a> {
    fn fail<T>(&self, at: usize, what: impl Into<String>) -> R<T> {
        Err(malformed(at, what, RECREATE))
    }

    fn charge(&mut self, at: usize, bytes: usize) -> R<()> {
        match self.budget.checked_sub(bytes) {
            Some(left) => {
                self.budget = left;
                Ok(())
            }
            None => Err(malformed(
                at,
                format!("decoding needs more memory than {ALLOC_PER_BYTE} bytes per input byte"),
                "this is not a file vyre writes; re-create it with `vyre compile`",
            )),
        }
    }

    fn remaining(&self) -> usize {
        self.end.saturating_sub(self.pos)
    }

    fn u8(&mut self, what: &str) -> R<u8> {
        match self.data.get(self.pos) {
            Some(&b) if self.pos < self.end => {
                self.pos += 1;
                Ok(b)
            }
            _ => self.fail(
                self.pos,
                format!("the {} section ends before {what}", self.section),
            ),
        }
    }

    /// An unsigned LEB128 varint of at most 64 bits in its shortest form.
    fn varint(&mut self, what: &str) -> R<u64> {
        let at = self.pos;
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.u8(what)?;
            let bits = u64::from(b & 0x7f);
            if i == 9 && b > 1 {
                return self.fail(at, format!("{what}: varint does not fit in 64 bits"));
            }
            v |= bits << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return self.fail(
                        at,
                        format!("{what}: varint is not in its shortest form (not canonical)"),
                    );
                }
                return Ok(v);
            }
        }
        self.fail(at, format!("{what}: varint is longer than 10 bytes"))
    }

    fn u32v(&mut self, what: &str) -> R<u32> {
        let at = self.pos;
        let v = self.varint(what)?;
        u32::try_from(v).or_else(|_| self.fail(at, format!("{what} is {v}, more than u32::MAX")))
    }

    /// A count that must be at most `cap` and at most the bytes left divided
    /// by `min_size` (the fewest bytes one item takes).
    fn count(&mut self, what: &str, cap: u64, min_size: usize) -> R<usize> {
        let at = self.pos;
        let n = self.varint(what)?;
        let fits = (self.remaining() / min_size.max(1)) as u64;
        if n > cap {
            return self.fail(at, format!("{what} is {n}, more than the limit {cap}"));
        }
        if n > fits {
            return self.fail(
                at,
                format!(
                    "{what} is {n}, but only {} bytes are left in the {} section",
                    self.remaining(),
                    self.section
                ),
            );
        }
        Ok(n as usize)
    }

    /// `None` → 0, `Some(n)` → n + 1.
    fn opt_len(&mut self, what: &str) -> R<Option<u32>> {
        let at = self.pos;
        match self.varint(what)? {
            0 => Ok(None),
            v => u32::try_from(v - 1)
                .map(Some)
                .or_else(|_| self.fail(at, format!("{what} is {}, more than u32::MAX", v - 1))),
        }
    }

    /// `n` words of 4 little-endian bytes each.
    fn words(&mut self, n: usize, what: &str) -> R<Vec<u32>> {
        let at = self.pos;
        if n > self.remaining() / 4 {
            return self.fail(
                at,
                format!(
                    "{what} has {n} words, but only {} bytes are left in the {} section",
                    self.remaining(),
                    self.section
                ),
            );
        }
        self.charge(at, n * 4)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let mut b = [0u8; 4];
            for x in &mut b {
                *x = self.u8(what)?;
            }
            out.push(u32::from_le_bytes(b));
        }
        Ok(out)
    }

    fn code<T: Copy>(&mut self, table: &[T], what: &str) -> R<T> {
        let at = self.pos;
        let c = self.u8(what)?;
        table
            .get(usize::from(c))
            .copied()
            .map_or_else(|| self.fail(at, format!("unknown {what} code {c}")), Ok)
    }

    /// A string-table reference; copies the string.
    fn name(&mut self, what: &str) -> R<String> {
        let at = self.pos;
        let i = self.varint(what)?;
        let Some(s) = usize::try_from(i).ok().and_then(|i| self.strings.get(i)) else {
            return self.fail(
                at,
                format!(
                    "{what}: string {i} is not in the string table ({} strings)",
                    self.strings.len()
                ),
            );
        };
        let len = s.len();
        let i = i as usize;
        if i > self.next_new {
            return self.fail(
                at,
                format!(
                    "{what}: string {i} is used before string {} (not canonical)",
                    self.next_new
                ),
            );
        }
        if i == self.next_new {
            self.next_new += 1;
        }
        self.charge(at, len + STRING_COST)?;
        Ok(self.strings.get(i).cloned().unwrap_or_default())
    }

    /// Enters section `tag`: checks the tag and that its length fits.
    fn enter(&mut self, tag: u8, name: &'static str, file_end: usize) -> R<()> {
        self.end = file_end;
        self.section = "file";
        let at = self.pos;
        let t = self.u8(&format!("the {name} section"))?;
        if t != tag {
            return self.fail(
                at,
                format!("expected section {tag} ({name}), found section tag {t}"),
            );
        }
        let len = self.varint(&format!("the {name} section length"))?;
        if len > self.remaining() as u64 {
            return self.fail(
                at,
                format!(
                    "the {name} section claims {len} bytes but only {} remain before the digest",
                    self.remaining()
                ),
            );
        }
        self.end = self.pos + len as usize;
        self.section = name;
        Ok(())
    }

    /// The combine section: identity words, then the function as a complete
    /// payload file (without a combine of its own).
    fn combine(&mut self, file_end: usize) -> R<Combine> {
        self.enter(section::COMBINE, "combine", file_end)?;
        let n = self.count("identity length", u64::from(u32::MAX), 4)?;
        let identity = self.words(n, "the identity")?;
        let at = self.pos;
        let len = self.count("combine function length", u64::MAX, 1)?;
        let bytes = &self.data[self.pos..self.pos + len];
        self.charge(at, len)?;
        let func = match decode_nested(bytes, true) {
            Ok(Module::Payload(f)) => f,
            Ok(Module::Program(_)) => {
                return self.fail(at, "the combine function is a program, not a payload")
            }
            Err(e) => return self.fail(at, format!("the combine function: {e}")),
        };
        self.pos += len;
        self.leave()?;
        Ok(Combine {
            identity,
            func,
            native: None,
        })
    }

    fn leave(&mut self) -> R<()> {
        if self.pos != self.end {
            return self.fail(
                self.pos,
                format!(
                    "{} unused byte(s) at the end of the {} section",
                    self.end - self.pos,
                    self.section
                ),
            );
        }
        Ok(())
    }

    fn strings(&mut self) -> R<()> {
        let n = self.count("string count", MAX_STRINGS, 1)?;
        self.charge(self.pos, n.saturating_mul(STRING_COST * 3))?;
        let mut seen = HashSet::with_capacity(n);
        self.strings.reserve_exact(n);
        for i in 0..n {
            let at = self.pos;
            let len = self.count("string length", MAX_STRING_LEN, 1)?;
            let bytes = self.data.get(self.pos..self.pos + len).unwrap_or_default();
            self.pos += len;
            let s = match std::str::from_utf8(bytes) {
                Ok(s) => s,
                Err(e) => {
                    return self.fail(
                        at,
                        format!(
                            "string {i} is not UTF-8 (bad byte at offset {})",
                            self.pos - len + e.valid_up_to()
                        ),
                    )
                }
            };
            if !seen.insert(s) {
                return self.fail(
                    at,
                    format!(
                        "string {i} (`{}`) repeats an earlier string (not canonical)",
                        s.escape_debug()
                    ),
                );
            }
            self.charge(at, len)?;
            self.strings.push(s.to_string());
        }
        Ok(())
    }
}

/// Checks the header and digest; returns the kind byte.
fn check_envelope(bytes: &[u8]) -> R<u8> {
    let fix_magic =
        "give a file written by `vyre compile` (VIR0 files start with the bytes `VIR0`)";
    if !bytes.starts_with(&MAGIC) {
        if bytes.len() < MAGIC.len() && MAGIC.starts_with(bytes) {
            return Err(malformed(
                bytes.len(),
                format!("the file is {} bytes long: too short for VIR0", bytes.len()),
                fix_magic,
            ));
        }
        let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        return Err(malformed(
            0,
            format!(
                "not a VIR0 file: it starts with bytes [{}], not `VIR0`",
                head.join(" ")
            ),
            fix_magic,
        ));
    }
    let min = HEADER_LEN + 6 + DIGEST_LEN;
    if bytes.len() < min {
        return Err(malformed(
            bytes.len(),
            format!(
                "the file is {} bytes long; the smallest VIR0 file has {min}",
                bytes.len()
            ),
            "the file is truncated; re-create it with `vyre compile`",
        ));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != VERSION {
        return Err(malformed(
            4,
            format!(
                "format version {version} is not supported (this vyre reads version {VERSION})"
            ),
            "re-create the file with this version of vyre",
        ));
    }
    let kind = bytes[6];
    if kind != KIND_PROGRAM && kind != KIND_PAYLOAD {
        return Err(malformed(
            6,
            format!("unknown kind {kind} (1 = program, 2 = payload)"),
            RECREATE,
        ));
    }
    if bytes[7] != 0 {
        return Err(malformed(
            7,
            format!("reserved flags byte is {}, not 0", bytes[7]),
            RECREATE,
        ));
    }
    let split = bytes.len() - DIGEST_LEN;
    if hash(&bytes[..split]) != bytes[split..] {
        return Err(malformed(split, "the blake3 digest does not match the contents: the file is corrupt, truncated or was modified", "re-create the file with `vyre compile`"));
    }
    Ok(kind)
}

/// Decodes a whole file without semantic validation.
pub(crate) fn decode(bytes: &[u8]) -> R<Module> {
    decode_nested(bytes, false)
}

/// Decodes `bytes`; `nested` for a combine's function, which may not have a
/// combine of its own (so decoding never recurses more than once).
fn decode_nested(bytes: &[u8], nested: bool) -> R<Module> {
    let kind = check_envelope(bytes)?;
    let file_end = bytes.len() - DIGEST_LEN;
    let mut d = Decoder {
        data: &bytes[..file_end],
        pos: HEADER_LEN,
        end: file_end,
        section: "file",
        strings: Vec::new(),
        next_new: 0,
        budget: bytes
            .len()
            .saturating_mul(ALLOC_PER_BYTE)
            .saturating_add(ALLOC_SLACK),
        nodes: 0,
        exprs: 0,
        max_nodes: 0,
        max_exprs: 0,
    };
    d.enter(section::STRINGS, "strings", file_end)?;
    d.strings()?;
    d.leave()?;
    d.enter(section::DECLS, "declarations", file_end)?;
    let module = if kind == KIND_PROGRAM {
        let name = d.name("program name")?;
        let workgroup_size = d.u32v("workgroup size")?;
        let n = d.count("buffer count", MAX_BUFFERS, 5)?;
        d.charge(d.pos, n.saturating_mul(size_of::<BufferDecl>()))?;
        let mut buffers = Vec::with_capacity(n);
        for _ in 0..n {
            let name = d.name("buffer name")?;
            let access = d.code(Access::ALL, "buffer access")?;
            let elem = d.code(DataType::ALL, "element type")?;
            let binding = d.u32v("binding")?;
            let at = d.pos;
            let len = d.opt_len("buffer length")?;
            let data = match (access, len) {
                (Access::Constant, Some(n)) => d.words(n as usize, "a constant buffer")?,
                (Access::Constant, None) => {
                    return d.fail(at, "a constant buffer without a length")
                }
                _ => Vec::new(),
            };
            buffers.push(BufferDecl {
                name,
                binding,
                elem,
                access,
                len,
                data,
            });
        }
        d.leave()?;
        d.enter(section::BODY, "body", file_end)?;
        Module::Program(Program {
            name,
            buffers,
            workgroup_size,
            body: d.body()?,
        })
    } else {
        let name = d.name("payload name")?;
        let look_behind = d.u32v("look-behind")?;
        let n = d.count("parameter count", MAX_BUFFERS, 3)?;
        d.charge(d.pos, n.saturating_mul(size_of::<Param>()))?;
        let mut params = Vec::with_capacity(n);
        for _ in 0..n {
            let name = d.name("parameter name")?;
            let at = d.pos;
            let byte = d.u8("parameter kind")?;
            let Some(kind) = ParamKind::from_code(byte & !PARAM_REDUCE_FLAG) else {
                return d.fail(at, format!("unknown parameter kind code {byte}"));
            };
            let reduce = if byte & PARAM_REDUCE_FLAG != 0 {
                let at = d.pos;
                match d.code(Reduce::ALL, "reduction")? {
                    Reduce::Sum => {
                        return d.fail(at, "an explicit sum reduction (not canonical: omit it)")
                    }
                    r => r,
                }
            } else {
                Reduce::Sum
            };
            let len = d.opt_len("parameter length")?;
            params.push(Param {
                name,
                kind,
                len,
                reduce,
            });
        }
        // Tables follow only when there are some (canonical: never a count of 0).
        let mut tables = Vec::new();
        if d.remaining() > 0 {
            let at = d.pos;
            let n = d.count("table count", MAX_BUFFERS, 2)?;
            if n == 0 {
                return d.fail(at, "a table count of 0 (not canonical: omit it)");
            }
            d.charge(at, n.saturating_mul(size_of::<Table>()))?;
            for _ in 0..n {
                let name = d.name("table name")?;
                let words = d.count("table length", u64::from(u32::MAX), 4)?;
                let words = d.words(words, "a table")?;
                tables.push(Table { name, words });
            }
        }
        d.leave()?;
        d.enter(section::BODY, "body", file_end)?;
        Module::Payload(Payload {
            name,
            params,
            look_behind,
            body: d.body()?,
            tables,
            combine: None,
            native: Default::default(),
        })
    };
    d.leave()?;
    let mut module = module;
    if let Module::Payload(p) = &mut module {
        if d.pos < file_end && d.data[d.pos] == section::COMBINE {
            if nested {
                return d.fail(d.pos, "a combine function with a combine of its own");
            }
            p.combine = Some(Box::new(d.combine(file_end)?));
        }
    }
    d.end = file_end;
    if d.pos != file_end {
        return d.fail(
            d.pos,
            format!(
                "{} unknown byte(s) after the last section",
                file_end - d.pos
            ),
        );
    }
    if d.next_new != d.strings.len() {
        return d.fail(
            HEADER_LEN,
            format!(
                "string {} of the table is never used (not canonical)",
                d.next_new
            ),
        );
    }
    Ok(module)
}
