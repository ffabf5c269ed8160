//! Support for payloads' native entry points (`vyre scan --backend native`):
//! splitting a slot's result region, accumulator words, and the iteration
//! budget every re-emitted loop iteration counts against.

use std::sync::atomic::{AtomicU32, Ordering};

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
