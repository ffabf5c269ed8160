//! Which bytecode op each IR construct becomes, and which instruction words
//! are registers: one table shared by the compiler and the bytecode check.

use super::op;
use crate::ir::{BinOp, DataType};

/// Which instruction words (`d, a, b, c`) name registers, for `op`.
pub(super) fn reg_fields(o: u32) -> [bool; 4] {
    match o {
        op::RET | op::ITER | op::JMP => [false; 4],
        op::JZ => [false, true, false, false],
        op::CONST | op::BUILTIN | op::SLOTIX | op::CTRLW | op::SLOTW => [true, false, false, false],
        op::STR | op::STQ | op::STG => [false, true, true, false],
        op::SEL | op::CASR | op::CASQ | op::CASG => [true; 4],
        // ATR/ATQ, FORNEXT and the ALU ops: d, a, b.
        _ => [true, true, true, false],
    }
}

/// The op for a binary IR op on operands of type `ty`, and whether the
/// operands are swapped (`a > b` is `b < a`).
pub(super) fn binary_op(b: BinOp, ty: DataType) -> (u32, bool) {
    use DataType::*;
    let f = ty == F32;
    let i = ty == I32;
    let pick = |uo: u32, io: u32, fo: u32| {
        if f {
            fo
        } else if i {
            io
        } else {
            uo
        }
    };
    match b {
        BinOp::Add => (pick(op::ADD, op::ADD, op::FADD), false),
        BinOp::Sub => (pick(op::SUB, op::SUB, op::FSUB), false),
        BinOp::Mul => (pick(op::MUL, op::MUL, op::FMUL), false),
        BinOp::Div => (pick(op::UDIV, op::IDIV, op::FDIV), false),
        BinOp::Rem => (pick(op::UREM, op::IREM, op::FREM), false),
        BinOp::BitAnd | BinOp::And => (op::AND, false),
        BinOp::BitOr | BinOp::Or => (op::OR, false),
        BinOp::BitXor => (op::XOR, false),
        BinOp::Shl => (op::SHL, false),
        BinOp::Shr => (pick(op::USHR, op::ISHR, op::USHR), false),
        BinOp::RotateLeft => (op::ROTL, false),
        BinOp::RotateRight => (op::ROTR, false),
        BinOp::Min => (pick(op::UMIN, op::IMIN, op::FMIN), false),
        BinOp::Max => (pick(op::UMAX, op::IMAX, op::FMAX), false),
        BinOp::Eq => (pick(op::EQ, op::EQ, op::FEQ), false),
        BinOp::Ne => (pick(op::NE, op::NE, op::FNE), false),
        BinOp::Lt => (pick(op::ULT, op::ILT, op::FLT), false),
        BinOp::Le => (pick(op::ULE, op::ILE, op::FLE), false),
        BinOp::Gt => (pick(op::ULT, op::ILT, op::FLT), true),
        BinOp::Ge => (pick(op::ULE, op::ILE, op::FLE), true),
    }
}

/// The op converting a value of type `from` to `to` (see the IR cast rules).
pub(super) fn cast_op(from: DataType, to: DataType) -> u32 {
    use DataType::*;
    match (from, to) {
        (U32, F32) => op::CVT_UF,
        (I32, F32) => op::CVT_IF,
        (F32, U32) => op::CVT_FU,
        (F32, I32) => op::CVT_FI,
        (Bool, F32) => op::CVT_BF,
        (U32 | I32, Bool) => op::CVT_XB,
        (F32, Bool) => op::CVT_FB,
        // Same bits: u32 <-> i32, bool -> integer (0/1), identity.
        _ => op::MOV,
    }
}
