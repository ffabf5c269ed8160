#![allow(dead_code)]

pub mod gpu;
pub mod jit;
pub mod progen;
