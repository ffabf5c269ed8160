//! f32 functions that payloads call through methods, written in the payload
//! subset itself so that native code, the CPU reference and every GPU give
//! the same bits.
//!
//! `x.sqrt()` in a payload calls [`f32_sqrt()`]: the square root correctly
//! rounded (round to nearest, as IEEE 754 and Rust's `f32::sqrt` define
//! it), computed digit by digit on the integer bits. A GPU's own `sqrt` is
//! not correctly rounded (WGSL allows an error of several ulp), so it would
//! give other bits than the CPU.

/// The quiet NaN `f32_sqrt` returns for negative numbers and NaN.
pub const SQRT_NAN: u32 = 0x7fc0_0000;

/// The correctly rounded square root of `x`, bit for bit `f32::sqrt` (NaN
/// results are [`SQRT_NAN`]; Rust leaves a NaN's sign and payload open).
#[vyre::helper]
pub fn f32_sqrt(x: f32) -> f32 {
    let b = x.to_bits();
    let exp = (b >> 23) & 255;
    let man = b & 0x007f_ffff;
    if exp == 255 {
        // NaN and -inf give NaN; +inf gives itself.
        if man != 0 || (b >> 31) != 0 {
            return f32::from_bits(0x7fc0_0000);
        }
        return x;
    }
    if (b & 0x7fff_ffff) == 0 {
        // ±0 gives itself.
        return x;
    }
    if (b >> 31) != 0 {
        return f32::from_bits(0x7fc0_0000);
    }
    // x = m · 2^e with the integer m in [2^23, 2^24).
    let mut m = man | 0x0080_0000;
    let mut e = exp as i32 - 150;
    if exp == 0 {
        // Subnormal: bring the leading one to bit 23.
        let shift = man.leading_zeros() - 8;
        m = man << shift;
        e = -149 - shift as i32;
    }
    // An even exponent: m in [2^23, 2^25).
    if (e & 1) != 0 {
        m <<= 1;
        e -= 1;
    }
    // r = m · 2^k in [2^46, 2^48), k even, as hi:lo words.
    let mut k = 24;
    if m >= 0x0100_0000 {
        k = 22;
    }
    let hi = m >> (32 - k);
    let lo = m << k;
    // q = floor(sqrt(r)) in [2^23, 2^24), two bits of r per step.
    let mut q = 0;
    let mut rem = 0;
    for i in 0..24 {
        let at = 46 - 2 * i;
        let mut two = (lo >> at) & 3;
        if at >= 32 {
            two = (hi >> (at - 32)) & 3;
        }
        rem = (rem << 2) | two;
        let t = (q << 2) | 1;
        if rem >= t {
            rem -= t;
            q = (q << 1) | 1;
        } else {
            q <<= 1;
        }
    }
    // sqrt(x) = q · 2^((e - k) / 2); round to nearest (a tie is impossible):
    // up when r - q² > q. A carry into bit 24 moves to the exponent.
    let half = (e - k as i32) / 2;
    let mut bits = (((half + 150) as u32) << 23) + (q - 0x0080_0000);
    if rem > q {
        bits += 1;
    }
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(x: f32) -> bool {
        let (got, want) = (f32_sqrt(x), x.sqrt());
        if want.is_nan() {
            got.to_bits() == SQRT_NAN
        } else {
            got.to_bits() == want.to_bits()
        }
    }

    /// Bit for bit `f32::sqrt` on every special value, every subnormal
    /// power of two and a spread of 2 million bit patterns.
    #[test]
    fn native_f32_sqrt_is_correctly_rounded() {
        let specials = [
            0.0f32,
            -0.0,
            1.0,
            2.0,
            4.0,
            f32::MIN_POSITIVE,
            f32::MAX,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -1.0,
            f32::from_bits(1),
            f32::from_bits(0x007f_ffff),
        ];
        for x in specials {
            assert!(same(x), "{x:e} ({:#x})", x.to_bits());
        }
        for s in 0..23 {
            let x = f32::from_bits(1 << s);
            assert!(same(x), "{x:e}");
        }
        let mut bits = 0x9e37_79b9u32;
        for i in 0..2_000_000u32 {
            bits = bits.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let x = f32::from_bits(bits ^ i);
            assert!(
                same(x),
                "{x:e} ({:#x}): {} vs {}",
                x.to_bits(),
                f32_sqrt(x),
                x.sqrt()
            );
        }
    }
}
