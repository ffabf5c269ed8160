#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::payload]
fn p(data: &[u8], acc: &[AtomicU32], big: u64) {
    let f = |x: u32| x;
    let t = (1u32, 2u32);
    let r = &data[0];
    let s = match 1u32 {
        x => 0u32,
    };
}

fn main() {}
