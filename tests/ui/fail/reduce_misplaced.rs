#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

// A reduction needs a result with a length; a runtime word must be a u32.
#[vyre::payload]
fn p(
    data: &[u8],
    #[vyre(reduce = max)] n: u32,
    #[vyre(chunk_offset)] lanes: vyre::Lanes,
    #[vyre(reduce = min)] acc: &[AtomicU32],
) {
    acc[0].fetch_min(n, Ordering::Relaxed);
}

fn main() {}
