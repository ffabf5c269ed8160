#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::payload]
fn p(data: &[u8], acc: &[AtomicU32]) {
    let inc = |x: u32| x + 1;
}

fn main() {}
