//! Native ≡ IR for the constructs of issue 19: `match` on integers, local
//! arrays, f32 bit methods / `abs` / `min` / `max`. Each payload runs natively,
//! on the CPU reference, on the GPU when present, and (arrays and `match`)
//! fused into a megakernel; all must agree bit for bit.

use proptest::prelude::*;

mod support;
use support::{ir_backends, le_words, GPU_LOCK};

/// A helper with a `match` value and a local array: inlined with fresh names.
#[vyre::helper]
fn classify(b: u8) -> u32 {
    let weights = [3u32, 5, 7, 11];
    let k = match b {
        b'0'..=b'9' => 0,
        b'a'..=b'z' | b'A'..=b'Z' => 1,
        b' ' | b'\t' | b'\n' => 2,
        _ => 3,
    };
    weights[k]
}

#[vyre::payload]
fn matches(data: &[u8], a: u32, b: u32, #[vyre(len = 10)] out: &mut [u32]) {
    let x = a as u8;
    let s = a as i32;
    out[0] = match x {
        0 => 10,
        1 | 3 | 5 => 20,
        b'a'..=b'z' => 30,
        200..=255 => 40,
        _ => 50,
    };
    out[1] = match s {
        i32::MIN..=-1 => 1,
        0 => 2,
        1..=i32::MAX => 3,
    };
    let mut c = 0u32;
    for i in 0..data.len() {
        match data[i] {
            b'\n' => c += 1,
            b' ' | b'\t' => {
                c += 100;
            }
            128.. => c += 10000,
            _ => {}
        }
        c += classify(data[i]);
    }
    out[2] = c;
    out[3] = match (b % 7) as usize {
        0 => a,
        1 => b,
        2..=4 => {
            let t = a ^ b;
            t.rotate_left(3)
        }
        _ => 7,
    };
    let h = b as u16;
    out[4] = match h {
        0..=0x7fff => 1,
        0x8000..=0xffff => 2,
    };
    let mut side = 0u32;
    out[5] = match a % 5 {
        0 => classify(x),
        3 => {
            side = 9;
            1
        }
        _ => 2,
    };
    out[6] = side;
    let mut n = 0u32;
    for k in 0..(b & 31) {
        match k % 4 {
            0 => continue,
            3 => {
                if k > (a & 31) {
                    break;
                }
                n += 100;
            }
            _ => n += k,
        }
    }
    out[7] = n;
    // More than 16 arms: a flat sequence of guarded `if`s.
    out[8] = match x % 23 {
        0 => 5,
        1 => 9,
        2 | 20 => 14,
        3 => 1,
        4 => 77,
        5 => 3,
        6 => 31,
        7 => 8,
        8 => 2,
        9 => 60,
        10 => 11,
        11 => 12,
        12..=13 => 13,
        14 => 99,
        15 => 100,
        16 => 101,
        17 => 102,
        18 => 103,
        _ => 0,
    };
    let mut m = 0u32;
    for i in 0..data.len() {
        let d = data[i];
        match d % 19 {
            0 => m += 1,
            1 => m ^= 3,
            2 => m = m.rotate_left(1),
            3 => m += d as u32,
            4 => m *= 3,
            5 => m -= 1,
            6 => m |= 64,
            7 => m &= 0xffff,
            8 => m += 1000,
            9 => m >>= 1,
            10 => m <<= 2,
            11 => m += 11,
            12 => m ^= 0x5555,
            13 => m += 13,
            14 => m += 14,
            15 => m += 15,
            16 => continue,
            17 => m += 17,
            _ => m += 18,
        }
        m += 1;
    }
    out[9] = m;
}

#[vyre::payload]
fn arrays(data: &[u8], a: u32, b: u32, #[vyre(len = 8)] out: &mut [u32]) {
    let mut hist = [0u32; 8];
    for i in 0..data.len() {
        hist[(data[i] & 7) as usize] += 1;
    }
    let mut k = 0u32;
    for j in 0..hist.len() {
        k = k * 31 + hist[j];
    }
    out[0] = k;
    let w: [u8; 4] = [1, 2, 3, 200];
    out[1] = w[(a % 6) as usize] as u32 + (w[3] + w[3]) as u32 * 1000;
    let mut f = [0.5f32, 1.5, -2.0];
    f[(b % 4) as usize] = (a & 0xffff) as f32;
    out[2] = (f[0] + f[1] + f[2]).to_bits();
    let mut s = [a as i32; 5];
    s[2] -= b as i32;
    s[(a % 9) as usize] <<= 3;
    s[4] = -s[4];
    out[3] = (s[0] ^ s[1] ^ s[2] ^ s[3] ^ s[4]) as u32;
    out[4] = s.len() as u32 + w.len() as u32 * 10;
    let flags = [a > b, a == b, true];
    out[5] = flags[(b % 4) as usize] as u32;
    let mut q = [0u16; 2];
    q[0] = a as u16;
    q[1] = q[0] * 3;
    q[5] = 1;
    out[6] = q[1] as u32 + q[7] as u32;
    let mut big = [0u32; 64];
    for i in 0..data.len() {
        big[(data[i] as usize * 7) % 70] ^= i as u32 + 1;
    }
    let mut m = 0u32;
    for i in 0..64usize {
        m = m.rotate_left(5) ^ big[i];
    }
    out[7] = m;
}

#[vyre::payload]
fn floats(a: u32, b: u32, #[vyre(len = 6)] out: &mut [u32]) {
    let x = f32::from_bits(a);
    let y = f32::from_bits(b);
    out[0] = x.abs().to_bits();
    out[1] = x.min(y).to_bits();
    out[2] = x.max(y).to_bits();
    out[3] = (-y).abs().to_bits() ^ (x * 2.0).to_bits();
    out[4] = f32::from_bits(a & 0x8000_0000).max(0.0).to_bits();
    out[5] = 0.0f32.min(f32::from_bits(b & 0x8000_0000)).to_bits();
}

#[vyre::payload]
fn roots(a: u32, b: u32, #[vyre(len = 3)] out: &mut [u32]) {
    out[0] = f32::from_bits(a).sqrt().to_bits();
    out[1] = f32::from_bits(b).sqrt().to_bits();
    out[2] = (f32::from_bits(a & 0x7fff_ffff).sqrt() * 2.0)
        .sqrt()
        .to_bits();
}

fn scalar() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1),
        Just(u32::MAX),
        Just(0x8000_0000),
        Just(0xffff_fffe),
        0u32..300,
        any::<u32>()
    ]
}

/// f32 bit patterns: ±0, ±inf, NaN, subnormal, ordinary and equal values.
fn float_bits() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(0x8000_0000),
        Just(0x7f80_0000),
        Just(0xff80_0000),
        Just(0x7fc0_0000),
        Just(0x0000_0001),
        Just(0x3f80_0000),
        Just(0xbf80_0000),
        any::<u32>()
    ]
}

/// Runs `payload` (parameters: optional bytes, `a`, `b`, an output of `n`
/// words) on every IR backend; each result with the backend's name.
fn run_ir(
    p: &vyre::Payload,
    data: Option<&[u8]>,
    a: u32,
    b: u32,
    n: usize,
) -> Vec<(String, Vec<u32>)> {
    let program = p.to_program(1);
    let cpu = vyre::cpu::CpuBackend::new();
    let mut results = Vec::new();
    for backend in ir_backends(&cpu) {
        let _g = GPU_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut buffers = match data {
            Some(d) => {
                let mut words = le_words(d);
                words.push(0);
                vec![vec![d.len() as u32, a, b], words, vec![0; n]]
            }
            None => vec![vec![a, b], vec![0; n]],
        };
        backend
            .run(&program, &mut buffers, 1)
            .unwrap_or_else(|e| panic!("{} on {}: {e}", p.name, backend.name()));
        results.push((
            backend.name().to_string(),
            buffers.pop().unwrap_or_default(),
        ));
    }
    results
}

/// The results of `payload` fused into a megakernel (one work item).
fn run_fused(p: vyre::Payload, data: &[u8], a: u32, b: u32) -> Vec<(String, Vec<u32>)> {
    let name = p.name.clone();
    let cpu = vyre::cpu::CpuBackend::new();
    let mut results = Vec::new();
    for backend in ir_backends(&cpu) {
        let _g = GPU_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut mk = vyre::megakernel::Megakernel::builder()
            .workgroup_size(64)
            .workgroups(2)
            .payload(p.clone())
            .tenant("t", &[name.as_str()])
            .build(backend)
            .unwrap_or_else(|e| panic!("{name} fused on {}: {e}", backend.name()));
        let t = mk.tenant_id("t").expect("tenant");
        let args = [a, b];
        let id = mk
            .publish(vyre::megakernel::Work {
                args: &args,
                ..vyre::megakernel::Work::new(&name, t, data)
            })
            .expect("publish");
        mk.run()
            .unwrap_or_else(|e| panic!("{name} fused on {}: {e}", backend.name()));
        results.push((
            backend.name().to_string(),
            mk.results(id).expect("results").to_vec(),
        ));
    }
    results
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn match_agrees(data in prop::collection::vec(any::<u8>(), 0..=77), a in scalar(), b in scalar()) {
        let mut native = [0u32; 10];
        matches(&data, a, b, &mut native);
        prop_assert_eq!(native[0], match a as u8 { 0 => 10, 1 | 3 | 5 => 20, 97..=122 => 30, 200.. => 40, _ => 50 });
        prop_assert_eq!(native[1], 1 + ((a as i32) >= 0) as u32 + ((a as i32) > 0) as u32);
        for (on, r) in run_ir(&matches::payload(), Some(&data), a, b, 10) {
            prop_assert_eq!(&r[..], &native[..], "standalone on {} (a = {}, b = {})", on, a, b);
        }
        for (on, r) in run_fused(matches::payload(), &data, a, b) {
            prop_assert_eq!(&r[..], &native[..], "fused on {} (a = {}, b = {})", on, a, b);
        }
    }

    #[test]
    fn arrays_agree(data in prop::collection::vec(any::<u8>(), 0..=77), a in scalar(), b in scalar()) {
        let mut native = [0u32; 8];
        arrays(&data, a, b, &mut native);
        prop_assert_eq!(native[1] % 1000, [1, 2, 3, 200, 0, 0][(a % 6) as usize]);
        prop_assert_eq!(native[4], 45);
        for (on, r) in run_ir(&arrays::payload(), Some(&data), a, b, 8) {
            prop_assert_eq!(&r[..], &native[..], "standalone on {} (a = {}, b = {})", on, a, b);
        }
        for (on, r) in run_fused(arrays::payload(), &data, a, b) {
            prop_assert_eq!(&r[..], &native[..], "fused on {} (a = {}, b = {})", on, a, b);
        }
    }

    /// `x.sqrt()` is the correctly rounded root (`f32::sqrt`, NaN as
    /// `vyre::float::SQRT_NAN`) natively and on every IR backend.
    #[test]
    fn sqrt_agrees(a in float_bits(), b in float_bits()) {
        let mut native = [0u32; 3];
        roots(a, b, &mut native);
        let want = |x: f32| if x.sqrt().is_nan() { vyre::float::SQRT_NAN } else { x.sqrt().to_bits() };
        prop_assert_eq!(native[0], want(f32::from_bits(a)));
        prop_assert_eq!(native[1], want(f32::from_bits(b)));
        let odd = |x: u32| { let f = f32::from_bits(x); f.is_nan() || f.is_subnormal() };
        for (on, r) in run_ir(&roots::payload(), None, a, b, 3) {
            if on.contains("cpu") || on.contains("CPU") || !(odd(a) || odd(b)) {
                prop_assert_eq!(&r[..], &native[..], "on {} (a = {:#x}, b = {:#x})", on, a, b);
            }
        }
    }

    #[test]
    fn floats_agree(a in float_bits(), b in float_bits()) {
        let mut native = [0u32; 6];
        floats(a, b, &mut native);
        prop_assert_eq!(native[0], a & 0x7fff_ffff);
        prop_assert_eq!(native[4], 0, "max(-0, +0) is +0");
        prop_assert_eq!(native[5], b & 0x8000_0000, "min(+0, -0) is -0");
        // GPUs may flush subnormals and return any NaN: compare them bit for
        // bit on ordinary values only.
        let odd = |x: u32| { let f = f32::from_bits(x); f.is_nan() || f.is_subnormal() };
        for (on, r) in run_ir(&floats::payload(), None, a, b, 6) {
            if on.contains("cpu") || on.contains("CPU") || !(odd(a) || odd(b)) {
                prop_assert_eq!(&r[..], &native[..], "on {} (a = {:#x}, b = {:#x})", on, a, b);
            }
        }
    }
}

#[vyre::payload]
fn tuples(a: u32, b: u32, #[vyre(len = 6)] out: &mut [u32]) {
    let (x, y) = (a, b);
    let (x, y) = (y, x);
    out[0] = x;
    out[1] = y;
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    out[2] = hi - lo;
    let (mut s, _, t): (u32, u8, i32) = (a ^ b, 7, -(b as i32));
    s += 1;
    out[3] = s;
    out[4] = t as u32;
    let (sign, mag) = if (a as i32) < 0 {
        (1u32, 0u32.wrapping_sub(a))
    } else {
        (0, a)
    };
    out[5] = sign * 1000 + mag % 1000;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn tuples_agree(a in scalar(), b in scalar()) {
        let mut native = [0u32; 6];
        tuples(a, b, &mut native);
        prop_assert_eq!((native[0], native[1]), (b, a), "`let (x, y) = (y, x)` swaps");
        prop_assert_eq!(native[2], a.max(b) - a.min(b));
        for (on, r) in run_ir(&tuples::payload(), None, a, b, 6) {
            prop_assert_eq!(&r[..], &native[..], "on {} (a = {}, b = {})", on, a, b);
        }
    }
}

/// `return` from a `match` arm inside a loop of a helper.
#[vyre::helper]
fn first_nibble(a: u32, b: u32) -> u32 {
    for k in 0..8u32 {
        match (a >> (4 * k)) & 15 {
            0 => return k,
            1..=3 => continue,
            _ => {}
        }
        if k == b % 8 {
            return 100 + k;
        }
    }
    99
}

#[vyre::payload]
fn mixed(data: &[u8], a: u32, b: u32, #[vyre(len = 4)] out: &mut [u32]) {
    out[0] = first_nibble(a, b);
    let mut acc = 0u32;
    for i in 0..data.len() {
        let mut win = [data[i] as u32; 3];
        win[1] += 1;
        win[(i % 4) as usize] ^= 0xff;
        acc = acc.wrapping_mul(17) + win[0] + win[1] * 3 + win[2] * 5;
    }
    out[1] = acc;
    let mut seen = [false; 8];
    for i in 0..data.len() {
        seen[(data[i] >> 5) as usize] |= data[i] % 3 == 0;
    }
    let mut bits = 0u32;
    for k in 0..seen.len() {
        if seen[k] {
            bits |= 1 << k;
        }
    }
    out[2] = bits;
    let (q, r) = (a / 10, a % 10);
    out[3] = match r {
        0 | 5 => q,
        _ => q + r,
    };
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn mixed_agrees(data in prop::collection::vec(any::<u8>(), 0..=77), a in scalar(), b in scalar()) {
        let mut native = [0u32; 4];
        mixed(&data, a, b, &mut native);
        for (on, r) in run_ir(&mixed::payload(), Some(&data), a, b, 4) {
            prop_assert_eq!(&r[..], &native[..], "standalone on {} (a = {}, b = {})", on, a, b);
        }
        for (on, r) in run_fused(mixed::payload(), &data, a, b) {
            prop_assert_eq!(&r[..], &native[..], "fused on {} (a = {}, b = {})", on, a, b);
        }
    }
}
