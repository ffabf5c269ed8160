#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::payload]
fn p(data: &[u8], acc: &[AtomicU32]) {
    let x = loop {
        break 5u32;
    };
}

fn main() {}
