#![allow(unused)]

#[vyre::payload]
fn p(x: u32, #[vyre(len = 1)] out: &mut [u32]) {
    let f = f32::from_bits(x);
    out[0] = f.sqrt().to_bits();
}

fn main() {}
