#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::payload]
fn p(data: &[u8], acc: &[AtomicU32]) {
    if let Some(b) = data.first() {
        acc[0].store(*b as u32, Ordering::Relaxed);
    }
}

fn main() {}
