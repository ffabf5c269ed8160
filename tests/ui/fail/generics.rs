#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::payload]
fn p<T: Copy>(data: &[u8], acc: &[AtomicU32]) {}

fn main() {}
