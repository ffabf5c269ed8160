#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::payload]
fn p(data: &[u8], out: &mut [u8]) {}

fn main() {}
