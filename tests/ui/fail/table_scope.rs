#[vyre::payload]
fn p(data: &[u8], #[vyre(len = 1)] out: &mut [u32]) {
    const N: u32 = 3;
    const T: [u32; 2] = [N, 0];
    const U: [u32; 1] = self::ROW;
    out[0] = T[1] + U[0] + data.len() as u32;
}

const ROW: [u32; 1] = [9];

fn main() {}
