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
//! | `#[vyre(chunk_offset)] o: u32` | `ChunkOffset` | var `o`: the file offset of the chunk's first owned byte, low 32 bits (`ChunkOffsetHi`: high 32 bits) |
//! | `#[vyre(file_len)] n: u32` | `FileLen`   | var `n`: the length of the chunk's file, low 32 bits (`FileLenHi`: high 32 bits) |
//! | `#[vyre(chunk_index)] k: u32` | `ChunkIndex` | var `k`: the chunk's index in its file (0, 1, ...)           |
//! | `left: &[u32]` (combines only) | `Words` | buffer `left`, vars `left__off` (word offset), `left__len` (words) |
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
use super::native_entry::NativePayload;
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
    /// Read-only input words (`&[u32]`): the two summaries a [`Combine`]
    /// function joins. Not a payload parameter.
    Words,
    /// The file offset of the chunk's first owned byte (`data[start]`), low
    /// 32 bits. Natively (one call on a whole buffer) 0.
    ChunkOffset,
    /// The high 32 bits of the chunk's file offset.
    ChunkOffsetHi,
    /// The length of the chunk's file in bytes, low 32 bits. Natively the
    /// buffer's length.
    FileLen,
    /// The high 32 bits of the file's length.
    FileLenHi,
    /// The chunk's index in its file (0 for the first chunk).
    ChunkIndex,
}

impl ParamKind {
    /// Parameters whose value is a word the runtime knows about the chunk:
    /// its start, its file offset, its file's length, its index.
    pub fn is_position(self) -> bool {
        matches!(
            self,
            ParamKind::ChunkStart
                | ParamKind::ChunkOffset
                | ParamKind::ChunkOffsetHi
                | ParamKind::FileLen
                | ParamKind::FileLenHi
                | ParamKind::ChunkIndex
        )
    }

    /// Result parameters (outputs and accumulators).
    pub fn is_result(self) -> bool {
        matches!(self, ParamKind::Output | ParamKind::Accumulator)
    }
}

/// How the per-chunk words of a result parameter become the file's result:
/// every chunk's region starts at the identity, and the host folds the
/// chunks' words in file order with the operation. Sums fold into 64 bits
/// (a file's count never overflows); the others work on `u32` words.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Reduce {
    /// `a + b` in 64 bits; identity 0.
    #[default]
    Sum,
    /// Unsigned minimum; identity `u32::MAX`.
    Min,
    /// Unsigned maximum; identity 0.
    Max,
    /// Bitwise and; identity `u32::MAX`.
    And,
    /// Bitwise or; identity 0.
    Or,
    /// Bitwise xor; identity 0.
    Xor,
}

impl Reduce {
    /// The word every chunk's result region starts with (so lanes may
    /// combine into it with the matching atomic, e.g. `fetch_min`).
    pub const fn identity(self) -> u32 {
        match self {
            Reduce::Min | Reduce::And => u32::MAX,
            Reduce::Sum | Reduce::Max | Reduce::Or | Reduce::Xor => 0,
        }
    }

    /// `acc` folded with one chunk's `word`.
    pub fn fold(self, acc: u64, word: u32) -> u64 {
        let w = u64::from(word);
        match self {
            Reduce::Sum => acc.wrapping_add(w),
            Reduce::Min => acc.min(w),
            Reduce::Max => acc.max(w),
            Reduce::And => acc & w,
            Reduce::Or => acc | w,
            Reduce::Xor => acc ^ w,
        }
    }
}

/// How a payload's chunk results become its file's result when a
/// per-parameter [`Reduce`] is not enough (a longest line, a CRC): the
/// slot's result words are a *summary* of the chunk, preset to `identity`,
/// and the host folds the summaries in file order,
/// `acc = func(acc, chunk)`, starting from `identity`. `func` is an
/// ordinary function of the subset (`#[vyre::combine]`): parameters
/// `left: &[u32]` and `right: &[u32]` ([`ParamKind::Words`], the two
/// summaries, `identity.len()` words each) and one output of
/// `identity.len()` words. It must be associative with `identity` as its
/// identity for the result not to depend on the chunk size.
#[derive(Clone, Debug)]
pub struct Combine {
    /// The summary of no bytes; every chunk's result region starts with it.
    pub identity: Vec<u32>,
    /// The combine function as a payload-shaped IR function.
    pub func: Payload,
    /// The same function compiled by rustc (`#[vyre::combine]` sets it); the
    /// host uses it instead of interpreting `func`. Ignored by equality,
    /// hashing and VIR0: `func` is the definition (`tests/user_payloads.rs`
    /// checks that the two agree).
    pub native: Option<NativeCombine>,
}

impl PartialEq for Combine {
    /// Identity and IR function; the native function is not compared.
    fn eq(&self, other: &Self) -> bool {
        self.identity == other.identity && self.func == other.func
    }
}

impl Eq for Combine {}

impl std::hash::Hash for Combine {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.identity.hash(h);
        self.func.hash(h);
    }
}

/// A combine function compiled natively: `(left, right, out)`.
#[derive(Clone, Copy)]
pub struct NativeCombine(pub fn(&[u32], &[u32], &mut [u32]));

impl std::fmt::Debug for NativeCombine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NativeCombine")
    }
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
    /// For outputs and accumulators: how chunk results fold into the
    /// file's (`#[vyre(reduce = max)]`; default sum).
    pub reduce: Reduce,
}

impl Param {
    /// A parameter with the default reduction ([`Reduce::Sum`]).
    pub fn new(name: &str, kind: ParamKind, len: Option<u32>) -> Param {
        Param {
            name: name.to_string(),
            kind,
            len,
            reduce: Reduce::Sum,
        }
    }

    /// The same parameter with reduction `r`.
    pub fn reduce(mut self, r: Reduce) -> Param {
        self.reduce = r;
        self
    }
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
    /// How chunk summaries fold into the file's result, when the
    /// parameters' [`Reduce`]s are not enough (`#[vyre::payload(combine =
    /// f)]`); `None`: each result parameter folds by its `reduce`.
    pub combine: Option<Box<Combine>>,
    /// The payload compiled by rustc (`#[vyre::payload]` sets it; none for
    /// payloads built as IR or loaded from VIR0 or text), which
    /// `vyre scan --backend native` runs. Ignored by equality, hashing,
    /// VIR0 and the text form: `body` is the definition.
    pub native: NativePayload,
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
