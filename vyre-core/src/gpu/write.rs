//! Host → device writes of resident buffers: all the writes of a run go
//! through one pooled staging buffer (`transfer::UploadPool`, kept mapped
//! between runs) and one submission, with runs of zero words cleared on the
//! device in between, in order.
//!
//! wgpu's own `write_buffer` makes a fresh staging buffer for every write;
//! under the H200 host's gVisor kernel the few small writes of a scan batch
//! (control, ring and result words, 74 KiB) cost about 3 ms that way
//! (BENCHMARKS.md).

use super::{transfer, Gpu};
use crate::error::{Error, Result};

const BUG_FIX: &str = super::kernel::BUG_FIX;

/// One piece of a write, in order.
enum Piece<'a> {
    /// Zero `words` words of `buffer` from word `offset` on the device.
    Clear {
        buffer: &'a wgpu::Buffer,
        offset: u32,
        words: usize,
    },
    /// Copy `data` to `buffer` at word `offset`, through staging byte `at`.
    Copy {
        buffer: &'a wgpu::Buffer,
        offset: u32,
        data: &'a [u32],
        at: u64,
    },
}

/// Writes `(buffer, word offset, words)` in order (checked by the caller to
/// lie inside their buffers) with one submission; they land before any
/// later submission.
pub(crate) fn write_buffers(gpu: &Gpu, targets: &[(&wgpu::Buffer, u32, &[u32])]) -> Result<()> {
    let mut pieces = Vec::new();
    let mut staged: u64 = 0;
    for &(buffer, offset, data) in targets {
        for (span, zero) in transfer::spans(data) {
            let at_word = offset + span.start as u32;
            if zero {
                pieces.push(Piece::Clear {
                    buffer,
                    offset: at_word,
                    words: span.len(),
                });
            } else {
                let words = &data[span];
                pieces.push(Piece::Copy {
                    buffer,
                    offset: at_word,
                    data: words,
                    at: staged,
                });
                staged += words.len() as u64 * 4;
            }
        }
    }
    if pieces.is_empty() {
        return Ok(());
    }
    gpu.scoped("writing buffers", BUG_FIX, || -> Result<()> {
        let staging = match staged {
            0 => None,
            bytes => Some(transfer::take_upload(gpu, bytes)?),
        };
        if let Some(st) = &staging {
            fill(gpu, st, staged, &pieces)?;
            st.unmap();
        }
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("vyre writes"),
            });
        for piece in &pieces {
            match (piece, &staging) {
                (
                    Piece::Clear {
                        buffer,
                        offset,
                        words,
                    },
                    _,
                ) => encoder.clear_buffer(buffer, u64::from(*offset) * 4, Some(*words as u64 * 4)),
                (
                    Piece::Copy {
                        buffer,
                        offset,
                        data,
                        at,
                    },
                    Some(st),
                ) => encoder.copy_buffer_to_buffer(
                    st,
                    *at,
                    buffer,
                    u64::from(*offset) * 4,
                    data.len() as u64 * 4,
                ),
                (Piece::Copy { .. }, None) => {
                    return Err(Error::Gpu(format!(
                        "a write has no staging memory. Fix: {BUG_FIX}"
                    )))
                }
            }
        }
        gpu.queue.submit([encoder.finish()]);
        if let Some(st) = &staging {
            transfer::reuse_upload(&gpu.uploads, st);
        }
        Ok(())
    })
    .and_then(|r| r)
}

/// Copies the words of every `Copy` piece into the mapped staging buffer at
/// its offset, as little-endian bytes (large pieces on several threads).
fn fill(gpu: &Gpu, staging: &wgpu::Buffer, bytes: u64, pieces: &[Piece<'_>]) -> Result<()> {
    let mut view = staging.get_mapped_range_mut(..bytes).map_err(|e| {
        Error::Gpu(format!(
            "mapping upload staging memory on {} failed: {e}. Fix: {BUG_FIX}",
            gpu.label
        ))
    })?;
    for piece in pieces {
        let Piece::Copy { data, at, .. } = piece else {
            continue;
        };
        let (start, end) = (*at as usize, *at as usize + data.len() * 4);
        let dst = view.slice(start..end);
        let filled = if cfg!(target_endian = "little") {
            transfer::fill_mapped(dst, bytemuck::cast_slice(data))
        } else {
            let (words, _) = dst.into_chunks::<4>();
            words.write_iter(data.iter().map(|w| w.to_le_bytes()));
            true
        };
        if !filled {
            return Err(Error::Gpu(format!(
                "upload staging memory on {} did not map {} bytes. Fix: {BUG_FIX}",
                gpu.label,
                end - start
            )));
        }
    }
    Ok(())
}
