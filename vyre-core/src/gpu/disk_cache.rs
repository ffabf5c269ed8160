//! vyre's on-disk pipeline cache: the driver's compiled pipelines, kept in a
//! file per adapter so a second process does not compile them again.
//!
//! wgpu exposes the driver's pipeline cache as [`wgpu::PipelineCache`]
//! (Vulkan only, feature [`wgpu::Features::PIPELINE_CACHE`]). vyre creates one
//! per device from the adapter's cache file, passes it to every compute
//! pipeline it builds, and after each newly built pipeline writes the cache's
//! data back (to a temporary file renamed over the old one, so readers never
//! see half a file).
//!
//! File layout (all integers little-endian):
//!
//! ```text
//! magic     = "VYREPC01"                                   [8]
//! id_len    = u32, then the adapter identity (UTF-8)        [4 + id_len]
//! data_len  = u64                                           [8]
//! digest    = blake3(data)                                  [32]
//! data      = what wgpu's PipelineCache::get_data returned  [data_len]
//! ```
//!
//! A file is used only when its magic, adapter identity (backend, vendor,
//! device, driver and driver version) and digest all match; otherwise it is
//! ignored, the reason is kept in [`PipelineCacheInfo::rejected`], and the
//! next save replaces it. wgpu checks its own header too (driver's cache UUID,
//! wgpu's format version) and falls back to an empty cache on a mismatch.
//!
//! Where: `VYRE_PIPELINE_CACHE` names the directory (`off` disables the
//! cache); unset, it is `$XDG_CACHE_HOME/vyre`, else `$HOME/.cache/vyre`.
//! vyre creates the directory private (mode 0700) and neither loads nor
//! writes a cache in a directory other users may write to (such as `/tmp`):
//! the digest catches accidents (torn or corrupted files), not a file
//! another user planted, and the data goes to the driver.
//!
//! Vulkan caches only grow; data over [`MAX_CACHE_BYTES`] is not written
//! (reported in [`PipelineCacheInfo::save_error`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::lock;

const MAGIC: &[u8; 8] = b"VYREPC01";

/// Largest cache data vyre writes to disk (64 MiB).
pub const MAX_CACHE_BYTES: usize = 64 << 20;

/// Why files in `dir` must not be trusted, if they must not: the directory
/// is writable by group or others. A missing directory is fine (vyre
/// creates it private).
fn untrusted(dir: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(dir).ok()?;
    let mode = meta.permissions().mode();
    (mode & 0o022 != 0).then(|| {
        format!(
            "its directory {} is writable by other users (mode {:o}), so another user could have planted it. Fix: point VYRE_PIPELINE_CACHE at a private directory, or `chmod go-w` this one",
            dir.display(),
            mode & 0o7777
        )
    })
}

/// Where [`WgpuBackend`](super::WgpuBackend) keeps compiled pipelines between
/// processes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PipelineCacheLocation {
    /// `VYRE_PIPELINE_CACHE` when set (a directory, or `off`), else
    /// `$XDG_CACHE_HOME/vyre`, else `$HOME/.cache/vyre`; off when none of
    /// these is set.
    Default,
    /// This directory (created when missing).
    Dir(PathBuf),
    /// No on-disk cache: every process compiles its pipelines (the driver's
    /// own cache, where it has one, still applies).
    Off,
}

impl PipelineCacheLocation {
    /// The directory this location stands for, or `None` when off.
    pub fn resolve(&self) -> Option<PathBuf> {
        match self {
            PipelineCacheLocation::Off => None,
            PipelineCacheLocation::Dir(d) => Some(d.clone()),
            PipelineCacheLocation::Default => {
                let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
                if let Some(v) = env("VYRE_PIPELINE_CACHE") {
                    let off = ["off", "0", "none", "false"]
                        .iter()
                        .any(|w| v.eq_ignore_ascii_case(w));
                    return (!off).then(|| PathBuf::from(v));
                }
                if let Some(x) = env("XDG_CACHE_HOME") {
                    return Some(PathBuf::from(x).join("vyre"));
                }
                env("HOME").map(|h| PathBuf::from(h).join(".cache").join("vyre"))
            }
        }
    }
}

/// What the on-disk pipeline cache of a device did: see
/// [`WgpuBackend::pipeline_cache_info`](super::WgpuBackend::pipeline_cache_info).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PipelineCacheInfo {
    /// The adapter's cache file.
    pub path: PathBuf,
    /// Bytes of cache data loaded from the file when the device was opened
    /// (0: no file, or it was rejected).
    pub loaded_bytes: u64,
    /// Bytes of cache data the driver held right after it was given the
    /// file's data: about `loaded_bytes` when the driver took the
    /// pipelines, near 0 when it discarded them (e.g. after a driver update).
    pub accepted_bytes: u64,
    /// Why an existing file was not used, if it was not.
    pub rejected: Option<String>,
    /// Times the cache was written back (a pipeline the file already held
    /// changes nothing and is not written again).
    pub saves: u64,
    /// The last failed write, if any (the cache is an accelerator: a failed
    /// write never fails a compile).
    pub save_error: Option<String>,
}

/// The pipeline cache of one device and the file behind it.
pub(crate) struct DiskCache {
    pub cache: wgpu::PipelineCache,
    identity: String,
    info: Mutex<PipelineCacheInfo>,
    /// blake3 of the data the file holds now (loaded or last written), so an
    /// unchanged cache is not written again.
    on_disk: Mutex<Option<[u8; 32]>>,
    /// Set when the directory must not be used (see `untrusted`).
    distrust: Option<String>,
}

/// Tells temporary files of one process apart.
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// What identifies the driver that produced a cache: a cache is only loaded
/// on the same backend, vendor, device, driver and driver version.
fn identity(info: &wgpu::AdapterInfo) -> String {
    format!(
        "{:?}/{:#x}/{:#x}/{}/{}",
        info.backend, info.vendor, info.device, info.driver, info.driver_info
    )
}

/// Reads a cache file: the data, or why it cannot be used.
fn read_file(path: &Path, identity: &str) -> std::result::Result<Option<Vec<u8>>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("reading it failed: {e}")),
    };
    let mut at = 0usize;
    let mut take = |n: usize| -> std::result::Result<&[u8], String> {
        let part = bytes
            .get(at..at.saturating_add(n))
            .ok_or_else(|| format!("it is truncated ({} bytes)", bytes.len()))?;
        at += n;
        Ok(part)
    };
    if take(8)? != MAGIC {
        return Err("it is not a vyre pipeline cache (bad magic)".into());
    }
    let id_len = u32::from_le_bytes(take(4)?.try_into().map_err(|_| "bad length")?) as usize;
    let id = take(id_len)?.to_vec();
    if id != identity.as_bytes() {
        return Err(format!(
            "it was made for another adapter or driver ({})",
            String::from_utf8_lossy(&id)
        ));
    }
    let len = u64::from_le_bytes(take(8)?.try_into().map_err(|_| "bad length")?);
    let digest: [u8; 32] = take(32)?.try_into().map_err(|_| "bad digest")?;
    let len = usize::try_from(len).map_err(|_| "its length does not fit".to_string())?;
    let data = take(len)?.to_vec();
    if at != bytes.len() {
        return Err(format!(
            "it has {} stray bytes at the end",
            bytes.len() - at
        ));
    }
    if *blake3::hash(&data).as_bytes() != digest {
        return Err("its blake3 digest does not match (the file is corrupt)".into());
    }
    Ok(Some(data))
}

impl DiskCache {
    /// Creates the pipeline cache of `device` from the adapter's file in
    /// `dir`. `None` when the device lacks the PIPELINE_CACHE feature or
    /// wgpu has no cache key for the adapter (non-Vulkan backends).
    pub fn open(device: &wgpu::Device, info: &wgpu::AdapterInfo, dir: &Path) -> Option<Self> {
        if !device.features().contains(wgpu::Features::PIPELINE_CACHE) {
            return None;
        }
        let key = wgpu::util::pipeline_cache_key(info)?;
        let identity = identity(info);
        let path = dir.join(format!("{key}.vyrepc"));
        let distrust = untrusted(dir);
        let (data, rejected) = match &distrust {
            Some(why) => (None, Some(why.clone())),
            None => match read_file(&path, &identity) {
                Ok(d) => (d, None),
                Err(why) => (None, Some(why)),
            },
        };
        // SAFETY: wgpu requires `data` to come from `PipelineCache::get_data`.
        // vyre writes the file only from `get_data` (see `save`), in a
        // directory it creates private and only reads from a directory no
        // other user may write to (`untrusted`); `read_file` returns the data
        // only when the blake3 digest stored beside it matches, so a torn,
        // truncated or corrupted file is never passed on (the digest guards
        // against accidents, the permissions against other users); wgpu then
        // checks its own header (adapter, driver cache UUID, format version)
        // and `fallback: true` starts empty on any mismatch.
        let cache = unsafe {
            device.create_pipeline_cache(&wgpu::PipelineCacheDescriptor {
                label: Some("vyre pipeline cache"),
                data: data.as_deref(),
                fallback: true,
            })
        };
        let accepted_bytes = cache.get_data().map_or(0, |d| d.len() as u64);
        let on_disk = data.as_deref().map(|d| *blake3::hash(d).as_bytes());
        Some(DiskCache {
            cache,
            identity,
            on_disk: Mutex::new(on_disk),
            info: Mutex::new(PipelineCacheInfo {
                path,
                loaded_bytes: data.map_or(0, |d| d.len() as u64),
                accepted_bytes,
                rejected,
                ..Default::default()
            }),
            distrust,
        })
    }

    /// What the cache did so far.
    pub fn info(&self) -> PipelineCacheInfo {
        lock(&self.info).clone()
    }

    /// Writes the cache's current data to its file (after a new pipeline
    /// was built) unless the file already holds exactly that data. Failures
    /// are recorded, not returned.
    pub fn save(&self) {
        let Some(data) = self.cache.get_data() else {
            return;
        };
        let digest = *blake3::hash(&data).as_bytes();
        let mut on_disk = lock(&self.on_disk);
        if *on_disk == Some(digest) {
            return;
        }
        let mut info = lock(&self.info);
        if let Some(why) = &self.distrust {
            info.save_error = Some(format!("not written: {why}"));
            return;
        }
        if data.len() > MAX_CACHE_BYTES {
            info.save_error = Some(format!(
                "not written: the cache data is {} bytes, more than {MAX_CACHE_BYTES}. Fix: delete {} (it is rebuilt) or set VYRE_PIPELINE_CACHE=off",
                data.len(),
                info.path.display()
            ));
            return;
        }
        match write_file(&info.path, &self.identity, &data) {
            Ok(()) => {
                *on_disk = Some(digest);
                info.saves += 1;
                info.save_error = None;
            }
            Err(e) => info.save_error = Some(format!("{}: {e}", info.path.display())),
        }
    }
}

/// Writes `data` with vyre's header to a temporary file beside `path` and
/// renames it over `path`.
fn write_file(path: &Path, identity: &str, data: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let tmp = path.with_extension(format!(
        "tmp.{}.{}",
        std::process::id(),
        TMP_SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        let id_len = u32::try_from(identity.len()).map_err(std::io::Error::other)?;
        f.write_all(MAGIC)?;
        f.write_all(&id_len.to_le_bytes())?;
        f.write_all(identity.as_bytes())?;
        f.write_all(&(data.len() as u64).to_le_bytes())?;
        f.write_all(blake3::hash(data).as_bytes())?;
        f.write_all(data)?;
        // No fsync: a file torn by a crash fails its digest and is replaced.
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
