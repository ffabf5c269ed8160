//! Payloads: one unit of work over one chunk of bytes, embeddable in a
//! standalone program or fused into the megakernel.
//!
//! A payload body is ordinary IR that refers to its parameters through
//! reserved names. Whoever embeds the payload (the standalone
//! [`Payload::to_program`] or the megakernel) binds those names:
//!
//! | parameter (Rust)       | [`ParamKind`]   | names the body uses                                         |
//! |------------------------|-----------------|-------------------------------------------------------------|
//! | `data: &[u8]`          | `Bytes`         | buffer `data` (4 bytes per word, little-endian), vars `data__off` (byte offset), `data__len` (bytes) |
//! | `n: u32`               | `Scalar`        | var `n`                                                     |
//! | `out: &mut [u32]`      | `Output`        | buffer `out`, vars `out__off` (word offset), `out__len` (words) |
//! | `acc: &[AtomicU32]`    | `Accumulator`   | buffer `acc` (atomic), vars `acc__off`, `acc__len`          |
//! | `lanes: vyre::Lanes`   | `Lanes`         | vars `lanes__id`, `lanes__count`                            |
//! | `#[vyre(start)] s: u32`| `ChunkStart`    | var `s`: index in `data` of the first byte the item owns    |
//! | (IR only)              | `IoQueue`       | buffer `q` (atomic), vars `q__cap` (requests it holds), `q__slot` (this item's slot) |
//! | (IR only)              | `Debug`         | buffer `g` (atomic), vars `g__cap` (records it holds), `g__slot`, `g__op` (this item's slot and opcode) |
//! | `const T: [u32; N]` in the body | a [`Table`], not a parameter | buffer `T` (read only; [`table_load`]) |
//!
//! `ChunkStart`: a payload with look-behind (a pattern of `n` bytes needs
//! `n - 1`) sees its chunk preceded by up to `look_behind` bytes of the
//! previous chunk of the same file; it must count only what *ends* at an
//! index `>= start`, so a match across a chunk boundary is counted once.
//! Called natively on a whole buffer, `start` is 0.
//!
//! The helpers below build the bounds-checked accesses: an index outside the
//! parameter's own range reads 0 and writes nothing, so a payload can never
//! touch bytes or results outside its slot.

use super::expr::{AtomicOp, Expr};
use super::node::Node;

/// An index no buffer reaches (buffers hold fewer than `u32::MAX / 4` words),
/// so accesses redirected to it read 0 and write nothing.
pub const OUT_OF_RANGE: u32 = u32::MAX;

/// What a payload parameter is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// The work item's input bytes (`&[u8]`).
    Bytes,
    /// A `u32` argument from the slot.
    Scalar,
    /// Per-item output words (`&mut [u32]`).
    Output,
    /// Shared accumulator words (`&[AtomicU32]`).
    Accumulator,
    /// The lanes that run the item together (`vyre::Lanes`).
    Lanes,
    /// Index of the first byte the item owns in its `Bytes` (after look-behind).
    ChunkStart,
    /// The queue of read requests the item may post (`megakernel::standalone::io_read`): the host
    /// reads the bytes after the dispatch and runs a continuation payload on them.
    IoQueue,
    /// The debug log the item may append records to (`megakernel::standalone::debug_record`):
    /// bounded, overflow counted, read with `Megakernel::debug_log`.
    Debug,
}

/// A payload parameter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Param {
    /// The Rust parameter name.
    pub name: String,
    /// What it is.
    pub kind: ParamKind,
    /// For outputs and accumulators: the number of words the payload needs
    /// (from `#[vyre(len = N)]`), or `None` for "whatever the host gives".
    pub len: Option<u32>,
}

/// A payload: name, parameters and IR body, as produced by `#[vyre::payload]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Payload {
    /// The function name.
    pub name: String,
    /// Parameters in declaration order.
    pub params: Vec<Param>,
    /// Bytes before the chunk start that the payload reads (e.g. a pattern of
    /// length `n` needs `n - 1`): the feeder supplies them so matches across
    /// chunk boundaries are counted exactly once.
    pub look_behind: u32,
    /// The body.
    pub body: Vec<Node>,
    /// Constant tables the body reads (`const T: [u32; N] = ..;` in a
    /// `#[vyre::payload]`), by name with [`table_load`].
    pub tables: Vec<Table>,
}

/// A constant table of a payload: `words.len()` read-only `u32` words that
/// are part of the payload, such as the lookup tables of a table-driven
/// CRC. Embedded, it becomes an [`Access::Constant`](super::Access::Constant)
/// buffer: on the GPU the table lives in workgroup memory, so reads at random
/// indices are cheap.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Table {
    /// The name the body reads it by (a Rust `const` name).
    pub name: String,
    /// The words, at least one.
    pub words: Vec<u32>,
}

impl Table {
    /// A table named `name` holding `words`.
    pub fn new(name: &str, words: &[u32]) -> Table {
        Table {
            name: name.to_string(),
            words: words.to_vec(),
        }
    }
}

/// Word `index` of the table `name` (0 when out of range).
pub fn table_load(name: &str, index: Expr) -> Expr {
    Expr::load(name, index)
}

/// `name__suffix`: the reserved variable names of a parameter.
pub fn param_var(param: &str, suffix: &str) -> String {
    format!("{param}__{suffix}")
}

fn in_range(param: &str, index: &Expr) -> Expr {
    Expr::lt(index.clone(), Expr::var(&param_var(param, "len")))
}

/// Byte `index` of a `Bytes` parameter as a `u32` (0 when `index >= len`).
pub fn byte_load(param: &str, index: Expr) -> Expr {
    let abs = Expr::add(Expr::var(&param_var(param, "off")), index.clone());
    let word = Expr::select(
        in_range(param, &index),
        Expr::shr(abs.clone(), Expr::u32(2)),
        Expr::u32(OUT_OF_RANGE),
    );
    let shift = Expr::shl(Expr::bitand(abs, Expr::u32(3)), Expr::u32(3));
    Expr::bitand(Expr::shr(Expr::load(param, word), shift), Expr::u32(0xff))
}

/// Word `w` of a `Bytes` parameter: its bytes `4w .. 4w + 4` as a
/// little-endian `u32`, bytes at or past `len` read as 0 (the whole word is
/// 0 when `4w >= len`). One load instead of four `byte_load`s.
///
/// Relies on the parameter's `off` being a multiple of 4, which every
/// binding guarantees: 0 in [`Payload::to_program`], the slot's word offset
/// times 4 in the megakernel and the interpreter.
pub fn byte_word_load(param: &str, w: Expr) -> Expr {
    let len = Expr::var(&param_var(param, "len"));
    // Words holding at least one byte: ceil(len / 4), without overflow.
    let words = Expr::add(
        Expr::shr(len.clone(), Expr::u32(2)),
        Expr::select(
            Expr::ne(Expr::bitand(len.clone(), Expr::u32(3)), Expr::u32(0)),
            Expr::u32(1),
            Expr::u32(0),
        ),
    );
    let index = Expr::select(
        Expr::lt(w.clone(), words),
        Expr::add(
            Expr::shr(Expr::var(&param_var(param, "off")), Expr::u32(2)),
            w.clone(),
        ),
        Expr::u32(OUT_OF_RANGE),
    );
    // Bytes of this word that lie before `len` (>= 4 means all of them).
    let valid = Expr::sub(len, Expr::mul(w, Expr::u32(4)));
    let mask = Expr::select(
        Expr::ge(valid.clone(), Expr::u32(4)),
        Expr::u32(u32::MAX),
        Expr::sub(
            Expr::shl(Expr::u32(1), Expr::mul(valid, Expr::u32(8))),
            Expr::u32(1),
        ),
    );
    Expr::bitand(Expr::load(param, index), mask)
}

/// Length of a parameter (bytes for `Bytes`, words for outputs/accumulators).
pub fn param_len(param: &str) -> Expr {
    Expr::var(&param_var(param, "len"))
}

fn word_index(param: &str, index: Expr) -> Expr {
    Expr::select(
        in_range(param, &index),
        Expr::add(Expr::var(&param_var(param, "off")), index),
        Expr::u32(OUT_OF_RANGE),
    )
}

/// Word `index` of an output or accumulator (0 when out of range).
pub fn word_load(param: &str, index: Expr) -> Expr {
    Expr::load(param, word_index(param, index))
}

/// `param[index] = value` for an output (dropped when out of range).
pub fn word_store(param: &str, index: Expr, value: Expr) -> Node {
    Node::store(param, word_index(param, index), value)
}

/// Atomic `op` on word `index` of an accumulator (0 and no effect when out of range).
pub fn word_atomic(
    op: AtomicOp,
    param: &str,
    index: Expr,
    value: Expr,
    expected: Option<Expr>,
) -> Expr {
    Expr::Atomic {
        op,
        buffer: param.to_string(),
        index: Box::new(word_index(param, index)),
        value: Box::new(value),
        expected: expected.map(Box::new),
    }
}

// The standalone binding of a payload (`Payload::to_program`) and the
// helpers that write the megakernel's log layouts (`io_read`,
// `debug_record`) live with the ring protocol in `megakernel::standalone`:
// `ir` names nothing above it.

/// This lane's index among the lanes running the item.
pub fn lane_id(param: &str) -> Expr {
    Expr::var(&param_var(param, "id"))
}

/// Number of lanes running the item.
pub fn lane_count(param: &str) -> Expr {
    Expr::var(&param_var(param, "count"))
}

impl Payload {
    /// Parameters of one kind, in order.
    pub fn params_of(&self, kind: ParamKind) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(move |p| p.kind == kind)
    }
}

/// The lanes that run one work item together.
///
/// On the GPU the lanes of a workgroup split a range cooperatively:
/// [`Lanes::range`] gives lane `id` the indices `start + id, start + id +
/// count, ...`, so neighbouring lanes read neighbouring bytes (coalesced).
/// Called natively, a payload gets [`Lanes::all`] (one lane that covers the
/// whole range), so the native meaning is "every index once" — the same as
/// the union over all GPU lanes, provided the body only combines per-index
/// results with commutative atomics or per-index outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lanes {
    id: u32,
    count: u32,
}

impl Lanes {
    /// One lane covering everything: the native meaning.
    pub fn all() -> Lanes {
        Lanes { id: 0, count: 1 }
    }

    /// Lane `id` of `count` (`count` 0 is treated as 1, `id` is taken modulo `count`).
    pub fn new(id: u32, count: u32) -> Lanes {
        let count = count.max(1);
        Lanes {
            id: id % count,
            count,
        }
    }

    /// This lane's index.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Number of lanes.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The part of `range` this lane handles: `start + id`, stepping by `count`.
    pub fn range(&self, range: std::ops::Range<u32>) -> std::iter::StepBy<std::ops::Range<u32>> {
        let start = range
            .start
            .saturating_add(self.id)
            .min(range.end.max(range.start));
        (start..range.end).step_by(self.count as usize)
    }
}
