//! Workgroup-private accumulators: a payload whose accumulators are kept in
//! workgroup memory while its slot runs sees exactly what it would see on the
//! results buffer (values returned by atomics, clipped regions), and leaves
//! neighbouring slots' regions alone. On the CPU reference and on wgpu.

use std::sync::Mutex;

use vyre_core::cpu::CpuBackend;
use vyre_core::gpu::WgpuBackend;
use vyre_core::ir::payload::{byte_load, lane_count, lane_id, param_len, word_atomic};
use vyre_core::megakernel::privatize::LOCAL_ACC;
use vyre_core::megakernel::{Megakernel, SlotStatus, Work};
use vyre_core::{AtomicOp, Backend, Expr, Node, Param, ParamKind, Payload};

static GPU_LOCK: Mutex<()> = Mutex::new(());

const LANES: u32 = 64;

/// acc[0] += 1 per lane; acc[1] = max over lanes of (the old acc[0] its
/// add returned) + 1, which is the lane count exactly when the returned old
/// values are right; acc[2] += every byte.
fn probe() -> Payload {
    let param = |name: &str, kind, len| Param {
        name: name.into(),
        kind,
        len,
        reduce: Default::default(),
    };
    let atomic = |op, k: u32, v: Expr| Node::eval(word_atomic(op, "acc", Expr::u32(k), v, None));
    Payload {
        tables: Vec::new(),
        name: "probe".into(),
        params: vec![
            param("data", ParamKind::Bytes, None),
            param("lanes", ParamKind::Lanes, None),
            param("acc", ParamKind::Accumulator, Some(3)),
        ],
        look_behind: 0,
        body: vec![
            Node::let_bind(
                "old",
                word_atomic(AtomicOp::Add, "acc", Expr::u32(0), Expr::u32(1), None),
            ),
            atomic(AtomicOp::Max, 1, Expr::add(Expr::var("old"), Expr::u32(1))),
            Node::for_step(
                "i",
                lane_id("lanes"),
                param_len("data"),
                lane_count("lanes"),
                vec![atomic(AtomicOp::Add, 2, byte_load("data", Expr::var("i")))],
            ),
        ],
        combine: None,
        native: Default::default(),
    }
}

fn check<B: Backend>(backend: B) {
    let name = backend.name();
    let mut mk = Megakernel::builder()
        .workgroup_size(LANES)
        .workgroups(4)
        .payload(probe())
        .tenant("t", &["probe"])
        .build(backend)
        .expect("build");
    assert!(
        mk.program().buffer(LOCAL_ACC).is_some(),
        "a 3-word accumulator with lanes is privatized"
    );
    let t = mk.tenant_id("t").expect("tenant");
    for round in 0..2u32 {
        mk.reset();
        let datas: Vec<Vec<u8>> = (0..24u32)
            .map(|k| {
                (0..(k * 97 + round * 13) % 3000)
                    .map(|i| (i * 7 + k) as u8)
                    .collect()
            })
            .collect();
        let mut ids = Vec::new();
        for (k, d) in datas.iter().enumerate() {
            // Every third slot gets a region of 1 word, every third 2 words:
            // accesses past it are dropped, and the neighbours' words stay.
            let words = match k % 3 {
                0 => Some(1),
                1 => Some(2),
                _ => None,
            };
            let w = Work {
                result_words: words,
                ..Work::new("probe", t, d)
            };
            let id = mk.publish(w).expect("publish");
            // Round 1 starts the accumulators from nonzero values, which
            // the private copy must start from too.
            let init = [5 * round, 0, 1000 * round];
            let region = mk.results_mut(id).expect("region");
            let n = region.len();
            region.copy_from_slice(&init[..n]);
            ids.push((id, words.unwrap_or(3), d));
        }
        let report = mk.run().expect("run");
        assert_eq!(report.done, 24, "{report:?}");
        for (id, words, d) in ids {
            assert_eq!(mk.status(id).expect("status"), SlotStatus::Done);
            let sum: u32 = d.iter().map(|&b| b as u32).sum();
            let want = [LANES + 5 * round, LANES + 5 * round, sum + 1000 * round];
            assert_eq!(
                mk.results(id).expect("results"),
                &want[..words as usize],
                "slot {id:?} ({} bytes, {words} words) on {name}",
                d.len(),
            );
        }
    }
}

#[test]
fn private_accumulators_match_global_semantics_on_cpu() {
    check(CpuBackend::new());
}

#[test]
fn private_accumulators_match_global_semantics_on_gpu() {
    let _g = GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    check(WgpuBackend::new().expect("a wgpu adapter (mesa-vulkan-drivers for llvmpipe)"));
}

/// `probe` with a big output declared before its accumulator, and with an
/// output between two accumulators.
fn with_outputs(between: bool) -> Payload {
    let mut p = probe();
    p.name = if between { "between" } else { "before" }.into();
    let out = Param {
        name: "out".into(),
        kind: ParamKind::Output,
        len: Some(5000),
        reduce: Default::default(),
    };
    if between {
        p.params.push(out);
        p.params.push(Param {
            name: "acc2".into(),
            kind: ParamKind::Accumulator,
            len: Some(2),
            reduce: Default::default(),
        });
    } else {
        p.params.insert(2, out);
    }
    p
}

#[test]
fn workgroup_memory_holds_only_consecutive_accumulators() {
    // An output before the accumulator takes no workgroup memory (5000
    // words would not fit in 16 KiB), and results land after it.
    let mut mk = Megakernel::builder()
        .workgroup_size(LANES)
        .payload(with_outputs(false))
        .tenant("t", &["before"])
        .build(CpuBackend::new())
        .expect("an output before the accumulator still builds");
    assert_eq!(mk.program().buffer(LOCAL_ACC).and_then(|b| b.len), Some(3));
    let t = mk.tenant_id("t").expect("tenant");
    let data: Vec<u8> = (0..777u32).map(|i| (i * 13) as u8).collect();
    let id = mk.publish(Work::new("before", t, &data)).expect("publish");
    assert_eq!(mk.run().expect("run").done, 1);
    let r = mk.results(id).expect("results");
    let sum: u32 = data.iter().map(|&b| b as u32).sum();
    assert_eq!(r.len(), 5003);
    let touched: Vec<(usize, u32)> = r
        .iter()
        .copied()
        .enumerate()
        .filter(|&(i, w)| i < 5000 && w != 0)
        .take(5)
        .collect();
    assert!(
        touched.is_empty(),
        "the output is untouched: {touched:?} tail {:?}",
        &r[5000..]
    );
    assert_eq!(r[5000..], [LANES, LANES, sum]);
    // An output between two accumulators: not privatized.
    assert_eq!(plan_words(&with_outputs(true)), 0);
}

fn plan_words(p: &Payload) -> u32 {
    vyre_core::megakernel::privatize::private_words(p)
}

/// Adds only, results discarded: `acc[byte % 7] += byte + 1` for every
/// byte, `acc[9] += 1` per lane (outside the 7 words: dropped), and
/// `acc[0] += lanes` once per lane.
fn adder(words: u32) -> Payload {
    let param = |name: &str, kind, len| Param {
        name: name.into(),
        kind,
        len,
        reduce: Default::default(),
    };
    let add = |k: Expr, v: Expr| Node::eval(word_atomic(AtomicOp::Add, "acc", k, v, None));
    let byte = || byte_load("data", Expr::var("i"));
    Payload {
        tables: Vec::new(),
        name: "adder".into(),
        params: vec![
            param("data", ParamKind::Bytes, None),
            param("lanes", ParamKind::Lanes, None),
            param("acc", ParamKind::Accumulator, Some(words)),
        ],
        look_behind: 0,
        body: vec![
            add(Expr::u32(9), Expr::u32(1)),
            add(Expr::u32(0), lane_count("lanes")),
            Node::for_step(
                "i",
                lane_id("lanes"),
                param_len("data"),
                lane_count("lanes"),
                vec![add(
                    Expr::rem(byte(), Expr::u32(7)),
                    Expr::add(byte(), Expr::u32(1)),
                )],
            ),
        ],
        combine: None,
        native: Default::default(),
    }
}

fn check_adds<B: Backend>(backend: B) {
    let name = backend.name();
    let mut mk = Megakernel::builder()
        .workgroup_size(LANES)
        .workgroups(3)
        .payload(adder(7))
        .tenant("t", &["adder"])
        .build(backend)
        .expect("build");
    assert_eq!(mk.program().buffer(LOCAL_ACC).and_then(|b| b.len), Some(7));
    let t = mk.tenant_id("t").expect("tenant");
    for round in 0..2u32 {
        mk.reset();
        let mut slots = Vec::new();
        for k in 0..20u32 {
            let d: Vec<u8> = (0..(k * 211 + round * 31) % 2500)
                .map(|i| (i * 31 + k * 7) as u8)
                .collect();
            // Clipped regions of 1 and 4 words as well as the full 7.
            let words = [1, 4, 7][k as usize % 3];
            let w = Work {
                result_words: Some(words),
                ..Work::new("adder", t, &d)
            };
            let id = mk.publish(w).expect("publish");
            let region = mk.results_mut(id).expect("region");
            for (j, x) in region.iter_mut().enumerate() {
                *x = round * (j as u32 + 1) * 0x1000_0000;
            }
            slots.push((id, words as usize, d));
        }
        assert_eq!(mk.run().expect("run").done, 20);
        for (id, words, d) in slots {
            let mut want: Vec<u32> = (0..7u32)
                .map(|j| round.wrapping_mul(j + 1).wrapping_mul(0x1000_0000))
                .collect();
            want[0] = want[0].wrapping_add(LANES * LANES);
            for &b in &d {
                let j = usize::from(b % 7);
                want[j] = want[j].wrapping_add(u32::from(b) + 1);
            }
            assert_eq!(
                mk.results(id).expect("results"),
                &want[..words],
                "slot {id:?} ({} bytes, {words} words) on {name}",
                d.len()
            );
        }
    }
}

#[test]
fn private_adds_start_from_the_region_and_clip_on_cpu() {
    check_adds(CpuBackend::new());
}

#[test]
fn private_adds_start_from_the_region_and_clip_on_gpu() {
    let _g = GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    check_adds(WgpuBackend::new().expect("a wgpu adapter (mesa-vulkan-drivers for llvmpipe)"));
}

/// Tables that do not fit the kernel's workgroup memory (with the kernel's
/// own words) are refused at build time, naming them.
#[test]
fn tables_too_big_for_the_kernel_are_named() {
    let mut p = adder(7);
    p.name = "tabled".into();
    p.tables = vec![vyre_core::Table::new("big", &[3; 4090])];
    let err = Megakernel::builder()
        .workgroup_size(LANES)
        .payload(p)
        .tenant("t", &["tabled"])
        .build(CpuBackend::new())
        .err()
        .expect("4090 table words + the kernel's own do not fit 16 KiB");
    let msg = err.to_string();
    assert!(
        msg.contains("`big` of `tabled` (4090 words)") && msg.contains("Fix:"),
        "{msg}"
    );
}
