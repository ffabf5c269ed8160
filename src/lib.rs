//! vyre: compile Rust payloads into a fused GPU megakernel and stream files through it.
//!
//! This facade re-exports [`vyre_core`] and the `#[vyre::payload]` macro.
pub use vyre_core::*;
