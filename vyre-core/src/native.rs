//! Native semantics of `#[vyre::payload]` functions, and the small runtime
//! the generated IR builders use.
//!
//! The macro rewrites the native body of a payload so that it computes
//! exactly what the IR computes (see [`crate::ir`] for the specification):
//!
//! * `+ - *` and unary `-` on integers wrap ([`add`], [`sub`], [`mul`], [`neg`]);
//! * `x / 0 == 0`, `x % 0 == x`, `i32::MIN / -1 == i32::MIN` ([`div`], [`rem`]);
//! * shifts use the amount `n & 31` on the 32-bit value ([`shl`], [`shr`]),
//!   so `u8`/`u16` shifts behave like shifts of the `u32` they are in the IR,
//!   truncated back;
//! * `usize` is 32 bits wide: its arithmetic wraps modulo 2^32 and casts to
//!   it go through `u32`;
//! * indexing out of range reads 0 ([`load`]) and writes nothing ([`store`]),
//!   atomics out of range do nothing and return 0 ([`at`]);
//! * `step_by(0)` steps by 1 ([`step`]); `a..=b` stops at `u32::MAX - 1`
//!   ([`incl_end`]).
//!
//! Everything here is `#[inline]` and panic-free.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::ir::{Expr, Literal, Node};

/// Arithmetic with the IR's total semantics, for every type a payload uses.
pub trait Arith: Copy {
    /// Wrapping (integer) or IEEE (f32) addition.
    fn add(self, rhs: Self) -> Self;
    /// Wrapping (integer) or IEEE (f32) subtraction.
    fn sub(self, rhs: Self) -> Self;
    /// Wrapping (integer) or IEEE (f32) multiplication.
    fn mul(self, rhs: Self) -> Self;
    /// Division: `x / 0 == 0`, `i32::MIN / -1 == i32::MIN`.
    fn div(self, rhs: Self) -> Self;
    /// Remainder: `x % 0 == x`, `i32::MIN % -1 == 0`; f32: `x - y * trunc(x / y)`.
    fn rem(self, rhs: Self) -> Self;
    /// Wrapping (integer) or IEEE (f32) negation.
    fn neg(self) -> Self;
}

/// Shifts by `n & 31` on the 32-bit IR value.
pub trait Shift: Copy {
    /// `self << (n & 31)`, truncated to the type.
    fn shl(self, n: u32) -> Self;
    /// `self >> (n & 31)` (arithmetic for i32).
    fn shr(self, n: u32) -> Self;
}

macro_rules! narrow_unsigned {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline] fn add(self, rhs: Self) -> Self { self.wrapping_add(rhs) }
            #[inline] fn sub(self, rhs: Self) -> Self { self.wrapping_sub(rhs) }
            #[inline] fn mul(self, rhs: Self) -> Self { self.wrapping_mul(rhs) }
            #[inline] fn div(self, rhs: Self) -> Self { if rhs == 0 { 0 } else { self / rhs } }
            #[inline] fn rem(self, rhs: Self) -> Self { if rhs == 0 { self } else { self % rhs } }
            #[inline] fn neg(self) -> Self { self.wrapping_neg() }
        }
        impl Shift for $t {
            #[inline] fn shl(self, n: u32) -> Self { (self as u32).wrapping_shl(n) as $t }
            #[inline] fn shr(self, n: u32) -> Self { (self as u32).wrapping_shr(n) as $t }
        }
    )*};
}
narrow_unsigned!(u8, u16, u32);

impl Arith for usize {
    #[inline]
    fn add(self, rhs: Self) -> Self {
        (self as u32).wrapping_add(rhs as u32) as usize
    }
    #[inline]
    fn sub(self, rhs: Self) -> Self {
        (self as u32).wrapping_sub(rhs as u32) as usize
    }
    #[inline]
    fn mul(self, rhs: Self) -> Self {
        (self as u32).wrapping_mul(rhs as u32) as usize
    }
    #[inline]
    fn div(self, rhs: Self) -> Self {
        Arith::div(self as u32, rhs as u32) as usize
    }
    #[inline]
    fn rem(self, rhs: Self) -> Self {
        Arith::rem(self as u32, rhs as u32) as usize
    }
    #[inline]
    fn neg(self) -> Self {
        (self as u32).wrapping_neg() as usize
    }
}

impl Shift for usize {
    #[inline]
    fn shl(self, n: u32) -> Self {
        (self as u32).wrapping_shl(n) as usize
    }
    #[inline]
    fn shr(self, n: u32) -> Self {
        (self as u32).wrapping_shr(n) as usize
    }
}

impl Arith for i32 {
    #[inline]
    fn add(self, rhs: Self) -> Self {
        self.wrapping_add(rhs)
    }
    #[inline]
    fn sub(self, rhs: Self) -> Self {
        self.wrapping_sub(rhs)
    }
    #[inline]
    fn mul(self, rhs: Self) -> Self {
        self.wrapping_mul(rhs)
    }
    #[inline]
    fn div(self, rhs: Self) -> Self {
        if rhs == 0 {
            0
        } else {
            self.wrapping_div(rhs)
        }
    }
    #[inline]
    fn rem(self, rhs: Self) -> Self {
        if rhs == 0 {
            self
        } else {
            self.wrapping_rem(rhs)
        }
    }
    #[inline]
    fn neg(self) -> Self {
        self.wrapping_neg()
    }
}

impl Shift for i32 {
    #[inline]
    fn shl(self, n: u32) -> Self {
        self.wrapping_shl(n)
    }
    #[inline]
    fn shr(self, n: u32) -> Self {
        self.wrapping_shr(n)
    }
}

impl Arith for f32 {
    #[inline]
    fn add(self, rhs: Self) -> Self {
        self + rhs
    }
    #[inline]
    fn sub(self, rhs: Self) -> Self {
        self - rhs
    }
    #[inline]
    fn mul(self, rhs: Self) -> Self {
        self * rhs
    }
    #[inline]
    fn div(self, rhs: Self) -> Self {
        self / rhs
    }
    #[inline]
    fn rem(self, rhs: Self) -> Self {
        self - rhs * (self / rhs).trunc()
    }
    #[inline]
    fn neg(self) -> Self {
        -self
    }
}

/// `a + b` with IR semantics.
#[inline]
pub fn add<T: Arith>(a: T, b: T) -> T {
    a.add(b)
}
/// `a - b` with IR semantics.
#[inline]
pub fn sub<T: Arith>(a: T, b: T) -> T {
    a.sub(b)
}
/// `a * b` with IR semantics.
#[inline]
pub fn mul<T: Arith>(a: T, b: T) -> T {
    a.mul(b)
}
/// `a / b` with IR semantics (`x / 0 == 0`).
#[inline]
pub fn div<T: Arith>(a: T, b: T) -> T {
    a.div(b)
}
/// `a % b` with IR semantics (`x % 0 == x`).
#[inline]
pub fn rem<T: Arith>(a: T, b: T) -> T {
    a.rem(b)
}
/// `-a` with IR semantics (wrapping for integers).
#[inline]
pub fn neg<T: Arith>(a: T) -> T {
    a.neg()
}
/// `a << n` with IR semantics (amount `n & 31`).
#[inline]
pub fn shl<T: Shift>(a: T, n: u32) -> T {
    a.shl(n)
}
/// `a >> n` with IR semantics (amount `n & 31`).
#[inline]
pub fn shr<T: Shift>(a: T, n: u32) -> T {
    a.shr(n)
}

/// Word `w` of a byte slice: bytes `4w .. 4w + 4` as a little-endian `u32`,
/// bytes past the end read as 0 (the IR's
/// [`byte_word_load`](crate::ir::payload::byte_word_load)).
#[inline]
pub fn byte_word(s: &[u8], w: u32) -> u32 {
    let at = w as usize * 4;
    let mut b = [0u8; 4];
    for (k, x) in b.iter_mut().enumerate() {
        *x = s.get(at + k).copied().unwrap_or(0);
    }
    u32::from_le_bytes(b)
}

/// Word access to bytes, the method payloads use to read 4 bytes with one
/// load: `data.word(w)` is bytes `4w .. 4w + 4` as a little-endian `u32`,
/// bytes past the end read as 0. Inside `#[vyre::payload]` it needs no
/// import; outside, `use vyre::ByteWords`.
pub trait ByteWords {
    /// Bytes `4w .. 4w + 4` as a little-endian `u32` (0 past the end).
    fn word(&self, w: u32) -> u32;
}

impl ByteWords for [u8] {
    fn word(&self, w: u32) -> u32 {
        byte_word(self, w)
    }
}

/// `s[i]`, or zero when `i` is out of range.
#[inline]
pub fn load<T: Copy + Default>(s: &[T], i: usize) -> T {
    s.get(i).copied().unwrap_or_default()
}

/// `s[i] = v`, dropped when `i` is out of range.
#[inline]
pub fn store(s: &mut [u32], i: usize, v: u32) {
    if let Some(slot) = s.get_mut(i) {
        *slot = v;
    }
}

/// `&acc[i]`, or `sink` (a fresh zero the caller passes) when `i` is out of range.
#[inline]
pub fn at<'a>(acc: &'a [AtomicU32], i: usize, sink: &'a AtomicU32) -> &'a AtomicU32 {
    acc.get(i).unwrap_or(sink)
}

/// The step of `step_by`: 0 counts as 1.
#[inline]
pub fn step(n: usize) -> usize {
    n.max(1)
}

/// The exclusive end of `a..=b`: `b + 1`, saturating at `u32::MAX`.
#[inline]
pub fn incl_end<T: InclEnd>(b: T) -> T {
    b.incl_end()
}

/// Types a `for` range may have.
pub trait InclEnd: Copy {
    /// `self + 1`, saturating at `u32::MAX`.
    fn incl_end(self) -> Self;
}
impl InclEnd for u32 {
    #[inline]
    fn incl_end(self) -> Self {
        self.saturating_add(1)
    }
}
impl InclEnd for usize {
    #[inline]
    fn incl_end(self) -> Self {
        (self as u32).saturating_add(1) as usize
    }
}

/// `a.min(b)` on f32 with the IR's rule: a NaN operand gives the other
/// operand, and `min(+0.0, -0.0)` is `-0.0` in either order (Rust's
/// `f32::min` leaves the sign of zero unspecified).
#[inline]
pub fn fmin(a: f32, b: f32) -> f32 {
    if a.is_nan() {
        b
    } else if b.is_nan() || a < b {
        a
    } else if b < a {
        b
    } else {
        f32::from_bits(a.to_bits() | b.to_bits())
    }
}

/// `a.max(b)` on f32 with the IR's rule: a NaN operand gives the other
/// operand, and `max(+0.0, -0.0)` is `+0.0` in either order.
#[inline]
pub fn fmax(a: f32, b: f32) -> f32 {
    if a.is_nan() {
        b
    } else if b.is_nan() || a > b {
        a
    } else if b > a {
        b
    } else {
        f32::from_bits(a.to_bits() & b.to_bits())
    }
}

/// Fresh variable prefixes for inlined `#[vyre::helper]` bodies.
///
/// Used by generated code only.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct Inliner {
    next: u32,
    depth: u32,
}

impl Inliner {
    /// A new inliner.
    pub fn new() -> Inliner {
        Inliner::default()
    }

    /// Enters helper `name`: returns the prefix (`name__N__`) its variables
    /// get. Panics on helper recursion deeper than 64 (mutual recursion is
    /// not supported: the IR has no calls).
    pub fn enter(&mut self, name: &str) -> String {
        self.depth += 1;
        assert!(
            self.depth <= 64,
            "#[vyre::helper] `{name}` is inlined more than 64 levels deep: helpers may not be (mutually) recursive. Fix: write the recursion as a loop"
        );
        let n = self.next;
        self.next += 1;
        format!("{name}__{n}__")
    }

    /// Leaves the helper entered last.
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

/// Re-types an argument passed to a helper parameter: an unsuffixed integer
/// literal arrives as `u32` and gets the parameter's type (`U32`, `I32`) and
/// range (`mask`). Other expressions are returned unchanged.
#[doc(hidden)]
pub fn coerce_arg(arg: Expr, signed: bool, mask: u32) -> Expr {
    match arg {
        Expr::Lit(Literal::U32(v)) if signed => Expr::Lit(Literal::I32(v as i32)),
        Expr::Lit(Literal::U32(v)) => Expr::Lit(Literal::U32(v & mask)),
        other => other,
    }
}

/// Implemented by the marker type `Sig` that `#[vyre::helper]` generates,
/// for the helper's function-pointer type. A payload that calls the helper
/// asserts the signature it assumed, so a mismatch is a compile error.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "this #[vyre::helper] is called as `{F}`, which does not match its declaration",
    label = "the payload's type inference assumed `{F}` for this call",
    note = "vyre payloads cannot see a helper's signature; unsuffixed literals default to u32. Fix: give the argument or the result an explicit type, e.g. `let r: u8 = helper(x as u8);` or `helper(3u8)`"
)]
pub trait HelperSig<F> {}

/// Implemented by the marker type `Sig` of every `#[vyre::helper]`: a
/// payload's call of a plain function resolves to [`not_a_helper`] instead,
/// whose `Sig` lacks it, and the generated check reports that the function
/// is not a helper.
#[doc(hidden)]
pub trait IsHelper {}

/// What a payload's call of a function that is not a `#[vyre::helper]`
/// resolves to in the generated code: just enough for one clear error
/// (from the `IsHelper` check) and no other.
#[doc(hidden)]
pub mod not_a_helper {
    use crate::ir::{Expr, Node};

    /// Not a helper's marker: any signature, but not `IsHelper`.
    pub struct Sig;
    impl<F> super::HelperSig<F> for Sig {}

    /// Never called: the `IsHelper` check fails first.
    pub fn inline(_: &mut super::Inliner, _: &mut Vec<Node>, _: Vec<Expr>) -> String {
        unreachable!("not a #[vyre::helper]")
    }
}

/// Compile-time check that helper marker `S` has signature `F` (generated code only).
#[doc(hidden)]
pub fn assert_helper_sig<S: HelperSig<F>, F>() {}

/// Pushes `node` (generated code only; keeps generated code short).
#[doc(hidden)]
#[inline]
pub fn push(out: &mut Vec<Node>, node: Node) {
    out.push(node);
}

pub use crate::ir::{NativeFn, NativePayload, NativeSlot};

/// The words of a natively run slot's result region that a result
/// parameter of `len` words gets (all that is left when undeclared),
/// clipped to what is left, as the slot ABI clips them
/// (`megakernel::abi::Value::ResultLen`); returns them and the rest.
#[doc(hidden)]
#[inline]
pub fn take_words(words: &mut [u32], len: Option<u32>) -> (&mut [u32], &mut [u32]) {
    let n = len.map_or(words.len(), |l| (l as usize).min(words.len()));
    words.split_at_mut(n)
}

/// Accumulator words for a natively run slot: `words` copied into atomics,
/// written back when dropped (no `unsafe` cast of `u32`s to atomics).
#[doc(hidden)]
pub struct AtomicWords<'a> {
    words: &'a mut [u32],
    atoms: Vec<AtomicU32>,
}

impl<'a> AtomicWords<'a> {
    /// Copies `words` in.
    #[inline]
    pub fn new(words: &'a mut [u32]) -> Self {
        let atoms = words.iter().map(|&w| AtomicU32::new(w)).collect();
        AtomicWords { words, atoms }
    }

    /// The accumulator words.
    #[inline]
    pub fn atomics(&self) -> &[AtomicU32] {
        &self.atoms
    }
}

impl Drop for AtomicWords<'_> {
    fn drop(&mut self) {
        for (w, a) in self.words.iter_mut().zip(&self.atoms) {
            *w = a.load(Ordering::Relaxed);
        }
    }
}

/// An accumulator word that one thread owns while a payload's native entry
/// point runs (its slot's result region is borrowed exclusively): the
/// atomic operations as plain loads and stores, with the values and
/// returned old values the atomics give, without locked instructions.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Owned<'a>(pub &'a AtomicU32);

impl Owned<'_> {
    #[inline]
    fn update(self, f: impl FnOnce(u32) -> u32) -> u32 {
        let old = self.0.load(Ordering::Relaxed);
        self.0.store(f(old), Ordering::Relaxed);
        old
    }
    /// `load`.
    #[inline]
    pub fn load(self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }
    /// `store`.
    #[inline]
    pub fn store(self, v: u32) {
        self.0.store(v, Ordering::Relaxed)
    }
    /// `fetch_add` (wrapping).
    #[inline]
    pub fn fetch_add(self, v: u32) -> u32 {
        self.update(|x| x.wrapping_add(v))
    }
    /// `fetch_sub` (wrapping).
    #[inline]
    pub fn fetch_sub(self, v: u32) -> u32 {
        self.update(|x| x.wrapping_sub(v))
    }
    /// `fetch_max`.
    #[inline]
    pub fn fetch_max(self, v: u32) -> u32 {
        self.update(|x| x.max(v))
    }
    /// `fetch_min`.
    #[inline]
    pub fn fetch_min(self, v: u32) -> u32 {
        self.update(|x| x.min(v))
    }
    /// `fetch_and`.
    #[inline]
    pub fn fetch_and(self, v: u32) -> u32 {
        self.update(|x| x & v)
    }
    /// `fetch_or`.
    #[inline]
    pub fn fetch_or(self, v: u32) -> u32 {
        self.update(|x| x | v)
    }
    /// `fetch_xor`.
    #[inline]
    pub fn fetch_xor(self, v: u32) -> u32 {
        self.update(|x| x ^ v)
    }
    /// `swap`.
    #[inline]
    pub fn swap(self, v: u32) -> u32 {
        self.update(|_| v)
    }
    /// `compare_exchange`: `Ok(old)` and `new` stored when `old == current`,
    /// else `Err(old)`.
    #[inline]
    pub fn compare_exchange(self, current: u32, new: u32) -> Result<u32, u32> {
        let old = self.load();
        if old == current {
            self.store(new);
            Ok(old)
        } else {
            Err(old)
        }
    }
}

/// Sentinel for "no budget": loops of native code called directly never stop.
const UNLIMITED: u64 = u64::MAX;

thread_local! {
    /// Loop iterations the native code running on this thread may still
    /// start ([`UNLIMITED`] outside [`with_iteration_budget`]).
    static ITERATIONS_LEFT: std::cell::Cell<u64> = const { std::cell::Cell::new(UNLIMITED) };
    /// Whether a loop found the budget spent.
    static BUDGET_SPENT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Counts one loop iteration of native payload code against the budget of
/// [`with_iteration_budget`]: false (the loop must stop) once the budget is
/// spent. Always true outside such a call. Generated code calls it at the
/// top of every loop iteration.
#[doc(hidden)]
#[inline]
pub fn tick() -> bool {
    ITERATIONS_LEFT.with(|left| {
        let n = left.get();
        if n == UNLIMITED {
            true
        } else if n == 0 {
            BUDGET_SPENT.with(|s| s.set(true));
            false
        } else {
            left.set(n - 1);
            true
        }
    })
}

/// Counts `n` loop iterations at once (hand-written native code that does
/// the work of `n` iterations of its IR's loop without looping): false once
/// the budget cannot cover them (then it is spent, as [`tick`] leaves it).
#[doc(hidden)]
#[inline]
pub fn charge(n: u64) -> bool {
    ITERATIONS_LEFT.with(|left| {
        let have = left.get();
        if have == UNLIMITED {
            true
        } else if have < n {
            left.set(0);
            BUDGET_SPENT.with(|s| s.set(true));
            false
        } else {
            left.set(have - n);
            true
        }
    })
}

/// Runs `f` (native payload code) with at most `budget` loop iterations on
/// this thread, the native side of the slot iteration budget: past it,
/// every loop of the payload and the helpers it calls exits at its next
/// iteration, the payload returns, and this returns `(result, true)` (the
/// slot is then `FAULT_BUDGET`; its results mean nothing). Nested calls
/// restore the outer budget afterwards.
pub fn with_iteration_budget<R>(budget: u64, f: impl FnOnce() -> R) -> (R, bool) {
    struct Restore(u64, bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            ITERATIONS_LEFT.with(|l| l.set(self.0));
            BUDGET_SPENT.with(|s| s.set(self.1));
        }
    }
    let _restore = Restore(
        ITERATIONS_LEFT.with(|l| l.replace(budget.min(UNLIMITED - 1))),
        BUDGET_SPENT.with(|s| s.replace(false)),
    );
    let r = f();
    (r, BUDGET_SPENT.with(|s| s.get()))
}

/// Loop iterations the code running on this thread may still start
/// (`u64::MAX`: no budget). The JIT passes them to its code.
pub(crate) fn iterations_left() -> u64 {
    ITERATIONS_LEFT.with(|l| l.get())
}

/// After JIT code that started with `before` iterations left ended with
/// `after` (and found the budget spent when `spent`): records them as
/// [`tick`] would have. Without a budget nothing changes.
pub(crate) fn set_iterations_left(before: u64, after: u64, spent: bool) {
    if before == UNLIMITED {
        return;
    }
    ITERATIONS_LEFT.with(|l| l.set(after));
    if spent {
        BUDGET_SPENT.with(|s| s.set(true));
    }
}
