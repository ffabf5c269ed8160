//! The decoder's memory bound, measured with a counting global allocator:
//! decoding never holds more than `ALLOC_PER_BYTE` bytes per input byte plus
//! `ALLOC_SLACK` (plus the input-independent bookkeeping of a few small
//! vectors), whatever the file claims. One test only, so nothing else
//! allocates while it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use vyre_core::vir0::{decode_unvalidated, encode_program, ALLOC_PER_BYTE, ALLOC_SLACK};
use vyre_core::{Expr, Node, Program};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak bytes allocated while decoding `bytes`, above what was live before.
fn peak_while_decoding(bytes: &[u8]) -> (usize, bool) {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let ok = decode_unvalidated(bytes).is_ok();
    (PEAK.load(Ordering::SeqCst) - base, ok)
}

fn sign(mut bytes: Vec<u8>) -> Vec<u8> {
    let d = blake3::hash(&bytes);
    bytes.extend_from_slice(d.as_bytes());
    bytes
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// A program file: `strings`, program `p` (string 0) of workgroup size 1, and `body`.
fn file(strings: &[&str], body: &[u8]) -> Vec<u8> {
    let mut out = b"VIR0\x01\x00\x01\x00".to_vec();
    let mut s = Vec::new();
    varint(&mut s, strings.len() as u64);
    for x in strings {
        varint(&mut s, x.len() as u64);
        s.extend_from_slice(x.as_bytes());
    }
    for (tag, content) in [(1u8, s), (2, vec![0, 1, 0]), (3, body.to_vec())] {
        out.push(tag);
        varint(&mut out, content.len() as u64);
        out.extend_from_slice(&content);
    }
    sign(out)
}

#[test]
fn decoding_allocates_at_most_the_budget() {
    let bound = |len: usize| len * ALLOC_PER_BYTE + ALLOC_SLACK + 4096;
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();

    // 200 000 one-byte `break`s: the densest statements there are.
    let n = 200_000u64;
    let mut body = Vec::new();
    varint(&mut body, n);
    varint(&mut body, 0);
    varint(&mut body, n);
    body.extend(std::iter::repeat_n(0x09, n as usize));
    cases.push(("breaks", file(&["p"], &body)));

    // 100 000 references to a 4096-byte name: copies would take 400 MB.
    let long = "v".repeat(4096);
    let mut body = Vec::new();
    varint(&mut body, 100_000);
    varint(&mut body, 100_000);
    varint(&mut body, 100_000);
    for _ in 0..100_000 {
        body.extend_from_slice(&[0x01, 1, 0x06, 1]); // let <long> = <long>
    }
    cases.push(("long names", file(&["p", &long], &body)));

    // Counts that lie: 2^60 statements, strings, block entries.
    let mut lie = Vec::new();
    varint(&mut lie, 1 << 60);
    lie.extend_from_slice(&[0, 0]);
    cases.push(("2^60 statements", file(&["p"], &lie)));
    let mut lie = vec![1, 0];
    varint(&mut lie, 1 << 60);
    cases.push(("2^60-entry block", file(&["p"], &lie)));

    // A real program, large: 20 000 statements.
    let big = Program::new(
        "p",
        vec![],
        64,
        (0..20_000)
            .map(|i| Node::let_bind(&format!("v{i}"), Expr::add(Expr::global_id(), Expr::u32(i))))
            .collect(),
    );
    cases.push(("program", encode_program(&big)));

    for (name, bytes) in &cases {
        let (peak, ok) = peak_while_decoding(bytes);
        println!(
            "{name}: {} input bytes, peak {peak} bytes allocated, decoded: {ok}",
            bytes.len()
        );
        assert!(
            peak <= bound(bytes.len()),
            "{name}: {peak} bytes for {} input bytes",
            bytes.len()
        );
    }
    assert!(
        peak_while_decoding(&cases[0].1).1,
        "200 000 breaks is a valid (if odd) file"
    );
    assert!(
        !peak_while_decoding(&cases[1].1).1,
        "400 MB of name copies must hit the budget"
    );
    assert!(peak_while_decoding(&cases[4].1).1);
}
