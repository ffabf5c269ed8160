//! Expressions: values computed without control flow.

use super::types::{DataType, Literal};

/// A one-operand operation. See the [module docs](super) for exact semantics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// Arithmetic negation (wrapping for integers: `neg(i32::MIN) == i32::MIN`, `neg(u32 x) == 0 - x`).
    Neg,
    /// Bitwise complement of an integer.
    BitNot,
    /// Logical not of a bool.
    Not,
    /// Count of leading zero bits of an integer (32 for 0).
    Clz,
    /// Count of trailing zero bits of an integer (32 for 0).
    Ctz,
    /// Count of one bits of an integer.
    Popcount,
}

/// A two-operand operation. Both operands have the same type except for shifts
/// and rotates, whose right operand is always `u32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// Wrapping addition (integers) or IEEE addition (f32).
    Add,
    /// Wrapping subtraction / IEEE subtraction.
    Sub,
    /// Wrapping multiplication / IEEE multiplication.
    Mul,
    /// Division. Integers: truncating; `x / 0 == 0`; `i32::MIN / -1 == i32::MIN`.
    Div,
    /// Remainder. Integers: sign of the dividend; `x % 0 == x`; `i32::MIN % -1 == 0`.
    Rem,
    /// Bitwise and.
    BitAnd,
    /// Bitwise or.
    BitOr,
    /// Bitwise xor.
    BitXor,
    /// Shift left by `rhs & 31`.
    Shl,
    /// Shift right by `rhs & 31` (arithmetic for i32, logical for u32).
    Shr,
    /// Rotate left by `rhs & 31`.
    RotateLeft,
    /// Rotate right by `rhs & 31`.
    RotateRight,
    /// Minimum.
    Min,
    /// Maximum.
    Max,
    /// Equality (result bool).
    Eq,
    /// Inequality (result bool).
    Ne,
    /// Less than (result bool).
    Lt,
    /// Less or equal (result bool).
    Le,
    /// Greater than (result bool).
    Gt,
    /// Greater or equal (result bool).
    Ge,
    /// Short-circuit logical and of bools.
    And,
    /// Short-circuit logical or of bools.
    Or,
}

impl BinOp {
    /// True for comparisons, whose result is `bool`.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }

    /// True for shifts and rotates (right operand is `u32`).
    pub fn is_shift(self) -> bool {
        matches!(
            self,
            BinOp::Shl | BinOp::Shr | BinOp::RotateLeft | BinOp::RotateRight
        )
    }
}

/// An atomic read-modify-write (or load/store) on one buffer element.
/// Every atomic returns the element's value from before the operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    /// Returns the value; changes nothing.
    Load,
    /// Stores `value`; returns the old value.
    Store,
    /// Wrapping add.
    Add,
    /// Wrapping subtract.
    Sub,
    /// Maximum.
    Max,
    /// Minimum.
    Min,
    /// Bitwise and.
    And,
    /// Bitwise or.
    Or,
    /// Bitwise xor.
    Xor,
    /// Exchange: stores `value`, returns the old value.
    Exchange,
    /// Compare-exchange: stores `value` if the element equals `expected`;
    /// always returns the old value (success is `old == expected`).
    CompareExchange,
}

/// A built-in value of the current invocation. Dispatches are one-dimensional:
/// every id is the `x` component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// `workgroup_id * workgroup_size + local_id`.
    GlobalId,
    /// Index of the invocation inside its workgroup.
    LocalId,
    /// Index of the workgroup in the dispatch.
    WorkgroupId,
    /// Number of workgroups in the dispatch.
    NumWorkgroups,
    /// The program's workgroup size.
    WorkgroupSize,
}

/// An expression. All are pure except [`Expr::Atomic`], which may only appear
/// as the whole value of a `let`, an assignment or an `eval` node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    /// A constant.
    Lit(Literal),
    /// A local variable.
    Var(String),
    /// Element `index` of `buffer`; 0 when out of bounds.
    Load {
        /// Buffer name.
        buffer: String,
        /// Element index.
        index: Box<Expr>,
    },
    /// Number of elements of `buffer` (u32).
    Len(String),
    /// One-operand op.
    Unary {
        /// The op.
        op: UnOp,
        /// Operand.
        arg: Box<Expr>,
    },
    /// Two-operand op.
    Binary {
        /// The op.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `cond ? on_true : on_false`; both sides are evaluated.
    Select {
        /// Condition (bool).
        cond: Box<Expr>,
        /// Value when true.
        on_true: Box<Expr>,
        /// Value when false.
        on_false: Box<Expr>,
    },
    /// Value conversion (see the module docs for the exact rules).
    Cast {
        /// Target type.
        to: DataType,
        /// Operand.
        arg: Box<Expr>,
    },
    /// Reinterpret the 32 bits as another non-bool type.
    Bitcast {
        /// Target type.
        to: DataType,
        /// Operand.
        arg: Box<Expr>,
    },
    /// Atomic operation on `buffer[index]`; returns the old value (0 and no
    /// effect when out of bounds).
    Atomic {
        /// The op.
        op: AtomicOp,
        /// Buffer name.
        buffer: String,
        /// Element index.
        index: Box<Expr>,
        /// Operand (ignored by `Load`).
        value: Box<Expr>,
        /// Expected value for `CompareExchange`, `None` otherwise.
        expected: Option<Box<Expr>>,
    },
    /// An invocation id or count.
    Builtin(Builtin),
    /// `workgroupUniformLoad`: a workgroup barrier, then `buffer[index]` of a
    /// non-atomic workgroup buffer, giving every invocation the same (uniform)
    /// value. Like an atomic, it may only be the whole value of a `let` or an
    /// assignment, and it must be in uniform control flow.
    UniformLoad {
        /// Workgroup buffer name.
        buffer: String,
        /// Element index.
        index: Box<Expr>,
    },
}

fn bx(e: Expr) -> Box<Expr> {
    Box::new(e)
}

macro_rules! binary_ctors {
    ($($fn_name:ident => $op:ident),* $(,)?) => {
        $(
            #[doc = concat!("`", stringify!($fn_name), "(lhs, rhs)`: see [`BinOp::", stringify!($op), "`].")]
            pub fn $fn_name(lhs: Expr, rhs: Expr) -> Expr {
                Expr::Binary { op: BinOp::$op, lhs: bx(lhs), rhs: bx(rhs) }
            }
        )*
    };
}

macro_rules! atomic_ctors {
    ($($fn_name:ident => $op:ident),* $(,)?) => {
        $(
            #[doc = concat!("Atomic `", stringify!($op), "` on `buffer[index]`; returns the old value.")]
            pub fn $fn_name(buffer: &str, index: Expr, value: Expr) -> Expr {
                Expr::Atomic { op: AtomicOp::$op, buffer: buffer.to_string(), index: bx(index), value: bx(value), expected: None }
            }
        )*
    };
}

// The constructors are named after the IR operations they build (`Expr::add`
// builds an `add` node); they are not arithmetic on expressions, so they do
// not implement std::ops.
#[allow(clippy::should_implement_trait)]
impl Expr {
    /// Calls `f` on this expression and every sub-expression.
    pub fn walk(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Lit(_) | Expr::Var(_) | Expr::Len(_) | Expr::Builtin(_) => {}
            Expr::Load { index, .. } | Expr::UniformLoad { index, .. } => index.walk(f),
            Expr::Unary { arg, .. } | Expr::Cast { arg, .. } | Expr::Bitcast { arg, .. } => {
                arg.walk(f)
            }
            Expr::Binary { lhs, rhs, .. } => {
                lhs.walk(f);
                rhs.walk(f);
            }
            Expr::Select {
                cond,
                on_true,
                on_false,
            } => {
                cond.walk(f);
                on_true.walk(f);
                on_false.walk(f);
            }
            Expr::Atomic {
                index,
                value,
                expected,
                ..
            } => {
                index.walk(f);
                value.walk(f);
                if let Some(x) = expected {
                    x.walk(f);
                }
            }
        }
    }

    /// A `u32` literal.
    pub fn u32(v: u32) -> Expr {
        Expr::Lit(Literal::U32(v))
    }
    /// An `i32` literal.
    pub fn i32(v: i32) -> Expr {
        Expr::Lit(Literal::I32(v))
    }
    /// An `f32` literal.
    pub fn f32(v: f32) -> Expr {
        Expr::Lit(Literal::F32(v.to_bits()))
    }
    /// A `bool` literal.
    pub fn bool(v: bool) -> Expr {
        Expr::Lit(Literal::Bool(v))
    }
    /// A variable reference.
    pub fn var(name: &str) -> Expr {
        Expr::Var(name.to_string())
    }
    /// `buffer[index]` (0 when out of bounds).
    pub fn load(buffer: &str, index: Expr) -> Expr {
        Expr::Load {
            buffer: buffer.to_string(),
            index: bx(index),
        }
    }
    /// Element count of `buffer`.
    pub fn len(buffer: &str) -> Expr {
        Expr::Len(buffer.to_string())
    }
    /// A unary op.
    pub fn unary(op: UnOp, arg: Expr) -> Expr {
        Expr::Unary { op, arg: bx(arg) }
    }
    /// A binary op.
    pub fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
        Expr::Binary {
            op,
            lhs: bx(lhs),
            rhs: bx(rhs),
        }
    }
    /// Arithmetic negation.
    pub fn neg(arg: Expr) -> Expr {
        Expr::unary(UnOp::Neg, arg)
    }
    /// Bitwise complement.
    pub fn bitnot(arg: Expr) -> Expr {
        Expr::unary(UnOp::BitNot, arg)
    }
    /// Logical not.
    pub fn not(arg: Expr) -> Expr {
        Expr::unary(UnOp::Not, arg)
    }
    /// Leading zeros.
    pub fn clz(arg: Expr) -> Expr {
        Expr::unary(UnOp::Clz, arg)
    }
    /// Trailing zeros.
    pub fn ctz(arg: Expr) -> Expr {
        Expr::unary(UnOp::Ctz, arg)
    }
    /// Population count.
    pub fn popcount(arg: Expr) -> Expr {
        Expr::unary(UnOp::Popcount, arg)
    }
    binary_ctors! {
        add => Add, sub => Sub, mul => Mul, div => Div, rem => Rem,
        bitand => BitAnd, bitor => BitOr, bitxor => BitXor, shl => Shl, shr => Shr,
        rotl => RotateLeft, rotr => RotateRight, min => Min, max => Max,
        eq => Eq, ne => Ne, lt => Lt, le => Le, gt => Gt, ge => Ge, and => And, or => Or,
    }
    /// `cond ? on_true : on_false`.
    pub fn select(cond: Expr, on_true: Expr, on_false: Expr) -> Expr {
        Expr::Select {
            cond: bx(cond),
            on_true: bx(on_true),
            on_false: bx(on_false),
        }
    }
    /// Value conversion to `to`.
    pub fn cast(to: DataType, arg: Expr) -> Expr {
        Expr::Cast { to, arg: bx(arg) }
    }
    /// Bit reinterpretation as `to`.
    pub fn bitcast(to: DataType, arg: Expr) -> Expr {
        Expr::Bitcast { to, arg: bx(arg) }
    }
    /// Atomic load of `buffer[index]`.
    pub fn atomic_load(buffer: &str, index: Expr) -> Expr {
        Expr::Atomic {
            op: AtomicOp::Load,
            buffer: buffer.to_string(),
            index: bx(index),
            value: bx(Expr::u32(0)),
            expected: None,
        }
    }
    atomic_ctors! {
        atomic_store => Store, atomic_add => Add, atomic_sub => Sub, atomic_max => Max,
        atomic_min => Min, atomic_and => And, atomic_or => Or, atomic_xor => Xor,
        atomic_exchange => Exchange,
    }
    /// Atomic compare-exchange: if `buffer[index] == expected` store `value`; returns the old value.
    pub fn atomic_compare_exchange(buffer: &str, index: Expr, expected: Expr, value: Expr) -> Expr {
        Expr::Atomic {
            op: AtomicOp::CompareExchange,
            buffer: buffer.to_string(),
            index: bx(index),
            value: bx(value),
            expected: Some(bx(expected)),
        }
    }
    /// Barrier, then a uniform load of workgroup buffer element `buffer[index]`.
    pub fn uniform_load(buffer: &str, index: Expr) -> Expr {
        Expr::UniformLoad {
            buffer: buffer.to_string(),
            index: bx(index),
        }
    }
    /// Global invocation id.
    pub fn global_id() -> Expr {
        Expr::Builtin(Builtin::GlobalId)
    }
    /// Local invocation id.
    pub fn local_id() -> Expr {
        Expr::Builtin(Builtin::LocalId)
    }
    /// Workgroup id.
    pub fn workgroup_id() -> Expr {
        Expr::Builtin(Builtin::WorkgroupId)
    }
    /// Number of workgroups.
    pub fn num_workgroups() -> Expr {
        Expr::Builtin(Builtin::NumWorkgroups)
    }
    /// Workgroup size.
    pub fn workgroup_size() -> Expr {
        Expr::Builtin(Builtin::WorkgroupSize)
    }
}
