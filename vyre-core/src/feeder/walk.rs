//! Path walking: turns the paths a user named into the list of regular files
//! to scan, and a list of everything that could not be scanned, with reasons.

use std::collections::HashSet;
use std::fs::{self, FileType};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::{FileEntry, PathFailure};

/// Walks `paths` and returns the regular files found (with their sizes) and
/// the paths that could not be scanned (with a human-readable reason).
///
/// * A regular file (or a symbolic link to one) becomes a [`FileEntry`].
/// * A directory is walked recursively; its entries are visited in byte order
///   of their names, depth first, so the result is deterministic. The named
///   paths themselves are kept in the order given.
/// * Symbolic links are followed, but every directory (identified by device
///   and inode) is entered at most once: a link back to an ancestor cannot
///   loop, and a tree reachable through two links is listed once.
/// * Anything else is a [`PathFailure`]: a missing path, a broken link, a
///   permission error, an unlistable directory, a FIFO, a socket, a device.
///   Nothing is ever opened here, so a FIFO cannot block the walk.
///
/// The walk stats each entry once; it keeps no file open.
pub fn collect_files(paths: &[PathBuf]) -> (Vec<FileEntry>, Vec<PathFailure>) {
    let mut w = Walker::default();
    for p in paths {
        w.walk(p.clone());
    }
    (w.files, w.failures)
}

#[derive(Default)]
struct Walker {
    files: Vec<FileEntry>,
    failures: Vec<PathFailure>,
    visited: HashSet<(u64, u64)>,
}

impl Walker {
    fn fail(&mut self, path: PathBuf, reason: String) {
        self.failures.push(PathFailure { path, reason });
    }

    /// Depth-first walk from `root` with an explicit stack (no recursion, so
    /// deep trees cannot overflow the thread's stack).
    fn walk(&mut self, root: PathBuf) {
        let mut stack = vec![root];
        while let Some(path) = stack.pop() {
            let md = match fs::metadata(&path) {
                Ok(md) => md,
                Err(e) => {
                    let reason = stat_error_reason(&path, &e);
                    self.fail(path, reason);
                    continue;
                }
            };
            let ft = md.file_type();
            if ft.is_file() {
                self.files.push(FileEntry {
                    path,
                    size: md.len(),
                });
            } else if ft.is_dir() {
                if !self.visited.insert((md.dev(), md.ino())) {
                    continue; // already walked (link loop or second route)
                }
                let children = self.list_sorted(&path);
                // Reverse so that popping visits the children in sorted order.
                stack.extend(children.into_iter().rev().map(|name| path.join(name)));
            } else {
                self.fail(path, non_regular_reason(&ft));
            }
        }
    }

    fn list_sorted(&mut self, dir: &Path) -> Vec<std::ffi::OsString> {
        let rd = match fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => {
                self.fail(dir.to_path_buf(), format!("cannot list directory: {e}"));
                return Vec::new();
            }
        };
        let mut names = Vec::new();
        for entry in rd {
            match entry {
                Ok(entry) => names.push(entry.file_name()),
                Err(e) => {
                    self.fail(
                        dir.to_path_buf(),
                        format!("error while listing directory (listing is incomplete): {e}"),
                    );
                    break;
                }
            }
        }
        names.sort();
        names
    }
}

/// Reason for a failed `stat` of `path`.
fn stat_error_reason(path: &Path, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => {
            if fs::symlink_metadata(path).is_ok() {
                "is a broken symbolic link (its target does not exist)".to_string()
            } else {
                "not found (no such file or directory)".to_string()
            }
        }
        io::ErrorKind::PermissionDenied => format!("permission denied: {e}"),
        _ if e.raw_os_error() == Some(libc::ELOOP) => {
            format!("is a symbolic link that cannot be resolved (link loop): {e}")
        }
        _ => format!("cannot inspect path: {e}"),
    }
}

/// Human reason for a path that is not a regular file.
pub(crate) fn non_regular_reason(ft: &FileType) -> String {
    let what = if ft.is_dir() {
        "is a directory (pass it to collect_files to scan its contents)"
    } else if ft.is_fifo() {
        "is a FIFO (named pipe)"
    } else if ft.is_socket() {
        "is a socket"
    } else if ft.is_char_device() {
        "is a character device"
    } else if ft.is_block_device() {
        "is a block device"
    } else {
        "is not a regular file"
    };
    format!("{what}; vyre scans regular files only")
}

/// Reason for a failed open of a file the walk found.
pub(crate) fn open_error_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => format!("disappeared during the scan (cannot open: {e})"),
        io::ErrorKind::PermissionDenied => format!("permission denied: cannot open: {e}"),
        _ => format!("cannot open: {e}"),
    }
}
