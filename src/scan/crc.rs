//! CRC-32 of a chunk, split across the lanes of a workgroup.
//!
//! CRC is sequential, so instead of one lane walking the whole chunk, lane
//! `id` of `n` computes the CRC of the `id`-th of `n` contiguous blocks and
//! the host joins the parts with `crc32fast`'s combine (the GF(2) shift that
//! zlib's `crc32_combine` does). Blocks are a multiple of 4 bytes, so a lane
//! reads a word per iteration and advances the state by it with four lookups
//! in the slice-by-4 tables ([`CRC_SLICE4`], a constant table of the payload:
//! in workgroup memory on the GPU) instead of 32 bit steps (the CRC is
//! reflected: XORing a little-endian word into the state and stepping 32
//! bits is the same as four bytes of 8 steps).

use crate::Lanes;

/// Most lanes whose parts the payload keeps (the megakernel's workgroup size
/// must not exceed it).
pub const MAX_PARTS: u32 = 256;

/// The reflected CRC-32/IEEE polynomial.
const POLY: u32 = 0xEDB8_8320;

/// The slice-by-4 tables of CRC-32/IEEE, one after the other: word
/// `256 * k + b` is the CRC state change of byte value `b` followed by `k`
/// zero bytes. Table 0 is the classic byte table; a word XORed into the
/// state advances it by `T3[b0] ^ T2[b1] ^ T1[b2] ^ T0[b3]`.
pub const CRC_SLICE4: [u32; 1024] = slice4_tables();

const fn slice4_tables() -> [u32; 1024] {
    let mut t = [0u32; 1024];
    let mut b = 0;
    while b < 256 {
        let mut c = b as u32;
        let mut k = 0;
        while k < 8 {
            c = (c >> 1) ^ (POLY & (0u32.wrapping_sub(c & 1)));
            k += 1;
        }
        t[b] = c;
        b += 1;
    }
    let mut i = 256;
    while i < 1024 {
        let prev = t[i - 256];
        t[i] = (prev >> 8) ^ t[(prev & 255) as usize];
        i += 1;
    }
    t
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
    const T: [u32; 1024] = CRC_SLICE4;
    let mut crc = 0xFFFF_FFFF;
    let mut i = start;
    while i + 4 <= end {
        let x = crc ^ data.word(i / 4);
        crc = T[(768 + (x & 255)) as usize]
            ^ T[(512 + ((x >> 8) & 255)) as usize]
            ^ T[(256 + ((x >> 16) & 255)) as usize]
            ^ T[(x >> 24) as usize];
        i += 4;
    }
    while i < end {
        let x = crc ^ data[i as usize] as u32;
        crc = (crc >> 8) ^ T[(x & 255) as usize];
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
