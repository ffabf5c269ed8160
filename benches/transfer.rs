//! Where host ↔ device transfer time goes, phase by phase, and how fast the
//! host can copy file bytes into GPU-visible memory on this machine.
//!
//! `cargo bench --bench transfer` (plain `main`, no harness). Knobs:
//! `VYRE_TRANSFER_MIB` (sizes, comma-separated, default `1,8,64`),
//! `VYRE_BENCH_REPS` (default 10), `VYRE_TRANSFER_THREADS` (default 8) and
//! `VYRE_TRANSFER_FILE` (a file for the ingest paths; none: skipped).
//!
//! **Readback**, per size: the GPU copy into a reused `MAP_READ` buffer
//! (submit + wait), the map (`map_async` + wait), then copying the mapped
//! bytes out three ways: `memcpy` into a buffer already touched, `memcpy`
//! into a fresh allocation, and word by word into a fresh `Vec<u32>` (what
//! `PendingRead::wait` did before this bench); a second `memcpy` of the same
//! mapping shows whether reading mapped memory itself is slow.
//! **Upload**: filling a mapped `MAP_WRITE` buffer (`memcpy`), and
//! `Queue::write_buffer` + submit + wait.
//! **Ingest** (with a file): `threads` threads each copy their share of each
//! window of the file into a destination of 256 MiB: `pread` into heap
//! memory, `pread` into a mapped `MAP_WRITE` buffer, `mmap` + `memcpy` into
//! heap memory, `mmap` + `memcpy` into the mapped buffer, and `memcpy` from
//! heap into the mapped buffer (the staging fill of a scan).
//!
//! Every figure is the median wall time of the whole phase.

use std::time::{Duration, Instant};

mod support;

use support::{env, gpu_or_skip, median_ms};
use vyre::gpu::WgpuBackend;
use vyre::Backend;

fn main() {
    let Some(gpu) = gpu_or_skip("transfer") else {
        return;
    };
    let reps = env("VYRE_BENCH_REPS", 10).max(1);
    let threads = env("VYRE_TRANSFER_THREADS", 8).max(1);
    let sizes: Vec<usize> = std::env::var("VYRE_TRANSFER_MIB")
        .unwrap_or_else(|_| "1,8,64".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!("transfer bench on {}, median of {reps}", gpu.name());
    let device = gpu.device();
    let queue = gpu.queue();
    for &mib in &sizes {
        readback(&device, &queue, mib << 20, reps);
        upload(&device, &queue, mib << 20, reps);
    }
    if let Some(&mib) = sizes.iter().max() {
        first_touch(mib << 20, threads, reps);
    }
    if let Ok(path) = std::env::var("VYRE_TRANSFER_FILE") {
        ingest(&gpu, std::path::Path::new(&path), threads, reps);
    }
}

fn gbps(bytes: usize, ms: f64) -> f64 {
    bytes as f64 / (ms * 1e-3) / 1e9
}

/// One line per phase: its median time and `bytes` over it.
fn report<const N: usize>(names: &[&str; N], times: [Vec<Duration>; N], bytes: usize) {
    for (name, times) in names.iter().zip(times) {
        let ms = median_ms(times);
        println!("  {name:<30} {ms:9.3} ms {:8.2} GB/s", gbps(bytes, ms));
    }
}

fn buffer(device: &wgpu::Device, size: usize, usage: wgpu::BufferUsages) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("transfer bench"),
        size: size as u64,
        usage,
        mapped_at_creation: false,
    })
}

fn wait(device: &wgpu::Device) {
    device
        .poll(wgpu::PollType::Wait {
            submission_index: None,
            timeout: None,
        })
        .expect("poll");
}

/// Maps `b` (whole) for `mode` and waits.
fn map(device: &wgpu::Device, b: &wgpu::Buffer, mode: wgpu::MapMode) {
    let (tx, rx) = std::sync::mpsc::channel();
    b.map_async(mode, .., move |r| tx.send(r).expect("send"));
    wait(device);
    rx.recv().expect("callback").expect("map");
}

fn readback(device: &wgpu::Device, queue: &wgpu::Queue, size: usize, reps: usize) {
    let src = buffer(
        device,
        size,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
    );
    let want: Vec<u8> = (0..size).map(|i| (i * 7 + i / 4096) as u8).collect();
    queue.write_buffer(&src, 0, &want);
    queue.submit([]);
    wait(device);
    let staging = buffer(
        device,
        size,
        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
    );
    let mut touched = vec![1u8; size];
    let mut t: [Vec<Duration>; 6] = Default::default();
    for _ in 0..reps {
        let s = Instant::now();
        let mut enc = device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(&src, 0, &staging, 0, size as u64);
        queue.submit([enc.finish()]);
        wait(device);
        t[0].push(s.elapsed());
        let s = Instant::now();
        map(device, &staging, wgpu::MapMode::Read);
        t[1].push(s.elapsed());
        {
            let view = staging.get_mapped_range(..).expect("mapped");
            let s = Instant::now();
            touched.copy_from_slice(&view);
            t[2].push(s.elapsed());
            let s = Instant::now();
            touched.copy_from_slice(&view);
            t[3].push(s.elapsed());
            let s = Instant::now();
            let mut fresh = Vec::<u8>::with_capacity(size);
            fresh.extend_from_slice(&view);
            t[4].push(s.elapsed());
            assert!(fresh == want, "readback differs from the data written");
            drop(fresh);
            let s = Instant::now();
            let words: Vec<u32> = view
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            t[5].push(s.elapsed());
            assert_eq!(words.len() * 4, size);
        }
        staging.unmap();
    }
    let names = [
        "GPU copy to staging + wait",
        "map_async + wait",
        "memcpy out (touched dst)",
        "memcpy out again",
        "memcpy out (fresh alloc)",
        "per-word into fresh Vec<u32>",
    ];
    println!("readback {} MiB:", size >> 20);
    report(&names, t, size);
}

fn upload(device: &wgpu::Device, queue: &wgpu::Queue, size: usize, reps: usize) {
    let dst = buffer(
        device,
        size,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
    );
    let staging = buffer(
        device,
        size,
        wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
    );
    let data = vec![3u8; size];
    let mut t: [Vec<Duration>; 4] = Default::default();
    for _ in 0..reps {
        let s = Instant::now();
        map(device, &staging, wgpu::MapMode::Write);
        t[0].push(s.elapsed());
        {
            let mut view = staging.get_mapped_range_mut(..).expect("mapped");
            let s = Instant::now();
            view.copy_from_slice(&data);
            t[1].push(s.elapsed());
        }
        staging.unmap();
        let s = Instant::now();
        let mut enc = device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(&staging, 0, &dst, 0, size as u64);
        queue.submit([enc.finish()]);
        wait(device);
        t[2].push(s.elapsed());
        let s = Instant::now();
        queue.write_buffer(&dst, 0, &data);
        queue.submit([]);
        wait(device);
        t[3].push(s.elapsed());
    }
    let names = [
        "map_async(Write) + wait",
        "memcpy into mapped",
        "GPU copy from staging + wait",
        "write_buffer + submit + wait",
    ];
    println!("upload {} MiB:", size >> 20);
    report(&names, t, size);
}

/// Writing fresh heap memory for the first time (what a new arena costs):
/// one thread, `threads` threads, and memory mapped with `MAP_POPULATE`.
fn first_touch(size: usize, threads: usize, reps: usize) {
    let touch = |mem: &mut [u8], n: usize| {
        let per = size.div_ceil(n);
        std::thread::scope(|s| {
            for part in mem.chunks_mut(per) {
                s.spawn(move || part.fill(7));
            }
        });
    };
    let mut t: [Vec<Duration>; 4] = Default::default();
    for _ in 0..reps {
        let s = Instant::now();
        let mut v = vec![0u8; size];
        touch(&mut v, 1);
        t[0].push(s.elapsed());
        let s = Instant::now();
        touch(&mut v, 1);
        t[1].push(s.elapsed());
        drop(v);
        let s = Instant::now();
        let mut v = vec![0u8; size];
        touch(&mut v, threads);
        t[2].push(s.elapsed());
        drop(v);
        let s = Instant::now();
        // SAFETY: a fresh private anonymous mapping of `size` bytes, written
        // only through `mem` below and unmapped after.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        assert!(p != libc::MAP_FAILED, "mmap failed");
        // SAFETY: the mapping above, readable and writable, `size` bytes.
        let mem = unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), size) };
        touch(mem, 1);
        t[3].push(s.elapsed());
        // SAFETY: mapped above with this length; `mem` is not used after.
        unsafe { libc::munmap(p, size) };
    }
    let names = [
        "fresh heap, 1 thread",
        "same memory again",
        "fresh heap, threads",
        "mmap MAP_POPULATE, 1 thread",
    ];
    println!("first touch of {} MiB ({threads} threads):", size >> 20);
    report(&names, t, size);
}

/// Raw destination memory shared by the copying threads (each writes its own
/// disjoint range).
#[derive(Clone, Copy)]
struct Dst(*mut u8);
// SAFETY: the threads write disjoint ranges of memory that outlives them
// (`std::thread::scope`).
unsafe impl Send for Dst {}
// SAFETY: as for Send: shared only by threads writing disjoint ranges.
unsafe impl Sync for Dst {}

const WINDOW: usize = 256 << 20;

fn ingest(gpu: &WgpuBackend, path: &std::path::Path, threads: usize, reps: usize) {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open(path).expect("VYRE_TRANSFER_FILE");
    let len = file.metadata().expect("metadata").len() as usize;
    let mut heap = vec![1u8; WINDOW];
    // What `vyre scan` reads into (zero-copy, the default on one GPU).
    let mut arena = gpu.upload_arena(WINDOW).expect("upload arena");
    let view = arena.bytes_mut().expect("mapped");
    view.fill(1);
    let heap_dst = Dst(heap.as_mut_ptr());
    let mapped_dst = Dst(view.as_mut_ptr());
    // Each pass copies the whole file, window by window; every thread takes
    // its share of each window.
    let pass = |dst: Dst, source: &(dyn Fn(usize, &mut [u8]) + Sync)| -> Duration {
        let s = Instant::now();
        let mut off = 0;
        while off < len {
            let n = (len - off).min(WINDOW);
            let share = n.div_ceil(threads).div_ceil(4096) * 4096;
            std::thread::scope(|sc| {
                for k in 0..threads {
                    let a = (k * share).min(n);
                    let b = ((k + 1) * share).min(n);
                    sc.spawn(move || {
                        let d = dst;
                        // SAFETY: [a, b) lies in the destination's WINDOW bytes and
                        // no other thread writes it.
                        let out = unsafe { std::slice::from_raw_parts_mut(d.0.add(a), b - a) };
                        source(off + a, out);
                    });
                }
            });
            off += n;
        }
        s.elapsed()
    };
    let pread = |at: usize, out: &mut [u8]| file.read_exact_at(out, at as u64).expect("pread");
    let heap_src = Dst(heap.as_mut_ptr());
    let from_heap = move |at: usize, out: &mut [u8]| {
        let h = heap_src;
        let i = at % WINDOW;
        // SAFETY: reads heap bytes [i, i + len) inside WINDOW; nothing writes heap
        // during this pass.
        out.copy_from_slice(unsafe { std::slice::from_raw_parts(h.0.add(i), out.len()) });
    };
    let mmap_pass = |dst: Dst| -> Duration {
        use std::os::fd::AsRawFd;
        let s = Instant::now();
        // SAFETY: a private read-only mapping of the whole file, unmapped below;
        // the file is not changed while it is read.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_POPULATE,
                file.as_raw_fd(),
                0,
            )
        };
        assert!(p != libc::MAP_FAILED, "mmap failed");
        let base = Dst(p.cast());
        let from_map = move |at: usize, out: &mut [u8]| {
            let m = base;
            // SAFETY: [at, at + len) lies in the mapped file.
            out.copy_from_slice(unsafe { std::slice::from_raw_parts(m.0.add(at), out.len()) });
        };
        let _ = pass(dst, &from_map);
        // SAFETY: p was mapped above with this length and is not used after.
        unsafe { libc::munmap(p, len) };
        s.elapsed()
    };
    let mut heap2 = vec![1u8; WINDOW];
    let heap2_dst = Dst(heap2.as_mut_ptr());
    // Both copies of a scan at once: the reader's (file -> arena) and the
    // staging fill's (another arena -> mapped memory).
    let both = || {
        let s = Instant::now();
        std::thread::scope(|sc| {
            sc.spawn(|| pass(heap2_dst, &pread));
            sc.spawn(|| pass(mapped_dst, &from_heap));
        });
        s.elapsed()
    };
    let mut t: [Vec<Duration>; 6] = Default::default();
    for _ in 0..reps {
        t[5].push(both());
        t[0].push(pass(heap_dst, &pread));
        t[1].push(pass(mapped_dst, &pread));
        t[2].push(mmap_pass(heap_dst));
        t[3].push(mmap_pass(mapped_dst));
        t[4].push(pass(mapped_dst, &from_heap));
    }
    let names = [
        "pread -> heap",
        "pread -> mapped upload buffer",
        "mmap+memcpy -> heap",
        "mmap+memcpy -> mapped upload",
        "memcpy heap -> mapped upload",
        "pread->heap + heap->mapped at once",
    ];
    println!(
        "ingest {} ({len} bytes), {threads} threads, windows of {} MiB:",
        path.display(),
        WINDOW >> 20
    );
    report(&names, t, len);
}
