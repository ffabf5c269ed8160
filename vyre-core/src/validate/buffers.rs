//! Checks of the program header: workgroup size and buffer declarations.

use std::collections::HashMap;

use super::{identifier_problem, show, Diags};
use crate::ir::{Access, BufferDecl, DataType, Program};

/// vyre's portable workgroup size limit (WebGPU's default
/// `maxComputeInvocationsPerWorkgroup`).
pub(crate) const MAX_WORKGROUP_SIZE: u32 = 256;
/// Most elements of a uniform buffer (64 KiB, WebGPU's default
/// `maxUniformBufferBindingSize`).
pub(crate) const MAX_UNIFORM_LEN: u32 = 16384;
/// Most bytes of workgroup memory (WebGPU's default `maxComputeWorkgroupStorageSize`).
pub(crate) const MAX_WORKGROUP_BYTES: u64 = 16 * 1024;

/// Checks the workgroup size and the buffers; returns the first declaration
/// of every buffer name.
pub(crate) fn check<'p>(
    program: &'p Program,
    diags: &mut Diags,
) -> HashMap<&'p str, &'p BufferDecl> {
    if !(1..=MAX_WORKGROUP_SIZE).contains(&program.workgroup_size) {
        diags.push(
            "workgroup_size",
            format!(
                "workgroup_size is {}, outside 1..={MAX_WORKGROUP_SIZE} (vyre's portable limit: WebGPU's default \
                 maxComputeInvocationsPerWorkgroup). Fix: use a workgroup size between 1 and {MAX_WORKGROUP_SIZE}, \
                 e.g. 64, and dispatch more workgroups instead",
                program.workgroup_size
            ),
        );
    }

    let mut by_name: HashMap<&str, (usize, &BufferDecl)> = HashMap::new();
    let mut by_binding: HashMap<u32, usize> = HashMap::new();
    let mut workgroup_bytes: u64 = 0;
    let mut workgroup_over = false;
    for (i, b) in program.buffers.iter().enumerate() {
        let place = format!("buffer {} (buffers[{i}])", show(&b.name));
        if let Some(why) = identifier_problem(&b.name) {
            diags.push(
                &place,
                format!(
                    "the buffer name {} {why}. Fix: name buffers with an identifier ([A-Za-z_][A-Za-z0-9_]*) \
                     not starting with `__`",
                    show(&b.name)
                ),
            );
        }
        if let Some((first, _)) = by_name.get(b.name.as_str()) {
            diags.push(
                &place,
                format!(
                    "a buffer named {} is already declared at buffers[{first}]. Fix: give every buffer a unique name",
                    show(&b.name)
                ),
            );
        } else {
            by_name.insert(&b.name, (i, b));
        }
        if b.access.is_bound() {
            if let Some(first) = by_binding.get(&b.binding) {
                diags.push(
                    &place,
                    format!(
                        "binding {} is already used by buffers[{first}] ({}). Fix: give every host-visible or \
                         constant buffer its own binding number",
                        b.binding,
                        show(&program.buffers[*first].name)
                    ),
                );
            } else {
                by_binding.insert(b.binding, i);
            }
        }
        if b.elem == DataType::Bool {
            diags.push(
                &place,
                "the element type is bool, which buffers cannot hold. Fix: store bools as u32 (0 or 1) and \
                 convert with cast"
                    .to_string(),
            );
        }
        match (b.access, b.len) {
            (Access::Workgroup | Access::Uniform | Access::Constant, None) => diags.push(
                &place,
                format!(
                    "a {} buffer needs a fixed length but `len` is None. Fix: set `len` (e.g. with \
                     BufferDecl::with_len)",
                    b.access.name()
                ),
            ),
            (_, Some(0)) => diags.push(
                &place,
                "the fixed length is 0; every buffer needs at least one element. Fix: set `len` to at least 1 \
                 (or to None for a host buffer sized by its data)"
                    .to_string(),
            ),
            _ => {}
        }
        if let (Access::Uniform, Some(len)) = (b.access, b.len) {
            if len % 4 != 0 {
                diags.push(
                    &place,
                    format!(
                        "a uniform buffer's length must be a multiple of 4 (it is an array of vec4) but it is \
                         {len}. Fix: pad the length to {}",
                        u64::from(len).div_ceil(4) * 4
                    ),
                );
            }
            if len > MAX_UNIFORM_LEN {
                diags.push(
                    &place,
                    format!(
                        "a uniform buffer may hold at most {MAX_UNIFORM_LEN} elements (64 KiB) but this one has \
                         {len}. Fix: use a read-only storage buffer (`read` access) for large data"
                    ),
                );
            }
        }
        if b.access == Access::Constant && b.len != Some(b.data.len() as u32) {
            diags.push(
                &place,
                format!(
                    "a constant buffer holds {} words but its `len` is {:?}. Fix: build it with \
                     BufferDecl::constant, which sets `len` from the words",
                    b.data.len(),
                    b.len
                ),
            );
        }
        if b.access != Access::Constant && !b.data.is_empty() {
            diags.push(
                &place,
                format!(
                    "a {} buffer has `data`, which only constant buffers hold. Fix: leave `data` empty, or \
                     declare the buffer with BufferDecl::constant",
                    b.access.name()
                ),
            );
        }
        // Constant tables live in workgroup memory on the GPU.
        if let (true, Some(len)) = (b.access.in_workgroup_memory(), b.len) {
            workgroup_bytes = workgroup_bytes.saturating_add(u64::from(len) * 4);
            if workgroup_bytes > MAX_WORKGROUP_BYTES && !workgroup_over {
                workgroup_over = true;
                diags.push(
                    &place,
                    format!(
                        "workgroup and constant buffers up to this one need {workgroup_bytes} bytes, more than \
                         the {} bytes (16 KiB) of workgroup memory vyre allows. Fix: shrink the workgroup buffers \
                         and constant tables (at most {} u32 elements in all)",
                        MAX_WORKGROUP_BYTES,
                        MAX_WORKGROUP_BYTES / 4
                    ),
                );
            }
        }
    }
    by_name
        .into_iter()
        .map(|(name, (_, decl))| (name, decl))
        .collect()
}
