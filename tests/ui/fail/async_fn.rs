#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

#[vyre::payload]
async fn p(data: &[u8]) {}

fn main() {}
