#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::payload]
fn p(data: &[u8], acc: &[AtomicU32]) {
    'outer: loop {
        break 'outer;
    }
}

fn main() {}
