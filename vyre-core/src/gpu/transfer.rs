//! Cheaper host ↔ device transfers for buffers kept on the device.
//!
//! * Long runs of zero words in a write are cleared on the device
//!   (`clear_buffer`) instead of being copied through staging memory: a
//!   megakernel batch zeroes its whole result region every run, megabytes
//!   that would otherwise cross the bus (measured: BENCHMARKS.md).
//! * A buffer set keeps its readback staging buffer for the next read
//!   instead of allocating and mapping fresh memory every time.
//! * Writes go through upload staging buffers the device keeps mapped
//!   between writes ([`UploadPool`]), large ones filled by several threads
//!   (`gpu/write.rs`). wgpu's own `write_buffer` staging is a fresh buffer
//!   every time (measured: BENCHMARKS.md, `cargo bench --bench transfer`).

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::{lock, Gpu};
use crate::error::{Error, Result};

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

/// Idle upload staging buffers a device keeps (the largest stay).
const POOL_KEEP: usize = 4;

/// Pooled staging buffers are made in multiples of this (4 MiB), so batches
/// of slightly different sizes share them. New buffers of this size or less
/// are zeroed by wgpu at creation; larger ones are cleared on the GPU.
const POOL_GRAIN: u64 = 4 << 20;

/// The most staging memory one upload buffer holds (128 MiB, or less where
/// the device's buffers are smaller): larger writes go up in rounds.
pub fn staging_cap(gpu: &Gpu) -> u64 {
    (128u64 << 20).min(gpu.limits.max_buffer_size / POOL_GRAIN * POOL_GRAIN)
}

/// Copies of at least this many bytes per thread are split over threads.
const PIECE_BYTES: usize = 2 << 20;

/// Upload staging buffers (`MAP_WRITE | COPY_SRC`) of one device, each
/// mapped and ready to be filled. A buffer leaves the pool while it is
/// filled and copied from, and comes back once it is mapped again (after
/// the GPU finished the copy).
#[derive(Default)]
pub struct UploadPool {
    ready: Mutex<Vec<wgpu::Buffer>>,
    made: AtomicU64,
}

impl UploadPool {
    /// Buffers waiting to be filled.
    pub fn ready(&self) -> usize {
        lock(&self.ready).len()
    }

    /// Buffers made since the device was opened.
    pub fn made(&self) -> u64 {
        self.made.load(Ordering::Relaxed)
    }
}

/// The smallest mapped buffer of the pool that holds `bytes` (at most
/// [`staging_cap`]), else a new one ([`new_mapped_upload`]).
pub fn take_upload(gpu: &Gpu, bytes: u64) -> Result<wgpu::Buffer> {
    let mut ready = lock(&gpu.uploads.ready);
    let fit = (0..ready.len())
        .filter(|&i| ready[i].size() >= bytes)
        .min_by_key(|&i| ready[i].size());
    if let Some(i) = fit {
        return Ok(ready.swap_remove(i));
    }
    drop(ready);
    gpu.uploads.made.fetch_add(1, Ordering::Relaxed);
    let size = bytes.div_ceil(POOL_GRAIN).max(1) * POOL_GRAIN;
    new_mapped_upload(gpu, "vyre upload staging", size)
}

/// A new `MAP_WRITE | COPY_SRC` buffer of `size` bytes (a multiple of 4),
/// zeroed and mapped for writing. Mapping a fresh buffer makes wgpu zero it
/// on the CPU first, one thread touching every page of fresh mapped memory:
/// about 1.5 GB/s on the H200 host, 40 ms for 64 MiB (BENCHMARKS.md). Where
/// the device allows mappable buffers to be `COPY_DST`
/// (`Gpu::clear_uploads`), a buffer above 4 MiB is cleared by the GPU
/// instead (waiting for the queue, which holds earlier work too), and its
/// pages are first touched by whoever fills it (several threads).
pub fn new_mapped_upload(gpu: &Gpu, label: &str, size: u64) -> Result<wgpu::Buffer> {
    let fix = "free GPU memory, or write (or read, with --batch-bytes) less at a time";
    let usage = wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC;
    if !gpu.clear_uploads || size <= POOL_GRAIN {
        return gpu.scoped(&format!("creating {label}"), fix, || {
            gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: true,
            })
        });
    }
    let (buffer, index) = gpu.scoped(&format!("creating {label}"), fix, || {
        let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: usage | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
        encoder.clear_buffer(&buffer, 0, None);
        let index = gpu.queue.submit([encoder.finish()]);
        (buffer, index)
    })?;
    let mapped = super::mapping::map(&buffer, wgpu::MapMode::Write, 0..size);
    match super::mapping::await_map(gpu, &mapped, Some(index), &format!("mapping {label}"))? {
        Some(Ok(())) => Ok(buffer),
        Some(Err(e)) => Err(Error::gpu(
            format!("mapping {label} on {} failed: {e}", gpu.label),
            "retry; if it persists the device is unusable",
        )),
        None => Err(Error::internal(format!(
            "{label} on {} did not map after the device was idle",
            gpu.label
        ))),
    }
}

/// Maps `buffer` (unmapped, its copy submitted) again and puts it back in
/// `pool` once the GPU is done with it. A failed map (a lost device) drops
/// it.
pub fn reuse_upload(pool: &Arc<UploadPool>, buffer: &wgpu::Buffer) {
    let (pool, back) = (Arc::clone(pool), buffer.clone());
    buffer.map_async(wgpu::MapMode::Write, .., move |r| {
        if r.is_ok() {
            let mut ready = lock(&pool.ready);
            ready.push(back);
            if ready.len() > POOL_KEEP {
                if let Some(i) = (0..ready.len()).min_by_key(|&i| ready[i].size()) {
                    ready.swap_remove(i);
                }
            }
        }
    });
}

/// Threads for a copy of `bytes` bytes: one per [`PIECE_BYTES`], at most 8
/// and at most the host's parallelism.
fn pieces(bytes: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (bytes / PIECE_BYTES).clamp(1, cores.min(8))
}

/// An address the copying threads share (each writes its own range).
#[derive(Clone, Copy)]
struct Dst(usize);

/// Copies `src` into mapped memory `dst` (the same length), on several
/// threads when it is large: one core's `memcpy` is what bounds a large
/// transfer. False (nothing written) when the lengths differ.
pub fn fill_mapped(mut dst: wgpu::WriteOnly<'_, [u8]>, src: &[u8]) -> bool {
    if dst.len() != src.len() {
        return false;
    }
    // Written through the raw pointer only (wgpu's rule for it: the mapped
    // memory may be write-combined and is never turned into a reference).
    let base = Dst(dst.as_raw_element_ptr().as_ptr() as usize);
    let n = pieces(src.len());
    let per = src.len().div_ceil(n).max(1);
    let copy = |k: usize, part: &[u8]| {
        let at = base;
        // SAFETY: mapping. `dst` keeps the staging memory mapped, and ours
        // alone, while it is borrowed here; piece `k` covers bytes
        // `k * per .. k * per + part.len()` of its `src.len()` bytes, disjoint
        // from every other piece, and is only written.
        unsafe {
            std::ptr::copy_nonoverlapping(part.as_ptr(), (at.0 as *mut u8).add(k * per), part.len())
        }
    };
    if n <= 1 {
        copy(0, src);
        return true;
    }
    std::thread::scope(|s| {
        for (k, part) in src.chunks(per).enumerate() {
            s.spawn(move || copy(k, part));
        }
    });
    true
}

/// Copies `src` into `dst` (the same length), on several threads when it
/// is large (reading results out of mapped memory).
pub fn copy_parallel(dst: &mut [u8], src: &[u8]) {
    let n = pieces(src.len());
    if n <= 1 {
        dst.copy_from_slice(src);
        return;
    }
    let per = src.len().div_ceil(n);
    std::thread::scope(|s| {
        for (d, from) in dst.chunks_mut(per).zip(src.chunks(per)) {
            s.spawn(move || d.copy_from_slice(from));
        }
    });
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
