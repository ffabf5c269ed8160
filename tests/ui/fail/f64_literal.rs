#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::payload]
fn p(data: &[u8], acc: &[AtomicU32]) {
    let x = 1.5f64;
}

fn main() {}
