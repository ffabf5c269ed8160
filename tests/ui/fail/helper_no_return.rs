#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::helper]
fn h(x: u32) {}

fn main() {}
