#![allow(unused)]
use std::sync::atomic::{AtomicU32, Ordering};

struct S;

impl S {
    #[vyre::payload]
    fn p(&self, data: &[u8]) {}
}

fn main() {}
