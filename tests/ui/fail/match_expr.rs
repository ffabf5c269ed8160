#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::payload]
fn p(data: &[u8], acc: &[AtomicU32]) {
    let k = match data.len() {
        0 => 1u32,
        _ => 2,
    };
}

fn main() {}
