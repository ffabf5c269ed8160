#![allow(unused)]

#[vyre::payload]
fn p(x: u32, #[vyre(len = 1)] out: &mut [u32]) {
    let s = x as i32;
    out[0] = s.abs() as u32;
}

fn main() {}
