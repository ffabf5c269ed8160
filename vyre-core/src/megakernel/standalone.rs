//! A payload on its own, outside the megakernel: [`Payload::to_program`]
//! (a standalone program that runs one work item) and the payload helpers
//! that write the megakernel's log layouts ([`io_read`], [`debug_record`]).
//!
//! They live here, next to the ring protocol whose layouts they use
//! ([`super::protocol`]), so that `crate::ir` depends on nothing above it;
//! `ir::payload` re-exports the two helpers under their old paths.

use super::protocol::{
    DEBUG_HEADER_WORDS, DEBUG_RECORD_WORDS, IO_HEADER_WORDS, IO_REQ_CONT, IO_REQ_FILE, IO_REQ_LEN,
    IO_REQ_OFF_HI, IO_REQ_OFF_LO, IO_REQ_SLOT, IO_REQ_WORDS,
};
use crate::ir::payload::param_var;
use crate::ir::{BufferDecl, DataType, Expr, Node, ParamKind, Payload, Program};

/// Appends one record to the shared log buffer `param` (each `(word, value)`
/// of `fields` goes to that word of the record): word 0 counts the records asked for, the
/// records start at `header` and take `record_words` each, and a record past
/// the capacity `param__cap` is dropped (counted all the same). The read
/// queue and the debug log are both such logs.
fn append_record(param: &str, header: u32, record_words: u32, fields: Vec<(u32, Expr)>) -> Node {
    let n = param_var(param, "n");
    let at = param_var(param, "at");
    let mut write = vec![Node::let_bind(
        &at,
        Expr::add(
            Expr::u32(header),
            Expr::mul(Expr::var(&n), Expr::u32(record_words)),
        ),
    )];
    write.extend(
        fields
            .into_iter()
            .map(|(w, v)| Node::store(param, Expr::add(Expr::var(&at), Expr::u32(w)), v)),
    );
    Node::block(vec![
        Node::let_bind(&n, Expr::atomic_add(param, Expr::u32(0), Expr::u32(1))),
        Node::if_then(
            Expr::lt(Expr::var(&n), Expr::var(&param_var(param, "cap"))),
            write,
        ),
    ])
}

/// How many records a standalone log buffer `param` holds: its words after
/// the `header`, `record_words` each.
fn log_capacity(param: &str, header: u32, record_words: u32) -> Expr {
    let words = Expr::len(param);
    Expr::select(
        Expr::gt(words.clone(), Expr::u32(header)),
        Expr::div(Expr::sub(words, Expr::u32(header)), Expr::u32(record_words)),
        Expr::u32(0),
    )
}

/// Posts a read request to the `IoQueue` parameter `param`: after the
/// dispatch the host reads `len` bytes of file `file` (an index into the
/// host's file table) at byte offset `offset_hi << 32 | offset_lo` and runs
/// the payload with opcode `continuation` on them, for the same tenant, in the
/// next run. A full queue drops the request; the host counts and reports it.
/// Wrap the call in a condition so one lane posts it.
pub fn io_read(
    param: &str,
    file: Expr,
    offset_lo: Expr,
    offset_hi: Expr,
    len: Expr,
    continuation: Expr,
) -> Node {
    let fields = vec![
        (IO_REQ_SLOT, Expr::var(&param_var(param, "slot"))),
        (IO_REQ_FILE, file),
        (IO_REQ_OFF_LO, offset_lo),
        (IO_REQ_OFF_HI, offset_hi),
        (IO_REQ_LEN, len),
        (IO_REQ_CONT, continuation),
    ];
    append_record(param, IO_HEADER_WORDS, IO_REQ_WORDS, fields)
}

/// Appends the record `[slot, opcode, a, b]` to the `Debug` parameter
/// `param`'s log (a bounded printf: two `u32` values per record). A full log
/// drops the record and counts it. Debug records are diagnostics, not a
/// trusted channel: they share one log for the whole batch.
pub fn debug_record(param: &str, a: Expr, b: Expr) -> Node {
    let fields = vec![
        (0, Expr::var(&param_var(param, "slot"))),
        (1, Expr::var(&param_var(param, "op"))),
        (2, a),
        (3, b),
    ];
    append_record(param, DEBUG_HEADER_WORDS, DEBUG_RECORD_WORDS, fields)
}

impl Payload {
    /// A standalone program that runs this payload on one work item with one
    /// workgroup of `lanes` invocations.
    ///
    /// Host buffers, in binding order: `args` (read, one word per `Bytes`
    /// parameter giving its byte length, then one per `Scalar` or position
    /// parameter (`ChunkStart`, `ChunkOffset`, `FileLen`, ...; see
    /// [`ParamKind::is_position`]), in parameter order), then each
    /// `Bytes` parameter's words, then each `Words` input, then each
    /// `Output`, then each `Accumulator`.
    /// The tables follow as constant buffers (not host buffers). Dispatch it
    /// with 1 workgroup.
    pub fn to_program(&self, lanes: u32) -> Program {
        let mut buffers = vec![BufferDecl::read("args", 0, DataType::U32)];
        let mut prelude = Vec::new();
        let mut arg = 0u32;
        let mut binding = 1u32;
        for p in self.params_of(ParamKind::Bytes) {
            buffers.push(BufferDecl::read(&p.name, binding, DataType::U32));
            binding += 1;
            prelude.push(Node::let_bind(&param_var(&p.name, "off"), Expr::u32(0)));
            let declared = Expr::load("args", Expr::u32(arg));
            // Never more bytes than the buffer holds.
            let cap = Expr::mul(Expr::len(&p.name), Expr::u32(4));
            prelude.push(Node::let_bind(
                &param_var(&p.name, "len"),
                Expr::min(declared, cap),
            ));
            arg += 1;
        }
        for p in self
            .params
            .iter()
            .filter(|p| p.kind == ParamKind::Scalar || p.kind.is_position())
        {
            prelude.push(Node::let_bind(&p.name, Expr::load("args", Expr::u32(arg))));
            arg += 1;
        }
        for p in self.params_of(ParamKind::Words) {
            buffers.push(BufferDecl::read(&p.name, binding, DataType::U32));
            binding += 1;
            prelude.push(Node::let_bind(&param_var(&p.name, "off"), Expr::u32(0)));
            prelude.push(Node::let_bind(
                &param_var(&p.name, "len"),
                Expr::len(&p.name),
            ));
        }
        for kind in [ParamKind::Output, ParamKind::Accumulator] {
            for p in self.params_of(kind) {
                let mut decl = BufferDecl::read_write(&p.name, binding, DataType::U32);
                if let Some(n) = p.len {
                    decl = decl.with_len(n);
                }
                buffers.push(decl);
                binding += 1;
                prelude.push(Node::let_bind(&param_var(&p.name, "off"), Expr::u32(0)));
                prelude.push(Node::let_bind(
                    &param_var(&p.name, "len"),
                    Expr::len(&p.name),
                ));
            }
        }
        for p in self.params_of(ParamKind::IoQueue) {
            buffers.push(BufferDecl::read_write(&p.name, binding, DataType::U32));
            binding += 1;
            let cap = log_capacity(&p.name, IO_HEADER_WORDS, IO_REQ_WORDS);
            prelude.push(Node::let_bind(&param_var(&p.name, "cap"), cap));
            prelude.push(Node::let_bind(&param_var(&p.name, "slot"), Expr::u32(0)));
        }
        for p in self.params_of(ParamKind::Debug) {
            buffers.push(BufferDecl::read_write(&p.name, binding, DataType::U32));
            binding += 1;
            let cap = log_capacity(&p.name, DEBUG_HEADER_WORDS, DEBUG_RECORD_WORDS);
            prelude.push(Node::let_bind(&param_var(&p.name, "cap"), cap));
            prelude.push(Node::let_bind(&param_var(&p.name, "slot"), Expr::u32(0)));
            prelude.push(Node::let_bind(&param_var(&p.name, "op"), Expr::u32(0)));
        }
        for p in self.params_of(ParamKind::Lanes) {
            prelude.push(Node::let_bind(&param_var(&p.name, "id"), Expr::local_id()));
            prelude.push(Node::let_bind(
                &param_var(&p.name, "count"),
                Expr::workgroup_size(),
            ));
        }
        for t in &self.tables {
            buffers.push(BufferDecl::constant(
                &t.name,
                binding,
                DataType::U32,
                t.words.clone(),
            ));
            binding += 1;
        }
        prelude.extend(self.body.iter().cloned());
        Program::new(&self.name, buffers, lanes, prelude)
    }
}
