#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::helper]
fn to_lower(b: u8) -> u8 {
    b | 0x20
}

#[vyre::payload]
fn p(data: &[u8], out: &mut [u32]) {
    let l = to_lower(data[0]);
    out[0] = l;
}

fn main() {}
