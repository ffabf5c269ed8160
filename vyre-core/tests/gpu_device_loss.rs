//! Device loss on the wgpu backend: a destroyed device is reported as lost,
//! `recover` opens a fresh one on the same adapter, and resident buffers are
//! uploaded again in full afterwards.

use vyre_core::gpu::WgpuBackend;
use vyre_core::{Backend, HostBuffers};

mod support;
use support::gpu::{affine, affine_expected, backend};

/// wgpu from one test thread at a time (lavapipe misbehaves otherwise).
static GPU: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn lost_device_is_reported_recovered_and_reuploaded() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let g = backend();
    let p = affine("triple_plus_one", 3);
    let data: Vec<u32> = (0..64).map(|i| i * 7 + 5).collect();
    let mut bufs = HostBuffers::new(vec![data.clone(), vec![0; 64]]);
    let all = [(0, 0..64), (1, 0..64)];
    g.run_ranges(&p, &mut bufs, 1, &all, &[(1, 0..64)])
        .expect("first run");
    assert_eq!(bufs[1], affine_expected(&data, 3));
    assert_eq!(g.lost_reason(), None);
    assert!(!g.recover().expect("recover on a healthy device"));

    g.simulate_device_loss();
    assert!(g.lost_reason().is_some_and(|r| r.contains("simulated")));
    bufs[1] = vec![0; 64];
    let err = g
        .run_ranges(&p, &mut bufs, 1, &[], &[(1, 0..64)])
        .expect_err("a run on a destroyed device fails");
    assert!(err.is_device_lost(), "{err:?}");
    assert!(
        matches!(&err, vyre_core::Error::DeviceLost { reason, .. } if reason.contains("simulated")),
        "{err:?}"
    );
    let err = err.to_string();
    assert!(err.contains("lost") && err.contains("Fix:"), "{err}");

    assert!(g.recover().expect("recover"), "the device was lost");
    assert_eq!(g.recoveries(), 1);
    assert_eq!(g.lost_reason(), None);
    assert_eq!(g.cached_kernels(), 0, "old kernels are dropped");
    // Nothing is marked as written: the backend must still upload everything
    // (its buffers are new, and the failed run left the host buffers under a
    // stamp no device copy holds).
    bufs[1] = vec![0; 64];
    g.run_ranges(&p, &mut bufs, 1, &[], &[(1, 0..64)])
        .expect("run after recovery");
    assert_eq!(bufs[1], affine_expected(&data, 3));
    // Plain runs work too, and a second recovery has nothing to do.
    let mut bufs2 = vec![data.iter().map(|d| d + 1).collect(), vec![0; 64]];
    g.run(&p, &mut bufs2, 1).expect("run");
    assert_eq!(bufs2[1], affine_expected(&bufs2[0], 3));
    assert!(!g.recover().expect("recover on a healthy device"));
    assert_eq!(g.recoveries(), 1);
}

#[test]
fn destroying_the_device_directly_counts_as_loss() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let g = backend();
    let p = affine("triple_plus_one", 3);
    let data: Vec<u32> = (0..64).collect();
    let mut bufs = vec![data.clone(), vec![0; 64]];
    g.run(&p, &mut bufs, 1).expect("first run");
    g.device().destroy();
    let mut bufs = vec![data.clone(), vec![0; 64]];
    let err = g
        .run(&p, &mut bufs, 1)
        .expect_err("a run on a destroyed device fails");
    assert!(err.is_device_lost(), "{err:?}");
    let err = err.to_string();
    assert!(err.contains("lost") && err.contains("Fix:"), "{err}");
    assert!(g.lost_reason().is_some(), "destroy is recorded as loss");
    assert!(g.recover().expect("recover"));
    g.run(&p, &mut bufs, 1).expect("run after recovery");
    assert_eq!(bufs[1], affine_expected(&data, 3));
}

#[test]
fn open_all_opens_at_least_one_adapter() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let all = WgpuBackend::open_all().expect("open_all");
    assert!(!all.is_empty());
    let p = affine("triple_plus_one", 3);
    for g in &all {
        let data: Vec<u32> = (0..64).map(|i| i ^ 0x55).collect();
        let mut bufs = vec![data.clone(), vec![0; 64]];
        g.run(&p, &mut bufs, 1).expect("run");
        assert_eq!(bufs[1], affine_expected(&data, 3), "{}", g.name());
    }
}

#[test]
fn backends_move_between_threads() {
    // Made on one thread, used, lost and recovered on another, dropped on a
    // third: NVIDIA's driver used to crash at thread exit after this when
    // every backend had its own wgpu instance.
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let p = affine("triple_plus_one", 3);
    let data: Vec<u32> = (0..64).map(|i| i * 11).collect();
    let g = backend();
    let (g, p) = std::thread::spawn(move || {
        let mut bufs = vec![data.clone(), vec![0; 64]];
        g.run(&p, &mut bufs, 1).expect("run");
        g.simulate_device_loss();
        assert!(g.recover().expect("recover"));
        let mut bufs = vec![data.clone(), vec![0; 64]];
        g.run(&p, &mut bufs, 1).expect("run after recovery");
        assert_eq!(bufs[1], affine_expected(&data, 3));
        (g, p)
    })
    .join()
    .expect("worker thread");
    let mut bufs = vec![vec![1; 64], vec![0; 64]];
    g.run(&p, &mut bufs, 1).expect("run back on this thread");
    assert_eq!(bufs[1], vec![4; 64]);
    std::thread::spawn(move || drop(g))
        .join()
        .expect("dropping thread");
}
