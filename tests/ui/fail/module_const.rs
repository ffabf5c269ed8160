#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

const LIMIT: u32 = 10;

#[vyre::payload]
fn p(data: &[u8], acc: &[AtomicU32]) {
    acc[0].store(LIMIT, Ordering::Relaxed);
}

fn main() {}
