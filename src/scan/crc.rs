//! CRC-32 of a chunk, split across the lanes of a workgroup.
//!
//! CRC is sequential, so instead of one lane walking the whole chunk, lane
//! `id` of `n` computes the CRC of the `id`-th of `n` contiguous blocks and
//! the host joins the parts with `crc32fast`'s combine (the GF(2) shift that
//! zlib's `crc32_combine` does). Blocks are a multiple of 4 bytes, so a lane
//! reads a word per iteration and runs its 32 bit steps branch-free (the
//! CRC is reflected: XORing a little-endian word into the state and
//! stepping 32 bits is the same as four bytes of 8 steps).

use crate::Lanes;

/// Most lanes whose parts the payload keeps (the megakernel's workgroup size
/// must not exceed it).
pub const MAX_PARTS: u32 = 256;

/// Eight bit steps of the reflected CRC-32/IEEE (polynomial `0xEDB88320`).
#[vyre::helper]
fn crc_step8(crc: u32) -> u32 {
    const POLY: u32 = 0xEDB8_8320;
    let mut c = crc;
    c = (c >> 1) ^ (POLY & (0 - (c & 1)));
    c = (c >> 1) ^ (POLY & (0 - (c & 1)));
    c = (c >> 1) ^ (POLY & (0 - (c & 1)));
    c = (c >> 1) ^ (POLY & (0 - (c & 1)));
    c = (c >> 1) ^ (POLY & (0 - (c & 1)));
    c = (c >> 1) ^ (POLY & (0 - (c & 1)));
    c = (c >> 1) ^ (POLY & (0 - (c & 1)));
    c = (c >> 1) ^ (POLY & (0 - (c & 1)));
    c
}

/// Bytes in each lane's block for a chunk of `len` bytes and `n` lanes:
/// `ceil(len / n)` rounded up to a multiple of 4.
pub fn block_len(len: u32, n: u32) -> u32 {
    len.div_ceil(n.max(1)).div_ceil(4) * 4
}

/// Lane `id` of `n` stores in `parts[id]` the CRC-32/IEEE of block `id` of
/// `data` ([`block_len`] bytes each). Called natively (one lane),
/// `parts[0]` is the CRC of all of `data`.
#[vyre::payload]
pub fn crc32_blocks(data: &[u8], #[vyre(len = 256)] parts: &mut [u32], lanes: Lanes) {
    let n = lanes.count();
    let id = lanes.id();
    let len = data.len() as u32;
    let block = ((len + n - 1) / n + 3) / 4 * 4;
    let start = id * block;
    let end = (start + block).min(len);
    let mut crc = 0xFFFF_FFFF;
    let mut i = start;
    while i + 4 <= end {
        crc ^= data.word(i / 4);
        crc = crc_step8(crc);
        crc = crc_step8(crc);
        crc = crc_step8(crc);
        crc = crc_step8(crc);
        i += 4;
    }
    while i < end {
        crc ^= data[i as usize] as u32;
        crc = crc_step8(crc);
        i += 1;
    }
    parts[id as usize] = !crc;
}

/// Joins the parts `crc32_blocks` left for a chunk of `len` bytes run by
/// `lanes` lanes into a hasher covering the whole chunk.
pub fn join_parts(parts: &[u32], len: u32, lanes: u32) -> crc32fast::Hasher {
    let n = lanes.max(1);
    let block = block_len(len, n);
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
