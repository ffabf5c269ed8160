//! vyre: compile Rust payloads into a fused GPU megakernel and stream files through it.
//!
//! This facade re-exports [`vyre_core`] and the `#[vyre::payload]` macro.
pub use vyre_core::*;

// Lets `#[vyre::payload]` expansions (which name `::vyre`) work inside this crate too.
extern crate self as vyre;

/// `#[vyre::payload]` and `#[vyre::helper]`: see [`payloads`] for the supported Rust subset.
pub use vyre_macros::{helper, payload};

pub mod payloads;
pub mod scan;
