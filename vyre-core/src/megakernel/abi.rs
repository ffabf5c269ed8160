//! The slot ABI, defined once: the megakernel's buffers (names, bindings,
//! access), what each payload parameter is bound to in a slot, and the
//! result-region arithmetic. It is lowered twice: to IR when a payload is
//! fused into the kernel (`megakernel/embed.rs`) and to bytecode when it is
//! loaded into the interpreter ([`super::interp::compile`]); both read the
//! same [`Binding`]s, so the two cannot drift apart.

use crate::ir::payload::param_var;
use crate::ir::{Builtin, ParamKind, Payload};

use super::protocol::*;

/// Buffer `control`: [`CONTROL_WORDS`] control words.
pub const CONTROL: &str = "control";
/// Buffer `ring`: the slots.
pub const RING: &str = "ring";
/// Buffer `arena`: slot input bytes, 4 per word.
pub const ARENA: &str = "arena";
/// Buffer `results`: slot result regions.
pub const RESULTS: &str = "results";
/// Buffer `debug`: debug records.
pub const DEBUG: &str = "debug";
/// Buffer `io`: read requests posted by payloads.
pub const IO: &str = "io";
/// Buffer `code`: programs loaded into the interpreter.
pub const CODE: &str = "code";
/// Buffer `regs`: the interpreter's register frames.
pub const REGS: &str = "regs";

/// How the kernel accesses a buffer of [`BUFFERS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferAccess {
    /// Read only.
    Read,
    /// Read and written (atomics included).
    ReadWrite,
}

/// The megakernel's host-visible buffers in binding order: index `i` of
/// this table is binding `i` and the `i`-th host buffer.
pub const BUFFERS: [(&str, BufferAccess); 8] = [
    (CONTROL, BufferAccess::ReadWrite),
    (RING, BufferAccess::ReadWrite),
    (ARENA, BufferAccess::Read),
    (RESULTS, BufferAccess::ReadWrite),
    (DEBUG, BufferAccess::ReadWrite),
    (IO, BufferAccess::ReadWrite),
    (CODE, BufferAccess::Read),
    (REGS, BufferAccess::ReadWrite),
];

/// The host-buffer index (= binding) of buffer `name` in [`BUFFERS`].
pub const fn binding(name: &str) -> usize {
    let mut i = 0;
    while i < BUFFERS.len() {
        if str_eq(BUFFERS[i].0, name) {
            return i;
        }
        i += 1;
    }
    panic!("not a megakernel buffer")
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A word the runtime supplies to a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Word `SLOT_*` of the slot.
    Slot(u32),
    /// Control word `CTRL_*`.
    Control(u32),
    /// The slot's index in the ring.
    SlotIndex,
    /// An invocation builtin (lane id, lanes per workgroup).
    Builtin(Builtin),
}

/// The value a payload variable is bound to at the start of a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// A runtime word.
    Word(Source),
    /// The slot's first data byte: `SLOT_DATA_OFF * 4`.
    DataByteOffset,
    /// The word offset of a result parameter: the slot's region start
    /// (`SLOT_OUT_OFF`) plus the words of the result parameters before it.
    ResultOffset {
        /// Words of the earlier result parameters.
        before: u32,
    },
    /// The words of a result parameter: its declared length (all that is
    /// left when undeclared), clipped to what is left of the slot's
    /// region (`SLOT_OUT_LEN`) after the earlier result parameters:
    /// `min(declared, out_len - min(before, out_len))`.
    ResultLen {
        /// Words of the earlier result parameters.
        before: u32,
        /// The declared length, if any.
        declared: Option<u32>,
    },
}

/// One variable a slot binds before the payload's body runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The variable's name in the payload (e.g. `data__off`, `n`).
    pub var: String,
    /// What it holds.
    pub value: Value,
}

/// The variables the slot binds for payload `p`'s parameters, in
/// parameter order: byte input `NAME__off`/`NAME__len`, scalars from the
/// slot's argument words in order, the chunk start, result parameters'
/// `NAME__off`/`NAME__len` (consecutive regions of the slot's result words),
/// the debug log's and read queue's capacity, slot (and opcode), and the
/// lanes' id and count.
pub fn bindings(p: &Payload) -> Vec<Binding> {
    let mut out = Vec::new();
    let mut bind = |var: String, value: Value| out.push(Binding { var, value });
    let mut scalar = 0u32;
    let mut before = 0u32;
    for q in &p.params {
        let var = |suffix: &str| param_var(&q.name, suffix);
        match q.kind {
            ParamKind::Bytes => {
                bind(var("off"), Value::DataByteOffset);
                bind(var("len"), Value::Word(Source::Slot(SLOT_DATA_LEN)));
            }
            ParamKind::Scalar => {
                bind(
                    q.name.clone(),
                    Value::Word(Source::Slot(SLOT_ARGS + scalar)),
                );
                scalar += 1;
            }
            ParamKind::ChunkStart => bind(q.name.clone(), Value::Word(Source::Slot(SLOT_START))),
            ParamKind::ChunkOffset => {
                bind(q.name.clone(), Value::Word(Source::Slot(SLOT_CHUNK_OFF_LO)))
            }
            ParamKind::ChunkOffsetHi => {
                bind(q.name.clone(), Value::Word(Source::Slot(SLOT_CHUNK_OFF_HI)))
            }
            ParamKind::FileLen => bind(q.name.clone(), Value::Word(Source::Slot(SLOT_FILE_LEN_LO))),
            ParamKind::FileLenHi => {
                bind(q.name.clone(), Value::Word(Source::Slot(SLOT_FILE_LEN_HI)))
            }
            ParamKind::ChunkIndex => {
                bind(q.name.clone(), Value::Word(Source::Slot(SLOT_CHUNK_INDEX)))
            }
            // Refused by `check_embeddable`: only combine functions read words.
            ParamKind::Words => {}
            ParamKind::Output | ParamKind::Accumulator => {
                bind(var("off"), Value::ResultOffset { before });
                bind(
                    var("len"),
                    Value::ResultLen {
                        before,
                        declared: q.len,
                    },
                );
                before = before.saturating_add(q.len.unwrap_or(0));
            }
            ParamKind::Debug => {
                bind(var("cap"), Value::Word(Source::Control(CTRL_DEBUG_CAP)));
                bind(var("slot"), Value::Word(Source::SlotIndex));
                bind(var("op"), Value::Word(Source::Slot(SLOT_OPCODE)));
            }
            ParamKind::IoQueue => {
                bind(var("cap"), Value::Word(Source::Control(CTRL_IO_CAP)));
                bind(var("slot"), Value::Word(Source::SlotIndex));
            }
            ParamKind::Lanes => {
                bind(var("id"), Value::Word(Source::Builtin(Builtin::LocalId)));
                bind(
                    var("count"),
                    Value::Word(Source::Builtin(Builtin::WorkgroupSize)),
                );
            }
        }
    }
    out
}

/// Words of the result region a payload needs per slot: the sum of its
/// outputs' and accumulators' declared lengths (an undeclared length counts
/// 0 and takes what the slot is given).
pub fn result_words(p: &Payload) -> u32 {
    p.params
        .iter()
        .filter(|q| matches!(q.kind, ParamKind::Output | ParamKind::Accumulator))
        .map(|q| q.len.unwrap_or(0))
        .fold(0u32, |a, b| a.saturating_add(b))
}

/// Most result words one payload may declare per slot (64 MiB).
pub const MAX_RESULT_WORDS: u32 = 1 << 24;

/// The words a slot's result region of payload `p` starts with: the
/// combine's identity when the payload has one, else each result
/// parameter's declared length filled with its reduction's identity
/// ([`crate::ir::Reduce::identity`]). `result_words(p)` words.
pub fn initial_results(p: &Payload) -> Vec<u32> {
    if let Some(c) = &p.combine {
        return c.identity.clone();
    }
    let mut out = Vec::new();
    for q in p.params.iter().filter(|q| q.kind.is_result()) {
        let n = q.len.unwrap_or(0) as usize;
        out.extend(std::iter::repeat_n(q.reduce.identity(), n));
    }
    out
}

/// Checks that payload `p`'s way of folding chunk results into file
/// results is well formed: at most [`MAX_RESULT_WORDS`] result words;
/// reductions other than sum only on result
/// parameters with a declared length; a combine whose identity has the
/// payload's result words and whose function takes `left: words`,
/// `right: words` and one output of that many words (and has no combine
/// of its own).
pub fn check_fold(p: &Payload) -> crate::error::Result<()> {
    use crate::error::Error;
    use crate::ir::Reduce;
    let bad = |what: String, fix: &str| {
        Err(Error::bad_input(
            format!("payload `{}`: {what}", p.name),
            fix,
        ))
    };
    let declared: u64 = p
        .params
        .iter()
        .filter(|q| q.kind.is_result())
        .map(|q| u64::from(q.len.unwrap_or(0)))
        .sum();
    if declared > u64::from(MAX_RESULT_WORDS) {
        return bad(
            format!("its results declare {declared} words per slot, more than the {MAX_RESULT_WORDS} a slot may have"),
            "declare fewer result words (a slot's results are a summary of its chunk)",
        );
    }
    for q in &p.params {
        if q.reduce != Reduce::Sum && !(q.kind.is_result() && q.len.is_some()) {
            return bad(
                format!(
                    "parameter `{}` has reduction `{}`, which applies only to outputs and accumulators with a declared length",
                    q.name,
                    q.reduce.name()
                ),
                "declare the reduction on a result parameter with a length, e.g. `#[vyre(len = 1, reduce = max)]`",
            );
        }
    }
    let Some(c) = &p.combine else {
        return Ok(());
    };
    let words = result_words(p) as usize;
    if c.identity.len() != words || words == 0 {
        return bad(
            format!(
                "its combine's identity has {} words but the payload's results have {words}",
                c.identity.len()
            ),
            &if words == 0 {
                "give the payload results with declared lengths (e.g. `#[vyre(len = 2)]`) and the combine an identity of one word per result word".to_string()
            } else {
                format!(
                    "give the combine an identity of exactly {words} words, one per result word"
                )
            },
        );
    }
    if p.params.iter().any(|q| q.reduce != Reduce::Sum) {
        return bad(
            "it has both a combine and per-parameter reductions".into(),
            "fold everything in the combine and remove the `reduce` attributes",
        );
    }
    let f = &c.func;
    let shape: Vec<ParamKind> = f.params.iter().map(|q| q.kind).collect();
    let out_len = f.params.get(2).and_then(|q| q.len);
    if shape != [ParamKind::Words, ParamKind::Words, ParamKind::Output]
        || out_len != Some(words as u32)
    {
        return bad(
            format!(
                "its combine `{}` must take `left: &[u32], right: &[u32], #[vyre(len = {words})] out: &mut [u32]`",
                f.name
            ),
            "write the combine with exactly these three parameters",
        );
    }
    if f.combine.is_some() || f.look_behind != 0 {
        return bad(
            format!(
                "its combine `{}` has a combine or look-behind of its own",
                f.name
            ),
            "remove them from the combine function",
        );
    }
    Ok(())
}
