//! The on-disk pipeline cache: a device writes its compiled pipelines to the
//! adapter's file, the next device loads them, and a damaged, foreign or
//! unwritable cache never breaks a run (it is reported and replaced).

use std::path::{Path, PathBuf};

use vyre_core::gpu::{AdapterChoice, PipelineCacheLocation, WgpuBackend};
use vyre_core::{Backend, HostBuffers};

mod support;
use support::gpu::{affine, affine_expected};

/// wgpu from one test thread at a time (lavapipe misbehaves otherwise).
static GPU: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn backend(cache: PipelineCacheLocation) -> WgpuBackend {
    WgpuBackend::with_adapter_and_cache(AdapterChoice::Default, cache)
        .expect("a wgpu adapter (install mesa-vulkan-drivers for the software one)")
}

/// A fresh directory for one test.
fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vyre-pcache-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Runs `affine` with factor `k` (a distinct `k` gives a pipeline no cache
/// has seen yet) on `g` and checks every word.
fn run_and_check(g: &WgpuBackend, k: u32) {
    let data: Vec<u32> = (0..64).map(|i| i * 7 + 5).collect();
    let mut bufs = HostBuffers::new(vec![data.clone(), vec![0; 64]]);
    g.run_ranges(
        &affine(&format!("scale_{k}"), k),
        &mut bufs,
        1,
        &[(0, 0..64), (1, 0..64)],
        &[(1, 0..64)],
    )
    .expect("run");
    assert_eq!(bufs[1], affine_expected(&data, k));
}

/// The one cache file in `d`.
fn cache_file(d: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(d)
        .expect("the cache directory exists")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(
        files.len(),
        1,
        "one file per adapter, no temporary left: {files:?}"
    );
    files[0].clone()
}

#[test]
fn a_second_device_loads_what_the_first_compiled() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let d = dir("roundtrip");
    let first = backend(PipelineCacheLocation::Dir(d.clone()));
    let info = first
        .pipeline_cache_info()
        .expect("the Vulkan adapter supports wgpu's pipeline cache");
    assert_eq!(info.loaded_bytes, 0, "nothing to load yet");
    assert_eq!(info.rejected, None);
    run_and_check(&first, 3);
    let info = first.pipeline_cache_info().expect("still on");
    assert_eq!(info.saves, 1, "one new pipeline, one save: {info:?}");
    assert_eq!(info.save_error, None);
    let file = cache_file(&d);
    assert_eq!(info.path, file);
    let size = std::fs::metadata(&file).expect("file").len();
    assert!(size > 60, "header plus data, got {size} bytes");

    // A cached kernel is not compiled again, so not saved again.
    run_and_check(&first, 3);
    assert_eq!(first.pipeline_cache_info().expect("on").saves, 1);

    let second = backend(PipelineCacheLocation::Dir(d.clone()));
    let info = second.pipeline_cache_info().expect("on");
    assert_eq!(info.rejected, None);
    assert!(
        info.loaded_bytes > 0,
        "the first device's pipelines were loaded: {info:?}"
    );
    // The driver holds them: its cache is as large as the file's data. (On
    // lavapipe this proves little: its cache data is a 96-byte header with
    // no pipelines. On NVIDIA it is tens of KiB, and the check fails when
    // the data is not handed to the driver.)
    assert!(
        info.accepted_bytes + 64 >= info.loaded_bytes,
        "the driver took the loaded pipelines: {info:?}"
    );
    run_and_check(&second, 3);
    run_and_check(&second, 5);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_damaged_file_is_rejected_with_its_reason_and_replaced() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let d = dir("damaged");
    run_and_check(&backend(PipelineCacheLocation::Dir(d.clone())), 11);
    let file = cache_file(&d);
    let good = std::fs::read(&file).expect("read");

    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x40;
    let cases: [(&str, Vec<u8>); 4] = [
        ("digest", flipped),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("bad magic", b"not a cache at all".to_vec()),
        ("stray bytes", [good.as_slice(), b"xx"].concat()),
    ];
    for (why, bytes) in cases {
        std::fs::write(&file, &bytes).expect("write");
        let g = backend(PipelineCacheLocation::Dir(d.clone()));
        let info = g.pipeline_cache_info().expect("on");
        let rejected = info.rejected.clone().unwrap_or_default();
        assert!(rejected.contains(why), "{why}: {info:?}");
        assert_eq!(info.loaded_bytes, 0);
        run_and_check(&g, 11);
        assert_eq!(g.pipeline_cache_info().expect("on").saves, 1, "{why}");
        // The save replaced the damaged file with a usable one.
        let next = backend(PipelineCacheLocation::Dir(d.clone()));
        let info = next.pipeline_cache_info().expect("on");
        assert_eq!(info.rejected, None, "{why}");
        assert!(info.loaded_bytes > 0, "{why}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_file_for_another_driver_is_not_loaded() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let d = dir("foreign");
    run_and_check(&backend(PipelineCacheLocation::Dir(d.clone())), 13);
    let file = cache_file(&d);
    let mut bytes = std::fs::read(&file).expect("read");
    // The adapter identity follows the 8-byte magic and its 4-byte length;
    // change one character of it (the backend name).
    bytes[12] ^= 0x01;
    std::fs::write(&file, &bytes).expect("write");
    let g = backend(PipelineCacheLocation::Dir(d.clone()));
    let info = g.pipeline_cache_info().expect("on");
    assert!(
        info.rejected
            .as_deref()
            .is_some_and(|r| r.contains("another adapter")),
        "{info:?}"
    );
    run_and_check(&g, 13);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn an_unwritable_cache_is_reported_and_runs_go_on() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let d = dir("unwritable");
    std::fs::create_dir_all(&d).expect("mkdir");
    // A regular file where the cache directory should be.
    let blocker = d.join("not-a-dir");
    std::fs::write(&blocker, b"x").expect("write");
    let g = backend(PipelineCacheLocation::Dir(blocker.clone()));
    run_and_check(&g, 17);
    let info = g.pipeline_cache_info().expect("on");
    assert_eq!(info.saves, 0);
    assert!(
        info.save_error
            .as_deref()
            .is_some_and(|e| e.contains("not-a-dir")),
        "{info:?}"
    );

    let off = backend(PipelineCacheLocation::Off);
    assert_eq!(off.pipeline_cache_info(), None);
    run_and_check(&off, 17);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_directory_other_users_may_write_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let d = dir("shared");
    // A valid cache file, then the directory opened to everyone.
    run_and_check(&backend(PipelineCacheLocation::Dir(d.clone())), 19);
    let file = cache_file(&d);
    let before = std::fs::read(&file).expect("read");
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let g = backend(PipelineCacheLocation::Dir(d.clone()));
    let info = g.pipeline_cache_info().expect("on");
    assert!(
        info.rejected
            .as_deref()
            .is_some_and(|r| r.contains("writable by other users")),
        "{info:?}"
    );
    assert_eq!(info.loaded_bytes, 0);
    run_and_check(&g, 23);
    let info = g.pipeline_cache_info().expect("on");
    assert_eq!(info.saves, 0);
    assert!(
        info.save_error
            .as_deref()
            .is_some_and(|e| e.starts_with("not written")),
        "{info:?}"
    );
    assert_eq!(
        std::fs::read(&file).expect("read"),
        before,
        "the file is left alone"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_cache_directory_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let d = dir("private").join("nested");
    run_and_check(&backend(PipelineCacheLocation::Dir(d.clone())), 29);
    let mode = std::fs::metadata(&d).expect("created").permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    let _ = std::fs::remove_dir_all(d.parent().expect("parent"));
}
