#![allow(unused)]

#[vyre::payload]
fn p(data: &[u8], #[vyre(len = 1)] out: &mut [u32]) {
    let mut a = [0u32; 65];
    a[0] = 1;
    out[0] = a[0];
}

fn main() {}
