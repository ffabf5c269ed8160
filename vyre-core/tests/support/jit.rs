//! What the JIT tests share: test payloads with the slot's parameters, and
//! a payload run on the CPU reference (one lane) and as JIT code.

use vyre_core::cpu::CpuBackend;
use vyre_core::ir::payload::Table;
use vyre_core::native::with_iteration_budget;
use vyre_core::{jit, Backend, NativeSlot, Node, Param, ParamKind, Payload, Program};

pub fn param(name: &str, kind: ParamKind, len: Option<u32>) -> Param {
    Param::new(name, kind, len)
}

pub fn payload(name: &str, params: Vec<Param>, tables: Vec<Table>, body: Vec<Node>) -> Payload {
    Payload {
        name: name.into(),
        params,
        look_behind: 0,
        body,
        tables,
        combine: None,
        native: Default::default(),
    }
}

/// The parameters of every test payload here: bytes, `out`, `acc`, lanes.
pub fn slot_params(out: u32, acc: u32) -> Vec<Param> {
    vec![
        param("data", ParamKind::Bytes, None),
        param("out", ParamKind::Output, Some(out)),
        param("acc", ParamKind::Accumulator, Some(acc)),
        param("lanes", ParamKind::Lanes, None),
    ]
}

/// `p` (parameters as [`slot_params`]) on the CPU reference, one lane:
/// its standalone program with `data` and the result words `init`.
pub fn reference(p: &Payload, data: &[u8], init: &[u32]) -> Result<Vec<u32>, String> {
    let prog: Program = p.to_program(1);
    let mut words: Vec<u32> = data
        .chunks(4)
        .map(|c| {
            let mut b = [0u8; 4];
            b[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(b)
        })
        .collect();
    if words.is_empty() {
        words.push(0);
    }
    let mut bufs = vec![vec![data.len() as u32], words];
    let mut at = 0usize;
    for q in p.params.iter().filter(|q| q.kind.is_result()) {
        let n = q.len.unwrap_or(0) as usize;
        bufs.push(init[at..at + n].to_vec());
        at += n;
    }
    CpuBackend::new()
        .run(&prog, &mut bufs, 1)
        .map_err(|e| e.to_string())?;
    Ok(bufs[2..].concat())
}

/// `p` compiled by the JIT, run on `data` with results `init`, under
/// `budget` loop iterations: the result words and whether it was spent.
pub fn run_jit(p: &Payload, data: &[u8], init: &[u32], budget: u64) -> (Vec<u32>, bool) {
    let code = jit::compile(p).unwrap_or_else(|e| panic!("JIT of {}: {e}", p.name));
    let mut results = init.to_vec();
    let mut slot = NativeSlot {
        data,
        start: 0,
        args: &[],
        chunk_offset: 0,
        chunk_offset_hi: 0,
        file_len: data.len() as u32,
        file_len_hi: 0,
        chunk_index: 0,
        results: &mut results,
    };
    let ((), spent) = with_iteration_budget(budget, || {
        assert!(code.call(&mut slot));
    });
    (results, spent)
}
