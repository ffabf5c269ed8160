//! Payload-emitted debug records: every slot of a payload with a `Debug`
//! parameter appends `[slot, opcode, a, b]`; a full log drops and counts the
//! rest. Fused and interpreted, on the CPU reference and on wgpu.

use std::sync::Mutex;

use vyre_core::cpu::CpuBackend;
use vyre_core::gpu::WgpuBackend;
use vyre_core::ir::payload::{byte_load, param_var};
use vyre_core::megakernel::standalone::debug_record;
use vyre_core::megakernel::{Megakernel, SlotStatus, Work};
use vyre_core::{Backend, Expr, Param, ParamKind, Payload};

static GPU_LOCK: Mutex<()> = Mutex::new(());

/// Records (bytes in the slot, first byte).
fn tag() -> Payload {
    let param = |name: &str, kind| Param {
        name: name.into(),
        kind,
        len: None,
        reduce: Default::default(),
    };
    Payload {
        tables: Vec::new(),
        name: "tag".into(),
        params: vec![
            param("data", ParamKind::Bytes),
            param("log", ParamKind::Debug),
        ],
        look_behind: 0,
        body: vec![debug_record(
            "log",
            Expr::var(&param_var("data", "len")),
            byte_load("data", Expr::u32(0)),
        )],
        combine: None,
        native: Default::default(),
    }
}

fn check<B: Backend>(backend: B, interpreted: bool) {
    let cap = 5u32;
    let b = Megakernel::builder().debug_records(cap).workgroups(3);
    let b = if interpreted {
        b.interpreted(tag())
    } else {
        b.payload(tag())
    };
    let mut mk = b.tenant("t", &["tag"]).build(backend).expect("build");
    let t = mk.tenant_id("t").unwrap();
    let op = mk.opcode("tag").unwrap();
    for round in 0..2 {
        mk.reset();
        let datas: Vec<Vec<u8>> = (0..8u8)
            .map(|i| vec![i + 10 * round; i as usize + 1])
            .collect();
        let ids: Vec<_> = datas
            .iter()
            .map(|d| mk.publish(Work::new("tag", t, d)).unwrap())
            .collect();
        let report = mk.run().expect("run");
        assert_eq!(report.done, 8, "{report:?}");
        assert!(ids
            .iter()
            .all(|i| mk.status(*i).unwrap() == SlotStatus::Done));
        let (log, dropped) = mk.debug_log();
        let what = format!("{} interpreted={interpreted}", mk.backend().name());
        assert_eq!(log.len() as u32, cap, "{what}");
        assert_eq!(dropped, 8 - cap, "{what}");
        let mut seen = std::collections::HashSet::new();
        for [slot, o, len, first] in log {
            let d = &datas[slot as usize];
            assert_eq!((o, len, first), (op, d.len() as u32, d[0] as u32), "{what}");
            assert!(seen.insert(slot), "{what}: slot {slot} logged twice");
        }
    }
}

#[test]
fn payload_debug_records_on_cpu() {
    check(CpuBackend::new(), false);
    check(CpuBackend::new(), true);
}

#[test]
fn payload_debug_records_on_gpu() {
    let _g = GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let gpu = WgpuBackend::new().expect("a wgpu adapter (install mesa-vulkan-drivers)");
    check(&gpu, false);
    check(&gpu, true);
}

#[test]
fn debug_payload_round_trips_through_text_and_vir0() {
    let p = tag();
    let text = p.to_string();
    assert!(text.contains("param log: debug"), "{text}");
    assert_eq!(vyre_core::ir::parse_payload(&text).expect("parse"), p);
    let module = vyre_core::vir0::Module::Payload(p.clone());
    let back = vyre_core::vir0::decode(&module.encode()).expect("decode");
    assert_eq!(back, module);
}
