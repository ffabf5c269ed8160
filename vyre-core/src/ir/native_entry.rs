//! A payload's native entry point: the payload compiled by rustc, called
//! with one slot's words ([`NativeSlot`]). `#[vyre::payload]` sets it
//! ([`Payload::native`](super::Payload::native)); payloads built as IR or
//! loaded from VIR0 or text have none. It is not part of the payload's
//! definition (the IR is): equality, hashing, VIR0 and the text form
//! ignore it.

use std::sync::Arc;

/// One slot as a natively run payload sees it: the same words the slot
/// ABI (`megakernel::abi::bindings`) binds on the GPU, run by one lane
/// ([`Lanes::all`](super::Lanes::all)).
#[derive(Debug)]
pub struct NativeSlot<'a> {
    /// The slot's bytes, look-behind included (the payload's `&[u8]`).
    pub data: &'a [u8],
    /// Index in `data` of the first byte the slot owns (`#[vyre(start)]`).
    pub start: u32,
    /// Scalar arguments, in the order of the payload's scalar parameters.
    pub args: &'a [u32],
    /// File offset of `data[start]`, low 32 bits (`#[vyre(chunk_offset)]`).
    pub chunk_offset: u32,
    /// File offset of `data[start]`, high 32 bits.
    pub chunk_offset_hi: u32,
    /// The file's length, low 32 bits (`#[vyre(file_len)]`).
    pub file_len: u32,
    /// The file's length, high 32 bits.
    pub file_len_hi: u32,
    /// The chunk's index in its file (`#[vyre(chunk_index)]`).
    pub chunk_index: u32,
    /// The slot's result region, preset to its initial words
    /// (`megakernel::abi::initial_results`): the result parameters'
    /// regions one after the other, in declaration order.
    pub results: &'a mut [u32],
}

/// The type of a native entry point.
pub type NativeFn = dyn Fn(&mut NativeSlot<'_>) + Send + Sync;

/// A payload's native entry point, if it has one. Always equal to any
/// other and hashed as nothing, so [`Payload`](super::Payload) equality,
/// hashing and VIR0 round trips see only the IR.
#[derive(Clone, Default)]
pub struct NativePayload(pub Option<Arc<NativeFn>>);

impl NativePayload {
    /// No native code: the payload runs only as IR.
    pub fn none() -> NativePayload {
        NativePayload(None)
    }

    /// The entry point `f` (what `#[vyre::payload]` generates).
    pub fn new(f: fn(&mut NativeSlot<'_>)) -> NativePayload {
        NativePayload(Some(Arc::new(f)))
    }

    /// An entry point that captures data (e.g. run-time patterns).
    pub fn from_fn(f: impl Fn(&mut NativeSlot<'_>) + Send + Sync + 'static) -> NativePayload {
        NativePayload(Some(Arc::new(f)))
    }

    /// Whether there is native code.
    pub fn is_some(&self) -> bool {
        self.0.is_some()
    }

    /// Runs the native code on `slot`; false when there is none.
    pub fn call(&self, slot: &mut NativeSlot<'_>) -> bool {
        match &self.0 {
            Some(f) => {
                f(slot);
                true
            }
            None => false,
        }
    }

    /// The entry point with its `index`-th scalar argument fixed to
    /// `value`: the returned code takes one argument fewer (the ones after
    /// `index` move up), as the payload does after
    /// `scan::bind_scalar` removed the parameter.
    pub fn bind_scalar(&self, index: usize, value: u32) -> NativePayload {
        let Some(inner) = self.0.clone() else {
            return NativePayload::none();
        };
        NativePayload::from_fn(move |slot: &mut NativeSlot<'_>| {
            let mut args = Vec::with_capacity(slot.args.len() + 1);
            let at = index.min(slot.args.len());
            args.extend_from_slice(&slot.args[..at]);
            args.push(value);
            args.extend_from_slice(&slot.args[at..]);
            let mut s = NativeSlot {
                data: slot.data,
                start: slot.start,
                args: &args,
                chunk_offset: slot.chunk_offset,
                chunk_offset_hi: slot.chunk_offset_hi,
                file_len: slot.file_len,
                file_len_hi: slot.file_len_hi,
                chunk_index: slot.chunk_index,
                results: &mut *slot.results,
            };
            inner(&mut s);
        })
    }
}

impl PartialEq for NativePayload {
    /// Always true: the IR is the definition.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for NativePayload {}

impl std::hash::Hash for NativePayload {
    /// Hashes nothing (see [`PartialEq`]).
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl std::fmt::Debug for NativePayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Some(_) => "NativePayload(<fn>)",
            None => "NativePayload(none)",
        })
    }
}
