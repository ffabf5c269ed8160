//! A JIT for payloads without rustc-compiled native code (loaded from VIR0
//! or text, or built as IR): [`compile`] turns a payload's IR into machine
//! code with Cranelift and returns a [`NativePayload`], the entry point
//! type `#[vyre::payload]` generates, so `vyre scan --backend native` runs
//! such payloads at native-class speed instead of on the CPU reference.
//!
//! The code has the IR's exact semantics ([`crate::ir`]): wrapping integer
//! arithmetic, `x / 0 == 0`, `x % 0 == x`, shifts by `n & 31`, the f32
//! rules of the CPU reference (min/max with NaN and ±0), Rust `as` casts.
//! It binds the parameters as the slot ABI does for one lane (`lanes__id =
//! 0`, `lanes__count = 1`): the slot's data (4 bytes a word, bytes past its
//! end read 0), start, scalars and position words, the result region split
//! into the result parameters. Every access is confined to the slot: data
//! words, result words and the payload's own tables; a load elsewhere
//! gives 0, a store or atomic elsewhere does nothing. Every loop iteration
//! counts against the iteration budget of
//! [`native::with_iteration_budget`](crate::native::with_iteration_budget),
//! like native code: once it is spent the payload returns and the budget
//! reports the slot as spent.
//!
//! What it cannot compile (barriers, `uniform_load`, invocation builtins,
//! `len()` of a parameter, the I/O queue and debug log parameters) makes
//! [`compile`] return an error, and the caller runs the payload on the CPU
//! reference instead.

mod expr;
mod idiom;
mod lower;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cranelift_jit::{JITBuilder, JITModule};

use crate::error::{Error, Result};
use crate::ir::{NativePayload, NativeSlot, Payload};

/// The memory a compiled payload reads its slot from (layout shared with
/// `lower.rs`, which loads the fields at these offsets).
#[repr(C)]
struct Ctx {
    /// The slot's bytes.
    data: *const u8,
    /// Their number.
    data_len: u64,
    /// The slot's result words.
    results: *mut u32,
    /// Their number.
    results_len: u64,
    /// The bound variables' values, in the order of [`Compiled::binds`].
    vars: *const u32,
    /// Loop iterations left (in), what is left of them (out).
    budget: u64,
    /// Set to 1 when a loop found the budget spent.
    spent: u32,
}

const CTX_DATA: i32 = 0;
const CTX_DATA_LEN: i32 = 8;
const CTX_RESULTS: i32 = 16;
const CTX_RESULTS_LEN: i32 = 24;
const CTX_VARS: i32 = 32;
const CTX_BUDGET: i32 = 40;
const CTX_SPENT: i32 = 48;

/// What a variable the slot binds holds (see `megakernel::abi::bindings`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bind {
    /// A constant (`data__off`, lanes).
    Const(u32),
    /// The slot's data length in bytes.
    DataLen,
    /// Scalar argument `k` (0 when the slot has fewer).
    Arg(usize),
    /// A position word of the slot.
    Start,
    ChunkOffset,
    ChunkOffsetHi,
    FileLen,
    FileLenHi,
    ChunkIndex,
    /// A result parameter's word count after `before` words, clipped.
    ResultLen {
        before: u32,
        declared: Option<u32>,
    },
}

impl Bind {
    fn value(self, slot: &NativeSlot<'_>) -> u32 {
        match self {
            Bind::Const(v) => v,
            Bind::DataLen => slot.data.len().min(u32::MAX as usize) as u32,
            Bind::Arg(k) => slot.args.get(k).copied().unwrap_or(0),
            Bind::Start => slot.start,
            Bind::ChunkOffset => slot.chunk_offset,
            Bind::ChunkOffsetHi => slot.chunk_offset_hi,
            Bind::FileLen => slot.file_len,
            Bind::FileLenHi => slot.file_len_hi,
            Bind::ChunkIndex => slot.chunk_index,
            Bind::ResultLen { before, declared } => {
                let out = slot.results.len().min(u32::MAX as usize) as u32;
                let left = out - before.min(out);
                declared.map_or(left, |d| d.min(left))
            }
        }
    }
}

/// A compiled payload: its machine code and what it needs while it runs.
struct Compiled {
    /// Owns the code; freed on drop.
    module: Option<JITModule>,
    /// The entry point, `extern "C" fn(*mut Ctx)`.
    entry: unsafe extern "C" fn(*mut Ctx),
    /// Variables bound at entry, in the order the code reads them.
    binds: Vec<Bind>,
    /// The payload's tables, which the code reads by address.
    _tables: Vec<Arc<[u32]>>,
}

// SAFETY: after `finalize_definitions` the code and the tables are never
// written again; the module is only touched again by `Drop`, which has
// exclusive access. Running the code from several threads at once is fine:
// it keeps all its state in the `Ctx` each call passes.
unsafe impl Send for Compiled {}
// SAFETY: as above: shared access only calls the immutable code.
unsafe impl Sync for Compiled {}

impl Drop for Compiled {
    fn drop(&mut self) {
        if let Some(m) = self.module.take() {
            // SAFETY: `entry` points into this module's memory and is only
            // reachable through `self`, which is being dropped: no call of
            // the code can be running or happen later.
            unsafe { m.free_memory() };
        }
    }
}

impl Compiled {
    /// Runs the code on `slot` under the current thread's iteration budget.
    fn run(&self, slot: &mut NativeSlot<'_>) {
        let mut vars: [u32; 16] = [0; 16];
        let mut heap = Vec::new();
        let vars: &mut [u32] = if self.binds.len() <= vars.len() {
            &mut vars[..self.binds.len()]
        } else {
            heap.resize(self.binds.len(), 0);
            &mut heap
        };
        for (v, b) in vars.iter_mut().zip(&self.binds) {
            *v = b.value(slot);
        }
        let data = &slot.data[..slot.data.len().min(u32::MAX as usize)];
        let left = crate::native::iterations_left();
        let mut ctx = Ctx {
            data: data.as_ptr(),
            data_len: data.len() as u64,
            results: slot.results.as_mut_ptr(),
            results_len: slot.results.len() as u64,
            vars: vars.as_ptr(),
            budget: left,
            spent: 0,
        };
        // SAFETY: the code reads `data_len` bytes at `data`, at most
        // `results_len` words at `results` (bounds-checked in the code,
        // `lower.rs`) and `binds.len()` words at `vars`, all borrowed for
        // the call; it writes only result words and the budget fields of
        // `ctx`. It cannot fault: divisions are guarded and every access is
        // checked.
        unsafe { (self.entry)(&mut ctx) };
        crate::native::set_iterations_left(left, ctx.budget, ctx.spent != 0);
    }
}

/// Compiles `payload`'s IR to machine code: a [`NativePayload`] with the
/// semantics of `#[vyre::payload]`'s native entry point (one lane). An
/// error says what the JIT does not support; run the payload on the CPU
/// reference then.
pub fn compile(payload: &Payload) -> Result<NativePayload> {
    let c = Arc::new(compile_inner(payload)?);
    Ok(NativePayload::from_fn(move |slot: &mut NativeSlot<'_>| {
        c.run(slot)
    }))
}

/// [`compile`], cached per payload (by its IR) for the life of the
/// process: a payload is compiled once however many scans run it.
pub fn compile_cached(payload: &Payload) -> Result<NativePayload> {
    static CACHE: Mutex<Option<HashMap<Payload, NativePayload>>> = Mutex::new(None);
    let mut g = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let map = g.get_or_insert_with(HashMap::new);
    if let Some(n) = map.get(payload) {
        return Ok(n.clone());
    }
    let n = compile(payload)?;
    let mut key = payload.clone();
    key.native = NativePayload::none();
    map.insert(key, n.clone());
    Ok(n)
}

fn unsupported(payload: &Payload, what: impl std::fmt::Display) -> Error {
    Error::bad_input(
        format!("payload `{}`: the JIT cannot compile {what}", payload.name),
        "run it on the CPU reference (`vyre scan --backend native` does so by itself)",
    )
}

fn compile_inner(payload: &Payload) -> Result<Compiled> {
    if cfg!(target_endian = "big") {
        return Err(unsupported(payload, "for a big-endian host"));
    }
    // The payload's standalone program must be valid IR: the lowering
    // relies on well-typed expressions and declared variables.
    let program = payload.to_program(1);
    if let Err(problems) = crate::validate::validate(&program) {
        return Err(unsupported(
            payload,
            format!(
                "an invalid payload: {}",
                problems
                    .first()
                    .map_or_else(String::new, |d| format!("{d:?}"))
            ),
        ));
    }
    let mut flags = cranelift_codegen::settings::builder();
    use cranelift_codegen::settings::Configurable;
    let set = |f: &mut cranelift_codegen::settings::Builder, k: &str, v: &str| {
        f.set(k, v)
            .map_err(|e| Error::internal(format!("JIT setting {k}={v}: {e}")))
    };
    set(&mut flags, "opt_level", "speed")?;
    set(&mut flags, "is_pic", "false")?;
    set(&mut flags, "use_colocated_libcalls", "false")?;
    let isa = cranelift_native::builder()
        .map_err(|e| unsupported(payload, format!("for this host: {e}")))?
        .finish(cranelift_codegen::settings::Flags::new(flags))
        .map_err(|e| Error::internal(format!("JIT target: {e}")))?;
    let mut module = JITModule::new(JITBuilder::with_isa(
        isa,
        cranelift_module::default_libcall_names(),
    ));
    let out = lower::lower(payload, &mut module).map_err(|e| match e {
        lower::Fail::Unsupported(what) => unsupported(payload, what),
        lower::Fail::Internal(what) => {
            Error::internal(format!("JIT of payload `{}`: {what}", payload.name))
        }
    })?;
    // SAFETY: the function was defined with the signature
    // `fn(ptr)` (`lower::lower`) and the system-V/host calling convention
    // that `extern "C"` names; the module stays alive in `Compiled`.
    let entry = unsafe {
        std::mem::transmute::<*const u8, unsafe extern "C" fn(*mut Ctx)>(
            module.get_finalized_function(out.func),
        )
    };
    Ok(Compiled {
        module: Some(module),
        entry,
        binds: out.binds,
        _tables: out.tables,
    })
}

/// Word `w` of the slot's data when it is not wholly inside it: its bytes
/// that are, little-endian, the others 0. Called by the compiled code.
extern "C" fn tail_word(ctx: *const Ctx, w: u32) -> u32 {
    // SAFETY: the compiled code passes the `Ctx` it was called with, whose
    // `data` and `data_len` describe a live slice (`Compiled::run`).
    let data = unsafe { std::slice::from_raw_parts((*ctx).data, (*ctx).data_len as usize) };
    crate::native::byte_word(data, w)
}
