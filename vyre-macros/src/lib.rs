//! `#[vyre::payload]` (work in progress).
