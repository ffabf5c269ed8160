//! Devices that end long loops on their own (Mesa's llvmpipe stops loops
//! after 65535 iterations without a word) never turn a cut into a result:
//! the canary after every slot sees the cut, the megakernel runs such a
//! slot again one per workgroup, and a slot the device cuts even then runs
//! on the CPU reference. Every count is exact on every backend; a slot
//! whose bytes sit in a GPU upload arena (no host copy to fall back on)
//! ends FAULT(FAULT_LOOP_CUT) instead.

use std::sync::Mutex;

use vyre_core::cpu::CpuBackend;
use vyre_core::gpu::WgpuBackend;
use vyre_core::ir::payload::word_atomic;
use vyre_core::megakernel::{Megakernel, RunReport, SlotStatus, Work};
use vyre_core::{AtomicOp, Backend, Expr, Node, Param, ParamKind, Payload};

static GPU: Mutex<()> = Mutex::new(());

/// Lane 0 counts to `n` in a loop and adds the count to `acc[0]`.
fn count_to(name: &str, n: u32) -> Payload {
    Payload {
        tables: Vec::new(),
        name: name.into(),
        params: vec![
            Param {
                name: "data".into(),
                kind: ParamKind::Bytes,
                len: None,
                reduce: Default::default(),
            },
            Param {
                name: "acc".into(),
                kind: ParamKind::Accumulator,
                len: Some(1),
                reduce: Default::default(),
            },
        ],
        look_behind: 0,
        body: vec![
            Node::let_bind("n", Expr::u32(0)),
            Node::for_step(
                "i",
                Expr::u32(0),
                Expr::u32(n),
                Expr::u32(1),
                vec![Node::assign("n", Expr::add(Expr::var("n"), Expr::u32(1)))],
            ),
            Node::eval(word_atomic(
                AtomicOp::Add,
                "acc",
                Expr::u32(0),
                Expr::var("n"),
                None,
            )),
        ],
        combine: None,
        native: Default::default(),
    }
}

/// Runs `slots` slots of each payload in one batch; returns, per payload,
/// the statuses and results.
fn run<B: Backend>(
    backend: B,
    payloads: &[(&str, u32)],
    slots: usize,
) -> (RunReport, Vec<Vec<(SlotStatus, u32)>>) {
    let mut b = Megakernel::builder();
    for (name, n) in payloads {
        b = b.payload(count_to(name, *n));
    }
    let names: Vec<&str> = payloads.iter().map(|p| p.0).collect();
    let mut mk = b.tenant("t", &names).workgroups(64).build(backend).unwrap();
    let t = mk.tenant_id("t").unwrap();
    let mut ids = vec![Vec::new(); payloads.len()];
    for _ in 0..slots {
        for (k, (name, _)) in payloads.iter().enumerate() {
            ids[k].push(mk.publish(Work::new(name, t, b"x")).unwrap());
        }
    }
    let report = mk.run().unwrap();
    eprintln!("{}: {report:?}", mk.backend().name());
    let got = ids
        .iter()
        .map(|v| {
            v.iter()
                .map(|s| (mk.status(*s).unwrap(), mk.results(*s).unwrap()[0]))
                .collect()
        })
        .collect();
    (report, got)
}

const CASES: &[(&str, u32)] = &[("short", 1000), ("medium", 40_000), ("long", 100_000)];

#[test]
fn the_cpu_reference_counts_every_loop_exactly() {
    let (report, got) = run(CpuBackend::new(), CASES, 3);
    assert_eq!(report.cpu_slots, 0);
    for ((_, n), slots) in CASES.iter().zip(&got) {
        for s in slots {
            assert_eq!(*s, (SlotStatus::Done, *n));
        }
    }
}

#[test]
fn a_cut_loop_is_rerun_never_a_result() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let gpu = WgpuBackend::new().expect("a wgpu adapter");
    let limit = gpu.loop_iteration_limit();
    let (report, got) = run(gpu, CASES, 24);
    for ((name, n), slots) in CASES.iter().zip(&got) {
        for s in slots {
            assert_eq!(*s, (SlotStatus::Done, *n), "{name}: every slot is exact");
        }
    }
    match limit {
        // 100 000 iterations cannot run on the device: those slots ran on
        // the CPU reference, and only those.
        Some(l) if l < 100_000 => assert_eq!(report.cpu_slots, 24, "{report:?}"),
        _ => assert_eq!(report.cpu_slots, 0, "{report:?}"),
    }
}
