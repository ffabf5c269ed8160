//! The interpreter's internal form of a program: numbered variable slots,
//! buffer indices, and operations already resolved by operand type.

use crate::ir::Builtin;

/// A unary operation resolved by operand type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Un {
    NegI,
    NegF,
    BitNot,
    Not,
    Clz,
    Ctz,
    Popcount,
}

/// A binary operation resolved by operand type (`I` = any integer where the
/// bit result is the same for u32 and i32, `U` unsigned, `S` signed, `F` f32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bin {
    AddI,
    SubI,
    MulI,
    DivU,
    DivS,
    RemU,
    RemS,
    AddF,
    SubF,
    MulF,
    DivF,
    RemF,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    ShrU,
    ShrS,
    Rotl,
    Rotr,
    MinU,
    MinS,
    MinF,
    MaxU,
    MaxS,
    MaxF,
    EqBits,
    NeBits,
    EqF,
    NeF,
    LtU,
    LtS,
    LtF,
    LeU,
    LeS,
    LeF,
    GtU,
    GtS,
    GtF,
    GeU,
    GeS,
    GeF,
}

/// A value conversion resolved by source and target type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Conv {
    /// Same bits (same type, u32 <-> i32, bool -> integer).
    Id,
    U2F,
    S2F,
    F2U,
    F2S,
    B2F,
    /// Integer -> bool (`x != 0`).
    I2B,
    /// f32 -> bool (`x != 0.0`, NaN -> true).
    F2B,
}

/// An atomic operation resolved by element signedness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Atom {
    Load,
    Store,
    Add,
    Sub,
    MaxU,
    MaxS,
    MinU,
    MinS,
    And,
    Or,
    Xor,
    Exchange,
    CmpXchg,
}

/// One step of an expression's postfix code, which runs on a stack of
/// 32-bit values (bools are 0 or 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Push a constant.
    Lit(u32),
    /// Push a variable slot.
    Var(u32),
    /// Replace the index on top with the element of buffer `.0` (0 out of bounds).
    Load(u32),
    /// Push the length of buffer `.0`.
    Len(u32),
    /// Push an id.
    Builtin(Builtin),
    /// Apply to the top value.
    Un(Un),
    /// Pop the right operand and combine it into the left one.
    Bin(Bin),
    /// Combine the constant right operand `.1` into the top value.
    BinLit(Bin, u32),
    /// Combine variable slot `.1`, the right operand, into the top value.
    BinVar(Bin, u32),
    /// Pop `on_false`, `on_true`; replace the condition with the chosen one.
    Select,
    /// Convert the top value.
    Conv(Conv),
    /// Short-circuit `and`: if the top is false keep it and jump to `.0`,
    /// else pop it and go on with the right operand.
    JumpIfFalse(u32),
    /// Short-circuit `or`: if the top is true keep it and jump to `.0`,
    /// else pop it and go on with the right operand.
    JumpIfTrue(u32),
}

/// A pure expression as postfix code; running it leaves exactly one value.
#[derive(Clone, Debug)]
pub(crate) struct CExpr(pub Box<[Op]>);

impl CExpr {
    /// A constant.
    pub fn lit(v: u32) -> Self {
        CExpr(Box::new([Op::Lit(v)]))
    }
}

/// An atomic on `buf[index]`; `expected` is only used by compare-exchange.
#[derive(Clone, Debug)]
pub(crate) struct CAtomic {
    pub op: Atom,
    pub buf: u32,
    pub index: CExpr,
    pub value: CExpr,
    pub expected: CExpr,
}

/// A statement.
#[derive(Clone, Debug)]
pub(crate) enum CNode {
    /// `let` or assignment of a pure value.
    Set {
        slot: u32,
        value: CExpr,
    },
    /// An atomic whose old value goes to `slot` (`None` for `eval`).
    Atomic {
        slot: Option<u32>,
        atomic: Box<CAtomic>,
    },
    /// Barrier, load of `buf[index]`, barrier; the value goes to `slot`.
    UniformLoad {
        slot: u32,
        buf: u32,
        index: CExpr,
    },
    Store {
        buf: u32,
        index: CExpr,
        value: CExpr,
    },
    /// `eval` of a pure expression: no effect.
    Nop,
    If {
        cond: CExpr,
        then: Vec<CNode>,
        otherwise: Vec<CNode>,
    },
    For {
        slot: u32,
        start: CExpr,
        end: CExpr,
        step: CExpr,
        body: Vec<CNode>,
    },
    Loop {
        body: Vec<CNode>,
    },
    Break,
    Continue,
    Block(Vec<CNode>),
    Barrier,
    Return,
}

/// A program ready to run.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub body: Vec<CNode>,
    /// Variable slots per invocation.
    pub n_slots: usize,
    /// True when the body contains a barrier or a uniform load.
    pub has_barrier: bool,
    /// Number of host buffers (memory indices `0..n_host`).
    pub n_host: usize,
    /// Lengths of the workgroup buffers (memory indices `n_host..`).
    pub workgroup_lens: Vec<u32>,
    /// The constant tables' words (memory indices after the workgroup buffers).
    pub constants: Vec<Vec<u32>>,
}
