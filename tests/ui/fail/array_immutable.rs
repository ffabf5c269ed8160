#![allow(unused)]

#[vyre::payload]
fn p(data: &[u8], #[vyre(len = 1)] out: &mut [u32]) {
    let a = [0u32; 4];
    a[1] = 5;
    out[0] = a[1];
}

fn main() {}
