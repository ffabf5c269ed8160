#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::payload(lookbehind = 2)]
fn p(data: &[u8]) {}

fn main() {}
