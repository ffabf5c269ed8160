#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::helper]
fn h(data: &[u8]) -> u32 {
    0
}

fn main() {}
