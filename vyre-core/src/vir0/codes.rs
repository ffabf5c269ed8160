//! The byte codes of VIR0: the statement and expression opcodes and the
//! section tags. The code of an IR enum value (a type, an access, a
//! parameter kind, an op, a builtin) is its index in the enum's table in
//! `crate::ir` (`BinOp::ALL`, `BinOp::code`, `BinOp::from_code`, ...): those
//! tables are part of the format, append to them, never reorder.

/// Section tags, in the order the sections appear.
pub(crate) mod section {
    /// The string table.
    pub(crate) const STRINGS: u8 = 1;
    /// Program buffers or payload parameters.
    pub(crate) const DECLS: u8 = 2;
    /// The statements.
    pub(crate) const BODY: u8 = 3;
    /// A payload's combine (only when it has one): identity and function.
    pub(crate) const COMBINE: u8 = 4;
}

/// Set in a parameter's kind byte when a reduction byte follows (a
/// reduction other than sum).
pub(crate) const PARAM_REDUCE_FLAG: u8 = 0x80;

/// Statement opcodes.
pub(crate) mod node {
    pub(crate) const LET: u8 = 0x01;
    pub(crate) const ASSIGN: u8 = 0x02;
    pub(crate) const STORE: u8 = 0x03;
    pub(crate) const EVAL: u8 = 0x04;
    pub(crate) const IF: u8 = 0x05;
    pub(crate) const FOR: u8 = 0x06;
    pub(crate) const LOOP: u8 = 0x07;
    pub(crate) const BLOCK: u8 = 0x08;
    pub(crate) const BREAK: u8 = 0x09;
    pub(crate) const CONTINUE: u8 = 0x0A;
    pub(crate) const BARRIER: u8 = 0x0B;
    pub(crate) const RETURN: u8 = 0x0C;
}

/// Expression opcodes. The op families take a base plus the op's table code.
pub(crate) mod expr {
    pub(crate) const LIT_U32: u8 = 0x01;
    pub(crate) const LIT_I32: u8 = 0x02;
    pub(crate) const LIT_F32: u8 = 0x03;
    pub(crate) const LIT_FALSE: u8 = 0x04;
    pub(crate) const LIT_TRUE: u8 = 0x05;
    pub(crate) const VAR: u8 = 0x06;
    pub(crate) const LOAD: u8 = 0x07;
    pub(crate) const LEN: u8 = 0x08;
    pub(crate) const SELECT: u8 = 0x09;
    pub(crate) const CAST: u8 = 0x0A;
    pub(crate) const BITCAST: u8 = 0x0B;
    pub(crate) const UNIFORM_LOAD: u8 = 0x0C;
    pub(crate) const UNARY: u8 = 0x10;
    pub(crate) const BINARY: u8 = 0x20;
    pub(crate) const ATOMIC: u8 = 0x40;
    pub(crate) const ATOMIC_EXPECTED: u8 = 0x50;
    pub(crate) const BUILTIN: u8 = 0x60;
}
