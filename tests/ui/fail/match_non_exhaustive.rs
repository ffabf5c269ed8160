#![allow(unused)]

#[vyre::payload]
fn p(data: &[u8], #[vyre(len = 1)] out: &mut [u32]) {
    let b = data[0];
    out[0] = match b {
        0..=9 => 1,
        10 | 11 => 2,
        13..=255 => 3,
    };
}

fn main() {}
