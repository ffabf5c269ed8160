//! The macro's own small AST of the supported Rust subset.
//!
//! It keeps the syn identifiers (and so their spans) so that the generated
//! native code and every error point at the user's source. Every expression
//! has an [`ExprId`]; the type checker ([`crate::valid`]) fills side tables
//! keyed by it.

use proc_macro2::Span;
use syn::Ident;

/// Index of an expression in the side tables.
pub type ExprId = usize;
/// Index of a local variable (a `let` or a `for` variable) in the side tables.
pub type VarId = usize;

/// Payload or helper.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FnKind {
    /// `#[vyre::payload]`
    Payload,
    /// `#[vyre::helper]`
    Helper,
    /// `#[vyre::combine]`: a payload-shaped function joining two summaries.
    Combine,
}

impl FnKind {
    /// The attribute's spelling, for messages.
    pub fn attr(self) -> &'static str {
        match self {
            FnKind::Payload => "#[vyre::payload]",
            FnKind::Helper => "#[vyre::helper]",
            FnKind::Combine => "#[vyre::combine]",
        }
    }
}

/// A scalar type of the subset.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scalar {
    U8,
    U16,
    U32,
    Usize,
    I32,
    F32,
    Bool,
}

impl Scalar {
    /// Rust spelling.
    pub fn name(self) -> &'static str {
        match self {
            Scalar::U8 => "u8",
            Scalar::U16 => "u16",
            Scalar::U32 => "u32",
            Scalar::Usize => "usize",
            Scalar::I32 => "i32",
            Scalar::F32 => "f32",
            Scalar::Bool => "bool",
        }
    }

    /// From a type name; `None` for anything else.
    pub fn from_name(s: &str) -> Option<Scalar> {
        Some(match s {
            "u8" => Scalar::U8,
            "u16" => Scalar::U16,
            "u32" => Scalar::U32,
            "usize" => Scalar::Usize,
            "i32" => Scalar::I32,
            "f32" => Scalar::F32,
            "bool" => Scalar::Bool,
            _ => return None,
        })
    }

    /// Integer types.
    pub fn is_int(self) -> bool {
        !matches!(self, Scalar::F32 | Scalar::Bool)
    }

    /// Types that the IR holds as a masked u32: the mask, else `None`.
    pub fn mask(self) -> Option<u32> {
        match self {
            Scalar::U8 => Some(0xff),
            Scalar::U16 => Some(0xffff),
            _ => None,
        }
    }
}

/// What a parameter is (mirrors `vyre::ParamKind`, plus helper scalars).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `&[u8]`
    Bytes,
    /// `u32` (payload) or any scalar (helper).
    Scalar(Scalar),
    /// `#[vyre(start)] s: u32`
    ChunkStart,
    /// `&mut [u32]`
    Output,
    /// `&[AtomicU32]`
    Accumulator,
    /// `Lanes`
    Lanes,
    /// `&[u32]` (combine functions only)
    Words,
}

/// A function parameter.
pub struct Param {
    /// Name.
    pub name: Ident,
    /// Kind.
    pub kind: ParamKind,
    /// `#[vyre(len = N)]`
    pub len: Option<u32>,
    /// `mut name: u32`
    pub mutable: bool,
    /// For a `ChunkStart`-kind parameter: the `vyre::ParamKind` variant the
    /// runtime binds it to (`ChunkStart`, `ChunkOffset`, `FileLen`, ...).
    pub position: &'static str,
    /// `#[vyre(reduce = max)]`: the `vyre::Reduce` variant.
    pub reduce: Option<&'static str>,
}

/// A parsed `#[vyre::payload]` / `#[vyre::helper]` function.
pub struct Func {
    /// Payload or helper.
    pub kind: FnKind,
    /// The function name.
    pub name: Ident,
    /// Parameters in order.
    pub params: Vec<Param>,
    /// Helper result type.
    pub ret: Option<(Scalar, Span)>,
    /// The body.
    pub body: Block,
    /// `look_behind = N`.
    pub look_behind: u32,
    /// `#[vyre::payload(combine = f)]`: the combine function's path.
    pub combine: Option<syn::Path>,
    /// `#[vyre::combine(identity = EXPR)]`: the identity summary.
    pub identity: Option<syn::Expr>,
    /// Number of expressions (size of the side tables).
    pub n_exprs: usize,
    /// Number of local variables.
    pub n_vars: usize,
}

/// `{ stmts; tail }`
pub struct Block {
    /// Statements.
    pub stmts: Vec<Stmt>,
    /// The value of the block, if it ends without `;`.
    pub tail: Option<Box<Expr>>,
}

/// A statement.
pub enum Stmt {
    /// `let [mut] name[: ty] = init;`
    Let {
        var: VarId,
        name: Ident,
        mutable: bool,
        ty: Option<(Scalar, Span)>,
        init: Expr,
    },
    /// `let [mut] name[: [ty; N]] = [v; N]` or `= [a, b, ..]`: a local
    /// fixed-size array (`1..=64` elements).
    LetArray {
        var: VarId,
        name: Ident,
        mutable: bool,
        /// The declared element type.
        elem: Option<(Scalar, Span)>,
        /// Number of elements.
        len: u32,
        init: ArrayInit,
    },
    /// `const NAME: ty = value;`
    Const { name: Ident, value: ConstValue },
    /// An expression statement.
    Expr(Expr),
}

/// The initializer of a local array.
pub enum ArrayInit {
    /// `[v; N]`: every element `v` (evaluated once).
    Repeat(Box<Expr>),
    /// `[a, b, ..]`
    List(Vec<Expr>),
}

/// One alternative of a `match` arm's pattern.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PatKind {
    /// `_`
    Wild,
    /// An integer literal.
    Lit(i64),
    /// `lo..=hi` (bounds inclusive; `None`: the type's minimum / maximum).
    Range(Option<i64>, Option<i64>),
}

/// A pattern alternative with the suffix of its literals and its span.
#[derive(Clone, Copy)]
pub struct Pat {
    /// What it matches.
    pub kind: PatKind,
    /// The type suffix of its literals, if any (`3u8`, `b'a'`).
    pub suffix: Option<Scalar>,
    /// Source span.
    pub span: Span,
    /// The spans of a range's bounds (else `span`).
    pub bound_spans: (Span, Span),
}

/// `pat | pat => body` of a `match`.
pub struct Arm {
    /// The alternatives.
    pub pats: Vec<Pat>,
    /// The body (an expression body is a block with only a tail).
    pub body: Block,
    /// The span of the patterns.
    pub span: Span,
}

/// The value of a `const` item.
#[derive(Clone)]
pub enum ConstValue {
    /// A scalar constant: the literal expression, already typed.
    Scalar { ty: Scalar, lit: Lit, span: Span },
    /// `&[u8] = b"..."`.
    Bytes(Vec<u8>, Span),
    /// `[u32; N] = expr`: a lookup table. Any Rust constant expression
    /// (a `const fn` call, an array literal); rustc evaluates it, the payload
    /// carries its words as a [`vyre::Table`].
    Table {
        /// The constant's name (the table's name in the IR).
        name: syn::Ident,
        /// The declared type, `[u32; N]`.
        ty: Box<syn::Type>,
        /// The value, as written.
        expr: Box<syn::Expr>,
        /// The name's span.
        span: Span,
    },
}

/// A literal.
#[derive(Clone, Copy, PartialEq)]
pub enum Lit {
    /// Integer with optional suffix (negative values only from folding).
    Int(i64, Option<Scalar>),
    /// f32.
    Float(f32),
    /// bool.
    Bool(bool),
}

/// Binary operators.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    /// Comparison ops (result bool).
    pub fn is_cmp(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}

/// Unary operators.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `!x`
    Not,
}

/// Integer methods.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Method {
    WrappingAdd,
    WrappingSub,
    WrappingMul,
    Min,
    Max,
    CountOnes,
    LeadingZeros,
    TrailingZeros,
    RotateLeft,
    RotateRight,
    /// `f32::to_bits`
    ToBits,
    /// `f32::abs`
    Abs,
}

impl Method {
    /// From a method name.
    pub fn from_name(s: &str) -> Option<Method> {
        Some(match s {
            "wrapping_add" => Method::WrappingAdd,
            "wrapping_sub" => Method::WrappingSub,
            "wrapping_mul" => Method::WrappingMul,
            "min" => Method::Min,
            "max" => Method::Max,
            "count_ones" => Method::CountOnes,
            "leading_zeros" => Method::LeadingZeros,
            "trailing_zeros" => Method::TrailingZeros,
            "rotate_left" => Method::RotateLeft,
            "rotate_right" => Method::RotateRight,
            "to_bits" => Method::ToBits,
            "abs" => Method::Abs,
            _ => return None,
        })
    }

    /// Number of arguments besides the receiver.
    pub fn arity(self) -> usize {
        match self {
            Method::CountOnes
            | Method::LeadingZeros
            | Method::TrailingZeros
            | Method::ToBits
            | Method::Abs => 0,
            _ => 1,
        }
    }
}

/// Atomic methods on an accumulator element.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AtomicMethod {
    Load,
    Store,
    FetchAdd,
    FetchSub,
    FetchMax,
    FetchMin,
    FetchAnd,
    FetchOr,
    FetchXor,
    Swap,
    CompareExchange,
}

impl AtomicMethod {
    /// From a method name.
    pub fn from_name(s: &str) -> Option<AtomicMethod> {
        Some(match s {
            "load" => AtomicMethod::Load,
            "store" => AtomicMethod::Store,
            "fetch_add" => AtomicMethod::FetchAdd,
            "fetch_sub" => AtomicMethod::FetchSub,
            "fetch_max" => AtomicMethod::FetchMax,
            "fetch_min" => AtomicMethod::FetchMin,
            "fetch_and" => AtomicMethod::FetchAnd,
            "fetch_or" => AtomicMethod::FetchOr,
            "fetch_xor" => AtomicMethod::FetchXor,
            "swap" => AtomicMethod::Swap,
            "compare_exchange" => AtomicMethod::CompareExchange,
            _ => return None,
        })
    }

    /// Number of value arguments (orderings not counted).
    pub fn values(self) -> usize {
        match self {
            AtomicMethod::Load => 0,
            AtomicMethod::CompareExchange => 2,
            _ => 1,
        }
    }

    /// Number of `Ordering` arguments.
    pub fn orderings(self) -> usize {
        if self == AtomicMethod::CompareExchange {
            2
        } else {
            1
        }
    }
}

/// What a `compare_exchange` result is turned into.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CxUse {
    /// Used as a statement (result discarded).
    Discard,
    /// `.is_ok()`
    IsOk,
    /// `.is_err()`
    IsErr,
}

/// The range of a `for` loop.
pub enum Range {
    /// `a..b`, `a..=b` (`inclusive`), optional `.step_by(n)`.
    Plain {
        start: Box<Expr>,
        end: Box<Expr>,
        inclusive: bool,
        step: Option<Box<Expr>>,
    },
    /// `lanes.range(a..b)`
    Lanes {
        lanes: Ident,
        start: Box<Expr>,
        end: Box<Expr>,
    },
}

/// An expression with its id and span.
pub struct Expr {
    /// Side-table index.
    pub id: ExprId,
    /// Source span.
    pub span: Span,
    /// What it is.
    pub kind: ExprKind,
}

/// Expression kinds.
pub enum ExprKind {
    /// A literal.
    Lit(Lit),
    /// A name: local, scalar parameter or constant (resolved by `valid`).
    Name(Ident),
    /// `-x`, `!x`
    Unary(UnOp, Box<Expr>),
    /// `a op b`
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `x as T`
    Cast(Box<Expr>, Scalar),
    /// `base[index]` where base is a buffer parameter, byte-string
    /// constant, table or local array.
    Index(Ident, Box<Expr>),
    /// `base.len()`
    Len(Ident),
    /// `bytes.word(w)`: bytes `4w..4w+4` of a `&[u8]` parameter as a
    /// little-endian `u32`.
    Word(Ident, Box<Expr>),
    /// `recv.method(args)`
    Method(Box<Expr>, Method, Vec<Expr>),
    /// `acc[index].op(values, orderings)`
    Atomic {
        acc: Ident,
        index: Box<Expr>,
        op: AtomicMethod,
        values: Vec<Expr>,
        orderings: Vec<syn::Expr>,
        cx: CxUse,
    },
    /// `lanes.id()`
    LaneId(Ident),
    /// `lanes.count()`
    LaneCount(Ident),
    /// A call to a `#[vyre::helper]`.
    Call(syn::Path, Vec<Expr>),
    /// `f32::from_bits(u)`.
    FromBits(Box<Expr>),
    /// `name = value` (name is a local or mutable scalar parameter).
    Assign(Ident, Box<Expr>),
    /// `name op= value`.
    CompoundAssign(BinOp, Ident, Box<Expr>),
    /// `out[index] = value` (an output or a local array).
    StoreOut(Ident, Box<Expr>, Box<Expr>),
    /// `out[index] op= value`.
    CompoundStoreOut(BinOp, Ident, Box<Expr>, Box<Expr>),
    /// `match scrutinee { arms }` on an integer.
    Match(Box<Expr>, Vec<Arm>),
    /// `if c { .. } else ..`; the else branch is a block.
    If(Box<Expr>, Block, Option<Block>),
    /// `{ .. }`
    Block(Block),
    /// `while c { .. }`
    While(Box<Expr>, Block),
    /// `loop { .. }`
    Loop(Block),
    /// `for var in range { .. }`
    For {
        var: VarId,
        name: Ident,
        range: Range,
        body: Block,
    },
    /// `break`
    Break,
    /// `continue`
    Continue,
    /// `return [value]`
    Return(Option<Box<Expr>>),
}
