use std::sync::atomic::{AtomicU32, Ordering};

/// Every runtime word and reduction, and a combine.
#[vyre::payload]
fn all_words(
    data: &[u8],
    #[vyre(start)] start: u32,
    #[vyre(chunk_offset)] off: u32,
    #[vyre(chunk_offset_hi)] off_hi: u32,
    #[vyre(file_len)] len: u32,
    #[vyre(file_len_hi)] len_hi: u32,
    #[vyre(chunk_index)] index: u32,
    #[vyre(len = 1, reduce = min)] lo: &[AtomicU32],
    #[vyre(len = 1, reduce = max)] hi: &[AtomicU32],
    #[vyre(len = 1, reduce = and)] a: &[AtomicU32],
    #[vyre(len = 1, reduce = or)] o: &[AtomicU32],
    #[vyre(len = 1, reduce = xor)] x: &[AtomicU32],
    #[vyre(len = 1, reduce = sum)] s: &[AtomicU32],
) {
    lo[0].fetch_min(off + start, Ordering::Relaxed);
    hi[0].fetch_max(len ^ len_hi ^ off_hi, Ordering::Relaxed);
    a[0].fetch_and(index, Ordering::Relaxed);
    o[0].fetch_or(data.len() as u32, Ordering::Relaxed);
    x[0].fetch_xor(index, Ordering::Relaxed);
    s[0].fetch_add(1, Ordering::Relaxed);
}

#[vyre::payload(combine = keep_max)]
fn biggest(data: &[u8], #[vyre(len = 2)] out: &mut [u32]) {
    out[0] = data.len() as u32;
    out[1] = 1;
}

const ID: [u32; 2] = [0, 0];

#[vyre::combine(identity = ID)]
fn keep_max(left: &[u32], right: &[u32], #[vyre(len = 2)] out: &mut [u32]) {
    out[0] = left[0].max(right[0]);
    out[1] = left[1] + right[1];
}

fn main() {
    let p = all_words::payload();
    assert_eq!(p.params[7].reduce, vyre::Reduce::Min);
    assert_eq!(p.params[2].kind, vyre::ParamKind::ChunkOffset);
    let b = biggest::payload();
    let c = b.combine.expect("a combine");
    assert_eq!(c.identity, vec![0, 0]);
    let mut out = [0u32; 2];
    (c.native.expect("native").0)(&[3, 1], &[5, 1], &mut out);
    assert_eq!(out, [5, 2]);
}
