#![allow(unused)]

#[vyre::helper]
fn first(a: u32) -> u32 {
    a
}

#[vyre::payload]
fn p(data: &[u8], #[vyre(len = 1)] out: &mut [u32]) {
    let a = [1u32, 2, 3];
    out[0] = first(a);
}

fn main() {}
