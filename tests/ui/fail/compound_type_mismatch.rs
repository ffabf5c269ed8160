#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::payload]
fn p(data: &[u8], acc: &[AtomicU32]) {
    let mut n = 0u32;
    for i in 0..data.len() {
        n += data[i];
    }
    acc[0].fetch_add(n, Ordering::Relaxed);
}

fn main() {}
