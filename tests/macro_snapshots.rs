//! Snapshots of the IR text form that `#[vyre::payload]` generates: every
//! standard payload and a few constructs (helpers, `if` values, casts, ...).

use std::sync::atomic::{AtomicU32, Ordering};

use vyre::payloads::{byte_histogram, count_needle, crc32, line_count, non_ascii_count};
use vyre::Lanes;

#[test]
fn standard_payloads() {
    insta::assert_snapshot!(
        "line_count",
        line_count::payload().to_program(64).to_string()
    );
    insta::assert_snapshot!(
        "byte_histogram",
        byte_histogram::payload().to_program(64).to_string()
    );
    insta::assert_snapshot!(
        "count_needle",
        count_needle::payload().to_program(64).to_string()
    );
    insta::assert_snapshot!("crc32", crc32::payload().to_program(64).to_string());
    insta::assert_snapshot!(
        "non_ascii_count",
        non_ascii_count::payload().to_program(64).to_string()
    );
}

/// The WGSL the one lowering emits for every standard payload (run standalone,
/// 64 lanes) and for the scan's block CRC.
#[test]
fn standard_payloads_wgsl() {
    let wgsl = |p: vyre::Payload| vyre::lower::to_wgsl(&p.to_program(64)).expect("lowering");
    insta::assert_snapshot!("line_count_wgsl", wgsl(line_count::payload()));
    insta::assert_snapshot!("byte_histogram_wgsl", wgsl(byte_histogram::payload()));
    insta::assert_snapshot!("count_needle_wgsl", wgsl(count_needle::payload()));
    insta::assert_snapshot!("crc32_wgsl", wgsl(crc32::payload()));
    insta::assert_snapshot!("non_ascii_count_wgsl", wgsl(non_ascii_count::payload()));
    insta::assert_snapshot!(
        "crc32_blocks_wgsl",
        wgsl(vyre::scan::crc::crc32_blocks::payload())
    );
}

/// ASCII lower case of a byte.
#[vyre::helper]
fn to_lower(b: u8) -> u8 {
    if b >= b'A' && b <= b'Z' {
        return b + 32;
    }
    b
}

/// Index of the first set bit at or above `from`, or 32.
#[vyre::helper]
fn next_bit(word: u32, from: u32) -> u32 {
    for i in from..32 {
        if (word >> i) & 1 != 0 {
            return i;
        }
    }
    32
}

#[vyre::payload]
fn constructs(data: &[u8], mut n: u32, out: &mut [u32], acc: &[AtomicU32]) {
    let x = 200u8;
    let x = x + 100; // shadowing, u8 wrap
    let y: i32 = -7;
    let q = y / 2 + y % 3;
    let sel = if n > 3 { 1 } else { 2 };
    let lower: u8 = to_lower(data[0]);
    let bit = next_bit(n, 1);
    let f = (x as f32) * 0.5;
    out[0] = x as u32 + sel + (q as u32) + lower as u32 + bit + f as u32;
    out[1] += (n << 3).rotate_left(5) ^ n.leading_zeros();
    n -= 1;
    let ok = acc[0]
        .compare_exchange(0, n, Ordering::Relaxed, Ordering::Relaxed)
        .is_ok();
    if ok && acc[1].fetch_add(1, Ordering::Relaxed) == 0 {
        out[2] = 1;
    }
    let mut k = 0;
    while k < 10 {
        k += 3;
        if k == 6 {
            continue;
        }
    }
    for j in (0..n).step_by(2) {
        out[3] = j;
    }
    for j in 1..=n {
        if j > 4 {
            break;
        }
    }
}

#[test]
fn construct_ir() {
    insta::assert_snapshot!(
        "constructs",
        constructs::payload().to_program(32).to_string()
    );
}

#[test]
fn constructs_native_matches_cpu() {
    use vyre::Backend;
    let data = b"Hello";
    let mut out = [0u32; 4];
    let acc = [AtomicU32::new(0), AtomicU32::new(0)];
    constructs(data, 9, &mut out, &acc);
    let program = constructs::payload().to_program(1);
    let word = u32::from_le_bytes([b'H', b'e', b'l', b'l']);
    let mut buffers = vec![vec![5, 9], vec![word, b'o' as u32], vec![0; 4], vec![0; 2]];
    vyre::cpu::CpuBackend::new()
        .run(&program, &mut buffers, 1)
        .expect("runs");
    assert_eq!(buffers[2], out.to_vec());
    let natives: Vec<u32> = acc.iter().map(|a| a.load(Ordering::Relaxed)).collect();
    assert_eq!(buffers[3], natives);
    let _ = Lanes::all();
}
