#[vyre::payload]
fn p(data: &[u8], #[vyre(len = 1)] out: &mut [u32]) {
    if data.len() > 0 {
        const T: [u32; 1] = [1];
        out[0] = T[0];
    } else {
        const T: [u32; 1] = [2];
        out[0] = T[0];
    }
}

fn main() {}
