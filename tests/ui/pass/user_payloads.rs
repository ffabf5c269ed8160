//! A crate depending on `vyre` writes payloads as plain Rust, calls them
//! natively and runs their IR on the CPU reference with the same result.
use std::sync::atomic::{AtomicU32, Ordering};

use vyre::{Backend, Lanes};

/// True for ASCII digits.
#[vyre::helper]
fn is_digit(b: u8) -> bool {
    b >= b'0' && b <= b'9'
}

/// Value of the first digit at or after `from`, or 10 if none.
#[vyre::helper]
fn first_digit(a: u8, b: u8, c: u8) -> u32 {
    if is_digit(a) {
        return (a - b'0') as u32;
    }
    if is_digit(b) {
        return (b - b'0') as u32;
    }
    if is_digit(c) {
        return (c - b'0') as u32;
    }
    10
}

#[vyre::payload]
fn digits(data: &[u8], #[vyre(len = 2)] out: &[AtomicU32], lanes: Lanes) {
    for i in lanes.range(0..data.len() as u32) {
        let b = data[i as usize];
        if is_digit(b) {
            out[0].fetch_add(1, Ordering::Relaxed);
        }
    }
    if lanes.id() == 0 && data.len() >= 3 {
        let d = first_digit(data[0], data[1], data[2]);
        out[1].store(d, Ordering::Relaxed);
    }
}

#[vyre::payload]
fn line_count(data: &[u8], #[vyre(len = 1)] counts: &[AtomicU32], lanes: vyre::Lanes) {
    let mut n = 0;
    for i in lanes.range(0..data.len() as u32) {
        if data[i as usize] == b'\n' {
            n += 1;
        }
    }
    counts[0].fetch_add(n, Ordering::Relaxed);
}

fn words(bytes: &[u8]) -> Vec<u32> {
    let mut w: Vec<u32> = bytes.chunks(4).map(|c| c.iter().rev().fold(0, |a, &b| (a << 8) | b as u32)).collect();
    w.push(0);
    w
}

fn main() {
    let data = b"ab7 1\n22\nx9";
    let out = [AtomicU32::new(0), AtomicU32::new(0)];
    digits(data, &out, Lanes::all());
    let native: Vec<u32> = out.iter().map(|a| a.load(Ordering::Relaxed)).collect();
    assert_eq!(native, vec![5, 7]);

    let cpu = vyre::cpu::CpuBackend::new();
    let mut buffers = vec![vec![data.len() as u32], words(data), vec![0, 0]];
    cpu.run(&digits::payload().to_program(8), &mut buffers, 1).unwrap();
    assert_eq!(buffers[2], native);

    let counts = [AtomicU32::new(0)];
    line_count(data, &counts, Lanes::all());
    let mut buffers = vec![vec![data.len() as u32], words(data), vec![0]];
    cpu.run(&line_count::payload().to_program(4), &mut buffers, 1).unwrap();
    assert_eq!(buffers[2][0], counts[0].load(Ordering::Relaxed));
}
