//! Work in flight: a submitted dispatch and buffer contents on their way
//! back to the host.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::transfer::{self, ReadbackCache};
use super::{lock, Gpu, BUG_FIX};
use crate::error::{Error, Result};

use super::mapping::{await_map, MapOutcome};

/// A dispatch in flight. Dropping it does not cancel the work.
pub struct Submission {
    pub(super) index: wgpu::SubmissionIndex,
    pub(super) done: Arc<AtomicBool>,
    pub(super) gpu: Gpu,
}

impl Submission {
    /// True once the GPU finished this submission (polls without blocking).
    pub fn is_done(&self) -> bool {
        let _ = self.gpu.device.poll(wgpu::PollType::Poll);
        self.done.load(Ordering::Acquire)
    }

    /// Blocks until the GPU finished this submission.
    pub fn wait(&self) -> Result<()> {
        self.gpu
            .wait(Some(self.index.clone()), "waiting for a dispatch")
    }
}

/// Buffer contents on their way back to the host. Made by
/// [`BufferSet::read`](super::BufferSet::read).
pub struct PendingRead {
    pub(super) staging: Option<wgpu::Buffer>,
    /// (byte offset in staging, words) per request.
    pub(super) parts: Vec<(u64, u32)>,
    pub(super) state: MapOutcome,
    pub(super) index: Option<wgpu::SubmissionIndex>,
    /// Where the staging buffer goes back after a successful read.
    pub(super) cache: ReadbackCache,
    pub(super) gpu: Gpu,
}

impl PendingRead {
    /// True once the words can be taken without blocking (polls the device).
    pub fn is_ready(&self) -> bool {
        let _ = self.gpu.device.poll(wgpu::PollType::Poll);
        lock(&self.state).is_some()
    }

    /// Blocks until the copies are done; one `Vec` of words per request.
    pub fn wait(self) -> Result<Vec<Vec<u32>>> {
        let mut out = Vec::with_capacity(self.parts.len());
        self.wait_with(|_, bytes| {
            let mut words = vec![0u32; bytes.len() / 4];
            copy_words(&mut words, bytes)?;
            out.push(words);
            Ok(())
        })?;
        Ok(out)
    }

    /// Blocks until the copies are done, then hands `take` each request's
    /// bytes (request index, its `4 × words` little-endian bytes, straight
    /// from the mapped staging memory) in request order, so the caller can
    /// copy them where they belong (`copy_words`) without an intermediate
    /// allocation. The first error `take` returns ends the read.
    pub fn wait_with(self, mut take: impl FnMut(usize, &[u8]) -> Result<()>) -> Result<()> {
        let outcome = await_map(
            &self.gpu,
            &self.state,
            self.index.clone(),
            "reading buffers back",
        )?;
        let staging = match (&self.staging, outcome) {
            (None, _) => {
                for k in 0..self.parts.len() {
                    take(k, &[])?;
                }
                return Ok(());
            }
            (Some(s), Some(Ok(()))) => s,
            (Some(_), Some(Err(e))) => {
                return Err(Error::gpu(
                    format!(
                        "mapping the readback buffer on {} failed: {e}",
                        self.gpu.label
                    ),
                    BUG_FIX,
                ))
            }
            (Some(_), None) => {
                return Err(Error::gpu(
                    format!(
                        "the readback on {} did not complete after waiting",
                        self.gpu.label
                    ),
                    BUG_FIX,
                ))
            }
        };
        let taken = {
            // The mapped bytes: the staging buffer may be larger (reused).
            let mapped = self
                .parts
                .iter()
                .map(|&(off, words)| off + u64::from(words) * 4)
                .max()
                .unwrap_or(0);
            let view = staging.get_mapped_range(..mapped).map_err(|e| {
                Error::gpu(
                    format!(
                        "reading the mapped readback buffer on {} failed: {e}",
                        self.gpu.label
                    ),
                    BUG_FIX,
                )
            })?;
            let bytes: &[u8] = &view;
            self.parts
                .iter()
                .enumerate()
                .try_for_each(|(k, &(off, words))| {
                    let start = off as usize;
                    let part = bytes
                        .get(start..start + words as usize * 4)
                        .ok_or_else(|| {
                            Error::gpu(
                                format!(
                                    "a readback part lies outside the mapped bytes on {}",
                                    self.gpu.label
                                ),
                                BUG_FIX,
                            )
                        })?;
                    take(k, part)
                })
        };
        staging.unmap();
        if let Some(s) = self.staging {
            transfer::give_back(&self.cache, s);
        }
        taken
    }
}

/// Copies little-endian words read back from the device into `dst` (one
/// `memcpy` on a little-endian host). `bytes` must hold exactly
/// `4 × dst.len()` bytes.
pub(crate) fn copy_words(dst: &mut [u32], bytes: &[u8]) -> Result<()> {
    if bytes.len() != dst.len() * 4 {
        return Err(Error::gpu(
            format!("{} bytes read back for {} words", bytes.len(), dst.len()),
            BUG_FIX,
        ));
    }
    transfer::copy_parallel(bytemuck::cast_slice_mut::<u32, u8>(dst), bytes);
    if cfg!(target_endian = "big") {
        for w in dst.iter_mut() {
            *w = u32::from_le(*w);
        }
    }
    Ok(())
}

impl std::fmt::Debug for Submission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submission")
            .field("done", &self.done.load(Ordering::Acquire))
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for PendingRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingRead")
            .field("parts", &self.parts)
            .finish_non_exhaustive()
    }
}
