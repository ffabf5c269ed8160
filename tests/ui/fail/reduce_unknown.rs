#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::payload]
fn p(data: &[u8], #[vyre(len = 1, reduce = median)] acc: &[AtomicU32]) {
    acc[0].fetch_add(1, Ordering::Relaxed);
}

fn main() {}
