#[vyre::payload]
fn p(data: &[u8], #[vyre(len = 1)] out: &mut [u32]) {
    const T: [u32; 2] = [5, 6];
    T[0] = data[0] as u32;
    out[0] = T[1];
}

fn main() {}
