//! Host → device writes of resident buffers: all the writes of a run go
//! through one pooled staging buffer (`transfer::UploadPool`, kept mapped
//! between runs) and one submission (one per 128 MiB), with runs of zero
//! words cleared on the device in between, in order.
//!
//! wgpu's own `write_buffer` makes a fresh staging buffer for every write;
//! under the H200 host's gVisor kernel the few small writes of a scan batch
//! (control, ring and result words, 74 KiB) cost about 3 ms that way
//! (BENCHMARKS.md).

use super::{transfer, Gpu};
use crate::error::{Error, Result};

const BUG_FIX: &str = super::BUG_FIX;

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
/// lie inside their buffers) with one submission per
/// [`transfer::staging_cap`] bytes (128 MiB); they land before any later
/// submission.
pub(crate) fn write_buffers(gpu: &Gpu, targets: &[(&wgpu::Buffer, u32, &[u32])]) -> Result<()> {
    let cap = transfer::staging_cap(gpu).max(4);
    let cap_words = (cap / 4) as usize;
    // Rounds of pieces, each with the staging bytes it needs (at most `cap`).
    let mut rounds: Vec<(Vec<Piece<'_>>, u64)> = vec![(Vec::new(), 0)];
    for &(buffer, offset, data) in targets {
        for (span, zero) in transfer::spans(data) {
            if zero {
                if let Some(round) = rounds.last_mut() {
                    round.0.push(Piece::Clear {
                        buffer,
                        offset: offset + span.start as u32,
                        words: span.len(),
                    });
                }
                continue;
            }
            let mut start = span.start;
            while start < span.end {
                let part = start..(start + cap_words).min(span.end);
                start = part.end;
                let bytes = part.len() as u64 * 4;
                if rounds.last().is_some_and(|r| r.1 + bytes > cap) {
                    rounds.push((Vec::new(), 0));
                }
                if let Some(round) = rounds.last_mut() {
                    round.0.push(Piece::Copy {
                        buffer,
                        offset: offset + part.start as u32,
                        data: &data[part],
                        at: round.1,
                    });
                    round.1 += bytes;
                }
            }
        }
    }
    for (pieces, staged) in rounds {
        if !pieces.is_empty() {
            submit(gpu, &pieces, staged)?;
        }
    }
    Ok(())
}

/// One round: its copies staged in one pooled buffer, its copies and clears
/// in one command buffer, in order.
fn submit(gpu: &Gpu, pieces: &[Piece<'_>], staged: u64) -> Result<()> {
    gpu.scoped("writing buffers", BUG_FIX, || -> Result<()> {
        let staging = match staged {
            0 => None,
            bytes => Some(transfer::take_upload(gpu, bytes)?),
        };
        if let Some(st) = &staging {
            fill(gpu, st, staged, pieces)?;
            st.unmap();
        }
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("vyre writes"),
            });
        for piece in pieces {
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
                    return Err(Error::gpu("a write has no staging memory", BUG_FIX))
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
        Error::gpu(
            format!("mapping upload staging memory on {} failed: {e}", gpu.label),
            BUG_FIX,
        )
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
            return Err(Error::gpu(
                format!(
                    "upload staging memory on {} did not map {} bytes",
                    gpu.label,
                    end - start
                ),
                BUG_FIX,
            ));
        }
    }
    Ok(())
}
