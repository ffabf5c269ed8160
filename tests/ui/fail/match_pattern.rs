#![allow(unused)]

#[vyre::payload]
fn p(data: &[u8], #[vyre(len = 1)] out: &mut [u32]) {
    out[0] = match data[0] {
        0 => 1,
        x if x > 100 => 2,
        y => y as u32,
    };
}

fn main() {}
