#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::payload]
fn p(data: Vec<u8>, acc: &[AtomicU32]) {}

fn main() {}
