//! Which caller's data the wgpu backend's resident buffers hold: callers are
//! told apart by the never-reused stamp of their [`HostBuffers`], not by
//! addresses, so a run whose buffers the device copies do not hold uploads
//! everything it reads, even where its buffer list sits at the address of
//! one that ran before.

use vyre_core::cpu::CpuBackend;
use vyre_core::{Backend, BufferDecl, DataType, Expr, HostBuffers, Node, Program};

mod support;
use support::gpu::{backend, fill, in_place};

/// wgpu from one test thread at a time (lavapipe misbehaves otherwise).
static GPU: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn inc() -> Program {
    in_place("callers_inc", |x| Expr::add(x, Expr::u32(1)))
}

const ALL: [(usize, std::ops::Range<usize>); 1] = [(0, 0..64)];

#[test]
fn a_new_caller_at_a_dropped_callers_address_uploads_everything() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let g = backend();
    let p = inc();
    let mut first = HostBuffers::new(vec![vec![1u32; 64]]);
    g.run_ranges(&p, &mut first, 1, &ALL, &ALL).expect("first");
    assert_eq!(first[0], vec![2; 64]);
    // The device holds 2 everywhere. A second caller takes over the very
    // same allocations (buffer list and buffer) with its own data, as a new
    // caller allocated where a dropped one was would.
    let address = first.as_ptr();
    let mut list = first.into_inner();
    list[0].fill(10);
    let mut second = HostBuffers::new(list);
    assert_eq!(second.as_ptr(), address, "the same buffer list address");
    // Its first run names only the word it changed last: the backend must
    // upload all of its data, not take the device's 2s for it.
    second[0][0] = 20;
    g.run_ranges(&p, &mut second, 1, &[(0, 0..1)], &ALL)
        .expect("second");
    let mut want = vec![11; 64];
    want[0] = 21;
    assert_eq!(second[0], want, "the second caller sees its own data");
}

#[test]
fn callers_taking_turns_on_one_program_each_see_their_own_data() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let g = backend();
    let p = inc();
    let mut a = HostBuffers::new(vec![vec![1u32; 64]]);
    let mut b = HostBuffers::new(vec![vec![100u32; 64]]);
    // Nothing written after the first runs: each turn, the device holds the
    // other caller's data, so each run must upload its own again.
    for turn in 0..3u32 {
        let first: &[(usize, std::ops::Range<usize>)] = if turn == 0 { &ALL } else { &[] };
        g.run_ranges(&p, &mut a, 1, first, &ALL).expect("a");
        g.run_ranges(&p, &mut b, 1, first, &ALL).expect("b");
        assert_eq!(a[0], vec![2 + turn; 64], "turn {turn}");
        assert_eq!(b[0], vec![101 + turn; 64], "turn {turn}");
    }
    // Alone, a caller's runs build on the device's copy: `a` runs (b ran
    // last, so a's 4s go up again: 5), then its host copy changes behind
    // the backend's back, unnamed in `writes`: the device's 5 wins over the
    // host's 0 (the device copy is used, not uploaded again).
    g.run_ranges(&p, &mut a, 1, &[], &ALL).expect("a after b");
    assert_eq!(a[0], vec![5; 64]);
    a[0].fill(0);
    g.run_ranges(&p, &mut a, 1, &[], &ALL).expect("a alone");
    assert_eq!(a[0], vec![6; 64], "the device kept a's data");
    // A clone is another caller: it uploads its own (0s) in full.
    a[0].fill(0);
    let mut c = a.clone();
    assert_ne!(c.stamp(), a.stamp());
    g.run_ranges(&p, &mut c, 1, &[], &ALL).expect("clone");
    assert_eq!(c[0], vec![1; 64]);
}

#[test]
fn a_run_elsewhere_in_between_makes_the_next_run_upload_everything() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let g = backend();
    let p = inc();
    let mut bufs = HostBuffers::new(vec![vec![1u32; 64]]);
    g.run_ranges(&p, &mut bufs, 1, &ALL, &ALL).expect("gpu");
    assert_eq!(bufs[0], vec![2; 64]);
    // The CPU reference runs another program on the same buffers: 7s.
    CpuBackend::new()
        .run_ranges(&fill("callers_fill", 7), &mut bufs, 1, &[], &ALL)
        .expect("cpu");
    assert_eq!(bufs[0], vec![7; 64]);
    g.run_ranges(&p, &mut bufs, 1, &[], &ALL)
        .expect("gpu again");
    assert_eq!(bufs[0], vec![8; 64], "the CPU's result went up");
    // A program that reads `len()` runs with `Backend::run` on the host
    // buffers (not resident): it changes them too.
    g.run_ranges(&double_within_len(), &mut bufs, 1, &[], &ALL)
        .expect("len");
    assert_eq!(bufs[0], vec![16; 64]);
    assert_eq!(g.resident_programs(), 1, "only `inc` is resident");
    g.run_ranges(&p, &mut bufs, 1, &[], &ALL)
        .expect("gpu after len");
    assert_eq!(bufs[0], vec![17; 64], "the len program's result went up");
    // Restamping by hand: the caller changed the host buffers without
    // naming the words.
    bufs[0].fill(30);
    bufs.restamp();
    g.run_ranges(&p, &mut bufs, 1, &[], &ALL)
        .expect("after restamp");
    assert_eq!(bufs[0], vec![31; 64]);
}

/// `data[i] *= 2` for `i < len(data)` (reads a buffer's length).
fn double_within_len() -> Program {
    let i = Expr::global_id;
    Program::new(
        "callers_len",
        vec![BufferDecl::read_write("data", 0, DataType::U32)],
        64,
        vec![Node::if_then(
            Expr::lt(i(), Expr::len("data")),
            vec![Node::store(
                "data",
                i(),
                Expr::mul(Expr::load("data", i()), Expr::u32(2)),
            )],
        )],
    )
}

#[test]
fn stamps_are_never_reused() {
    let mut seen = std::collections::HashSet::new();
    let mut bufs = HostBuffers::new(vec![vec![0]]);
    assert!(seen.insert(bufs.stamp()));
    for _ in 0..1000 {
        let s = bufs.restamp();
        assert_eq!(s, bufs.stamp());
        assert!(seen.insert(s), "stamp {s} issued twice");
        let other = HostBuffers::default();
        assert!(seen.insert(other.stamp()));
        assert!(seen.insert(bufs.clone().stamp()));
    }
    assert!(!seen.contains(&0), "0 is never issued");
}
