//! `match`, local arrays, f32 bit methods and a helper reached by a module
//! path compile in a user crate (with no warnings from the expansion).
#![deny(warnings)]

mod util {
    /// Sign of `x` as -1, 0 or 1.
    #[vyre::helper]
    pub fn sign(x: i32) -> i32 {
        match x {
            i32::MIN..=-1 => -1,
            0 => 0,
            _ => 1,
        }
    }
}

#[vyre::payload]
fn summary(data: &[u8], a: u32, #[vyre(len = 4)] out: &mut [u32]) {
    let mut counts = [0u32; 4];
    for i in 0..data.len() {
        let class = match data[i] {
            b'0'..=b'9' => 0,
            b'a'..=b'z' | b'A'..=b'Z' => 1,
            128.. => 2,
            _ => 3,
        };
        counts[class] += 1;
    }
    out[0] = counts[0] + counts[1] * 256;
    out[1] = util::sign(a as i32) as u32;
    let x = f32::from_bits(a);
    out[2] = x.abs().min(1.0).max(-1.0).to_bits();
    out[3] = match a as i32 {
        -5 | -4 => 1,
        -3..=3 => 2,
        _ => counts.len() as u32,
    };
}

fn main() {
    let mut out = [0u32; 4];
    summary(b"ab12\xff ", 7, &mut out);
    assert_eq!(out[0], 2 + 2 * 256);
    assert_eq!(out[1], 1);
    assert_eq!(out[3], 4);
    let _ = summary::payload();
}
