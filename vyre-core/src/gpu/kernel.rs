//! Compiled kernels, resident buffers, submissions and pending reads.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::pending::{PendingRead, Submission};
use super::transfer::{self, ReadbackCache};
use super::{Gpu, BUG_FIX};
use crate::error::{Error, Result};
use crate::ir::{Access, BufferDecl, Program};

/// A program compiled for one device: its WGSL, bind group layout and
/// compute pipeline. Made by [`WgpuBackend::compile`](super::WgpuBackend::compile).
pub struct GpuKernel {
    program: Program,
    wgsl: String,
    host: Vec<BufferDecl>,
    /// The program's constant tables on the device, with their bindings:
    /// uploaded once, bound in every buffer set's bind group.
    constants: Vec<(u32, wgpu::Buffer)>,
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
    gpu: Gpu,
}

impl GpuKernel {
    /// Checks `program` against the device limits, lowers and compiles it.
    pub(crate) fn new(gpu: &Gpu, program: &Program) -> Result<Self> {
        check_limits(gpu, program)?;
        let wgsl = crate::lower::to_wgsl(program)?;
        let host: Vec<BufferDecl> = program.host_buffers().into_iter().cloned().collect();
        let constant_decls: Vec<&BufferDecl> = program
            .buffers
            .iter()
            .filter(|b| b.access == Access::Constant)
            .collect();
        let entries: Vec<wgpu::BindGroupLayoutEntry> = host
            .iter()
            .chain(constant_decls.iter().copied())
            .map(|b| wgpu::BindGroupLayoutEntry {
                binding: b.binding,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: match b.access {
                        Access::Uniform | Access::Constant => wgpu::BufferBindingType::Uniform,
                        a => wgpu::BufferBindingType::Storage {
                            read_only: a == Access::ReadOnly,
                        },
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        let label = program.name.as_str();
        let fix = format!("{BUG_FIX} (the WGSL passed naga's validator).\n--- WGSL ---\n{wgsl}");
        // Not `create_buffer_init`: it panics when the device is lost, where
        // this path must return an error (device recovery relies on it).
        // A uniform array of vec4<u32>: whole 16-byte rows.
        let rows: Vec<Vec<u32>> = constant_decls
            .iter()
            .map(|b| {
                let mut words = b.data.clone();
                words.resize(b.data.len().div_ceil(4) * 4, 0);
                words
            })
            .collect();
        let constants = gpu.scoped(
            &format!("uploading the constant tables of `{label}`"),
            "free GPU memory or use smaller tables",
            || {
                constant_decls
                    .iter()
                    .zip(&rows)
                    .map(|(b, words)| {
                        let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
                            label: Some(&b.name),
                            size: words.len() as u64 * 4,
                            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                            mapped_at_creation: false,
                        });
                        (b.binding, buffer)
                    })
                    .collect::<Vec<_>>()
            },
        )?;
        let targets: Vec<(&wgpu::Buffer, u32, &[u32])> = constants
            .iter()
            .zip(&rows)
            .map(|((_, buffer), words)| (buffer, 0, words.as_slice()))
            .collect();
        super::write::write_buffers(gpu, &targets)?;
        let (layout, pipeline) =
            gpu.scoped(&format!("compiling program `{label}`"), &fix, || {
                let module = gpu
                    .device
                    .create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(label),
                        source: wgpu::ShaderSource::Wgsl(wgsl.as_str().into()),
                    });
                let layout =
                    gpu.device
                        .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                            label: Some(label),
                            entries: &entries,
                        });
                let pipeline_layout =
                    gpu.device
                        .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                            label: Some(label),
                            bind_group_layouts: &[Some(&layout)],
                            immediate_size: 0,
                        });
                let pipeline =
                    gpu.device
                        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                            label: Some(label),
                            layout: Some(&pipeline_layout),
                            module: &module,
                            entry_point: Some("main"),
                            compilation_options: Default::default(),
                            cache: gpu.disk.as_ref().map(|d| &d.cache),
                        });
                (layout, pipeline)
            })?;
        Ok(GpuKernel {
            program: program.clone(),
            wgsl,
            host,
            constants,
            layout,
            pipeline,
            gpu: gpu.clone(),
        })
    }

    /// The program this kernel runs.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The generated WGSL.
    pub fn wgsl(&self) -> &str {
        &self.wgsl
    }

    /// The compute pipeline (entry point `main`, bind group 0).
    pub fn pipeline(&self) -> &wgpu::ComputePipeline {
        &self.pipeline
    }

    /// The layout of bind group 0 (the program's host buffers).
    pub fn bind_group_layout(&self) -> &wgpu::BindGroupLayout {
        &self.layout
    }

    /// Creates zeroed device buffers for the host buffers, `lens[i]` words
    /// for the i-th in binding order, and their bind group. They stay on the
    /// device until the [`BufferSet`] is dropped.
    pub fn create_buffers(&self, lens: &[u32]) -> Result<BufferSet> {
        let p = &self.program;
        if lens.len() != self.host.len() {
            return Err(Error::bad_input(
                format!(
                    "program `{}` has {} host buffer(s) but {} length(s) were given",
                    p.name,
                    self.host.len(),
                    lens.len()
                ),
                "give one length per host buffer, in binding order",
            ));
        }
        let limits = &self.gpu.limits;
        for (decl, &len) in self.host.iter().zip(lens) {
            let bytes = u64::from(len) * 4;
            let max_binding = if decl.access == Access::Uniform {
                limits.max_uniform_buffer_binding_size
            } else {
                limits.max_storage_buffer_binding_size
            };
            let bad = if len == 0 {
                Some((
                    "is empty".to_string(),
                    "give every buffer at least one element".to_string(),
                ))
            } else if decl.len.is_some_and(|n| n != len) {
                Some((
                    format!("is declared with {} elements", decl.len.unwrap_or(0)),
                    "use exactly that length".to_string(),
                ))
            } else if bytes > max_binding.min(limits.max_buffer_size) {
                Some((
                    format!(
                        "is larger than the device allows ({} bytes per binding)",
                        max_binding.min(limits.max_buffer_size)
                    ),
                    "split the data into several dispatches".to_string(),
                ))
            } else {
                None
            };
            if let Some((why, fix)) = bad {
                return Err(Error::bad_input(
                    format!(
                        "buffer `{}` of program `{}` ({len} words) {why}",
                        decl.name, p.name
                    ),
                    fix,
                ));
            }
        }
        let gpu = &self.gpu;
        let (buffers, bind_group) = gpu.scoped(
            &format!("creating buffers for `{}`", p.name),
            "free GPU memory or use smaller buffers",
            || {
                let buffers: Vec<wgpu::Buffer> = self
                    .host
                    .iter()
                    .zip(lens)
                    .map(|(decl, &len)| {
                        let kind = if decl.access == Access::Uniform {
                            wgpu::BufferUsages::UNIFORM
                        } else {
                            wgpu::BufferUsages::STORAGE
                        };
                        gpu.device.create_buffer(&wgpu::BufferDescriptor {
                            label: Some(&decl.name),
                            size: u64::from(len) * 4,
                            usage: kind
                                | wgpu::BufferUsages::COPY_DST
                                | wgpu::BufferUsages::COPY_SRC,
                            mapped_at_creation: false,
                        })
                    })
                    .collect();
                let entries: Vec<wgpu::BindGroupEntry<'_>> = self
                    .host
                    .iter()
                    .map(|decl| decl.binding)
                    .zip(&buffers)
                    .chain(self.constants.iter().map(|(binding, b)| (*binding, b)))
                    .map(|(binding, b)| wgpu::BindGroupEntry {
                        binding,
                        resource: b.as_entire_binding(),
                    })
                    .collect();
                let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(&p.name),
                    layout: &self.layout,
                    entries: &entries,
                });
                (buffers, bind_group)
            },
        )?;
        Ok(BufferSet {
            buffers,
            lens: lens.to_vec(),
            bind_group,
            readback: ReadbackCache::default(),
            gpu: gpu.clone(),
        })
    }

    /// Encodes and submits one dispatch of `workgroups` workgroups over
    /// `set`, without waiting. Writes made with [`BufferSet::write`] before
    /// this call are visible to it.
    pub fn dispatch(&self, set: &BufferSet, workgroups: u32) -> Result<Submission> {
        let max = self.gpu.limits.max_compute_workgroups_per_dimension;
        if workgroups == 0 || workgroups > max {
            return Err(Error::bad_input(format!("program `{}` was dispatched with {workgroups} workgroups; this device allows 1..={max}", self.program.name), "split the work into several dispatches, or loop inside the kernel"));
        }
        if set.lens.len() != self.host.len() {
            return Err(Error::bad_input(
                format!(
                    "the buffer set has {} buffer(s) but program `{}` needs {}",
                    set.lens.len(),
                    self.program.name,
                    self.host.len()
                ),
                "create it with this kernel's create_buffers",
            ));
        }
        let gpu = &self.gpu;
        let done = Arc::new(AtomicBool::new(false));
        let index = gpu.scoped(
            &format!("dispatching `{}`", self.program.name),
            BUG_FIX,
            || {
                let mut encoder =
                    gpu.device
                        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                            label: Some(&self.program.name),
                        });
                {
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: None,
                        timestamp_writes: None,
                    });
                    pass.set_pipeline(&self.pipeline);
                    pass.set_bind_group(0, &set.bind_group, &[]);
                    pass.dispatch_workgroups(workgroups, 1, 1);
                }
                let index = gpu.queue.submit(Some(encoder.finish()));
                let flag = Arc::clone(&done);
                gpu.queue
                    .on_submitted_work_done(move || flag.store(true, Ordering::Release));
                index
            },
        )?;
        Ok(Submission {
            index,
            done,
            gpu: gpu.clone(),
        })
    }
}

/// Checks what the device limits before compiling, with clear messages.
fn check_limits(gpu: &Gpu, p: &Program) -> Result<()> {
    let l = &gpu.limits;
    let wg_max = l
        .max_compute_workgroup_size_x
        .min(l.max_compute_invocations_per_workgroup);
    let too_big = |what: String, fix: String| {
        Err(Error::bad_input(
            format!("program `{}`: {what}", p.name),
            fix,
        ))
    };
    if p.workgroup_size > wg_max {
        return too_big(
            format!(
                "workgroup_size {} exceeds this device's maximum of {wg_max} ({})",
                p.workgroup_size, gpu.label
            ),
            "use a smaller workgroup size".to_string(),
        );
    }
    let shared: u64 = p
        .buffers
        .iter()
        .filter(|b| b.access.in_workgroup_memory())
        .map(|b| u64::from(b.len.unwrap_or(0)) * 4)
        .sum();
    if shared > u64::from(l.max_compute_workgroup_storage_size) {
        return too_big(format!("workgroup buffers and constant tables use {shared} bytes of workgroup memory; this device allows {}", l.max_compute_workgroup_storage_size), "use smaller workgroup buffers or tables".to_string());
    }
    let bound: Vec<&BufferDecl> = p.buffers.iter().filter(|b| b.access.is_bound()).collect();
    let uniforms = bound
        .iter()
        .filter(|b| matches!(b.access, Access::Uniform | Access::Constant))
        .count() as u32;
    let storage = bound.len() as u32 - uniforms;
    if storage > l.max_storage_buffers_per_shader_stage
        || uniforms > l.max_uniform_buffers_per_shader_stage
    {
        return too_big(
            format!(
                "{storage} storage and {uniforms} uniform buffers; this device allows {} and {}",
                l.max_storage_buffers_per_shader_stage, l.max_uniform_buffers_per_shader_stage
            ),
            "merge buffers".to_string(),
        );
    }
    if let Some(b) = bound
        .iter()
        .find(|b| b.binding >= l.max_bindings_per_bind_group)
    {
        return too_big(
            format!(
                "buffer `{}` uses binding {}; this device allows bindings below {}",
                b.name, b.binding, l.max_bindings_per_bind_group
            ),
            "number bindings from 0".to_string(),
        );
    }
    Ok(())
}

/// Device buffers for a kernel's host buffers (binding order), kept on the
/// GPU between dispatches. Made by [`GpuKernel::create_buffers`].
pub struct BufferSet {
    buffers: Vec<wgpu::Buffer>,
    lens: Vec<u32>,
    bind_group: wgpu::BindGroup,
    /// The staging buffer of the last read, for the next one.
    readback: ReadbackCache,
    gpu: Gpu,
}

impl BufferSet {
    /// Number of buffers.
    pub fn count(&self) -> usize {
        self.buffers.len()
    }

    /// Length in words of buffer `index`.
    pub fn words(&self, index: usize) -> Option<u32> {
        self.lens.get(index).copied()
    }

    /// The wgpu buffer `index` (for advanced use).
    pub fn buffer(&self, index: usize) -> Option<&wgpu::Buffer> {
        self.buffers.get(index)
    }

    /// The bind group (group 0) that binds these buffers.
    pub fn bind_group(&self) -> &wgpu::BindGroup {
        &self.bind_group
    }

    fn check_range(&self, index: usize, start: u32, words: usize) -> Result<&wgpu::Buffer> {
        let len = self.lens.get(index).copied().ok_or_else(|| {
            Error::bad_input(
                format!(
                    "buffer index {index} is out of range (the set has {})",
                    self.lens.len()
                ),
                "use an index below that",
            )
        })?;
        if u64::from(start) + words as u64 > u64::from(len) {
            return Err(Error::bad_input(
                format!(
                    "words {start}..{} are outside buffer {index} ({len} words)",
                    u64::from(start) + words as u64
                ),
                "stay inside the buffer",
            ));
        }
        Ok(&self.buffers[index])
    }

    /// Writes `data` into buffer `index` starting at word `offset`. The write
    /// is submitted at once, so it lands before any later dispatch or read.
    /// Long runs of zero words (64 KiB or more) are cleared on the device
    /// instead of copied; the order of writes is kept.
    pub fn write(&self, index: usize, offset: u32, data: &[u32]) -> Result<()> {
        self.write_all(&[(index, offset, data)])
    }

    /// Several writes `(buffer index, word offset, words)` in one go, in
    /// order (a later write to the same words wins): every range is checked
    /// first, then all their bytes go through one pooled staging buffer and
    /// one submission (`gpu/write.rs`). What a batch changes costs one
    /// submission instead of one per buffer and zero run.
    pub fn write_all(&self, writes: &[(usize, u32, &[u32])]) -> Result<()> {
        let mut targets = Vec::with_capacity(writes.len());
        for &(index, offset, data) in writes {
            targets.push((self.check_range(index, offset, data.len())?, offset, data));
        }
        super::write::write_buffers(&self.gpu, &targets)
    }

    /// Queues a GPU copy of the first `bytes` of `src` (an upload arena's
    /// buffer) to the start of buffer `index`; it runs before any later
    /// dispatch.
    pub(crate) fn copy_from(&self, src: &wgpu::Buffer, index: usize, bytes: u64) -> Result<()> {
        let words = (bytes / 4) as usize;
        let dst = self.check_range(index, 0, words)?;
        if bytes == 0 {
            return Ok(());
        }
        let gpu = &self.gpu;
        gpu.scoped("copying an upload arena to the device", BUG_FIX, || {
            let mut encoder = gpu
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("vyre upload"),
                });
            encoder.copy_buffer_to_buffer(src, 0, dst, 0, bytes);
            gpu.queue.submit([encoder.finish()]);
        })
    }

    /// Starts reading word ranges of buffers: `(buffer index, words)` each.
    /// The copies are submitted after all earlier work; collect the words with
    /// [`PendingRead::wait`].
    pub fn read(&self, requests: &[(usize, Range<u32>)]) -> Result<PendingRead> {
        let mut parts = Vec::with_capacity(requests.len());
        let mut total: u64 = 0;
        for (index, range) in requests {
            let words = range.end.saturating_sub(range.start);
            self.check_range(*index, range.start, words as usize)?;
            parts.push((total, words));
            total += u64::from(words) * 4;
        }
        if total == 0 {
            return Ok(PendingRead {
                staging: None,
                parts,
                state: Arc::new(Mutex::new(Some(Ok(())))),
                index: None,
                cache: self.readback.clone(),
                gpu: self.gpu.clone(),
            });
        }
        let gpu = &self.gpu;
        let (staging, index, state) = gpu.scoped("reading buffers back", BUG_FIX, || {
            let staging = transfer::staging(&self.readback, &gpu.device, total);
            let mut encoder = gpu
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("vyre readback"),
                });
            for ((index, range), (dst, words)) in requests.iter().zip(&parts) {
                if *words > 0 {
                    let src = &self.buffers[*index];
                    encoder.copy_buffer_to_buffer(
                        src,
                        u64::from(range.start) * 4,
                        &staging,
                        *dst,
                        u64::from(*words) * 4,
                    );
                }
            }
            let index = gpu.queue.submit(Some(encoder.finish()));
            let state = super::mapping::map(&staging, wgpu::MapMode::Read, 0..total);
            (staging, index, state)
        })?;
        Ok(PendingRead {
            staging: Some(staging),
            parts,
            state,
            index: Some(index),
            cache: self.readback.clone(),
            gpu: gpu.clone(),
        })
    }
}

impl std::fmt::Debug for GpuKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuKernel")
            .field("program", &self.program.name)
            .field("device", &self.gpu.label)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for BufferSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferSet")
            .field("words", &self.lens)
            .finish_non_exhaustive()
    }
}
