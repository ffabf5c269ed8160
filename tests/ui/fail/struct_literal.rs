#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

struct Pair { a: u32 }

#[vyre::payload]
fn p(data: &[u8], acc: &[AtomicU32]) {
    let s = Pair { a: 1 };
}

fn main() {}
