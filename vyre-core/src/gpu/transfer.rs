//! Cheaper host ↔ device transfers for buffers kept on the device.
//!
//! * Long runs of zero words in a write are cleared on the device
//!   (`clear_buffer`) instead of being copied through staging memory: a
//!   megakernel batch zeroes its whole result region every run, megabytes
//!   that would otherwise cross the bus (measured: BENCHMARKS.md).
//! * A buffer set keeps its readback staging buffer for the next read
//!   instead of allocating and mapping fresh memory every time.

use std::ops::Range;
use std::sync::{Arc, Mutex};

use super::lock;

/// Zero words a run needs before it is cleared on the device rather than
/// copied (64 KiB): shorter runs are not worth a separate command.
pub const ZERO_RUN_WORDS: usize = 16 * 1024;

/// Splits `data` into spans to copy (`false`) and spans of zeros to clear
/// (`true`), in order, covering it exactly. Zero spans are whole blocks of
/// [`ZERO_RUN_WORDS`] (from the start of `data`); a block with any nonzero
/// word is copied, and the check stops at that word.
pub fn spans(data: &[u32]) -> Vec<(Range<usize>, bool)> {
    let mut out: Vec<(Range<usize>, bool)> = Vec::new();
    let mut push = |r: Range<usize>, zero: bool| {
        if r.is_empty() {
            return;
        }
        match out.last_mut() {
            Some((last, z)) if *z == zero && last.end == r.start => last.end = r.end,
            _ => out.push((r, zero)),
        }
    };
    for (i, block) in data.chunks(ZERO_RUN_WORDS).enumerate() {
        let start = i * ZERO_RUN_WORDS;
        let zero = block.len() == ZERO_RUN_WORDS && block.iter().all(|&w| w == 0);
        push(start..start + block.len(), zero);
    }
    out
}

/// A readback staging buffer kept between reads of one buffer set.
pub type ReadbackCache = Arc<Mutex<Option<wgpu::Buffer>>>;

/// The cached staging buffer if it holds at least `bytes`, else a new one.
pub fn staging(cache: &ReadbackCache, device: &wgpu::Device, bytes: u64) -> wgpu::Buffer {
    if let Some(b) = lock(cache).take() {
        if b.size() >= bytes {
            return b;
        }
    }
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("vyre readback"),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// Puts an unmapped staging buffer back for the next read (the larger one
/// stays when two reads were in flight).
pub fn give_back(cache: &ReadbackCache, buffer: wgpu::Buffer) {
    let mut slot = lock(cache);
    if slot.as_ref().is_none_or(|b| b.size() < buffer.size()) {
        *slot = Some(buffer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_the_data_and_clear_only_whole_zero_blocks() {
        let n = ZERO_RUN_WORDS;
        let mut data = vec![0u32; 5 * n + 7];
        data[3] = 1; // block 0 has a nonzero word
        data[3 * n + n - 1] = 9; // block 3 too
        let s = spans(&data);
        assert_eq!(
            s,
            vec![
                (0..n, false),
                (n..3 * n, true),
                (3 * n..4 * n, false),
                (4 * n..5 * n, true),
                // The short tail is copied even though it is zero.
                (5 * n..5 * n + 7, false),
            ]
        );
        assert!(spans(&[]).is_empty());
        assert_eq!(spans(&[0; 10]), vec![(0..10, false)]);
    }
}
