//! A payload that never ends is stopped by the megakernel's iteration budget:
//! its slot ends FAULT(FAULT_BUDGET), the rest of the batch completes, on the
//! CPU reference and on the GPU.

use std::sync::Mutex;

use vyre_core::cpu::CpuBackend;
use vyre_core::gpu::WgpuBackend;
use vyre_core::ir::payload::{byte_load, lane_count, lane_id, param_len, word_atomic};
use vyre_core::megakernel::protocol::FAULT_BUDGET;
use vyre_core::megakernel::{Megakernel, SlotStatus, Work};
use vyre_core::{AtomicOp, Backend, Expr, Node, Param, ParamKind, Payload};

static GPU: Mutex<()> = Mutex::new(());

fn params() -> Vec<Param> {
    vec![
        Param {
            name: "data".into(),
            kind: ParamKind::Bytes,
            len: None,
            reduce: Default::default(),
        },
        Param {
            name: "lanes".into(),
            kind: ParamKind::Lanes,
            len: None,
            reduce: Default::default(),
        },
        Param {
            name: "acc".into(),
            kind: ParamKind::Accumulator,
            len: Some(1),
            reduce: Default::default(),
        },
    ]
}

/// `loop { n += 1 }` with no way out, on every lane.
fn spin() -> Payload {
    Payload {
        tables: Vec::new(),
        name: "spin".into(),
        params: params(),
        look_behind: 0,
        body: vec![
            Node::let_bind("n", Expr::u32(0)),
            Node::loop_(vec![Node::assign(
                "n",
                Expr::add(Expr::var("n"), Expr::u32(1)),
            )]),
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

/// Sum of the bytes.
fn sum() -> Payload {
    Payload {
        tables: Vec::new(),
        name: "sum".into(),
        params: params(),
        look_behind: 0,
        body: vec![Node::for_step(
            "i",
            lane_id("lanes"),
            param_len("data"),
            lane_count("lanes"),
            vec![Node::eval(word_atomic(
                AtomicOp::Add,
                "acc",
                Expr::u32(0),
                byte_load("data", Expr::var("i")),
                None,
            ))],
        )],
        combine: None,
        native: Default::default(),
    }
}

fn check<B: Backend>(backend: B) {
    let mut mk = Megakernel::builder()
        .payload(spin())
        .payload(sum())
        .tenant("t", &["spin", "sum"])
        .iteration_budget(5000)
        .workgroups(4)
        .build(backend)
        .unwrap();
    let t = mk.tenant_id("t").unwrap();
    let data: Vec<u8> = (0..3000u32).map(|i| (i % 253) as u8).collect();
    let want: u32 = data.iter().map(|&b| b as u32).sum();
    let mut slots = Vec::new();
    for k in 0..6 {
        let op = if k % 3 == 1 { "spin" } else { "sum" };
        slots.push((op, mk.publish(Work::new(op, t, &data)).unwrap()));
    }
    let report = mk.run().unwrap();
    eprintln!("{}: {report:?}", mk.backend().name());
    assert_eq!((report.done, report.faults), (4, 2));
    for (op, s) in slots {
        if op == "spin" {
            assert_eq!(mk.status(s).unwrap(), SlotStatus::Fault(FAULT_BUDGET));
        } else {
            assert_eq!(mk.status(s).unwrap(), SlotStatus::Done);
            assert_eq!(mk.results(s).unwrap(), &[want]);
        }
    }
}

#[test]
fn runaway_payload_faults_on_cpu() {
    check(CpuBackend::new());
}

#[test]
fn runaway_payload_faults_on_gpu() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    check(WgpuBackend::new().expect("a wgpu adapter"));
}
