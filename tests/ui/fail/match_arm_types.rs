#![allow(unused)]

#[vyre::payload]
fn p(data: &[u8], #[vyre(len = 1)] out: &mut [u32]) {
    let v = match data.len() {
        0 => 1u32,
        1 => 2.5,
        _ => 3,
    };
    out[0] = v;
}

fn main() {}
