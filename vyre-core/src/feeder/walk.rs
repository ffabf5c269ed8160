//! Path walking: turns the paths a user named into the list of regular files
//! to scan, and a list of everything that could not be scanned, with reasons.

use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::fs::{self, FileType, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use super::{FileEntry, PathFailure};

/// Largest file whose size cannot be trusted that the walk reads into
/// memory (64 MiB); a larger one is reported failed.
pub const MAX_IN_MEMORY_FILE: u64 = 64 << 20;
/// Most bytes of such files one walk holds in memory together (256 MiB).
pub const MAX_IN_MEMORY_TOTAL: u64 = 256 << 20;

/// How [`collect_files`] walks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkOptions {
    /// Follow symbolic links met while walking a directory (`-L`); links
    /// given as paths are always followed. Default false, as in ripgrep.
    pub follow_links: bool,
    /// Largest file with an untrusted size read into memory (default
    /// [`MAX_IN_MEMORY_FILE`]).
    pub max_in_memory_file: u64,
    /// Most bytes of such files held in memory by one walk (default
    /// [`MAX_IN_MEMORY_TOTAL`]).
    pub max_in_memory_total: u64,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            follow_links: false,
            max_in_memory_file: MAX_IN_MEMORY_FILE,
            max_in_memory_total: MAX_IN_MEMORY_TOTAL,
        }
    }
}

/// Walks `paths` and returns the regular files found (with their sizes) and
/// the paths that could not be scanned (with a human-readable reason).
///
/// * A regular file becomes a [`FileEntry`].
/// * A directory is walked recursively; its entries are visited in byte order
///   of their names, depth first, so the result is deterministic. The named
///   paths themselves are kept in the order given.
/// * Symbolic links (ripgrep's rule): a path given in `paths` is always
///   followed (a link named on the command line is scanned as its target).
///   A link met while walking a directory is skipped silently unless
///   [`WalkOptions::follow_links`]. When following, a link to a directory
///   that is its own ancestor (same device and inode) is reported as a
///   failure ("file system loop ... (not followed again)"), a directory
///   reached a second time through another link is listed once (silently),
///   and a broken link is reported as a failure.
/// * Files whose stat size cannot be trusted are read to end of file now and
///   their bytes are kept in [`FileEntry::content`], which the feeder then
///   delivers instead of reading the file: files on pseudo file systems
///   (procfs, sysfs, debugfs, tracefs, cgroupfs, configfs, securityfs, ...:
///   `/proc/cpuinfo` stats as 0 bytes, sysfs attributes as 4096) and
///   0-byte files on any file system (a 0-byte file that reads as 0 bytes
///   stays an ordinary empty entry). Such a file larger than
///   [`WalkOptions::max_in_memory_file`], beyond
///   [`WalkOptions::max_in_memory_total`] for the whole walk, or whose read
///   would block (a trace pipe, `/proc/kmsg`) is a failure with a reason.
/// * Anything else is a [`PathFailure`]: a missing path, a broken link given
///   as a path, a permission error, an unlistable directory, a FIFO, a
///   socket, a device. Nothing but such files is opened here (never with a
///   blocking open), so a FIFO cannot block the walk.
///
/// The walk stats each entry once and keeps no file open; its memory is the
/// returned lists plus, per directory being walked, its sorted entry names.
pub fn collect_files(paths: &[PathBuf], opts: &WalkOptions) -> (Vec<FileEntry>, Vec<PathFailure>) {
    let mut w = Walker {
        opts: opts.clone(),
        files: Vec::new(),
        failures: Vec::new(),
        visited: HashSet::new(),
        fs_kinds: HashMap::new(),
        in_memory: 0,
    };
    for p in paths {
        w.walk(p.clone());
    }
    (w.files, w.failures)
}

/// A directory on the path from a walk's root to the current entry.
struct Ancestor {
    id: (u64, u64),
    path: PathBuf,
    parent: Option<Rc<Ancestor>>,
}

struct Walker {
    opts: WalkOptions,
    files: Vec<FileEntry>,
    failures: Vec<PathFailure>,
    visited: HashSet<(u64, u64)>,
    /// Per device: the pseudo file system it holds, if any.
    fs_kinds: HashMap<u64, Option<&'static str>>,
    /// Bytes of untrusted-size files read into memory so far.
    in_memory: u64,
}

impl Walker {
    fn fail(&mut self, path: PathBuf, reason: String) {
        self.failures.push(PathFailure { path, reason });
    }

    /// Depth-first walk from `root` with an explicit stack (no recursion, so
    /// deep trees cannot overflow the thread's stack).
    fn walk(&mut self, root: PathBuf) {
        // (path, its parent directory chain, given explicitly)
        let mut stack: Vec<(PathBuf, Option<Rc<Ancestor>>, bool)> = vec![(root, None, true)];
        while let Some((path, parent, explicit)) = stack.pop() {
            let md = if explicit || self.opts.follow_links {
                fs::metadata(&path)
            } else {
                fs::symlink_metadata(&path)
            };
            let md = match md {
                Ok(md) => md,
                Err(e) => {
                    let reason = stat_error_reason(&path, &e);
                    self.fail(path, reason);
                    continue;
                }
            };
            let ft = md.file_type();
            if ft.is_symlink() {
                continue; // met while walking, not followed (ripgrep's rule)
            }
            if ft.is_file() {
                self.add_file(path, &md);
            } else if ft.is_dir() {
                let id = (md.dev(), md.ino());
                let mut a = parent.as_deref();
                while let Some(anc) = a {
                    if anc.id == id {
                        let reason = format!(
                            "file system loop: {} points to an ancestor, {} (not followed again)",
                            path.display(),
                            anc.path.display()
                        );
                        self.fail(path.clone(), reason);
                        break;
                    }
                    a = anc.parent.as_deref();
                }
                if a.is_some() || !self.visited.insert(id) {
                    continue; // a loop (reported), or walked already by another route
                }
                let me = Rc::new(Ancestor {
                    id,
                    path: path.clone(),
                    parent,
                });
                let children = self.list_sorted(&path);
                // Reverse so that popping visits the children in sorted order.
                stack.extend(
                    children
                        .into_iter()
                        .rev()
                        .map(|name| (path.join(name), Some(me.clone()), false)),
                );
            } else {
                self.fail(path, non_regular_reason(&ft));
            }
        }
    }

    /// Adds a regular file, reading it into memory if its size cannot be
    /// trusted.
    fn add_file(&mut self, path: PathBuf, md: &Metadata) {
        let pseudo = self.pseudo_fs(&path, md.dev());
        if pseudo.is_none() && md.len() > 0 {
            self.files.push(FileEntry {
                path,
                size: md.len(),
                content: None,
            });
            return;
        }
        let why = match pseudo {
            Some(fs) => format!(
                "is on {fs}, whose file sizes are not real (it stats as {} bytes), so it is read whole into memory",
                md.len()
            ),
            None => "stats as 0 bytes, so it is read whole into memory to find its real length".to_string(),
        };
        let left = self.opts.max_in_memory_total.saturating_sub(self.in_memory);
        let cap = self.opts.max_in_memory_file.min(left);
        match read_to_end_bounded(&path, cap) {
            Ok(bytes) if bytes.is_empty() && pseudo.is_none() => {
                self.files.push(FileEntry {
                    path,
                    size: 0,
                    content: None,
                });
            }
            Ok(bytes) => {
                self.in_memory += bytes.len() as u64;
                self.files.push(FileEntry {
                    path,
                    size: bytes.len() as u64,
                    content: Some(Arc::from(bytes)),
                });
            }
            Err(Bounded::TooLarge) if cap < self.opts.max_in_memory_file => {
                let reason = format!(
                    "{why}, but this walk already holds {} bytes of such files (at most {}). Fix: scan fewer files of /proc, /sys and similar file systems at once",
                    self.in_memory, self.opts.max_in_memory_total
                );
                self.fail(path, reason);
            }
            Err(Bounded::TooLarge) => {
                let reason = format!(
                    "{why}, but it holds more than {} bytes. Fix: copy the part you need to a regular file and scan that",
                    self.opts.max_in_memory_file
                );
                self.fail(path, reason);
            }
            Err(Bounded::WouldBlock) => {
                let reason = format!(
                    "{why}, but reading it waits for new data (a pipe-like file that never ends). Fix: copy what you need to a regular file and scan that"
                );
                self.fail(path, reason);
            }
            Err(Bounded::Io(reason)) => self.fail(path, reason),
        }
    }

    /// The pseudo file system holding `path` (on device `dev`), if it is one.
    fn pseudo_fs(&mut self, path: &Path, dev: u64) -> Option<&'static str> {
        if let Some(k) = self.fs_kinds.get(&dev) {
            return *k;
        }
        let kind = fs_magic(path).and_then(pseudo_fs_name);
        self.fs_kinds.insert(dev, kind);
        kind
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

/// `statfs(2)` file system magic of the file system holding `path`.
fn fs_magic(path: &Path) -> Option<u64> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: an all-zero statfs is a valid value of this plain C struct.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a valid out-pointer.
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    // f_type is a signed word of varying width; magics are 32-bit.
    #[allow(clippy::unnecessary_cast)]
    Some(st.f_type as u64 & 0xffff_ffff)
}

/// Name of the pseudo file system with this magic, if it is one whose file
/// sizes are not the files' lengths.
fn pseudo_fs_name(magic: u64) -> Option<&'static str> {
    Some(match magic {
        0x9fa0 => "procfs",
        0x6265_6572 => "sysfs",
        0x6462_6720 => "debugfs",
        0x7472_6163 => "tracefs",
        0x7363_6673 => "securityfs",
        0x0027_e0eb => "cgroupfs",
        0x6367_7270 => "cgroup2fs",
        0x6265_6570 => "configfs",
        0x6165_676c => "pstorefs",
        0xde5e_81e4 => "efivarfs",
        0xcafe_4a11 => "bpffs",
        0xf97c_ff8c => "selinuxfs",
        0x4341_5d53 => "smackfs",
        0x4249_4e4d => "binfmt_misc",
        0x6573_5543 => "fusectl",
        0x6e73_6673 => "nsfs",
        _ => return None,
    })
}

enum Bounded {
    TooLarge,
    WouldBlock,
    Io(String),
}

/// Reads `path` to end of file, failing once it holds more than `cap`
/// bytes. Opened with `O_NONBLOCK` (never blocks on a FIFO swapped in, nor
/// on files that wait for new data) and must be a regular file.
fn read_to_end_bounded(path: &Path, cap: u64) -> Result<Vec<u8>, Bounded> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| Bounded::Io(open_error_reason(&e)))?;
    match file.metadata() {
        Ok(md) if md.is_file() => {}
        Ok(md) => return Err(Bounded::Io(non_regular_reason(&md.file_type()))),
        Err(e) => return Err(Bounded::Io(format!("cannot stat the opened file: {e}"))),
    }
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match (&file).read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => {
                if (out.len() + n) as u64 > cap {
                    return Err(Bounded::TooLarge);
                }
                out.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(Bounded::WouldBlock),
            Err(e) => {
                return Err(Bounded::Io(format!(
                    "read error at byte {}: {e}",
                    out.len()
                )))
            }
        }
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
