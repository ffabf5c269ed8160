//! The resident-buffer API of the wgpu backend: compile once, keep buffers on
//! the device, write sub-ranges, several dispatches in flight, read sub-ranges
//! later.

use std::sync::Arc;

use vyre_core::gpu::{BufferSet, MAX_RESIDENT_PROGRAMS};
use vyre_core::{Backend, BufferDecl, DataType, Error, Expr, HostBuffers, Node, Program};

mod support;
use support::gpu::{backend, fill, in_place};

/// `data[i] = data[i] * 2 + 1` for every element.
fn double_plus_one() -> Program {
    let i = || Expr::var("i");
    Program::new(
        "double_plus_one",
        vec![
            BufferDecl::read_write("data", 0, DataType::U32),
            BufferDecl::read("unused", 1, DataType::U32),
        ],
        64,
        vec![
            Node::let_bind("i", Expr::global_id()),
            Node::if_then(
                Expr::lt(i(), Expr::len("data")),
                vec![Node::store(
                    "data",
                    i(),
                    Expr::add(
                        Expr::mul(Expr::load("data", i()), Expr::u32(2)),
                        Expr::u32(1),
                    ),
                )],
            ),
        ],
    )
}

#[test]
fn resident_buffers_several_dispatches_in_flight() {
    let g = backend();
    let p = double_plus_one();
    let k = g.compile(&p).expect("compile");
    assert!(
        Arc::ptr_eq(&k, &g.compile(&p.clone()).expect("compile again")),
        "compile is cached"
    );
    assert_eq!(g.cached_kernels(), 1);
    assert!(k.wgsl().contains("fn main("));

    let set = k.create_buffers(&[16, 1]).expect("buffers");
    assert_eq!(
        (set.count(), set.words(0), set.words(2)),
        (2, Some(16), None)
    );
    let mut host: Vec<u32> = (0..16).collect();
    set.write(0, 0, &host).expect("write");
    let first = k.dispatch(&set, 1).expect("dispatch 1");
    set.write(0, 4, &[100, 101])
        .expect("write a sub-range while a dispatch is in flight");
    let second = k.dispatch(&set, 1).expect("dispatch 2");
    let pending = set
        .read(&[(0, 2..6), (0, 14..16), (0, 3..3)])
        .expect("read");
    second.wait().expect("wait");
    assert!(first.is_done() && second.is_done());
    let parts = pending.wait().expect("readback");

    for x in host.iter_mut() {
        *x = *x * 2 + 1;
    }
    host[4] = 100;
    host[5] = 101;
    for x in host.iter_mut() {
        *x = *x * 2 + 1;
    }
    assert_eq!(
        parts,
        vec![host[2..6].to_vec(), host[14..16].to_vec(), vec![]]
    );

    // The set stays usable: one more round trip of the whole buffer.
    k.dispatch(&set, 1).expect("dispatch 3");
    let all = set
        .read(&[(0, 0..16)])
        .expect("read")
        .wait()
        .expect("readback");
    let again: Vec<u32> = host.iter().map(|x| x * 2 + 1).collect();
    assert_eq!(all[0], again);
}

#[test]
fn resident_api_rejects_bad_requests() {
    let g = backend();
    let k = g.compile(&double_plus_one()).expect("compile");
    let bad = |r: vyre_core::Result<()>, needle: &str| match r {
        Err(e @ Error::BadInput { .. }) => {
            let m = e.to_string();
            assert!(m.contains(needle) && m.contains("Fix:"), "{m}")
        }
        other => panic!("expected BadInput containing `{needle}`, got {other:?}"),
    };
    bad(k.create_buffers(&[4]).map(drop), "length(s) were given");
    bad(k.create_buffers(&[4, 0]).map(drop), "empty");
    let set = k.create_buffers(&[4, 1]).expect("buffers");
    bad(set.write(0, 3, &[1, 2]), "outside buffer 0");
    bad(set.write(7, 0, &[1]), "out of range");
    bad(set.read(&[(0, 2..5)]).map(drop), "outside buffer 0");
    bad(k.dispatch(&set, 0).map(drop), "0 workgroups");
    let max = g.limits().max_compute_workgroups_per_dimension;
    bad(k.dispatch(&set, max + 1).map(drop), "split the work");
    let mut bufs = vec![vec![1; 4], vec![0]];
    bad(
        g.run(&double_plus_one(), &mut bufs, max + 1),
        "split the work",
    );
}

/// The error's text, which must say how to fix the problem.
fn explained(r: vyre_core::Result<std::sync::Arc<vyre_core::gpu::GpuKernel>>) -> String {
    match r {
        Err(e @ (Error::BadInput { .. } | Error::Invalid { .. })) => {
            let m = e.to_string();
            assert!(m.contains("Fix:"), "{m}");
            m
        }
        Err(e) => panic!("expected BadInput or Invalid, got {e}"),
        Ok(_) => panic!("expected an error"),
    }
}

#[test]
fn oversized_programs_get_clear_errors() {
    let g = backend();
    // The validator's portable limits or the device limits, whichever bites first.
    let mut p = double_plus_one();
    p.workgroup_size = g.limits().max_compute_invocations_per_workgroup + 1;
    let m = explained(g.compile(&p));
    eprintln!("{m}");
    assert!(m.contains("workgroup_size"), "{m}");
    let mut p = double_plus_one();
    p.buffers.push(BufferDecl::workgroup(
        "huge",
        DataType::U32,
        g.limits().max_compute_workgroup_storage_size,
    ));
    let m = explained(g.compile(&p));
    eprintln!("{m}");
    assert!(m.contains("workgroup"), "{m}");
}

/// A write large enough to be split over threads lands whole and in order,
/// also at an offset.
#[test]
fn large_writes_split_over_threads_land_whole() {
    let g = backend();
    let k = g.compile(&double_plus_one()).expect("compile");
    let words: u32 = 5 << 20; // 20 MiB: several staging pieces
    let set = k.create_buffers(&[words + 3, 1]).expect("buffers");
    let data: Vec<u32> = (0..words).map(|i| i.wrapping_mul(2_654_435_761)).collect();
    set.write(0, 3, &data).expect("write");
    set.write(0, 0, &[7, 8, 9]).expect("small write");
    let back = set
        .read(&[(0, 0..words + 3)])
        .expect("read")
        .wait()
        .expect("wait");
    assert_eq!(&back[0][..3], &[7, 8, 9]);
    let first_bad = back[0][3..].iter().zip(&data).position(|(a, b)| a != b);
    assert_eq!(first_bad, None, "word mismatch after a split write");
}

/// Writes with long zero runs (cleared on the device, not copied) land in
/// order with the copied parts around them, over nonzero contents, and
/// reads of different sizes that reuse one staging buffer give the right
/// words.
#[test]
fn zero_runs_are_cleared_in_order_and_reads_reuse_staging() {
    let g = backend();
    let k = g.compile(&double_plus_one()).expect("compile");
    let words: u32 = 200_000;
    let set = k.create_buffers(&[words, 1]).expect("buffers");
    set.write(0, 0, &vec![0xFFFF_FFFF; words as usize])
        .expect("fill");
    // Zero runs of 40 000 and 100 000 words between nonzero words, at an
    // odd offset; then a small nonzero write inside the second run.
    let mut data = vec![0u32; 150_000];
    data[0] = 5;
    data[40_001] = 6;
    data[149_999] = 7;
    set.write(0, 17, &data).expect("write with zero runs");
    set.write(0, 100_000, &[42]).expect("write after the clear");
    let mut want = vec![0xFFFF_FFFFu32; words as usize];
    want[17..17 + data.len()].copy_from_slice(&data);
    want[100_000] = 42;
    for range in [0..words, 50..60, 99_990..100_010, 0..words] {
        let w = &want[range.start as usize..range.end as usize];
        assert_reads(&set, range.clone(), w, &format!("range {range:?}"));
    }
}

/// Reads words `range` of buffer 0 of `set` and checks they are `want`,
/// naming the first differing word.
fn assert_reads(set: &BufferSet, range: std::ops::Range<u32>, want: &[u32], what: &str) {
    let back = set.read(&[(0, range)]).expect("read").wait().expect("wait");
    let bad = back[0].iter().zip(want).position(|(x, y)| x != y);
    assert_eq!(bad, None, "{what}: first differing word");
    assert_eq!(back[0].len(), want.len(), "{what}: length");
}

/// Writes go through pooled staging buffers (large ones filled by several
/// threads) that are reused once the GPU copied from them: the contents and
/// the order of large writes, small writes and clears must be exactly as
/// written, round after round, and later rounds must reuse the pool's
/// buffers instead of making new ones.
#[test]
fn large_writes_reuse_pooled_staging_in_order() {
    let g = backend();
    let k = g.compile(&double_plus_one()).expect("compile");
    let words: u32 = 3 << 20; // 12 MiB
    let set = k.create_buffers(&[words, 1]).expect("buffers");
    let mut want = vec![0u32; words as usize];
    for round in 0..4u32 {
        // 8 MiB at an odd offset, a small write inside it, 6 MiB overlapping
        // both, a zero run: each its own submission, in order.
        let a: Vec<u32> = (0..2u32 << 20).map(|i| i ^ round << 28).collect();
        set.write(0, 5, &a).expect("large write");
        want[5..5 + a.len()].copy_from_slice(&a);
        set.write(0, 1000, &[round + 77]).expect("small write");
        want[1000] = round + 77;
        let b: Vec<u32> = (0..3u32 << 19)
            .map(|i| i.wrapping_mul(2_654_435_761) + round)
            .collect();
        let at = (1 << 20) + 3;
        set.write(0, at, &b).expect("second large write");
        want[at as usize..at as usize + b.len()].copy_from_slice(&b);
        set.write(0, 7, &vec![0; 100_000]).expect("zero run");
        want[7..100_007].fill(0);
        assert_reads(&set, 0..words, &want, &format!("round {round}"));
    }
    // 12 staged writes; at most 3 are in flight at once (a round's writes,
    // before the read polls the device), so reuse needs at most 3 buffers.
    let (ready, made) = g.upload_buffers();
    assert!(
        (1..=3).contains(&made),
        "{made} staging buffers made for 12 writes: the pool's were not reused"
    );
    assert!((1..=4).contains(&ready), "{ready} staging buffers kept");
}

/// Adapters without `MAPPABLE_PRIMARY_BUFFERS` get upload buffers zeroed by
/// wgpu at creation instead of cleared by the GPU: writes and upload arenas
/// must work the same.
#[test]
fn uploads_zeroed_on_the_cpu_work_the_same() {
    let g = backend();
    g.zero_uploads_on_the_cpu();
    let k = g.compile(&double_plus_one()).expect("compile");
    let words: u32 = 3 << 20; // 12 MiB: a staging buffer above 4 MiB
    let set = k.create_buffers(&[words, 1]).expect("buffers");
    let data: Vec<u32> = (0..words).map(|i| i.wrapping_mul(7)).collect();
    set.write(0, 0, &data).expect("large write");
    set.write(0, 9, &[5]).expect("small write");
    let mut want = data.clone();
    want[9] = 5;
    assert_reads(&set, 0..words, &want, "CPU-zeroed staging");
    let mut arena = g.upload_arena(8 << 20).expect("upload arena");
    let fresh = arena.bytes_mut().expect("map");
    assert!(
        fresh.iter().all(|&b| b == 0),
        "a new upload arena is zeroed"
    );
}

/// Several writes in one `write_all`: one staging buffer and submission,
/// applied in order, so a clear after a copy zeroes it and a copy after the
/// clear lands on top.
#[test]
fn write_all_applies_copies_and_clears_in_order() {
    let g = backend();
    let k = g.compile(&double_plus_one()).expect("compile");
    let words: u32 = 300_000;
    let set = k.create_buffers(&[words, 1]).expect("buffers");
    let ones = vec![1u32; words as usize];
    let zeros = vec![0u32; 120_000]; // a zero run: cleared on the device
    let sevens = vec![7u32; 10];
    let tail: Vec<u32> = (0..50_000).collect();
    set.write_all(&[
        (0, 0, &ones),
        (0, 1000, &zeros),
        (0, 5000, &sevens),
        (0, 250_000, &tail),
        (1, 0, &[42]),
    ])
    .expect("write_all");
    let mut want = ones.clone();
    want[1000..121_000].fill(0);
    want[5000..5010].fill(7);
    want[250_000..].copy_from_slice(&tail);
    assert_reads(&set, 0..words, &want, "write_all");
    let back = set.read(&[(1, 0..1)]).expect("read").wait().expect("wait");
    assert_eq!(back[0], vec![42]);
    // Out-of-range targets are refused before anything is written.
    let err = set
        .write_all(&[(0, 0, &[9]), (0, words, &[1])])
        .expect_err("a write past the end");
    assert!(err.to_string().contains("Fix:"), "{err}");
    let back = set.read(&[(0, 0..1)]).expect("read").wait().expect("wait");
    assert_eq!(back[0], vec![1], "nothing of a refused write_all landed");
}

/// Two megakernels share one device from two threads (batches in flight):
/// each run takes several dispatches (slot budget 1), and another run may
/// come in between; every run must still see only its own buffers.
#[test]
fn megakernels_sharing_a_device_from_two_threads_stay_apart() {
    use vyre_core::megakernel::{Megakernel, SlotStatus, Work};
    let g = Arc::new(backend());
    std::thread::scope(|s| {
        for t in 0..2u32 {
            let g = Arc::clone(&g);
            s.spawn(move || {
                let mut mk = Megakernel::builder()
                    .tenant("t", &["store_word"])
                    .workgroups(2)
                    .slot_budget(1)
                    .build(g)
                    .expect("build");
                let tenant = mk.tenant_id("t").unwrap();
                for round in 0..12u32 {
                    mk.reset();
                    let ids: Vec<_> = (0..24u32)
                        .map(|i| {
                            let args = [0, t << 24 | round << 8 | i];
                            mk.publish(Work {
                                args: &args,
                                result_words: Some(1),
                                ..Work::new("store_word", tenant, &[])
                            })
                            .unwrap()
                        })
                        .collect();
                    let r = mk.run().expect("run");
                    assert!(r.dispatches >= 12, "{r:?}");
                    for (i, id) in ids.iter().enumerate() {
                        assert_eq!(mk.status(*id).unwrap(), SlotStatus::Done);
                        let want = t << 24 | round << 8 | i as u32;
                        assert_eq!(
                            mk.results(*id).unwrap(),
                            &[want],
                            "thread {t} round {round}"
                        );
                    }
                }
            });
        }
    });
}

/// Zero-copy batches: bytes written straight into an upload arena reach the
/// kernel through a GPU copy, round after round (the arena is mapped again
/// for each), also on a multi-dispatch run; non-wgpu backends refuse it.
#[test]
fn upload_arenas_feed_the_kernel_without_a_host_copy() {
    use vyre_core::megakernel::{DataRef, Megakernel, SlotStatus};
    let g = backend();
    let mut mk = Megakernel::builder()
        .tenant("t", &["copy"])
        .workgroups(2)
        .slot_budget(1)
        .build(&g)
        .expect("build");
    let t = mk.tenant_id("t").unwrap();
    let mut arena: Box<dyn vyre_core::DeviceArena> =
        Box::new(g.upload_arena(64 << 10).expect("upload arena"));
    let fresh = arena.bytes_mut().expect("map");
    assert!(
        fresh.iter().all(|&b| b == 0),
        "a new upload arena is zeroed"
    );
    for round in 0..3u8 {
        let bytes = arena.bytes_mut().expect("map");
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(7).wrapping_add(round);
        }
        let expect: Vec<u8> = bytes.to_vec();
        mk.reset();
        let base = mk
            .adopt_upload(arena, 16 << 10)
            .map_err(|e| e.0)
            .expect("adopt");
        let ids: Vec<_> = (0..8u32)
            .map(|k| {
                let part = DataRef {
                    word_offset: base.word_offset + k * 2048,
                    len: 8192,
                };
                mk.publish_ref("copy", t, part, 0, &[], Some(2048)).unwrap()
            })
            .collect();
        let r = mk.run().expect("run");
        assert!(r.dispatches >= 4, "several dispatches per run: {r:?}");
        for (k, id) in ids.iter().enumerate() {
            assert_eq!(mk.status(*id).unwrap(), SlotStatus::Done);
            let got: Vec<u8> = mk
                .results(*id)
                .unwrap()
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect();
            assert_eq!(
                got,
                expect[k * 8192..(k + 1) * 8192],
                "round {round} slot {k}"
            );
        }
        arena = mk.take_upload().expect("arena back");
    }
    let mut cpu_mk = Megakernel::builder()
        .tenant("t", &["copy"])
        .build(vyre_core::cpu::CpuBackend::new())
        .expect("build");
    let (e, _arena) = cpu_mk.adopt_upload(arena, 4).expect_err("cpu refuses");
    assert!(e.to_string().contains("Fix:"), "{e}");
}

#[test]
fn alternating_programs_keep_their_device_buffers() {
    let g = backend();
    // double_plus_one over 64 words without `len()` (a program reading a
    // buffer's length is not kept resident).
    let named = |k: u32| {
        in_place(&format!("double_plus_one_{k}"), |x| {
            Expr::add(Expr::mul(x, Expr::u32(2)), Expr::u32(1))
        })
    };
    let (a, b) = (named(0), named(1));
    let mut bufs_a = HostBuffers::new(vec![vec![1u32; 64]]);
    let mut bufs_b = HostBuffers::new(vec![vec![5u32; 64]]);
    let all = [(0, 0..64)];
    // A: the device holds 3 everywhere; the host reads back word 0 only.
    g.run_ranges(&a, &mut bufs_a, 1, &all, &[(0, 0..1)])
        .expect("a");
    g.run_ranges(&b, &mut bufs_b, 1, &all, &[(0, 0..64)])
        .expect("b");
    assert_eq!(bufs_b[0], vec![11; 64]);
    assert_eq!(g.resident_programs(), 2);
    // A again, nothing written: its device buffer survived B's run, so word
    // 5 goes 3 -> 7 (re-created buffers would hold the host's stale 1 -> 3).
    g.run_ranges(&a, &mut bufs_a, 1, &[], &[(0, 5..6)])
        .expect("a again");
    assert_eq!(bufs_a[0][5], 7, "A's device buffer was kept while B ran");
    for k in 2..(2 + MAX_RESIDENT_PROGRAMS as u32) {
        let mut bufs = HostBuffers::new(vec![vec![k; 64]]);
        g.run_ranges(&named(k), &mut bufs, 1, &all, &[(0, 0..64)])
            .expect("other");
        assert_eq!(bufs[0], vec![k * 2 + 1; 64]);
    }
    assert_eq!(g.resident_programs(), MAX_RESIDENT_PROGRAMS);
    // A was evicted: its next run uploads the host's buffers in full.
    bufs_a[0] = vec![2; 64];
    g.run_ranges(&a, &mut bufs_a, 1, &[], &[(0, 0..64)])
        .expect("a evicted");
    assert_eq!(bufs_a[0], vec![5; 64]);
}

#[test]
fn idle_programs_holding_too_much_memory_are_dropped() {
    let g = backend();
    let big = |k: u32| fill(&format!("big_{k}"), k);
    let words = 64usize;
    for k in 0..3 {
        let mut bufs = HostBuffers::new(vec![vec![0u32; words]]);
        g.run_ranges(&big(k), &mut bufs, 1, &[(0, 0..words)], &[(0, 0..64)])
            .expect("run");
        assert_eq!(bufs[0][..64], [k; 64]);
    }
    assert_eq!(g.resident_programs(), 3, "small idle programs are kept");
    let huge = (vyre_core::gpu::MAX_IDLE_RESIDENT_BYTES / 4) as usize / 2 + 1;
    let limit = g.limits().max_storage_buffer_binding_size as usize / 4;
    if huge > limit {
        eprintln!(
            "skipping the over-budget half: {huge} words exceed this adapter's binding limit"
        );
        return;
    }
    // Two programs of just over half the idle budget each: once a third
    // program runs, only one of them may stay idle.
    for k in 10..12 {
        let mut bufs = HostBuffers::new(vec![vec![0u32; huge]]);
        g.run_ranges(&big(k), &mut bufs, 1, &[(0, 0..huge)], &[(0, 0..64)])
            .expect("run huge");
    }
    let mut bufs = HostBuffers::new(vec![vec![0u32; words]]);
    g.run_ranges(&big(20), &mut bufs, 1, &[(0, 0..words)], &[(0, 0..64)])
        .expect("run small");
    // [big_20, big_11] fit (big_11 is just over half the budget); big_10
    // and everything older would exceed it.
    assert_eq!(g.resident_programs(), 2);
}

#[test]
fn shared_programs_are_found_by_identity_and_by_content() {
    let g = backend();
    let p = |k: u32| fill(&format!("fill_{k}"), k);
    let a = Arc::new(p(1));
    let mut bufs = HostBuffers::new(vec![vec![0u32; 64]]);
    g.run_ranges_shared(&a, &mut bufs, 1, &[(0, 0..64)], &[(0, 0..64)])
        .expect("shared");
    assert_eq!(bufs[0], vec![1; 64]);
    // The same content, borrowed or in another Arc: the same device entry.
    g.run_ranges(&p(1), &mut bufs, 1, &[], &[(0, 0..64)])
        .expect("borrowed");
    g.run_ranges_shared(&Arc::new(p(1)), &mut bufs, 1, &[], &[(0, 0..64)])
        .expect("another arc");
    assert_eq!(g.resident_programs(), 1);
    // Other content in a new Arc is another program.
    let b = Arc::new(p(2));
    g.run_ranges_shared(&b, &mut bufs, 1, &[(0, 0..64)], &[(0, 0..64)])
        .expect("other");
    assert_eq!(bufs[0], vec![2; 64]);
    assert_eq!(g.resident_programs(), 2);
    g.run_ranges_shared(&a, &mut bufs, 1, &[(0, 0..64)], &[(0, 0..64)])
        .expect("first again");
    assert_eq!(bufs[0], vec![1; 64]);
}

#[test]
fn another_program_on_the_same_host_buffers_forces_a_full_upload() {
    let g = backend();
    let inc = in_place("inc", |x| Expr::add(x, Expr::u32(1)));
    let dbl = in_place("dbl", |x| Expr::mul(x, Expr::u32(2)));
    let mut bufs = HostBuffers::new(vec![vec![1u32; 64]]);
    let all = [(0, 0..64)];
    g.run_ranges(&inc, &mut bufs, 1, &all, &all).expect("inc");
    assert_eq!(bufs[0], vec![2; 64]);
    g.run_ranges(&dbl, &mut bufs, 1, &all, &all).expect("dbl");
    assert_eq!(bufs[0], vec![4; 64]);
    // Nothing marked as written, but `dbl` changed these host buffers since
    // `inc` last ran on them: `inc` must see 4, not its own device's 2.
    g.run_ranges(&inc, &mut bufs, 1, &[], &all)
        .expect("inc again");
    assert_eq!(bufs[0], vec![5; 64]);
}

#[test]
fn a_program_reading_len_runs_without_resident_buffers() {
    let g = backend();
    // `double_plus_one` stops at `len("data")`: device buffers larger than
    // the host's would change its result, so it runs with `Backend::run`.
    let mut bufs = HostBuffers::new(vec![(0..16).collect::<Vec<u32>>(), vec![0]]);
    g.run_ranges(&double_plus_one(), &mut bufs, 1, &[], &[(0, 0..16)])
        .expect("run");
    assert_eq!(bufs[0], (0..16).map(|x| x * 2 + 1).collect::<Vec<u32>>());
    assert_eq!(g.resident_programs(), 0);
}
