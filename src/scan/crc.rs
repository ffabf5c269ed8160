//! CRC-32 of a chunk, split across the lanes of a workgroup.
//!
//! CRC is sequential, so instead of one lane walking the whole chunk, the
//! chunk is cut into `2n` contiguous parts for `n` lanes; lane `id` computes
//! the CRCs of parts `2 id` and `2 id + 1` side by side (two independent
//! dependency chains in one loop, so the GPU overlaps their bit steps), and
//! the host joins the parts with `crc32fast`'s combine (the GF(2) shift that
//! zlib's `crc32_combine` does). Parts are a multiple of 4 bytes, so a lane
//! reads a word per part per iteration and runs its 32 bit steps branch-free
//! (the CRC is reflected: XORing a little-endian word into the state and
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

/// Bytes in each part for a chunk of `len` bytes and `n` lanes (two parts
/// per lane): `ceil(len / 2n)` rounded up to a multiple of 4.
pub fn part_len(len: u32, n: u32) -> u32 {
    len.div_ceil(2 * n.max(1)).div_ceil(4) * 4
}

/// Lane `id` of `n` stores in `parts[2 id]` and `parts[2 id + 1]` the
/// CRC-32/IEEE of parts `2 id` and `2 id + 1` of `data` ([`part_len`] bytes
/// each, the last ones shorter or empty). Called natively (one lane),
/// `parts[0]` and `parts[1]` cover the two halves; [`join_parts`] joins them.
#[vyre::payload]
pub fn crc32_blocks(data: &[u8], #[vyre(len = 512)] parts: &mut [u32], lanes: Lanes) {
    let n = lanes.count();
    let id = lanes.id();
    let len = data.len() as u32;
    let part = ((len + 2 * n - 1) / (2 * n) + 3) / 4 * 4;
    let a_end = ((2 * id + 1) * part).min(len);
    let b_end = ((2 * id + 2) * part).min(len);
    let mut a = (2 * id * part).min(len);
    let mut b = a_end;
    let mut ca = 0xFFFF_FFFF;
    let mut cb = 0xFFFF_FFFF;
    // Both parts a word at a time, interleaved.
    while a + 4 <= a_end && b + 4 <= b_end {
        ca ^= data.word(a / 4);
        cb ^= data.word(b / 4);
        ca = crc_step8(ca);
        cb = crc_step8(cb);
        ca = crc_step8(ca);
        cb = crc_step8(cb);
        ca = crc_step8(ca);
        cb = crc_step8(cb);
        ca = crc_step8(ca);
        cb = crc_step8(cb);
        a += 4;
        b += 4;
    }
    // What is left of either part (only the chunk's last parts are short).
    while a < a_end {
        ca ^= data[a as usize] as u32;
        ca = crc_step8(ca);
        a += 1;
    }
    while b < b_end {
        cb ^= data[b as usize] as u32;
        cb = crc_step8(cb);
        b += 1;
    }
    parts[(2 * id) as usize] = !ca;
    parts[(2 * id + 1) as usize] = !cb;
}

/// Joins the parts `crc32_blocks` left for a chunk of `len` bytes run by
/// `lanes` lanes into a hasher covering the whole chunk.
pub fn join_parts(parts: &[u32], len: u32, lanes: u32) -> crc32fast::Hasher {
    let n = lanes.max(1);
    let part = part_len(len, n);
    let mut h = crc32fast::Hasher::new();
    for (k, crc) in parts.iter().enumerate().take(2 * n as usize) {
        let start = (k as u32).saturating_mul(part);
        let plen = len.saturating_sub(start).min(part);
        if plen > 0 {
            h.combine(&crc32fast::Hasher::new_with_initial_len(*crc, plen as u64));
        }
    }
    h
}
