//! Chunk planning: how a file of `size` bytes is cut into chunks, and where a
//! chunk lands in the arena.
//!
//! A file of size `S` with chunk size `C` becomes `ceil(S / C)` chunks; a
//! 0-byte file becomes one empty chunk so that it still gets a result. Chunk
//! `i` owns the bytes `[i * C, min((i + 1) * C, S))` and carries the
//! `min(look_behind, i * C)` bytes that precede it in the same file. All file
//! offsets and sizes are `u64`: files larger than 4 GiB are planned exactly.

/// One planned chunk of a file (no arena placement yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PlannedChunk {
    /// Index of the chunk in its file (0-based).
    pub index: u64,
    /// File offset of the first byte the chunk owns.
    pub file_offset: u64,
    /// Number of bytes the chunk owns (0 only for an empty file).
    pub len: u32,
    /// Number of bytes preceding `file_offset` carried along as look-behind.
    pub look_behind: u32,
}

impl PlannedChunk {
    /// File offset of the first byte read for this chunk (look-behind included).
    pub fn read_start(&self) -> u64 {
        self.file_offset - u64::from(self.look_behind)
    }

    /// File offset one past the last byte the chunk owns.
    pub fn end(&self) -> u64 {
        self.file_offset + u64::from(self.len)
    }
}

/// Number of chunks a file of `size` bytes is cut into: `ceil(size /
/// chunk_size)`, and 1 for an empty file. `chunk_size` must not be 0.
pub fn chunk_count(size: u64, chunk_size: u32) -> u64 {
    assert!(chunk_size > 0, "chunk_size must not be 0");
    if size == 0 {
        1
    } else {
        size.div_ceil(u64::from(chunk_size))
    }
}

/// Chunk `index` of a file of `size` bytes, or `None` past the last chunk.
pub fn plan_chunk(
    size: u64,
    chunk_size: u32,
    look_behind: u32,
    index: u64,
) -> Option<PlannedChunk> {
    if index >= chunk_count(size, chunk_size) {
        return None;
    }
    let c = u64::from(chunk_size);
    let file_offset = index * c;
    let len = (size - file_offset.min(size)).min(c) as u32;
    let look_behind = u64::from(look_behind).min(file_offset) as u32;
    Some(PlannedChunk {
        index,
        file_offset,
        len,
        look_behind,
    })
}

/// All chunks of a file of `size` bytes, in order.
pub fn plan_chunks(
    size: u64,
    chunk_size: u32,
    look_behind: u32,
) -> impl Iterator<Item = PlannedChunk> {
    (0..chunk_count(size, chunk_size)).map(move |i| {
        plan_chunk(size, chunk_size, look_behind, i).expect("index below chunk_count")
    })
}

/// O_DIRECT alignment of file offsets, lengths and memory addresses.
pub(crate) const DIRECT_ALIGN: u64 = 4096;

pub(crate) fn align_up(x: u64, a: u64) -> u64 {
    x.div_ceil(a) * a
}

pub(crate) fn align_down(x: u64, a: u64) -> u64 {
    x - x % a
}

/// Where a chunk lands in the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    /// Arena offset of the look-behind bytes, followed by the chunk's bytes.
    pub arena_offset: usize,
    /// For an O_DIRECT layout: arena offset (4096-aligned in memory) where the
    /// aligned read of `align_down(read_start, 4096)..` lands.
    pub direct_dest: Option<usize>,
    /// Arena offset one past the last byte this slot may write.
    pub end: usize,
}

/// Places `c` at or after arena offset `pos` in an arena whose first byte is
/// at address `base`. `direct` asks for the O_DIRECT layout: the read covers
/// whole 4096-byte blocks and starts at a 4096-aligned address. `None` on
/// arithmetic overflow.
pub(crate) fn place(pos: usize, base: usize, c: &PlannedChunk, direct: bool) -> Option<Slot> {
    let span = u64::from(c.look_behind) + u64::from(c.len);
    if !direct || c.len == 0 {
        let arena_offset = usize::try_from(align_up(pos as u64, 4)).ok()?;
        let end = arena_offset.checked_add(usize::try_from(span).ok()?)?;
        return Some(Slot {
            arena_offset,
            direct_dest: None,
            end,
        });
    }
    let start = c.read_start();
    let astart = align_down(start, DIRECT_ALIGN);
    let aend = align_up(c.end(), DIRECT_ALIGN);
    let addr = (base as u64).checked_add(pos as u64)?;
    let dest = usize::try_from(align_up(addr, DIRECT_ALIGN) - base as u64).ok()?;
    let arena_offset = dest.checked_add((start - astart) as usize)?;
    let end = dest.checked_add(usize::try_from(aend - astart).ok()?)?;
    Some(Slot {
        arena_offset,
        direct_dest: Some(dest),
        end,
    })
}
