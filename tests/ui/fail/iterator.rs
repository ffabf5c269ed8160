#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::payload]
fn p(data: &[u8], acc: &[AtomicU32]) {
    for b in data.iter() {
        acc[0].fetch_add(1, Ordering::Relaxed);
    }
}

fn main() {}
