//! GPU-initiated reads: a payload reads a file's header and asks for the
//! section it points to; the host reads it with io_uring and runs a
//! continuation payload on it in the next run.
//!
//! `cargo run --example gpu_reads` (GPU if present, else the CPU reference).

use vyre::ir::payload::{byte_load, lane_count, lane_id, param_len, word_atomic};
use vyre::megakernel::protocol::FIRST_PAYLOAD_OPCODE;
use vyre::megakernel::standalone::io_read;
use vyre::megakernel::{Megakernel, SlotId, Work};
use vyre::{AtomicOp, Backend, Expr, Node, Param, ParamKind, Payload};

fn param(name: &str, kind: ParamKind, len: Option<u32>) -> Param {
    Param {
        name: name.into(),
        kind,
        len,
        reduce: Default::default(),
    }
}

fn le32(at: u32) -> Expr {
    let b = |k: u32| Expr::shl(byte_load("data", Expr::u32(at + k)), Expr::u32(8 * k));
    Expr::bitor(Expr::bitor(b(0), b(1)), Expr::bitor(b(2), b(3)))
}

fn main() -> vyre::Result<()> {
    // A file: 8-byte header (section offset, section length), then data.
    let path = std::env::temp_dir().join(format!("vyre-gpu-reads-{}", std::process::id()));
    let mut bytes = vec![0u8; 10_000];
    let (at, len) = (4096u32, 1000u32);
    bytes[..4].copy_from_slice(&at.to_le_bytes());
    bytes[4..8].copy_from_slice(&len.to_le_bytes());
    for (i, b) in bytes[at as usize..(at + len) as usize]
        .iter_mut()
        .enumerate()
    {
        *b = (i % 251) as u8;
    }
    std::fs::write(&path, &bytes).map_err(|e| vyre::Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;

    let header = Payload {
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
    };
    let section_sum = Payload {
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
    };
    let backend: Box<dyn Backend> = match vyre::gpu::WgpuBackend::new() {
        Ok(g) => Box::new(g),
        Err(e) => {
            eprintln!("no GPU adapter ({e}); using the CPU reference");
            Box::new(vyre::cpu::CpuBackend::new())
        }
    };
    println!("backend: {}", backend.name());
    let mut mk = Megakernel::builder()
        .payload(header)
        .payload(section_sum)
        .tenant("t", &["header", "section_sum"])
        .build(backend)?;
    let t = mk.tenant_id("t")?;
    mk.publish(Work {
        args: &[0],
        ..Work::new("header", t, &bytes[..64])
    })?;
    mk.run()?;
    let report = mk.service_io(std::slice::from_ref(&path), 1 << 20)?;
    println!(
        "read requests: {} served, {} refused, {} dropped (via {})",
        report.served,
        report.refused.len(),
        report.dropped,
        report.ingest
    );
    mk.run()?;
    let gpu_sum = mk.results(SlotId(1))?[0];
    let native: u32 = bytes[at as usize..(at + len) as usize]
        .iter()
        .map(|&b| b as u32)
        .sum();
    println!("section sum: megakernel {gpu_sum}, native {native}");
    assert_eq!(gpu_sum, native);
    let _ = std::fs::remove_file(&path);
    Ok(())
}
