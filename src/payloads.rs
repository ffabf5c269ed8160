//! Standard payloads, written as plain Rust with `#[vyre::payload]`, and the
//! reference for what the macro accepts.
//!
//! Each payload here is an ordinary Rust function (call it on the CPU) plus a
//! module of the same name whose `payload()` returns its [`Payload`](crate::Payload):
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use vyre::payloads::line_count;
//! let counts = [AtomicU32::new(0)];
//! line_count(b"a\nb\nc", &counts, vyre::Lanes::all());
//! assert_eq!(counts[0].load(Ordering::Relaxed), 2);
//! let program = line_count::payload().to_program(64); // the same function as IR
//! # let _ = program;
//! ```
//!
//! # Writing a payload
//!
//! ```ignore
//! #[vyre::payload]                      // or #[vyre::payload(look_behind = N)]
//! fn name(data: &[u8], #[vyre(len = 1)] acc: &[AtomicU32], lanes: vyre::Lanes) { .. }
//! ```
//!
//! Parameters: `&[u8]` (input bytes), `u32` (a scalar; `mut` allowed; a
//! scan fixes it when it is set up: `Scan::payload_with_args`, `vyre scan
//! --arg NAME.PARAM=VALUE`), `&mut [u32]` (output words), `&[AtomicU32]`
//! (accumulator words, any path ending in `AtomicU32`), `vyre::Lanes`.
//! `#[vyre(len = N)]` fixes the number of words of an output or
//! accumulator. The return type is `()`.
//!
//! Words the runtime knows about the chunk, each a `u32` parameter with an
//! attribute (called natively on a whole buffer, pass what they would be
//! for it: 0, or the buffer's length):
//! * `#[vyre(start)]` — index in `data` of the first byte the chunk owns
//!   (after the look-behind, see [`ParamKind::ChunkStart`](crate::ParamKind));
//! * `#[vyre(chunk_offset)]` / `#[vyre(chunk_offset_hi)]` — the file offset
//!   of `data[start]`, low / high 32 bits;
//! * `#[vyre(file_len)]` / `#[vyre(file_len_hi)]` — the file's length;
//! * `#[vyre(chunk_index)]` — the chunk's index in its file.
//!
//! # Per-file results: reductions and combines
//!
//! A scan runs a payload on every chunk of a file and folds the chunks'
//! result words, in file order, into the file's result. Each output or
//! accumulator says how, with `#[vyre(len = N, reduce = OP)]`: `sum` (the
//! default; folded in 64 bits), `min`, `max`, `and`, `or`, `xor` (unsigned
//! `u32` words). Every chunk's region starts at the reduction's identity
//! (`min` and `and` at `u32::MAX`, the others at 0), so lanes combine into
//! it with the matching atomic (`fetch_min`, `fetch_and`, ...).
//!
//! When a file's result is not a per-word reduction (a longest line, a
//! CRC), the payload writes a *summary* of its chunk and names a combine:
//!
//! ```ignore
//! #[vyre::payload(combine = join)]
//! fn summary(data: &[u8], #[vyre(len = 3)] s: &mut [u32], lanes: vyre::Lanes) { .. }
//!
//! #[vyre::combine(identity = [0, 0, 0])]    // the summary of no bytes
//! fn join(left: &[u32], right: &[u32], #[vyre(len = 3)] out: &mut [u32]) { .. }
//! ```
//! The host folds `acc = join(acc, chunk)` from the identity, in file order
//! (natively compiled; the combine's IR travels with the payload in VIR0 and
//! the text form and runs on the CPU reference for loaded payloads). The
//! combine must be associative with the identity as its identity, so the
//! result does not depend on the chunk size. Read results with
//! [`vyre::scan::ScanFile::get`](crate::scan::ScanFile::get) as your own
//! type ([`FromWords`](crate::scan::FromWords)). `examples/user_payloads.rs`
//! has one payload of each kind; [`crc32`](fn@crate::scan::crc::crc32) is the
//! scan's own CRC-32 this way.
//!
//! `#[vyre::helper] fn f(a: u32, b: u8) -> u32 { .. }` marks a function of
//! scalars that payloads (and other helpers) may call; it is inlined, so
//! `return` works but recursion does not.
//!
//! # The Rust subset
//!
//! * Types `u8`, `u16`, `u32`, `usize`, `i32`, `f32`, `bool`. `usize` is 32
//!   bits wide (its arithmetic wraps at 2^32). Unsuffixed integer literals take
//!   the type their context needs and default to **`u32`** (not `i32`).
//! * `let` / `let mut` (with or without a type), shadowing, assignment and
//!   compound assignment (`+=`, `<<=`, ...), `const NAME: u32 = 5;` and
//!   `const NEEDLE: &[u8] = b"...";` declared inside the function.
//! * Lookup tables: `const T: [u32; N] = EXPR;` inside a payload, where
//!   `EXPR` is any Rust constant expression (a `const fn` call, an array
//!   literal, a module-level `const`), evaluated by rustc in the payload's
//!   module. `T[i]` reads a word (0 past the end), `T.len()` its length.
//!   The payload carries the words as a [`Table`](crate::Table); fused into
//!   the megakernel, all tables share one constant buffer that each
//!   workgroup copies into workgroup memory when it starts (16 KiB in all
//!   with the kernel's own workgroup memory). On the bytecode interpreter
//!   the words travel with the payload's bytecode and each read is one
//!   instruction, with the same results. `crc32_blocks` (`vyre::scan::crc`)
//!   uses one for slice-by-4 CRC.
//! * Literals: integers, `f32`, `bool`, bytes (`b'\n'`); `u8::MAX`-style limits.
//! * Operators: arithmetic, bit operations, shifts, comparisons, `&&`/`||`
//!   (short-circuit), `!`, unary `-` on `i32`/`f32`, `as` between the types
//!   above (never to `bool`: write `x != 0`).
//! * `match` on an integer (`u8`, `u16`, `u32`, `usize`, `i32`), as a
//!   statement or as a value (all arms of one type): arms of integer
//!   literals (`3`, `-1`, `b'a'`, `u8::MAX`), `a | b`, ranges (`lo..=hi`,
//!   `lo..hi`, `lo..`) and `_`; no bindings or guards. A `match` without
//!   `_` must cover every value of its type (on `usize` it needs `_`). It
//!   becomes an `if` / `else if` chain in the IR.
//! * Local arrays of 1 to 64 elements of the types above:
//!   `let mut a = [0u32; 16];`, `let b: [u8; 3] = [x, y, z];` (the length
//!   a literal). `a[i]` (index `usize`), `a[i] = v`, `a[i] += v` (any
//!   `op=`), `a.len()`. Reads past the end give 0 and writes past the end
//!   are dropped, as for buffers. In the IR an array is one variable per
//!   element (a read selects among them), so small arrays are cheap and
//!   large ones are not. Arrays cannot be copied, assigned whole, passed to
//!   helpers or returned.
//! * Tuples, only to bind several values at once: `let (a, mut b) = (x, y);`
//!   (with `_` components and an optional `: (u32, u8)` type) and
//!   `let (lo, hi) = if c { (x, y) } else { (y, x) };` (each branch just a
//!   tuple). All values are computed before any name is bound, so
//!   `let (a, b) = (b, a);` swaps.
//! * `if`/`else` as statements and as values; `while`; `loop`; `break`;
//!   `continue`; `return`; `for v in a..b`, `a..=b`, `(a..b).step_by(n)` and
//!   `lanes.range(a..b)` over `u32` or `usize`.
//! * Buffers: `data[i]` (index `usize`), `data.len()`, `out[i] = v`,
//!   `out[i] += v`, `acc[i].load/store/fetch_add/fetch_sub/fetch_max/fetch_min/
//!   fetch_and/fetch_or/fetch_xor/swap(.., Ordering)` and
//!   `acc[i].compare_exchange(cur, new, o1, o2)` as a statement or followed by
//!   `.is_ok()` / `.is_err()`. All orderings mean relaxed.
//! * Methods: `wrapping_add/sub/mul`, `min`, `max`, `count_ones`,
//!   `leading_zeros`, `trailing_zeros`, `rotate_left/right` (u32/i32);
//!   on `f32`: `to_bits()`, `f32::from_bits(u)`, `abs()`, `min`, `max`
//!   (a NaN operand gives the other operand; `min(0.0, -0.0)` is `-0.0`
//!   and `max` of them `+0.0`, in either order), `x.sqrt()` (correctly
//!   rounded like `f32::sqrt`, computed on the integer bits by
//!   [`vyre::float::f32_sqrt`](fn@crate::float::f32_sqrt), so every backend
//!   gives the same bits; NaN results are `0x7fc0_0000`).
//! * `data.word(w)` on the `&[u8]` input: bytes `4w .. 4w + 4` as a
//!   little-endian `u32` (bytes past the end read 0) with one load, where
//!   `data[i]` costs a load per byte. Outside a payload it is
//!   [`vyre::ByteWords`](crate::ByteWords).
//! * `lanes.id()`, `lanes.count()`, calls to `#[vyre::helper]` functions.
//!
//! Everything else (closures, references, structs, other uses of tuples,
//! generics, traits, `match` on non-integers or with bindings or guards,
//! iterator adapters (`.iter()`, `.map(..)`, `.sum()`, ...), calls of
//! functions that are not `#[vyre::helper]`s, `?`, `async`,
//! `unsafe`, macros, heap types, 64/128-bit integers, writes to inputs,
//! ...) is a compile error at
//! the offending span, with a `Fix:`; all errors are reported at once.
//!
//! # Semantics: native ≡ IR
//!
//! The macro re-emits the native body so that it computes exactly what the IR
//! computes (`vyre_core::native` lists the rules): integer
//! overflow **wraps** (no panics, in debug builds too); `x / 0 == 0`,
//! `x % 0 == x`; shift amounts are taken `& 31` on the 32-bit value (so
//! `200u8 << 9 == 0`, unlike `u8::wrapping_shl`); out-of-range reads (of
//! buffers and local arrays) give 0 and out-of-range writes and atomics are
//! dropped; f32 `min`/`max` follow the IR's rule for NaN and ±0; `step_by(0)` steps by 1;
//! `a..=b` stops at `u32::MAX - 1` at the latest.
//!
//! Helper calls: the macro cannot see a helper's signature. It infers it from
//! the call: unsuffixed literal arguments take the parameter's type; the
//! result type comes from how it is used, else it is taken to be the type of
//! the first argument (else `u32`). The generated code checks the assumed
//! signature at compile time and asks for an annotation (`let r: bool = f(x);`)
//! when it was wrong.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::Lanes;

/// Initial value of the [`crc32()`] state word: the host stores it in the
/// output before the first chunk.
pub const CRC32_INIT: u32 = 0xFFFF_FFFF;

/// The CRC-32 of everything fed through [`crc32()`], from its final state word.
pub fn crc32_finish(state: u32) -> u32 {
    !state
}

/// Newline bytes (`b'\n'`) in the 4 bytes of `w`, without a branch (SWAR:
/// a byte is `\n` exactly when its XOR with `0x0a` is zero).
#[vyre::helper]
pub fn newlines_in_word(w: u32) -> u32 {
    const LOW7: u32 = 0x7f7f_7f7f;
    let x = w ^ 0x0a0a_0a0a;
    // High bit of each byte set exactly when that byte of `x` is nonzero.
    let nonzero = ((x & LOW7) + LOW7) | x;
    4 - (nonzero & 0x8080_8080).count_ones()
}

/// Counts newline bytes (`b'\n'`) and adds the count to `counts[0]`.
///
/// The lanes split the bytes a 4-byte word at a time: each iteration a lane
/// loads 4 words, `count` words apart (lane `id` reads words `id`,
/// `id + count`, ..., so neighbouring lanes read neighbouring words), so four
/// independent loads are in flight per lane. Each word is counted with
/// [`newlines_in_word()`]; a lane adds its share with one atomic. Bytes past
/// the end read as 0, which is not a newline.
#[vyre::payload]
pub fn line_count(data: &[u8], #[vyre(len = 1)] counts: &[AtomicU32], lanes: Lanes) {
    let mut n = 0;
    let words = (data.len() as u32 + 3) / 4;
    let c = lanes.count();
    for w in (lanes.id()..words).step_by((4 * c) as usize) {
        let a = data.word(w);
        let b = data.word(w + c);
        let d = data.word(w + 2 * c);
        let e = data.word(w + 3 * c);
        n += newlines_in_word(a) + newlines_in_word(b) + newlines_in_word(d) + newlines_in_word(e);
    }
    if n != 0 {
        counts[0].fetch_add(n, Ordering::Relaxed);
    }
}

/// Adds the number of occurrences of each byte value `b` to `bins[b]` (256 bins).
///
/// Lanes read a word (4 bytes) per iteration and add each of its bytes that
/// lies before the end. In the megakernel the 256 bins live in workgroup
/// memory while the slot runs (`megakernel/privatize.rs`),
/// so the adds do not contend for global memory.
#[vyre::payload]
pub fn byte_histogram(data: &[u8], #[vyre(len = 256)] bins: &[AtomicU32], lanes: Lanes) {
    let len = data.len() as u32;
    for w in lanes.range(0..(len + 3) / 4) {
        let x = data.word(w);
        let left = len - w * 4;
        bins[(x & 255) as usize].fetch_add(1, Ordering::Relaxed);
        if left > 1 {
            bins[((x >> 8) & 255) as usize].fetch_add(1, Ordering::Relaxed);
        }
        if left > 2 {
            bins[((x >> 16) & 255) as usize].fetch_add(1, Ordering::Relaxed);
        }
        if left > 3 {
            bins[(x >> 24) as usize].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Counts the (overlapping) occurrences of the literal `abab` and adds them to
/// `count[0]`: in `ababab` it occurs twice.
///
/// Matches are counted at their last byte, and only when that byte is at an
/// index `>= start`: with `look_behind = 3` the feeder gives each chunk the
/// last 3 bytes of the previous one, so a match across a chunk boundary is
/// counted exactly once. Called natively on a whole buffer, pass `start = 0`.
#[vyre::payload(look_behind = 3)]
pub fn count_needle(
    data: &[u8],
    #[vyre(start)] start: u32,
    #[vyre(len = 1)] count: &[AtomicU32],
    lanes: Lanes,
) {
    const NEEDLE: &[u8] = b"abab";
    let n = NEEDLE.len() as u32;
    let len = data.len() as u32;
    let mut found = 0;
    for end in lanes.range(start.max(n - 1)..len) {
        let first = end + 1 - n;
        let mut k = 0;
        while k < n && data[(first + k) as usize] == NEEDLE[k as usize] {
            k += 1;
        }
        if k == n {
            found += 1;
        }
    }
    if found != 0 {
        count[0].fetch_add(found, Ordering::Relaxed);
    }
}

/// CRC-32 (IEEE 802.3, reflected polynomial `0xEDB88320`, the value
/// `crc32fast` computes), bit by bit.
///
/// `state[0]` holds the raw CRC state: start it at [`CRC32_INIT`], run the
/// chunks of a file in order (each continues from the state the previous one
/// left), and the file's CRC is [`crc32_finish`]`(state[0])`. The work is
/// sequential, so lane 0 does it all and the other lanes return at once.
#[vyre::payload]
pub fn crc32(data: &[u8], #[vyre(len = 1)] state: &mut [u32], lanes: Lanes) {
    const POLY: u32 = 0xEDB8_8320;
    if lanes.id() != 0 {
        return;
    }
    let mut crc = state[0];
    for i in 0..data.len() {
        crc ^= data[i] as u32;
        for _ in 0..8 {
            if crc & 1 != 0 {
                crc = (crc >> 1) ^ POLY;
            } else {
                crc >>= 1;
            }
        }
    }
    state[0] = crc;
}

/// Counts bytes that are not ASCII (`>= 0x80`) and adds the count to `count[0]`:
/// a quick "is this text plain ASCII" check.
#[vyre::payload]
pub fn non_ascii_count(data: &[u8], #[vyre(len = 1)] count: &[AtomicU32], lanes: Lanes) {
    let mut n = 0;
    for i in lanes.range(0..data.len() as u32) {
        n += (data[i as usize] >> 7) as u32;
    }
    if n != 0 {
        count[0].fetch_add(n, Ordering::Relaxed);
    }
}
