#[vyre::payload]
fn bad(data: &[u8], #[vyre(len = 1)] out: &mut [u32]) {
    out[0] = out.word(0) + data.word(1u8);
}

fn main() {}
