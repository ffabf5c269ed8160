//! GPU-initiated reads: a payload reads a file header and asks for the
//! section it points to; the host services the request with io_uring and runs
//! the continuation on the bytes. Bad requests end as FAULT, never as reads.
//! Runs on the CPU reference and on wgpu.

use std::path::PathBuf;
use std::sync::Mutex;

use vyre_core::cpu::CpuBackend;
use vyre_core::gpu::WgpuBackend;
use vyre_core::ir::payload::{byte_load, lane_count, lane_id, param_len, word_atomic};
use vyre_core::megakernel::protocol::{FAULT_BAD_IO, FIRST_PAYLOAD_OPCODE};
use vyre_core::megakernel::standalone::io_read;
use vyre_core::megakernel::{Megakernel, SlotId, SlotStatus, Work};
use vyre_core::{AtomicOp, Backend, Expr, Node, Param, ParamKind, Payload};

static GPU: Mutex<()> = Mutex::new(());

fn param(name: &str, kind: ParamKind, len: Option<u32>) -> Param {
    Param {
        name: name.into(),
        kind,
        len,
        reduce: Default::default(),
    }
}

/// Little-endian u32 at byte `at` of `data`.
fn le32(at: u32) -> Expr {
    let b = |k: u32| Expr::shl(byte_load("data", Expr::u32(at + k)), Expr::u32(8 * k));
    Expr::bitor(Expr::bitor(b(0), b(1)), Expr::bitor(b(2), b(3)))
}

/// Reads `offset: u32, len: u32` from its first 8 bytes and asks for them.
fn header() -> Payload {
    Payload {
        tables: Vec::new(),
        name: "header".into(),
        params: vec![
            param("data", ParamKind::Bytes, None),
            param("file", ParamKind::Scalar, None),
            param("q", ParamKind::IoQueue, None),
        ],
        look_behind: 0,
        body: vec![io_read(
            "q",
            Expr::var("file"),
            le32(0),
            Expr::u32(0),
            le32(4),
            Expr::u32(FIRST_PAYLOAD_OPCODE + 1),
        )],
        combine: None,
        native: Default::default(),
    }
}

/// Sums its bytes into `sum[0]`, lanes cooperating.
fn section_sum() -> Payload {
    Payload {
        tables: Vec::new(),
        name: "section_sum".into(),
        params: vec![
            param("data", ParamKind::Bytes, None),
            param("lanes", ParamKind::Lanes, None),
            param("sum", ParamKind::Accumulator, Some(1)),
        ],
        look_behind: 0,
        body: vec![
            Node::let_bind("s", Expr::u32(0)),
            Node::for_step(
                "i",
                lane_id("lanes"),
                param_len("data"),
                lane_count("lanes"),
                vec![Node::assign(
                    "s",
                    Expr::add(Expr::var("s"), byte_load("data", Expr::var("i"))),
                )],
            ),
            Node::eval(word_atomic(
                AtomicOp::Add,
                "sum",
                Expr::u32(0),
                Expr::var("s"),
                None,
            )),
        ],
        combine: None,
        native: Default::default(),
    }
}

fn file_with_section(
    name: &str,
    section_at: u32,
    section_len: u32,
    claim_at: u32,
    claim_len: u32,
) -> (PathBuf, Vec<u8>) {
    let path = std::env::temp_dir().join(format!("vyre-io-{name}-{}", std::process::id()));
    let mut bytes: Vec<u8> = (0..section_at + section_len)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    bytes[..4].copy_from_slice(&claim_at.to_le_bytes());
    bytes[4..8].copy_from_slice(&claim_len.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

fn check<B: Backend>(backend: B, tag: &str) {
    let good_section = (5000u32, 3000u32);
    let (good, good_bytes) = file_with_section(
        &format!("good-{tag}"),
        good_section.0,
        good_section.1,
        good_section.0,
        good_section.1,
    );
    let (lying, lying_bytes) = file_with_section(&format!("lying-{tag}"), 100, 100, 1 << 30, 64);
    let files = vec![good.clone(), lying.clone()];
    // One workgroup: the slots run (and post) in order, so which request
    // the full queue drops is always the last one. With several, it depends
    // on which workgroup posts last (seen on a loaded CI box).
    let mut mk = Megakernel::builder()
        .workgroups(1)
        .payload(header())
        .payload(section_sum())
        .tenant("t", &["header", "section_sum"])
        .io_queue(3)
        .build(backend)
        .unwrap();
    let t = mk.tenant_id("t").unwrap();
    let head = |b: &[u8]| b[..64].to_vec();
    let g = head(&good_bytes);
    let l = head(&lying_bytes);
    mk.publish(Work {
        args: &[0],
        ..Work::new("header", t, &g)
    })
    .unwrap();
    mk.publish(Work {
        args: &[1],
        ..Work::new("header", t, &l)
    })
    .unwrap(); // offset beyond the file
    mk.publish(Work {
        args: &[7],
        ..Work::new("header", t, &g)
    })
    .unwrap(); // no file 7
    mk.publish(Work {
        args: &[0],
        ..Work::new("header", t, &g)
    })
    .unwrap(); // queue (3) is full: dropped
    let first = mk.run().unwrap();
    assert_eq!(first.done, 4);
    let report = mk.service_io(&files, 1 << 20).unwrap();
    eprintln!("{} io report: {report:?}", mk.backend().name());
    assert_eq!(report.served, 1);
    assert_eq!(report.dropped, 1);
    assert_eq!(report.refused.len(), 2);
    assert!(report
        .refused
        .iter()
        .any(|(r, why)| r.file == 1 && why.contains("outside the file")));
    assert!(report
        .refused
        .iter()
        .any(|(r, why)| r.file == 7 && why.contains("not in the file table")));
    let second = mk.run().unwrap();
    assert_eq!(second.done, 5, "{second:?}");
    // Slot 4 is the continuation that got the section.
    let want: u32 = good_bytes[good_section.0 as usize..]
        .iter()
        .map(|&b| b as u32)
        .sum();
    assert_eq!(mk.status(SlotId(4)).unwrap(), SlotStatus::Done);
    assert_eq!(mk.results(SlotId(4)).unwrap(), &[want]);
    for s in 5..7 {
        assert_eq!(
            mk.status(SlotId(s)).unwrap(),
            SlotStatus::Fault(FAULT_BAD_IO)
        );
    }
    let _ = std::fs::remove_file(good);
    let _ = std::fs::remove_file(lying);
}

#[test]
fn header_then_section_on_cpu() {
    check(CpuBackend::new(), "cpu");
}

#[test]
fn header_then_section_on_gpu() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    check(WgpuBackend::new().expect("a wgpu adapter"), "gpu");
}
