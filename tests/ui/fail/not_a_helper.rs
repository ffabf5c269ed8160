#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

fn double(x: u32) -> u32 {
    x * 2
}

#[vyre::payload]
fn p(data: &[u8], acc: &[AtomicU32]) {
    let n = double(data.len() as u32);
    acc[0].fetch_add(n, Ordering::Relaxed);
}

fn main() {}
