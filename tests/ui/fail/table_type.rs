use std::sync::atomic::AtomicU32;

#[vyre::payload]
fn p(data: &[u8], #[vyre(len = 1)] acc: &[AtomicU32]) {
    const BYTES: [u8; 4] = [1, 2, 3, 4];
}

fn main() {}
