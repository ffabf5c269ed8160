//! vyre-core: the vyre IR, its validator, the CPU reference interpreter, the
//! WGSL lowering and the wgpu backend.
//!
//! Flow: build a [`ir::Program`] (by hand or with `#[vyre::payload]`),
//! [`validate::validate`] it, run it on a [`backend::Backend`]: the
//! [`cpu::CpuBackend`] oracle or the [`gpu::WgpuBackend`].
#![warn(missing_docs)]

pub mod backend;
pub mod cpu;
pub mod error;
pub mod feeder;
pub mod gpu;
pub mod jit;
pub use megakernel::interp;
pub mod ir;
pub mod lower;
pub mod megakernel;
#[doc(hidden)]
pub mod native;
pub mod validate;
pub mod vir0;

pub use backend::{Backend, DeviceArena, HostBuffers};
pub use error::{Error, Result};
pub use ir::{
    Access, AtomicOp, BinOp, BufferDecl, Builtin, Combine, DataType, Expr, Lanes, Literal,
    NativeCombine, NativePayload, NativeSlot, Node, Param, ParamKind, Payload, Program, Reduce,
    Table, UnOp,
};
pub use native::ByteWords;
