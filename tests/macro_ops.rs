//! Native ≡ IR for the operators of the subset: one payload computes many
//! operations on random scalars (edge values included) and bytes; the native
//! call, the CPU reference and the GPU (when present) must agree bit for bit.

use proptest::prelude::*;

#[vyre::helper]
fn clamp_add(a: i32, b: i32, hi: i32) -> i32 {
    let s = a + b;
    if s > hi {
        return hi;
    }
    s
}

#[vyre::payload]
fn ops(data: &[u8], a: u32, b: u32, #[vyre(len = 32)] out: &mut [u32]) {
    let x = a as u8;
    let y = b as u8;
    let s = a as i32;
    let t = b as i32;
    let h = a as u16;
    out[0] = (x + y) as u32;
    out[1] = (x * y) as u32;
    out[2] = (x - y) as u32;
    out[3] = (x << (b & 15)) as u32 + ((h << (b & 31)) as u32) * 256;
    out[4] = (x >> (b % 9)) as u32;
    out[5] = (s / t) as u32;
    out[6] = (s % t) as u32;
    out[7] = a / b + (a % b) * 3;
    out[8] = (s >> (b & 31)) as u32 ^ (a >> b) ^ (a << b);
    out[9] = a.rotate_left(b) ^ b.rotate_right(a);
    out[10] = x.leading_zeros()
        + 100 * x.trailing_zeros()
        + 10000 * h.leading_zeros()
        + 1000000 * h.trailing_zeros();
    out[11] = a.count_ones() + s.leading_zeros() * 64 + t.trailing_zeros() * 4096;
    out[12] = (-s) as u32;
    out[13] = (!x) as u32 + (!h) as u32 * 7 + !a;
    let fa = (a & 0xffff) as f32;
    let fb = (b & 0xffff) as f32;
    out[14] = (fa * 0.5 + fb) as u32;
    out[15] = ((fa - fb) * 1000.0) as i32 as u32;
    out[16] = ((fa * 300.0) as u8) as u32
        + (((fa - fb) as u8) as u32) * 256
        + ((fb * 1.5) as u16 as u32) * 65536;
    out[17] = (s.min(t) + s.max(t)) as u32 ^ a.min(b) ^ (x.max(y) as u32);
    out[18] = if x > y { x as u32 } else { y as u32 + 1000 };
    out[19] = h.wrapping_mul(y as u16) as u32 + (x.wrapping_sub(y) as u32) * 65536;
    out[20] = (a as usize + b as usize) as u32 ^ (a as usize * 3) as u32;
    out[21] = (s as usize) as u32 + (x as i32 - y as i32) as u32;
    let mut hash = 0u32;
    for i in 0..data.len() {
        hash = hash * 31 + data[i] as u32;
    }
    out[22] = hash;
    out[23] = data[(a % 80) as usize] as u32;
    let mut c = 0u32;
    let mut i = a & 63;
    while i > 0 {
        if i % 3 == 0 {
            i -= 1;
            continue;
        }
        c += i;
        i -= 1;
    }
    out[24] = c;
    out[25] =
        (a > b && a / 2 > b / 3 || a == b) as u32 + 2 * ((s < t) as u32) + 4 * ((x <= y) as u32);
    out[26] = clamp_add(s, t, 1000) as u32;
    let mut m = a;
    m >>= 3;
    m ^= b;
    m %= 1000;
    m *= 7;
    out[27] = m;
    out[28] += a;
    out[28] -= b;
    let mut steps = 0u32;
    for k in (0..(a & 255)).step_by((b & 7) as usize) {
        steps += k;
    }
    for k in 3..=(b & 15) {
        steps ^= k;
    }
    out[29] = steps;
    out[30] = (if s < 0 { -1 } else { 1 }) as u32;
    out[31] = (x as i32 * -3) as u32;
}

mod support;
use support::{ir_backends, le_words, GPU_LOCK};

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

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn ops_agree(data in prop::collection::vec(any::<u8>(), 0..=77), a in scalar(), b in scalar()) {
        let mut native = [0u32; 32];
        ops(&data, a, b, &mut native);
        let program = ops::payload().to_program(1);
        let mut words = le_words(&data);
        words.push(0);
        let cpu = vyre::cpu::CpuBackend::new();
        for backend in ir_backends(&cpu) {
            let _g = GPU_LOCK.lock().unwrap_or_else(|p| p.into_inner());
            let mut buffers = vec![vec![data.len() as u32, a, b], words.clone(), vec![0; 32]];
            backend.run(&program, &mut buffers, 1).map_err(|e| TestCaseError::fail(e.to_string()))?;
            for (k, (ir, nat)) in buffers[2].iter().zip(native.iter()).enumerate() {
                prop_assert_eq!(ir, nat, "out[{}] on {} (a = {}, b = {})", k, backend.name(), a, b);
            }
        }
    }
}

/// `data.word(w)` for words 0..20 and one far index: the tail of the last
/// word past `len` must read as 0 even when the buffer holds other bytes there.
#[vyre::payload]
fn words_of(data: &[u8], far: u32, #[vyre(len = 21)] out: &mut [u32]) {
    for w in 0..20u32 {
        out[w as usize] = data.word(w);
    }
    out[20] = data.word(far) ^ data.word(far / 5);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn byte_words_agree(data in prop::collection::vec(1u8..=255, 0..=77), cut in 0usize..6, far in scalar()) {
        // The payload sees the first `len` bytes; the buffer holds all of
        // `data` (nonzero bytes), so anything past `len` is not zero there.
        let len = data.len().saturating_sub(cut);
        let mut native = [0u32; 21];
        words_of(&data[..len], far, &mut native);
        for w in 0..20u32 {
            let want: u32 = (0..4).map(|k| {
                let i = w as usize * 4 + k;
                if i < len { (data[i] as u32) << (8 * k) } else { 0 }
            }).sum();
            prop_assert_eq!(native[w as usize], want, "native word {}", w);
            prop_assert_eq!(vyre::ByteWords::word(&data[..len], w), want);
        }
        let program = words_of::payload().to_program(1);
        let mut words = le_words(&data);
        words.push(0x5a5a_5a5a);
        let cpu = vyre::cpu::CpuBackend::new();
        for backend in ir_backends(&cpu) {
            let _g = GPU_LOCK.lock().unwrap_or_else(|p| p.into_inner());
            let mut buffers = vec![vec![len as u32, far], words.clone(), vec![0; 21]];
            backend.run(&program, &mut buffers, 1).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&buffers[2][..], &native[..], "on {} (len {}, far {})", backend.name(), len, far);
        }
    }
}

/// 64 words from a `const fn`, as a payload table is usually built.
const fn mixed_squares() -> [u32; 64] {
    let mut t = [0u32; 64];
    let mut i = 0;
    while i < 64 {
        t[i] = (i as u32 * i as u32) ^ 0x9e37_79b9;
        i += 1;
    }
    t
}

/// Constant tables: one from a `const fn`, one literal; reads in range,
/// past the end (0) and `.len()`.
#[vyre::payload]
fn lookups(data: &[u8], a: u32, #[vyre(len = 4)] out: &mut [u32]) {
    const SQ: [u32; 64] = mixed_squares();
    const SMALL: [u32; 3] = [7, 11, 13];
    let mut s = 0u32;
    for i in 0..data.len() {
        s = s.wrapping_mul(33) ^ SQ[(data[i] & 63) as usize];
    }
    out[0] = s;
    out[1] = SQ[(a % 100) as usize];
    out[2] = SMALL[(a % 5) as usize] + SMALL.len() as u32 * 1000;
    out[3] = SQ.len() as u32 + SMALL[a as usize];
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Native ≡ standalone program (tables as constant buffers) ≡ fused in a
    /// megakernel after `crc32_blocks` (whose table comes first, so these
    /// tables sit at an offset of the kernel's one table buffer).
    #[test]
    fn tables_agree(data in prop::collection::vec(any::<u8>(), 0..=77), a in scalar()) {
        let mut native = [0u32; 4];
        lookups(&data, a, &mut native);
        prop_assert_eq!(native[1], if a % 100 < 64 { mixed_squares()[(a % 100) as usize] } else { 0 });
        let p = lookups::payload();
        prop_assert_eq!(p.tables.len(), 2);
        let program = p.to_program(1);
        let mut words = le_words(&data);
        words.push(0);
        let cpu = vyre::cpu::CpuBackend::new();
        for backend in ir_backends(&cpu) {
            let _g = GPU_LOCK.lock().unwrap_or_else(|p| p.into_inner());
            let mut buffers = vec![vec![data.len() as u32, a], words.clone(), vec![0; 4]];
            backend.run(&program, &mut buffers, 1).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&buffers[2][..], &native[..], "standalone on {}", backend.name());
            let mut mk = vyre::megakernel::Megakernel::builder()
                .workgroup_size(64)
                .workgroups(2)
                .payload(vyre::scan::crc::crc32_blocks::payload())
                .payload(lookups::payload())
                .tenant("t", &["crc32_blocks", "lookups"])
                .build(backend)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let t = mk.tenant_id("t").expect("tenant");
            let crc = mk.publish(vyre::megakernel::Work::new("crc32_blocks", t, &data)).expect("publish");
            let args = [a];
            let id = mk
                .publish(vyre::megakernel::Work { args: &args, ..vyre::megakernel::Work::new("lookups", t, &data) })
                .expect("publish");
            mk.run().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(mk.results(id).expect("results"), &native[..], "fused on {}", backend.name());
            let parts = mk.results(crc).expect("crc parts");
            let joined = vyre::scan::crc::join_parts(parts, data.len() as u32, 64).finalize();
            prop_assert_eq!(joined, crc32fast::hash(&data), "crc32_blocks next to it on {}", backend.name());
        }
    }
}
