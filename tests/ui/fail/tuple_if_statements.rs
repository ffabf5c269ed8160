#![allow(unused)]

#[vyre::payload]
fn p(a: u32, b: u32, #[vyre(len = 1)] out: &mut [u32]) {
    let (lo, hi) = if a < b {
        let t = a * 2;
        (t, b)
    } else {
        (b, a)
    };
    out[0] = hi - lo;
}

fn main() {}
