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

/// Words of a CRC-32 chunk summary ([`crc32()`], [`crc32_join()`]): the
/// lanes' parts (words `0..256`), then the bytes covered (low word 256,
/// high word 257) and the number of parts (word 258; a joined summary has
/// one part, its CRC in word 0).
pub const CRC32_SUMMARY_WORDS: usize = 259;

/// The CRC-32 summary of no bytes: one part, CRC 0, 0 bytes.
pub const CRC32_IDENTITY: [u32; CRC32_SUMMARY_WORDS] = {
    let mut s = [0; CRC32_SUMMARY_WORDS];
    s[258] = 1;
    s
};

/// `a · b mod P` for CRC-32 polynomials in reflected form (bit 31 is
/// `x^0`): zlib's `multmodp`.
#[vyre::helper]
pub fn crc32_mul(a: u32, b: u32) -> u32 {
    let mut p = 0;
    let mut b = b;
    for k in 0..32 {
        if (a >> (31 - k)) & 1 != 0 {
            p ^= b;
        }
        b = if b & 1 != 0 {
            (b >> 1) ^ 0xEDB8_8320
        } else {
            b >> 1
        };
    }
    p
}

/// `x^(8n) mod P` for `n = hi · 2^32 + lo` bytes: multiplying a CRC by it
/// appends `n` zero bytes' worth of shift (zlib's `x2nmodp(n, 3)`).
#[vyre::helper]
pub fn crc32_shift(lo: u32, hi: u32) -> u32 {
    let mut p = 0x8000_0000;
    let mut sq = 0x0080_0000;
    let mut lo = lo;
    let mut hi = hi;
    while lo != 0 || hi != 0 {
        if lo & 1 != 0 {
            p = crc32_mul(sq, p);
        }
        sq = crc32_mul(sq, sq);
        lo = (lo >> 1) | (hi << 31);
        hi >>= 1;
    }
    p
}

/// CRC-32/IEEE of a chunk as a summary for [`crc32_join()`]: lane `id` of `n`
/// stores the CRC of block `id` ([`block_len`] bytes) in `s[id]`, lane 0
/// the chunk's length and `n`. The scan's `--crc32` is this payload; its
/// file result's word 0 is the file's CRC-32.
#[vyre::payload(combine = crc32_join)]
pub fn crc32(data: &[u8], #[vyre(len = 259)] s: &mut [u32], lanes: Lanes) {
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
    s[id as usize] = !crc;
    if id == 0 {
        s[256] = len;
        s[257] = 0;
        s[258] = n;
    }
}

/// Joins two CRC-32 summaries (`left` covers the bytes before `right`'s)
/// into one with a single part: zlib's `crc32_combine` over the parts.
#[vyre::combine(identity = CRC32_IDENTITY)]
pub fn crc32_join(left: &[u32], right: &[u32], #[vyre(len = 259)] out: &mut [u32]) {
    // Each side's parts joined into one CRC (blocks of equal length but the last).
    let mut lc = left[0];
    let ln = left[258].max(1).min(256);
    if ln > 1 {
        let len = left[256];
        let block = ((len + ln - 1) / ln + 3) / 4 * 4;
        let xb = crc32_shift(block, 0);
        lc = 0;
        for k in 0..ln {
            let at = k * block;
            if at < len {
                let blen = block.min(len - at);
                let x = if blen == block {
                    xb
                } else {
                    crc32_shift(blen, 0)
                };
                lc = crc32_mul(x, lc) ^ left[k as usize];
            }
        }
    }
    let mut rc = right[0];
    let rn = right[258].max(1).min(256);
    if rn > 1 {
        let len = right[256];
        let block = ((len + rn - 1) / rn + 3) / 4 * 4;
        let xb = crc32_shift(block, 0);
        rc = 0;
        for k in 0..rn {
            let at = k * block;
            if at < len {
                let blen = block.min(len - at);
                let x = if blen == block {
                    xb
                } else {
                    crc32_shift(blen, 0)
                };
                rc = crc32_mul(x, rc) ^ right[k as usize];
            }
        }
    }
    out[0] = crc32_mul(crc32_shift(right[256], right[257]), lc) ^ rc;
    let lo = left[256].wrapping_add(right[256]);
    let carry = if lo < left[256] { 1 } else { 0 };
    out[256] = lo;
    out[257] = left[257] + right[257] + carry;
    out[258] = 1;
}
