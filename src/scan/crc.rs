//! CRC-32 of a chunk, split across the lanes of a workgroup.
//!
//! CRC is sequential, so instead of one lane walking the whole chunk, lane
//! `id` of `n` computes the CRC of the `id`-th of `n` contiguous blocks and
//! the host joins the parts with `crc32fast`'s combine (the GF(2) shift that
//! zlib's `crc32_combine` does). One loop iteration per byte (the 8 bit
//! steps are unrolled and branch-free), so a lane's work stays small.

use crate::Lanes;

/// Most lanes whose parts the payload keeps (the megakernel's workgroup size
/// must not exceed it).
pub const MAX_PARTS: u32 = 256;

/// Lane `id` of `n` stores in `parts[id]` the CRC-32/IEEE of block `id` of
/// `data`, where the blocks are `ceil(len / n)` bytes each. Called natively
/// (one lane), `parts[0]` is the CRC of all of `data`.
#[vyre::payload]
pub fn crc32_blocks(data: &[u8], #[vyre(len = 256)] parts: &mut [u32], lanes: Lanes) {
    const POLY: u32 = 0xEDB8_8320;
    let n = lanes.count();
    let id = lanes.id();
    let len = data.len() as u32;
    let block = (len + n - 1) / n;
    let start = id * block;
    let end = (start + block).min(len);
    let mut crc = 0xFFFF_FFFF;
    let mut i = start;
    while i < end {
        crc ^= data[i as usize] as u32;
        crc = (crc >> 1) ^ (POLY & (0 - (crc & 1)));
        crc = (crc >> 1) ^ (POLY & (0 - (crc & 1)));
        crc = (crc >> 1) ^ (POLY & (0 - (crc & 1)));
        crc = (crc >> 1) ^ (POLY & (0 - (crc & 1)));
        crc = (crc >> 1) ^ (POLY & (0 - (crc & 1)));
        crc = (crc >> 1) ^ (POLY & (0 - (crc & 1)));
        crc = (crc >> 1) ^ (POLY & (0 - (crc & 1)));
        crc = (crc >> 1) ^ (POLY & (0 - (crc & 1)));
        i += 1;
    }
    parts[id as usize] = !crc;
}

/// Joins the parts `crc32_blocks` left for a chunk of `len` bytes run by
/// `lanes` lanes into a hasher covering the whole chunk.
pub fn join_parts(parts: &[u32], len: u32, lanes: u32) -> crc32fast::Hasher {
    let n = lanes.max(1);
    let block = len.div_ceil(n);
    let mut h = crc32fast::Hasher::new();
    for (k, part) in parts.iter().enumerate().take(n as usize) {
        let start = (k as u32).saturating_mul(block);
        let blen = len.saturating_sub(start).min(block);
        if blen > 0 {
            h.combine(&crc32fast::Hasher::new_with_initial_len(*part, blen as u64));
        }
    }
    h
}
