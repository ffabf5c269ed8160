//! `vyre scan` on several devices: sharding gives exactly the results of a
//! one-device scan; a failing device hands its work to the others; a lost
//! wgpu device is recovered and its batch rerun; when every device fails the
//! scan returns an error instead of hanging.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use vyre::cpu::CpuBackend;
use vyre::gpu::WgpuBackend;
use vyre::scan::{scan, scan_devices, Device, FileReport, ScanConfig, ScanSummary};
use vyre::{Backend, Error, Program, Result};

mod support;
use support::{assert_ok, check_against_reference, json_lines, make_tree, tmpdir, vyre_bin};

/// wgpu from one test thread at a time.
static GPU: Mutex<()> = Mutex::new(());

const CHUNK: usize = 4096;
const PATTERNS: [&[u8]; 3] = [b"abab", b"\n", b"xyz\x80"];

/// Small chunks and batches: many batches, patterns cut by chunk edges.
fn config() -> ScanConfig {
    ScanConfig {
        lines: true,
        histogram: true,
        crc32: true,
        patterns: PATTERNS.iter().map(|p| p.to_vec()).collect(),
        chunk_size: CHUNK as u32,
        batch_bytes: 2 * CHUNK,
        // Host arenas: the test wrappers see runs through Backend::run_ranges,
        // which zero-copy runs (upload arenas, wgpu only) go around.
        zero_copy: false,
        ..ScanConfig::default()
    }
}

fn tree(name: &str) -> PathBuf {
    let dir = tmpdir(name);
    make_tree(&dir, CHUNK);
    dir
}

/// Runs a scan on a helper thread; fails the test instead of hanging.
fn scan_on(devices: Vec<Device>, dir: &Path) -> Result<(Vec<FileReport>, ScanSummary)> {
    scan_with(devices, dir, config())
}

/// [`scan_on`] with `cfg`.
fn scan_with(
    devices: Vec<Device>,
    dir: &Path,
    cfg: ScanConfig,
) -> Result<(Vec<FileReport>, ScanSummary)> {
    let (tx, rx) = std::sync::mpsc::channel();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let r = scan_devices(devices, &[dir], &cfg, |r| out.push(r.clone()), |_, _| {});
        let _ = tx.send(r.map(|s| (out, s)));
    });
    rx.recv_timeout(Duration::from_secs(300))
        .expect("the scan finished within 5 minutes")
}

/// The one-device CPU scan every multi-device scan must equal.
fn reference(dir: &Path) -> (Vec<FileReport>, ScanSummary) {
    let mut out = Vec::new();
    let s = scan(
        CpuBackend::new(),
        &[dir.to_path_buf()],
        &config(),
        |r| out.push(r.clone()),
        |_, _| {},
    )
    .expect("reference scan");
    check_against_reference(&out, &PATTERNS);
    (out, s)
}

/// Same reports, same JSON lines, every batch and byte counted once.
fn assert_same(got: &(Vec<FileReport>, ScanSummary), want: &(Vec<FileReport>, ScanSummary)) {
    assert_eq!(got.0.len(), want.0.len(), "number of files");
    for (g, w) in got.0.iter().zip(&want.0) {
        let (gj, wj) = (g.to_json(), w.to_json());
        if gj != wj {
            let all = [gj.as_object(), wj.as_object()];
            let mut keys: Vec<&String> = all.iter().flatten().flat_map(|o| o.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.retain(|k| gj.get(k.as_str()) != wj.get(k.as_str()));
            panic!(
                "{:?}: JSON fields {keys:?} differ from the one-device scan",
                w.path
            );
        }
    }
    assert_eq!(got.0, want.0);
    let (g, w) = (&got.1, &want.1);
    assert_eq!((g.files, g.failed, g.bytes), (w.files, w.failed, w.bytes));
    let batches: u64 = g.devices.iter().map(|d| d.batches).sum();
    let bytes: u64 = g.devices.iter().map(|d| d.bytes).sum();
    assert_eq!(batches, w.devices[0].batches, "every batch counted once");
    assert_eq!(bytes, w.bytes, "every byte counted once");
}

/// A counter threads can wait on, with a timeout (so a broken test fails
/// instead of hanging).
#[derive(Clone, Default)]
struct Counter(Arc<(Mutex<u32>, Condvar)>);

impl Counter {
    fn add(&self) {
        *self.0 .0.lock().unwrap() += 1;
        self.0 .1.notify_all();
    }
    fn wait_for(&self, n: u32) {
        let g = self.0 .0.lock().unwrap();
        let _ = self
            .0
             .1
            .wait_timeout_while(g, Duration::from_secs(120), |c| *c < n);
    }
}

/// Test backend wrapper. Counts runs (`run` and `run_ranges` calls, from 0)
/// in `runs`, and can: call a hook before its first run; lose its wgpu
/// device before chosen runs; fail chosen runs (after really running them,
/// so the megakernel holds results that must be thrown away).
struct Wrapped<B> {
    inner: B,
    runs: Counter,
    first_run: Option<Box<dyn Fn() + Send + Sync>>,
    fail: fn(u32) -> bool,
    lose: fn(u32) -> bool,
    lose_device: Option<fn(&B)>,
}

fn never(_: u32) -> bool {
    false
}

impl<B: Backend> Wrapped<B> {
    fn new(inner: B) -> Self {
        Wrapped {
            inner,
            runs: Counter::default(),
            first_run: None,
            fail: never,
            lose: never,
            lose_device: None,
        }
    }

    fn around(&self, run: impl FnOnce() -> Result<()>) -> Result<()> {
        let n = {
            let mut c = self.runs.0 .0.lock().unwrap();
            *c += 1;
            *c - 1
        };
        self.runs.0 .1.notify_all();
        if n == 0 {
            if let Some(hook) = &self.first_run {
                hook();
            }
        }
        if (self.lose)(n) {
            if let Some(lose) = self.lose_device {
                lose(&self.inner);
            }
        }
        let r = run();
        if (self.fail)(n) {
            return Err(Error::gpu(
                format!("injected fault on run {n}"),
                "none, a test",
            ));
        }
        r
    }
}

impl<B: Backend> Backend for Wrapped<B> {
    fn name(&self) -> String {
        format!("wrapped {}", self.inner.name())
    }
    fn loop_iteration_limit(&self) -> Option<u64> {
        self.inner.loop_iteration_limit()
    }
    fn run(&self, p: &Program, b: &mut [Vec<u32>], wg: u32) -> Result<()> {
        self.around(|| self.inner.run(p, b, wg))
    }
    fn run_ranges(
        &self,
        p: &Program,
        b: &mut vyre::HostBuffers,
        wg: u32,
        writes: &[(usize, std::ops::Range<usize>)],
        reads: &[(usize, std::ops::Range<usize>)],
    ) -> Result<()> {
        self.around(|| self.inner.run_ranges(p, b, wg, writes, reads))
    }
    fn recover(&self) -> Result<bool> {
        self.inner.recover()
    }
    fn device_generation(&self) -> u32 {
        self.inner.device_generation()
    }
    fn device_id(&self) -> Option<usize> {
        self.inner.device_id()
    }
    fn device_arena(&self, bytes: usize) -> Result<Option<Box<dyn vyre::DeviceArena>>> {
        self.inner.device_arena(bytes)
    }
    fn run_ranges_from(
        &self,
        p: &std::sync::Arc<Program>,
        b: &mut vyre::HostBuffers,
        wg: u32,
        writes: &[(usize, std::ops::Range<usize>)],
        reads: &[(usize, std::ops::Range<usize>)],
        source: (usize, &dyn vyre::DeviceArena, u64),
    ) -> Result<()> {
        self.around(|| self.inner.run_ranges_from(p, b, wg, writes, reads, source))
    }
}

fn boxed<B: Backend + Send + 'static>(b: B) -> Device {
    Box::new(b)
}

/// The default wgpu adapter: llvmpipe in CI, the GPU where there is one.
fn default_gpu() -> WgpuBackend {
    WgpuBackend::new().expect("a wgpu adapter (install mesa-vulkan-drivers)")
}

#[test]
fn gpu_and_cpu_sharded_equal_one_device() {
    let dir = tree("shard");
    let want = reference(&dir);
    assert!(want.1.devices[0].batches >= 8, "{:?}", want.1.devices);
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    // Each device waits in its first run until the other started one, so
    // both surely take part.
    let met = Counter::default();
    let (m1, m2) = (met.clone(), met);
    let mut gpu = Wrapped::new(default_gpu());
    gpu.first_run = Some(Box::new(move || {
        m1.add();
        m1.wait_for(2);
    }));
    let mut cpu = Wrapped::new(CpuBackend::new());
    cpu.first_run = Some(Box::new(move || {
        m2.add();
        m2.wait_for(2);
    }));
    let got = scan_on(vec![boxed(gpu), boxed(cpu)], &dir).expect("sharded scan");
    assert_same(&got, &want);
    let d = &got.1.devices;
    assert_eq!(d.len(), 2);
    assert!(
        d[0].name.contains("wgpu") && d[1].name.contains("cpu"),
        "{d:?}"
    );
    assert!(
        d.iter().all(|d| d.batches > 0),
        "both devices ran batches: {d:?}"
    );
    assert!(d
        .iter()
        .all(|d| d.failed.is_none() && d.recovered.is_empty()));
    let text = got.1.to_text();
    assert!(
        text.contains("devices:") && text.contains("batches"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failing_device_hands_its_batch_to_the_other() {
    let dir = tree("fail");
    let want = reference(&dir);
    // Device 0 runs three batches, fails its fourth run; device 1 holds its
    // first batch until device 0 failed, then does the rest.
    let mut bad = Wrapped::new(CpuBackend::new());
    bad.fail = |n| n == 3;
    let bad_runs = bad.runs.clone();
    let mut good = Wrapped::new(CpuBackend::new());
    good.first_run = Some(Box::new(move || bad_runs.wait_for(4)));
    let got = scan_on(vec![boxed(bad), boxed(good)], &dir).expect("scan survives a device");
    assert_same(&got, &want);
    let d = &got.1.devices;
    let why = d[0].failed.as_deref().expect("device 0 failed");
    assert!(why.contains("injected fault on run 3"), "{why}");
    assert_eq!(d[0].batches, 3, "{d:?}");
    assert!(d[1].failed.is_none());
    assert!(got.1.to_text().contains("failed"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_device_failing_is_an_error_not_a_hang() {
    let dir = tree("allfail");
    let mut a = Wrapped::new(CpuBackend::new());
    a.fail = |n| n >= 1;
    let mut b = Wrapped::new(CpuBackend::new());
    b.fail = |_| true;
    let err = scan_on(vec![boxed(a), boxed(b)], &dir)
        .expect_err("no device left")
        .to_string();
    assert!(
        err.contains("every scan device failed") && err.contains("Fix:"),
        "{err}"
    );
    assert!(err.contains("injected fault"), "{err}");
    // One device: its own error comes back unchanged.
    let mut one = Wrapped::new(CpuBackend::new());
    one.fail = |n| n == 2;
    let err = scan_on(vec![boxed(one)], &dir)
        .expect_err("the only device failed")
        .to_string();
    assert!(err.starts_with("injected fault on run 2"), "{err}");
    // No device at all.
    let err = scan_on(Vec::new(), &dir)
        .expect_err("no devices")
        .to_string();
    assert!(err.contains("Fix:"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_lost_wgpu_device_is_recovered_and_its_batch_rerun() {
    let dir = tree("lost");
    let want = reference(&dir);
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    // The device is destroyed before its 3rd run, in the middle of the scan.
    let mut gpu = Wrapped::new(default_gpu());
    gpu.lose = |n| n == 2;
    gpu.lose_device = Some(WgpuBackend::simulate_device_loss);
    let got = scan_on(vec![boxed(gpu)], &dir).expect("scan survives device loss");
    assert_same(&got, &want);
    let d = &got.1.devices[0];
    assert_eq!(d.recovered.len(), 1, "{d:?}");
    assert!(d.recovered[0].contains("lost"), "{:?}", d.recovered);
    assert!(d.failed.is_none());
    let text = got.1.to_text();
    assert!(text.contains("lost and recovered 1 time"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Zero-copy (the default on one wgpu device): the batches' bytes are read
/// into upload arenas of the device. When it is lost mid-scan, those bytes
/// are gone with it: the worker recovers the device and reads the batch
/// again, and arenas of the old device are replaced by host memory, so the
/// results are still exactly the reference's.
#[test]
fn a_zero_copy_scan_survives_device_loss() {
    use std::sync::atomic::{AtomicU32, Ordering};
    let dir = tree("lostzc");
    let want = reference(&dir);
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let gpu = Arc::new(default_gpu());
    let reads = Arc::new(AtomicU32::new(0));
    let (g, r) = (Arc::clone(&gpu), Arc::clone(&reads));
    // The reader loses the device before its 12th read, while batches are
    // queued, running and being read.
    let hook: vyre::feeder::FaultHook = Arc::new(move |_, _| {
        if r.fetch_add(1, Ordering::Relaxed) == 11 {
            g.simulate_device_loss();
        }
        None
    });
    let cfg = ScanConfig {
        zero_copy: true,
        inject: Some(vyre::scan::FaultInjection(hook)),
        ..config()
    };
    let got = scan_with(
        vec![boxed(Arc::clone(&gpu)), boxed(Arc::clone(&gpu))],
        &dir,
        cfg,
    )
    .expect("a zero-copy scan survives device loss");
    assert!(got.1.zero_copy, "the scan read into upload arenas");
    assert!(
        reads.load(Ordering::Relaxed) > 11,
        "the loss happened mid-scan"
    );
    assert_same(&got, &want);
    assert_eq!(gpu.recoveries(), 1, "the device was replaced once");
    let recovered: usize = got.1.devices.iter().map(|d| d.recovered.len()).sum();
    assert!(recovered >= 1, "{:?}", got.1.devices);
    assert!(
        got.1.devices.iter().all(|d| d.failed.is_none()),
        "{:?}",
        got.1.devices
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_that_fails_while_another_worker_replaced_the_device_is_rerun() {
    // Batches in flight: workers share one device, so one worker's run can
    // fail on a device that another worker has already replaced by the
    // time it asks to recover. Here the replacement happens inside the
    // worker's 3rd run (lost and reopened, as by another worker) and that
    // run fails: the worker must see the new device and rerun its batch.
    let dir = tree("lostshared");
    let want = reference(&dir);
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let gpu = std::sync::Arc::new(default_gpu());
    let mut w = Wrapped::new(std::sync::Arc::clone(&gpu));
    w.lose = |n| n == 2;
    w.fail = |n| n == 2;
    w.lose_device = Some(|g: &std::sync::Arc<WgpuBackend>| {
        g.simulate_device_loss();
        assert!(g.recover().expect("reopen"), "the device was lost");
    });
    let got = scan_on(vec![boxed(w)], &dir).expect("scan survives");
    assert_same(&got, &want);
    let d = &got.1.devices[0];
    assert!(d.failed.is_none(), "the worker does not give up: {d:?}");
    assert_eq!(d.recovered.len(), 1, "{d:?}");
    assert_eq!(gpu.recoveries(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_device_lost_again_and_again_gives_up_and_moves_its_work() {
    let dir = tree("lostmany");
    let want = reference(&dir);
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    // Lost before every run after the first: recovered MAX_RECOVERIES times,
    // then it counts as failed and the CPU device (which waits for that)
    // takes over.
    let mut gpu = Wrapped::new(default_gpu());
    gpu.lose = |n| n >= 1;
    gpu.lose_device = Some(WgpuBackend::simulate_device_loss);
    let gpu_runs = gpu.runs.clone();
    let mut cpu = Wrapped::new(CpuBackend::new());
    cpu.first_run = Some(Box::new(move || {
        gpu_runs.wait_for(vyre::scan::MAX_RECOVERIES + 2)
    }));
    let got = scan_on(vec![boxed(gpu), boxed(cpu)], &dir).expect("scan survives");
    assert_same(&got, &want);
    let d = &got.1.devices;
    assert_eq!(
        d[0].recovered.len() as u32,
        vyre::scan::MAX_RECOVERIES,
        "{d:?}"
    );
    assert!(
        d[0].failed.as_deref().is_some_and(|f| f.contains("lost")),
        "{d:?}"
    );
    assert!(d[1].batches > 0 && d[1].failed.is_none(), "{d:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cli_adapters_list_equals_one_device_json() {
    let dir = tree("cli");
    let args = [
        "scan",
        "--json",
        "--lines",
        "--crc32",
        "--histogram",
        "-e",
        "abab",
        "--chunk-size",
        "4096",
        "--batch-bytes",
        "8192",
    ];
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let one = vyre_bin()
        .args(args)
        .args(["--backend", "cpu"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_ok(&one, "one");
    // The default adapter by name (llvmpipe in CI), the CPU
    // reference, every GPU.
    // (up to a comma or parenthesis: the list is comma-separated).
    let full = default_gpu().adapter_info().name.clone();
    let gpu_name = full.split([',', '(']).next().unwrap_or(&full).trim();
    for list in [format!("{gpu_name},cpu"), "all".into(), "all,cpu".into()] {
        let list = list.as_str();
        // Three batches in flight per GPU: same results.
        let three = vyre_bin()
            .args(args)
            .args(["--adapters", list, "--in-flight", "3"])
            .arg(&dir)
            .output()
            .unwrap();
        assert_eq!(
            json_lines(&three.stdout),
            json_lines(&one.stdout),
            "{list} x3"
        );
        let many = vyre_bin()
            .args(args)
            .args(["--adapters", list, "--in-flight", "1"])
            .arg(&dir)
            .output()
            .unwrap();
        assert_ok(&many, list);
        assert_eq!(json_lines(&many.stdout), json_lines(&one.stdout), "{list}");
        let last = String::from_utf8_lossy(&many.stdout);
        let summary: serde_json::Value =
            serde_json::from_str(last.lines().last().unwrap()).unwrap();
        let devices = summary["summary"]["devices"].as_array().unwrap();
        assert_eq!(
            devices.len(),
            list.split(',').count(),
            "{list}: {devices:?}"
        );
        let batches: u64 = devices.iter().map(|d| d["batches"].as_u64().unwrap()).sum();
        assert!(batches >= 8, "{list}: {devices:?}");
    }
    // Bad lists are refused with a Fix; --adapters excludes --adapter/--backend.
    for bad in [
        &["--adapters", "no-such-gpu"][..],
        &["--adapters", "cpu,,cpu"][..],
        &["--adapters", "cpu", "--backend", "cpu"][..],
    ] {
        let out = vyre_bin().arg("scan").args(bad).arg(&dir).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("Fix:"), "{bad:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
