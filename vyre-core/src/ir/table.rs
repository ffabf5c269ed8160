//! The one table of each IR enum: every variant, in a fixed order, with its
//! text-form name.
//!
//! Each enum gets, from [`ir_table!`]:
//! * `ALL`: every variant. A variant's position in `ALL` is its **VIR0 byte
//!   code** (the `vir0` module), so the order is part of the binary format:
//!   append new variants at the end, never reorder (the golden digests of
//!   `tests/vir0_std_payloads.rs` would move). `ALL` is checked at compile
//!   time to be the declaration order of the enum, so `code` is `self as u8`.
//! * `name` / `from_name`: the spelling in the text form (`add`, `atomic_add`,
//!   `@global_id` without the `@`, `read_write`, `chunk_start`, ...).
//! * `code` / `from_code`: the VIR0 byte code (the index in `ALL`).
//!
//! The text printer and parser (`ir::display`, `ir::parse`), VIR0
//! (`vir0::codes`), the WGSL lowering and the tests all use these tables;
//! none of them lists the variants again.

use super::expr::{AtomicOp, BinOp, Builtin, UnOp};
use super::payload::{ParamKind, Reduce};
use super::types::{Access, DataType};

macro_rules! ir_table {
    ($ty:ident, $what:literal { $($v:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            #[doc = concat!("Every `", stringify!($ty), "`, in VIR0 code order (append only).")]
            pub const ALL: &'static [$ty] = &[$($ty::$v),*];

            #[doc = concat!("The ", $what, "'s name in the text form.")]
            pub const fn name(self) -> &'static str {
                // Names every variant, so a new variant is a compile error
                // here until it gets a name (and a place in `ALL`).
                match self {
                    $($ty::$v => $name),*
                }
            }

            #[doc = concat!("The ", $what, " whose text-form name is `name`.")]
            pub fn from_name(name: &str) -> Option<$ty> {
                match name {
                    $($name => Some($ty::$v),)*
                    _ => None,
                }
            }

            #[doc = concat!("The ", $what, "'s VIR0 byte code: its index in [`", stringify!($ty), "::ALL`].")]
            pub const fn code(self) -> u8 {
                self as u8
            }

            #[doc = concat!("The ", $what, " with VIR0 byte code `code`.")]
            pub fn from_code(code: u8) -> Option<$ty> {
                $ty::ALL.get(usize::from(code)).copied()
            }
        }

        // `ALL` lists the variants in declaration order, so `self as u8` is
        // the index in `ALL` (and every variant is in `ALL` once).
        const _: () = {
            let mut i = 0;
            while i < $ty::ALL.len() {
                assert!($ty::ALL[i] as usize == i);
                i += 1;
            }
        };
    };
}

ir_table!(DataType, "type" {
    U32 => "u32", I32 => "i32", F32 => "f32", Bool => "bool",
});

ir_table!(Access, "access" {
    ReadOnly => "read",
    ReadWrite => "read_write",
    Uniform => "uniform",
    Workgroup => "workgroup",
    Constant => "constant",
});

ir_table!(ParamKind, "parameter kind" {
    Bytes => "bytes",
    Scalar => "scalar",
    Output => "output",
    Accumulator => "accumulator",
    Lanes => "lanes",
    ChunkStart => "chunk_start",
    IoQueue => "io_queue",
    Debug => "debug",
    Words => "words",
    ChunkOffset => "chunk_offset",
    ChunkOffsetHi => "chunk_offset_hi",
    FileLen => "file_len",
    FileLenHi => "file_len_hi",
    ChunkIndex => "chunk_index",
});

ir_table!(Reduce, "reduction" {
    Sum => "sum",
    Min => "min",
    Max => "max",
    And => "and",
    Or => "or",
    Xor => "xor",
});

ir_table!(UnOp, "op" {
    Neg => "neg",
    BitNot => "bitnot",
    Not => "not",
    Clz => "clz",
    Ctz => "ctz",
    Popcount => "popcount",
});

ir_table!(BinOp, "op" {
    Add => "add",
    Sub => "sub",
    Mul => "mul",
    Div => "div",
    Rem => "rem",
    BitAnd => "bitand",
    BitOr => "bitor",
    BitXor => "bitxor",
    Shl => "shl",
    Shr => "shr",
    RotateLeft => "rotl",
    RotateRight => "rotr",
    Min => "min",
    Max => "max",
    Eq => "eq",
    Ne => "ne",
    Lt => "lt",
    Le => "le",
    Gt => "gt",
    Ge => "ge",
    And => "and",
    Or => "or",
});

ir_table!(AtomicOp, "op" {
    Load => "atomic_load",
    Store => "atomic_store",
    Add => "atomic_add",
    Sub => "atomic_sub",
    Max => "atomic_max",
    Min => "atomic_min",
    And => "atomic_and",
    Or => "atomic_or",
    Xor => "atomic_xor",
    Exchange => "atomic_exchange",
    CompareExchange => "atomic_compare_exchange",
});

ir_table!(Builtin, "builtin" {
    GlobalId => "global_id",
    LocalId => "local_id",
    WorkgroupId => "workgroup_id",
    NumWorkgroups => "num_workgroups",
    WorkgroupSize => "workgroup_size",
});

/// `a, b, c or d`: the names of `all`, for `Fix:` messages.
pub(crate) fn name_list<T: Copy, S: ToString>(all: &[T], name: impl Fn(T) -> S) -> String {
    let names: Vec<String> = all.iter().map(|&x| name(x).to_string()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(
            all: &[T],
            name: fn(T) -> &'static str,
            from_name: fn(&str) -> Option<T>,
            code: fn(T) -> u8,
            from_code: fn(u8) -> Option<T>,
        ) {
            for (i, &x) in all.iter().enumerate() {
                assert_eq!(from_name(name(x)), Some(x));
                assert_eq!(usize::from(code(x)), i);
                assert_eq!(from_code(code(x)), Some(x));
            }
            assert_eq!(from_code(all.len() as u8), None);
            assert_eq!(from_name("no_such_name"), None);
        }
        check(
            DataType::ALL,
            DataType::name,
            DataType::from_name,
            DataType::code,
            DataType::from_code,
        );
        check(
            Access::ALL,
            Access::name,
            Access::from_name,
            Access::code,
            Access::from_code,
        );
        check(
            ParamKind::ALL,
            ParamKind::name,
            ParamKind::from_name,
            ParamKind::code,
            ParamKind::from_code,
        );
        check(
            Reduce::ALL,
            Reduce::name,
            Reduce::from_name,
            Reduce::code,
            Reduce::from_code,
        );
        check(
            UnOp::ALL,
            UnOp::name,
            UnOp::from_name,
            UnOp::code,
            UnOp::from_code,
        );
        check(
            BinOp::ALL,
            BinOp::name,
            BinOp::from_name,
            BinOp::code,
            BinOp::from_code,
        );
        check(
            AtomicOp::ALL,
            AtomicOp::name,
            AtomicOp::from_name,
            AtomicOp::code,
            AtomicOp::from_code,
        );
        check(
            Builtin::ALL,
            Builtin::name,
            Builtin::from_name,
            Builtin::code,
            Builtin::from_code,
        );
    }

    #[test]
    fn vir0_codes_are_pinned() {
        // The codes are part of VIR0: these must never change.
        assert_eq!((DataType::Bool.code(), Access::Constant.code()), (3, 4));
        assert_eq!((ParamKind::Debug.code(), UnOp::Popcount.code()), (7, 5));
        assert_eq!((BinOp::RotateLeft.code(), BinOp::Or.code()), (10, 21));
        assert_eq!(AtomicOp::CompareExchange.code(), 10);
        assert_eq!(Builtin::WorkgroupSize.code(), 4);
    }

    #[test]
    fn name_lists() {
        assert_eq!(
            name_list(DataType::ALL, DataType::name),
            "u32, i32, f32 or bool"
        );
        assert_eq!(
            name_list(Builtin::ALL, |b| format!("@{}", b.name())),
            "@global_id, @local_id, @workgroup_id, @num_workgroups or @workgroup_size"
        );
        assert_eq!(
            name_list(Access::ALL, Access::name),
            "read, read_write, uniform, workgroup or constant"
        );
    }
}
