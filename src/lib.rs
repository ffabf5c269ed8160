//! vyre: compile Rust payloads into a fused GPU megakernel and stream files
//! through it.
//!
//! * Write a payload: an ordinary Rust function marked [`payload`] (the
//!   supported subset is in [`payloads`]); it stays callable natively and
//!   `name::payload()` gives its IR ([`Payload`]).
//! * Run payloads over files: [`scan`] ([`scan::scan`], [`scan::ScanConfig`]).
//! * Run them yourself: a [`megakernel::Megakernel`] on a [`Backend`] —
//!   [`gpu::WgpuBackend`] (any GPU through wgpu) or [`cpu::CpuBackend`]
//!   (the bit-exact reference).
//! * The IR itself: [`ir`] (its module docs are the semantics),
//!   [`validate`], [`lower::to_wgsl`], the portable bytecode [`vir0`], the
//!   GPU interpreter [`interp`], the file [`feeder`].
//!
//! Library users who do not need the `vyre` command can turn off the
//! default `cli` feature (it pulls in clap and indicatif).
#![warn(missing_docs)]

// Lets `#[vyre::payload]` expansions (which name `::vyre`) work inside this crate too.
extern crate self as vyre;

/// `#[vyre::payload]`, `#[vyre::combine]` and `#[vyre::helper]`: see [`payloads`] for the supported Rust subset.
pub use vyre_macros::{combine, helper, payload};

pub use vyre_core::{cpu, feeder, gpu, interp, ir, lower, megakernel, validate, vir0};
pub use vyre_core::{
    Access, AtomicOp, BinOp, BufferDecl, Builtin, Combine, DataType, Expr, Lanes, Literal,
    NativeCombine, NativePayload, NativeSlot, Node, Param, ParamKind, Payload, Program, Reduce,
    Table, UnOp,
};
pub use vyre_core::{Backend, ByteWords, DeviceArena, Error, HostBuffers, Result};

pub mod float;
pub mod payloads;
pub mod scan;

/// Support code for the expansions of `#[vyre::payload]` and
/// `#[vyre::helper]`; not an API.
#[doc(hidden)]
pub mod __private {
    pub use crate::float::f32_sqrt;
    pub use vyre_core::native;
}
