#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::payload]
fn p(data: &[u8], n: i32, acc: &[AtomicU32]) {}

fn main() {}
