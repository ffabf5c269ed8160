//! The vyre IR: what a program is and exactly what every operation means.
//!
//! This module documentation is the specification that the
//! [CPU reference](crate::cpu), the [WGSL lowering](crate::lower) and the
//! megakernel all obey. Where WGSL leaves a case undefined or
//! implementation-defined, the lowering emits explicit code so the GPU gives
//! the result written here.
//!
//! # Programs
//! A [`Program`] declares named buffers ([`BufferDecl`]), a workgroup size and
//! a body of [`Node`]s. A dispatch of `W` workgroups runs the body once per
//! invocation, `W * workgroup_size` invocations in all. Dispatches are
//! one-dimensional. Host-visible buffers (everything but [`Access::Workgroup`])
//! are supplied and read back as `u32` words in binding order; a buffer's
//! length is fixed by its declaration or, if `len` is `None`, by the data the
//! host supplies. Every host buffer must hold at least one element.
//!
//! # Values and types
//! Every value is 32 bits: `u32`, `i32`, `f32` or `bool` ([`DataType`]).
//! Buffers hold `u32`, `i32` or `f32`. There are no implicit conversions:
//! operands of a binary op have the same type (shift and rotate amounts are
//! always `u32`).
//!
//! # Scope
//! `let` declares a mutable variable visible until the end of the enclosing
//! block. A name may not be declared while a variable of the same name is in
//! scope (no shadowing); sibling blocks may reuse names. A `for` variable is
//! read-only inside its body.
//!
//! # Integer arithmetic
//! * `add`, `sub`, `mul`, `neg` wrap modulo 2^32 (two's complement for i32).
//! * `div` truncates toward zero. `x / 0 == 0`. `i32::MIN / -1 == i32::MIN`.
//! * `rem` has the sign of the dividend. `x % 0 == x`. `i32::MIN % -1 == 0`.
//!   So `(x / y) * y + x % y == x` always holds.
//! * `shl`, `shr`, `rotl`, `rotr` use the amount `rhs & 31`. `shr` is
//!   arithmetic (sign-filling) for i32, logical for u32.
//! * `min`, `max` compare as signed for i32, unsigned for u32.
//! * `clz`, `ctz` of 0 are 32; `popcount` counts one bits. For i32 they work
//!   on the bit pattern.
//! * `bitnot` is the bitwise complement.
//!
//! # Comparisons and logic
//! Comparisons return `bool`; i32 compares signed, u32 unsigned, f32 by IEEE
//! rules (every comparison with NaN is false except `ne`). `and`/`or` take
//! bools and short-circuit; `not` negates a bool. `select(c, a, b)` evaluates
//! both `a` and `b` (they are pure) and returns `a` if `c`.
//!
//! # f32
//! IEEE-754 binary32, round to nearest even, no fast-math reassociation.
//! `min`/`max` with a NaN operand return the other operand. GPUs may flush
//! subnormal values to zero and may return any NaN bit pattern, so results
//! are bit-identical across backends only when no subnormal or NaN value
//! arises; the differential tests keep to that domain. `div` by zero gives
//! ±inf or NaN as IEEE says. `f32 % y` is `x - y * trunc(x / y)`.
//! **f32 `div` and `rem` are not bit-exact across backends**: Vulkan allows
//! 2.5 ULP for division, and NVIDIA's driver computes `x * (1 / y)`, which
//! gives 0 when `|y| > 2^126` and differs from IEEE in the last bits
//! (measured on an H100); NaN results may have any sign and payload. The CPU
//! reference rounds correctly; only llvmpipe matches it exactly.
//!
//! # Casts ([`Expr::Cast`])
//! * u32 ↔ i32: same bits (two's complement reinterpretation).
//! * integer → f32: nearest representable value (round to nearest even).
//! * f32 → u32 / i32: truncate toward zero, saturate at the type's bounds,
//!   NaN → 0 (Rust's `as`).
//! * bool → integer: 1 or 0; bool → f32: 1.0 or 0.0.
//! * integer → bool: `x != 0`; f32 → bool: `x != 0.0` (NaN → true).
//! * A cast to the same type is the identity.
//!
//! [`Expr::Bitcast`] reinterprets the 32 bits between u32, i32 and f32.
//!
//! # Memory
//! * A load outside `0..len` returns 0 (all bits zero).
//! * A store outside `0..len` is dropped.
//! * Atomics are allowed on `read_write` and `workgroup` buffers of u32 or
//!   i32. Each returns the element's previous value; outside `0..len` an
//!   atomic does nothing and returns 0. `atomic_compare_exchange(b[i], e, v)`
//!   stores `v` only when `b[i] == e` and returns the old value. An atomic
//!   may only be the whole value of a `let`, an assignment or an `eval`.
//! * A buffer that is the target of any atomic is accessed atomically
//!   everywhere (plain loads and stores become atomic loads and stores).
//! * `uniform_load(b[i])` is a barrier followed by a load of workgroup
//!   buffer `b` whose result every invocation of the workgroup shares; it
//!   must be reached in uniform control flow, and may only be the whole
//!   value of a `let` or an assignment.
//! * Workgroup buffers start zeroed in every workgroup.
//! * Constant buffers ([`BufferDecl::constant`]) hold words that are part of
//!   the program: read only (no stores, no atomics, no `uniform_load`), a
//!   load outside `0..len` returns 0 like any other, the host does not
//!   supply them. They have a binding (the backend uploads the words there)
//!   and count against the 16 KiB of workgroup memory: the GPU lowering
//!   copies them into workgroup memory when a workgroup starts, so random
//!   lookups (CRC tables) are workgroup-memory reads.
//! * Invocations of a dispatch run in an unspecified order and interleaving.
//!   Results are defined only when invocations do not race on non-atomic
//!   elements (a store and any other access to the same element by different
//!   invocations without a barrier between them). The CPU reference runs
//!   invocations one after the other within each barrier phase.
//!
//! # Control flow
//! * `for v in start..end step s`: `start`, `end`, `s` are evaluated once;
//!   `s == 0` counts as 1; `v` takes `start, start+s, ...` while `v < end`;
//!   the counter stops instead of wrapping past `u32::MAX`.
//! * `loop` repeats until `break` or `return`. `break`/`continue` act on the
//!   innermost `for` or `loop`; `continue` in a `for` advances the counter.
//! * `barrier` synchronises the workgroup (workgroup and storage memory). It
//!   must be in uniform control flow: see the [validator](crate::validate).
//! * `return` ends the invocation.
//! * Backends bound execution: the CPU reference stops a program that runs
//!   more than its step budget with an error; GPU drivers may do likewise
//!   (device loss). Payloads run by the megakernel get an explicit
//!   iteration budget.

mod display;
mod expr;
mod native_entry;
mod node;
mod parse;
pub mod payload;
mod table;
mod types;
mod visit;

/// Deepest statement nesting the parser and VIR0 decoder accept and the
/// validator's default limit (`validate::Limits::DEFAULT`).
pub(crate) const MAX_NODE_DEPTH: u32 = 64;
/// Deepest expression tree the parser and VIR0 decoder accept and the
/// validator's default limit (`validate::Limits::DEFAULT`).
pub(crate) const MAX_EXPR_DEPTH: u32 = 64;

pub use self::payload::{Combine, Lanes, NativeCombine, Param, ParamKind, Payload, Reduce, Table};
pub use display::nodes_to_text;
pub use expr::{AtomicOp, BinOp, Builtin, Expr, UnOp};
pub use native_entry::{NativeFn, NativePayload, NativeSlot};
pub use node::{Node, Program};
pub use parse::{parse_payload, parse_program, ParseError};
pub use types::{Access, BufferDecl, DataType, Literal};
pub use visit::{any_expr, walk_exprs, walk_nodes, walk_nodes_mut};
