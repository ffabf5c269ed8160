//! Six user payloads, one per way of folding chunk results into a file
//! result: sum, min, max, and, xor, and a combine over a per-chunk summary.
//! Shared by `examples/user_payloads.rs` and `tests/user_payloads.rs`.

use std::sync::atomic::{AtomicU32, Ordering};

use vyre::Lanes;

/// `wc -w`: words are maximal runs of bytes that are not ASCII whitespace
/// (space, `\t`, `\n`, `\v`, `\f`, `\r`). A word starts where a
/// non-space byte follows a space (or the file's start): one byte of
/// look-behind shows the byte before the chunk. Sum.
#[vyre::payload(look_behind = 1)]
pub fn word_count(
    data: &[u8],
    #[vyre(start)] start: u32,
    #[vyre(len = 1)] words: &[AtomicU32],
    lanes: Lanes,
) {
    let mut n = 0;
    for i in lanes.range(start..data.len() as u32) {
        let b = data[i as usize];
        let space = b == b' ' || (b >= 9 && b <= 13);
        let mut prev_space = true;
        if i > 0 {
            let p = data[(i - 1) as usize];
            prev_space = p == b' ' || (p >= 9 && p <= 13);
        }
        if !space && prev_space {
            n += 1;
        }
    }
    if n != 0 {
        words[0].fetch_add(n, Ordering::Relaxed);
    }
}

/// The file offset of the first byte equal to `needle` (a scalar fixed when
/// the scan is set up); `u32::MAX` when there is none (files under 4 GiB).
/// Min.
#[vyre::payload]
pub fn first_byte(
    data: &[u8],
    needle: u32,
    #[vyre(chunk_offset)] offset: u32,
    #[vyre(len = 1, reduce = min)] first: &[AtomicU32],
    lanes: Lanes,
) {
    let mut best = u32::MAX;
    for i in lanes.range(0..data.len() as u32) {
        if data[i as usize] as u32 == needle && i < best {
            best = i;
        }
    }
    if best != u32::MAX {
        first[0].fetch_min(offset + best, Ordering::Relaxed);
    }
}

/// The largest byte value in the file (0 for an empty file). Max.
#[vyre::payload]
pub fn max_byte(data: &[u8], #[vyre(len = 1, reduce = max)] top: &[AtomicU32], lanes: Lanes) {
    let mut m = 0;
    for i in lanes.range(0..data.len() as u32) {
        m = m.max(data[i as usize] as u32);
    }
    top[0].fetch_max(m, Ordering::Relaxed);
}

/// 1 when every byte is ASCII (below 0x80), else 0. And: the region starts
/// at all ones, a chunk with a non-ASCII byte clears it.
#[vyre::payload]
pub fn all_ascii(data: &[u8], #[vyre(len = 1, reduce = and)] ok: &[AtomicU32], lanes: Lanes) {
    let mut bad = 0;
    for i in lanes.range(0..data.len() as u32) {
        bad |= (data[i as usize] >> 7) as u32;
    }
    if bad != 0 {
        ok[0].fetch_and(0, Ordering::Relaxed);
    }
}

/// XOR of the file's bytes, each shifted into its lane of a word by its
/// file offset (`offset % 4`): the XOR of the file read as little-endian
/// words, zero-padded. Xor.
#[vyre::payload]
pub fn xor_words(
    data: &[u8],
    #[vyre(chunk_offset)] offset: u32,
    #[vyre(len = 1, reduce = xor)] x: &[AtomicU32],
    lanes: Lanes,
) {
    let mut acc = 0;
    for i in lanes.range(0..data.len() as u32) {
        acc ^= (data[i as usize] as u32) << (((offset + i) % 4) * 8);
    }
    x[0].fetch_xor(acc, Ordering::Relaxed);
}

/// Lanes whose summaries a [`longest_line`] chunk keeps.
pub const LL_LANES: u32 = 64;
/// Words of a longest-line summary: 4 per lane, then the lane count.
pub const LL_WORDS: usize = 4 * LL_LANES as usize + 1;

/// The longest-line summary of no bytes: one part, all zero.
pub const LL_IDENTITY: [u32; LL_WORDS] = {
    let mut s = [0; LL_WORDS];
    s[LL_WORDS - 1] = 1;
    s
};

/// `wc -L` for text without tabs or wide characters: the longest line in
/// bytes, `\n` not counted. Lane `k` of `n` (at most 64) summarizes its
/// block of the chunk in words `4k..4k+4`: bytes before its first `\n`,
/// bytes after its last `\n`, its longest line between two of its `\n`s,
/// whether it has a `\n`. [`longest_line_join`] folds the parts in order.
#[vyre::payload(combine = longest_line_join)]
pub fn longest_line(data: &[u8], #[vyre(len = 257)] s: &mut [u32], lanes: Lanes) {
    let n = lanes.count().min(64);
    let id = lanes.id();
    let len = data.len() as u32;
    let block = (len + n - 1) / n;
    if id < n {
        let lo = (id * block).min(len);
        let hi = (lo + block).min(len);
        let mut first = hi - lo;
        let mut last_nl = 0;
        let mut has = 0;
        let mut best = 0;
        for i in lo..hi {
            if data[i as usize] == b'\n' {
                if has == 0 {
                    first = i - lo;
                } else {
                    best = best.max(i - last_nl - 1);
                }
                has = 1;
                last_nl = i;
            }
        }
        let base = (4 * id) as usize;
        s[base] = first;
        s[base + 1] = if has == 1 { hi - last_nl - 1 } else { hi - lo };
        s[base + 2] = best;
        s[base + 3] = has;
    }
    if id == 0 {
        s[256] = n;
    }
}

/// Joins two longest-line summaries (`left`'s bytes first) into one part.
#[vyre::combine(identity = LL_IDENTITY)]
pub fn longest_line_join(left: &[u32], right: &[u32], #[vyre(len = 257)] out: &mut [u32]) {
    // Fold every part of `left`, then of `right`, into one running summary.
    let mut first = 0;
    let mut last = 0;
    let mut best = 0;
    let mut has = 0;
    for side in 0..2 {
        let mut parts = left[256].max(1).min(64);
        if side == 1 {
            parts = right[256].max(1).min(64);
        }
        for k in 0..parts {
            let base = (4 * k) as usize;
            let mut p_first = left[base];
            let mut p_last = left[base + 1];
            let mut p_best = left[base + 2];
            let mut p_has = left[base + 3];
            if side == 1 {
                p_first = right[base];
                p_last = right[base + 1];
                p_best = right[base + 2];
                p_has = right[base + 3];
            }
            if has == 0 && p_has == 0 {
                first += p_first;
                last += p_last;
            } else if has == 0 {
                first += p_first;
                last = p_last;
                best = p_best;
                has = 1;
            } else if p_has == 0 {
                last += p_first;
            } else {
                best = best.max(p_best).max(last + p_first);
                last = p_last;
            }
        }
    }
    out[0] = first;
    out[1] = last;
    out[2] = best;
    out[3] = has;
    out[256] = 1;
}

/// A longest-line file result, read from its words with [`vyre::scan::FromWords`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongestLine {
    /// Bytes before the first `\n` (all bytes when there is none).
    pub first: u32,
    /// Bytes after the last `\n`.
    pub last: u32,
    /// The longest line between two `\n`s.
    pub between: u32,
}

impl LongestLine {
    /// The longest line of the file (`wc -L` for plain ASCII without tabs).
    pub fn longest(&self) -> u32 {
        self.first.max(self.last).max(self.between)
    }
}

impl vyre::scan::FromWords for LongestLine {
    fn from_words(w: &[u64]) -> Option<Self> {
        // A folded summary has one part.
        if w.len() != LL_WORDS || w[LL_WORDS - 1] != 1 {
            return None;
        }
        Some(LongestLine {
            first: w[0] as u32,
            last: w[1] as u32,
            between: w[2] as u32,
        })
    }
}

/// Plain-Rust references for each payload's file result.
pub mod reference {
    /// `wc -w`.
    pub fn word_count(d: &[u8]) -> u64 {
        d.split(|b| b.is_ascii_whitespace() || *b == 11)
            .filter(|w| !w.is_empty())
            .count() as u64
    }
    /// First offset of `needle`, `u32::MAX` if none.
    pub fn first_byte(d: &[u8], needle: u8) -> u64 {
        d.iter()
            .position(|&b| b == needle)
            .map_or(u64::from(u32::MAX), |p| p as u64)
    }
    /// Largest byte.
    pub fn max_byte(d: &[u8]) -> u64 {
        d.iter().copied().max().unwrap_or(0).into()
    }
    /// All bytes ASCII.
    pub fn all_ascii(d: &[u8]) -> bool {
        d.is_ascii()
    }
    /// XOR of the little-endian words, zero-padded.
    pub fn xor_words(d: &[u8]) -> u64 {
        d.chunks(4)
            .fold(0u32, |a, c| {
                let mut w = [0u8; 4];
                w[..c.len()].copy_from_slice(c);
                a ^ u32::from_le_bytes(w)
            })
            .into()
    }
    /// Longest line in bytes.
    pub fn longest_line(d: &[u8]) -> u32 {
        d.split(|&b| b == b'\n')
            .map(|l| l.len() as u32)
            .max()
            .unwrap_or(0)
    }
}
