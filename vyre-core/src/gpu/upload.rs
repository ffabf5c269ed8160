//! Upload arenas: host-visible wgpu buffers that file bytes are read straight
//! into, then copied to the device by the GPU — no CPU copy into staging.
//!
//! An arena alternates between two states: *mapped* (the host writes it
//! through [`UploadArena::bytes_mut`]) and *unmapped* (the GPU copies from
//! it). [`crate::megakernel::Megakernel::adopt_upload`] unmaps it and makes it
//! the source of the kernel's arena buffer; `bytes_mut` maps it again
//! (waiting until the GPU no longer reads it).

use super::Gpu;
use crate::error::{Error, Result};

/// A host-visible buffer that bytes are read into for the GPU.
pub struct UploadArena {
    buffer: wgpu::Buffer,
    view: Option<wgpu::BufferViewMut>,
    len: usize,
    gpu: Gpu,
    /// [`super::WgpuBackend::recoveries`] when it was made: an arena of a
    /// device that was since replaced is refused.
    generation: u32,
}

impl std::fmt::Debug for UploadArena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadArena")
            .field("len", &self.len)
            .field("mapped", &self.view.is_some())
            .finish()
    }
}

impl super::WgpuBackend {
    /// A new upload arena of `bytes` bytes (rounded up to a multiple of 4),
    /// mapped and zeroed, ready for [`UploadArena::bytes_mut`].
    pub fn upload_arena(&self, bytes: usize) -> Result<UploadArena> {
        let len = bytes.max(4).div_ceil(4) * 4;
        let gpu = self.gpu();
        if len as u64 > gpu.limits.max_buffer_size {
            return Err(Error::bad_input(format!("an upload arena of {len} bytes exceeds this device's largest buffer ({} bytes)", gpu.limits.max_buffer_size), "use smaller batches (--batch-bytes)"));
        }
        let buffer = super::transfer::new_mapped_upload(&gpu, "an upload arena", len as u64)?;
        let view = buffer.slice(..).get_mapped_range_mut().map_err(|e| {
            Error::gpu(
                format!("mapping a new upload arena failed: {e}"),
                "use smaller batches (--batch-bytes)",
            )
        })?;
        Ok(UploadArena {
            buffer,
            view: Some(view),
            len,
            gpu,
            generation: self.recoveries(),
        })
    }
}

impl UploadArena {
    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// [`super::WgpuBackend::recoveries`] when it was made. An arena whose
    /// generation differs from its backend's belongs to a device that was
    /// lost and replaced: it can no longer be mapped or copied from.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// True when the device this arena was made on has been lost (its bytes
    /// can no longer reach the GPU).
    pub fn device_lost(&self) -> bool {
        self.gpu.lost_reason().is_some()
    }

    /// Always false: an arena holds at least 4 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The arena's bytes, for writing (mapping it first if the GPU had it,
    /// which waits until the GPU has finished copying from it). Reading them
    /// gives back what was written or, after a GPU round, unspecified bytes.
    pub fn bytes_mut(&mut self) -> Result<&mut [u8]> {
        if self.view.is_none() {
            let mapped =
                super::mapping::map(&self.buffer, wgpu::MapMode::Write, 0..self.buffer.size());
            match super::mapping::await_map(&self.gpu, &mapped, None, "mapping an upload arena")? {
                Some(Ok(())) => {}
                Some(Err(e)) => {
                    return Err(Error::gpu(
                        format!("mapping an upload arena failed: {e}"),
                        "retry; if it persists the device is unusable",
                    ))
                }
                None => {
                    return Err(Error::internal(
                        "an upload arena did not map after the device was idle",
                    ))
                }
            }
            let view = self.buffer.slice(..).get_mapped_range_mut().map_err(|e| {
                Error::internal(format!("viewing a mapped upload arena failed: {e}"))
            })?;
            self.view = Some(view);
        }
        let Some(view) = self.view.as_mut() else {
            return Err(Error::internal("upload arena view vanished"));
        };
        let mut slice = view.slice(..);
        let ptr = slice.as_raw_ptr();
        // SAFETY: mapping. The view keeps the whole buffer mapped and
        // reserved for us (wgpu refuses overlapping views) until it is
        // dropped, which only `unmap` does and which needs `&mut self`; the
        // returned slice borrows `self` mutably, so it cannot outlive the
        // mapping. The memory is initialized (zeroed at creation, and
        // host-visible memory keeps what was written), so reading it is
        // defined, if possibly slow (write-combined memory).
        Ok(unsafe { std::slice::from_raw_parts_mut(ptr.as_ptr().cast::<u8>(), self.len) })
    }

    /// Hands the arena to the GPU: drops the host view and unmaps.
    pub(crate) fn unmap(&mut self) {
        if self.view.take().is_some() {
            self.buffer.unmap();
        }
    }

    /// The buffer the GPU copies from, if it belongs to the device of
    /// recovery `generation` and is unmapped.
    pub(crate) fn source(&self, generation: u32) -> Result<&wgpu::Buffer> {
        if generation != self.generation {
            return Err(Error::gpu(
                "this upload arena belongs to a device that was lost and replaced",
                "make new upload arenas after a recovery",
            ));
        }
        if self.view.is_some() {
            return Err(Error::bad_input(
                "an upload arena is still mapped for writing",
                "hand it to the megakernel with adopt_upload",
            ));
        }
        Ok(&self.buffer)
    }
}

impl crate::backend::DeviceArena for UploadArena {
    fn len(&self) -> usize {
        UploadArena::len(self)
    }
    fn bytes_mut(&mut self) -> Result<&mut [u8]> {
        UploadArena::bytes_mut(self)
    }
    fn unmap(&mut self) {
        UploadArena::unmap(self)
    }
    fn generation(&self) -> u32 {
        UploadArena::generation(self)
    }
    fn device_lost(&self) -> bool {
        UploadArena::device_lost(self)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
