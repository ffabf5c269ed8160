//! The byte codes of VIR0: one table per IR enum (a value's code is its index
//! in the table) and the statement and expression opcodes. The tables are
//! part of the format: append to them, never reorder. The text parser uses
//! the same tables to look up names, so each lists every variant.

use crate::ir::{Access, AtomicOp, BinOp, Builtin, DataType, ParamKind, UnOp};

macro_rules! code_table {
    ($(#[$doc:meta])* $table:ident, $code:ident, $ty:ident { $($v:ident),* $(,)? }) => {
        $(#[$doc])*
        pub(crate) const $table: &[$ty] = &[$($ty::$v),*];

        /// The byte code of a value: its index in the table.
        pub(crate) fn $code(x: $ty) -> u8 {
            // Names every variant, so a new variant is a compile error here
            // until it gets a code.
            match x {
                $($ty::$v)|* => {}
            }
            $table.iter().position(|&t| t == x).unwrap_or(0) as u8
        }
    };
}

code_table!(
    /// `DataType` codes.
    TYPES, type_code, DataType { U32, I32, F32, Bool }
);
code_table!(
    /// `Access` codes.
    ACCESSES, access_code, Access { ReadOnly, ReadWrite, Uniform, Workgroup, Constant }
);
code_table!(
    /// `ParamKind` codes.
    PARAM_KINDS, param_kind_code, ParamKind { Bytes, Scalar, Output, Accumulator, Lanes, ChunkStart, IoQueue, Debug }
);
code_table!(
    /// `UnOp` codes (added to [`expr::UNARY`]).
    UNOPS, unop_code, UnOp { Neg, BitNot, Not, Clz, Ctz, Popcount }
);
code_table!(
    /// `BinOp` codes (added to [`expr::BINARY`]).
    BINOPS, binop_code, BinOp {
        Add, Sub, Mul, Div, Rem, BitAnd, BitOr, BitXor, Shl, Shr, RotateLeft, RotateRight,
        Min, Max, Eq, Ne, Lt, Le, Gt, Ge, And, Or,
    }
);
code_table!(
    /// `AtomicOp` codes (added to [`expr::ATOMIC`] or [`expr::ATOMIC_EXPECTED`]).
    ATOMICS, atomic_code, AtomicOp { Load, Store, Add, Sub, Max, Min, And, Or, Xor, Exchange, CompareExchange }
);
code_table!(
    /// `Builtin` codes (added to [`expr::BUILTIN`]).
    BUILTINS, builtin_code, Builtin { GlobalId, LocalId, WorkgroupId, NumWorkgroups, WorkgroupSize }
);

/// Section tags, in the order the sections appear.
pub(crate) mod section {
    /// The string table.
    pub(crate) const STRINGS: u8 = 1;
    /// Program buffers or payload parameters.
    pub(crate) const DECLS: u8 = 2;
    /// The statements.
    pub(crate) const BODY: u8 = 3;
}

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
