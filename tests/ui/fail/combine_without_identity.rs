#![allow(unused)]

#[vyre::combine]
fn join(left: &[u32], right: &[u32], #[vyre(len = 1)] out: &mut [u32]) {
    out[0] = left[0] + right[0];
}

fn main() {}
