//! Reading a batch's chunks again from their files, when the bytes the
//! reader put in a GPU upload arena are gone (device lost) or a chunk must
//! run on the CPU reference (cut by the device) or natively.

use vyre_core::feeder::{Batch, FileEntry};
use vyre_core::{Error, Result};

/// Reads `batch`'s chunks (look-behind included) from their files again,
/// into a new host arena of `words` words laid out as the feeder laid them.
/// A file that cannot be read again (removed, shortened, no longer a regular
/// file since) fails alone: its chunks leave the batch and it joins the
/// batch's failures, as a failed read does in the feeder.
pub(super) fn reread(
    files: &[FileEntry],
    batch: &mut Batch,
    words: usize,
    why: &str,
) -> Result<Vec<u32>> {
    use std::os::unix::fs::FileExt;
    let mut arena = vec![0u32; words];
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut arena[..]);
    let mut failed: Vec<(usize, String)> = Vec::new();
    let mut open: Option<(usize, std::fs::File)> = None;
    for c in &batch.chunks {
        if failed.iter().any(|(f, _)| *f == c.file) {
            continue;
        }
        let entry = files.get(c.file).ok_or_else(|| {
            Error::internal(format!(
                "a scan batch names file {} of {}",
                c.file,
                files.len()
            ))
        })?;
        let n = (c.look_behind + c.len) as usize;
        let dst = bytes
            .get_mut(c.arena_offset..c.arena_offset + n)
            .ok_or_else(|| {
                Error::internal(format!(
                    "a scan chunk at arena offset {} ({n} bytes) lies outside its {}-byte arena",
                    c.arena_offset,
                    words * 4
                ))
            })?;
        if let Some(content) = &entry.content {
            // Read by the walk (its stat size was not its size): the same
            // bytes again, not a second read that may differ.
            let from = (c.file_offset - u64::from(c.look_behind)) as usize;
            match content.get(from..from + n) {
                Some(src) => dst.copy_from_slice(src),
                None => failed.push((
                    c.file,
                    format!("a chunk at offset {from} ({n} bytes) lies outside the {} bytes read. Fix: this is a vyre bug; please report it", content.len()),
                )),
            }
            continue;
        }
        if open.as_ref().is_none_or(|(i, _)| *i != c.file) {
            let opened = vyre_core::feeder::open_regular(&entry.path).and_then(|f| {
                // The same bytes as the first read, or the file fails.
                match f.metadata().map(|m| m.len()) {
                    Ok(n) if n == entry.size => Ok(f),
                    Ok(n) => Err(format!(
                        "changed size during the scan: {} bytes when first read, {n} now",
                        entry.size
                    )),
                    Err(e) => Err(format!("cannot stat it: {e}")),
                }
            });
            match opened {
                Ok(f) => open = Some((c.file, f)),
                Err(reason) => {
                    failed.push((c.file, format!("{reason} (reading it again {why})")));
                    continue;
                }
            }
        }
        let Some((_, file)) = open.as_ref() else {
            continue;
        };
        if let Err(e) = file.read_exact_at(dst, c.file_offset - u64::from(c.look_behind)) {
            failed.push((
                c.file,
                format!("reading it again {why} failed: {e} (changed during the scan?)"),
            ));
        }
    }
    if !failed.is_empty() {
        let gone = |f: usize| failed.iter().any(|(g, _)| *g == f);
        batch.bytes -= batch
            .chunks
            .iter()
            .filter(|c| gone(c.file))
            .map(|c| u64::from(c.len))
            .sum::<u64>();
        batch.chunks.retain(|c| !gone(c.file));
        batch.failures.extend(failed);
    }
    if cfg!(target_endian = "big") {
        // The GPU reads bytes as little-endian words.
        arena.iter_mut().for_each(|w| *w = u32::from_le(*w));
    }
    Ok(arena)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vyre_core::feeder::ChunkDesc;

    /// `reread` lays chunks out where the feeder did (look-behind first); a
    /// file gone since fails alone: its chunks leave the batch, its bytes
    /// leave the count, and it joins the failures with a reason.
    #[test]
    fn reread_restores_the_layout_and_fails_only_missing_files() {
        let dir = std::env::temp_dir().join(format!("vyre-reread-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a: Vec<u8> = (0..100u8).collect();
        let (pa, pb) = (dir.join("a"), dir.join("b"));
        std::fs::write(&pa, &a).unwrap();
        std::fs::write(&pb, b"gone soon").unwrap();
        let files = [FileEntry::new(pa, 100), FileEntry::new(pb.clone(), 9)];
        let chunk = |file, file_offset, len, look_behind, arena_offset| ChunkDesc {
            file,
            file_offset,
            len,
            look_behind,
            arena_offset,
        };
        let mut batch = Batch {
            // a[0..40], then a[40..100] with 8 bytes of look-behind, then b.
            chunks: vec![
                chunk(0, 0, 40, 0, 0),
                chunk(0, 40, 60, 8, 40),
                chunk(1, 0, 9, 0, 108),
            ],
            failures: Vec::new(),
            bytes: 109,
        };
        std::fs::remove_file(&pb).unwrap();
        let arena = reread(&files, &mut batch, 32, "after the GPU was lost").expect("reread");
        let bytes: &[u8] = bytemuck::cast_slice(&arena);
        assert_eq!(&bytes[0..40], &a[0..40]);
        assert_eq!(&bytes[40..48], &a[32..40], "look-behind");
        assert_eq!(&bytes[48..108], &a[40..100]);
        assert!(
            bytes[108..].iter().all(|&b| b == 0),
            "nothing of the missing file"
        );
        assert_eq!(batch.chunks.len(), 2);
        assert!(batch.chunks.iter().all(|c| c.file == 0));
        assert_eq!(batch.bytes, 100);
        assert_eq!(batch.failures.len(), 1);
        assert_eq!(batch.failures[0].0, 1);
        assert!(
            batch.failures[0].1.contains("again"),
            "{:?}",
            batch.failures
        );
        // A chunk outside the arena is a bug, reported as an error.
        let mut bad = Batch {
            chunks: vec![chunk(0, 0, 40, 0, 100)],
            failures: Vec::new(),
            bytes: 40,
        };
        assert!(reread(&files, &mut bad, 32, "in a test").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
