#![allow(unused)]

#[vyre::combine(identity = [0])]
fn join(left: &[u32], right: &[u32], #[vyre(len = 1)] out: &mut [u32]) {
    left[0] = right[0];
}

fn main() {}
