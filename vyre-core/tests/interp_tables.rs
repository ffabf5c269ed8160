//! Constant tables on the interpreter: payloads reading tables (indices
//! inside, past the end, wrapping; identical tables; `len` of a table)
//! give the same words loaded as bytecode as fused into the kernel, on the
//! CPU reference and on wgpu, and what plain Rust computes; a table read
//! (`LDT`) reaches only its own program's table words whatever its operands
//! say; the bytecode check and the listing cover it.

use std::sync::Mutex;

use vyre_core::cpu::CpuBackend;
use vyre_core::gpu::WgpuBackend;
use vyre_core::interp::{self, decode, encode, op, INSTR_WORDS};
use vyre_core::ir::parse_payload;
use vyre_core::megakernel::abi::{self, binding};
use vyre_core::megakernel::protocol::*;
use vyre_core::megakernel::{Megakernel, SlotStatus, Work};
use vyre_core::{Backend, Payload};

static GPU_LOCK: Mutex<()> = Mutex::new(());

const LANES: u32 = 64;
const B_RING: usize = binding(abi::RING);
const B_RESULTS: usize = binding(abi::RESULTS);
const B_CODE: usize = binding(abi::CODE);

/// SplitMix64.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as u32
    }
}

fn list(words: &[u32]) -> String {
    let w: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    format!("[{}]", w.join(", "))
}

/// Word `i` of table `t` as the IR defines it: 0 past the end.
fn at(t: &[u32], i: u32) -> u32 {
    t.get(i as usize).copied().unwrap_or(0)
}

/// Every lane hashes its bytes through three tables: `T` (37 words, so
/// most byte values read past its end), `T2` (the same words: stored once
/// fused) and `U` (5 words, indexed by the high nibble), then adds the
/// tables' lengths.
fn tab_bytes(t: &[u32], u: &[u32]) -> Payload {
    let text = format!(
        "payload tab_bytes look_behind 0
param data: bytes
param out: output[{LANES}]
param lanes: lanes
table T = {t}
table T2 = {t}
table U = {u}
{{
  let h = 0u
  for i in lanes__id..data__len step lanes__count {{
    let at = add(data__off, i)
    let word = data[select(lt(i, data__len), shr(at, 2u), 4294967295u)]
    let byte = bitand(shr(word, shl(bitand(at, 3u), 3u)), 255u)
    h = add(rotl(h, 5u), bitxor(T[byte], add(mul(U[shr(byte, 4u)], 3u), T2[bitxor(byte, 7u)])))
  }}
  h = add(h, add(len(T), mul(len(U), 100u)))
  out[select(lt(lanes__id, out__len), add(out__off, lanes__id), 4294967295u)] = h
}}
",
        t = list(t),
        u = list(u)
    );
    parse_payload(&text).expect("tab_bytes text")
}

fn tab_bytes_rust(t: &[u32], u: &[u32], data: &[u8]) -> Vec<u32> {
    (0..LANES)
        .map(|id| {
            let mut h = 0u32;
            for i in (id as usize..data.len()).step_by(LANES as usize) {
                let b = data[i] as u32;
                let x = at(t, b) ^ at(u, b >> 4).wrapping_mul(3).wrapping_add(at(t, b ^ 7));
                h = h.rotate_left(5).wrapping_add(x);
            }
            h.wrapping_add(t.len() as u32 + u.len() as u32 * 100)
        })
        .collect()
}

/// Lane 0 reads 16 words of the slot's bytes and looks each up, as is and
/// minus 6 (wrapping), in a table of 7 words: indices from 0 to `u32::MAX`.
fn tab_words(t: &[u32]) -> Payload {
    let text = format!(
        "payload tab_words look_behind 0
param data: bytes
param out: output[16]
table T = {t}
{{
  for k in 0u..16u {{
    let w = data[select(lt(mul(k, 4u), data__len), add(shr(data__off, 2u), k), 4294967295u)]
    let v = add(T[w], mul(T[add(w, 4294967290u)], 1000u))
    out[select(lt(k, out__len), add(out__off, k), 4294967295u)] = v
  }}
}}
",
        t = list(t)
    );
    parse_payload(&text).expect("tab_words text")
}

fn tab_words_rust(t: &[u32], data: &[u8]) -> Vec<u32> {
    (0..16)
        .map(|k| {
            let w = data
                .get(k * 4..k * 4 + 4)
                .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            at(t, w).wrapping_add(at(t, w.wrapping_sub(6)).wrapping_mul(1000))
        })
        .collect()
}

/// Every slot's (status, results) for each payload over each data.
fn run_batch<B: Backend>(
    mk: &mut Megakernel<B>,
    payloads: &[Payload],
    datas: &[Vec<u8>],
) -> Vec<(SlotStatus, Vec<u32>)> {
    mk.reset();
    let t = mk.tenant_id("t").expect("tenant");
    let mut ids = Vec::new();
    for p in payloads {
        for d in datas {
            ids.push(mk.publish(Work::new(&p.name, t, d)).expect("publish"));
        }
    }
    mk.run().expect("run");
    ids.iter()
        .map(|id| (mk.status(*id).unwrap(), mk.results(*id).unwrap().to_vec()))
        .collect()
}

fn build<B: Backend>(backend: B, payloads: &[Payload], interpreted: bool) -> Megakernel<B> {
    let names: Vec<&str> = payloads.iter().map(|p| p.name.as_str()).collect();
    let mut b = Megakernel::builder()
        .tenant("t", &names)
        .workgroup_size(LANES)
        .workgroups(4);
    for p in payloads {
        b = if interpreted {
            b.interpreted(p.clone())
        } else {
            b.payload(p.clone())
        };
    }
    b.build(backend).expect("build megakernel")
}

#[test]
fn table_payloads_interpreted_equal_fused_and_plain_rust() {
    let _g = GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let gpu = WgpuBackend::new().expect("a wgpu adapter (install mesa-vulkan-drivers)");
    let cpu = CpuBackend::new();
    let mut rng = Rng(0x7AB1E5);
    let t: Vec<u32> = (0..37).map(|_| rng.next()).collect();
    let u: Vec<u32> = (0..5).map(|_| rng.next()).collect();
    let w: Vec<u32> = (0..7).map(|_| rng.next()).collect();
    let payloads = vec![tab_bytes(&t, &u), tab_words(&w)];
    // Words 0..=6 and 6..=12 (inside after the -6), the extremes, noise.
    let mut words: Vec<u32> = vec![
        0,
        3,
        6,
        7,
        9,
        12,
        13,
        u32::MAX,
        0x8000_0000,
        5u32.wrapping_sub(6),
    ];
    let mut datas = Vec::new();
    for n in [0usize, 3, 64, 999] {
        words.push(rng.next());
        let mut d: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        d.resize(n.max(64), 0);
        d.truncate(if n == 0 { 0 } else { n.max(64) });
        for b in d.iter_mut().skip(64) {
            *b = rng.next() as u8;
        }
        datas.push(d);
    }
    let want: Vec<(SlotStatus, Vec<u32>)> = datas
        .iter()
        .map(|d| (SlotStatus::Done, tab_bytes_rust(&t, &u, d)))
        .chain(
            datas
                .iter()
                .map(|d| (SlotStatus::Done, tab_words_rust(&w, d))),
        )
        .collect();
    let runs = [
        (
            "fused, CPU reference",
            run_batch(&mut build(&cpu, &payloads, false), &payloads, &datas),
        ),
        (
            "interpreted, CPU reference",
            run_batch(&mut build(&cpu, &payloads, true), &payloads, &datas),
        ),
        (
            "fused, wgpu",
            run_batch(&mut build(&gpu, &payloads, false), &payloads, &datas),
        ),
        (
            "interpreted, wgpu",
            run_batch(&mut build(&gpu, &payloads, true), &payloads, &datas),
        ),
    ];
    for (what, got) in &runs {
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{what}: slot {i} != plain Rust");
        }
    }
    eprintln!(
        "tables: {} slots identical on 4 paths ({})",
        want.len(),
        gpu.name()
    );
}

/// A probe program, hand-assembled: `results[out] = LDT(index = arg 0,
/// length = arg 1, first word = c)`.
fn probe(c: u32) -> Vec<u32> {
    [
        [op::SLOTW, 0, 0, 0, SLOT_ARGS],
        [op::SLOTW, 1, 0, 0, SLOT_ARGS + 1],
        [op::LDT, 2, 0, 1, c],
        [op::SLOTW, 3, 0, 0, SLOT_OUT_OFF],
        [op::STR, 0, 3, 2, 0],
        [op::RET, 0, 0, 0, 0],
    ]
    .iter()
    .flat_map(|i| encode(i[0], i[1], i[2], i[3], i[4]))
    .collect()
}

/// Whatever an `LDT`'s first word, length and index say, it reads only the
/// running program's own table words: the neighbour's tables, the table
/// count word and the code read as 0. Runs a hand-assembled program in
/// place of a loaded one (the host API only loads compiled ones).
#[test]
fn ldt_reads_only_its_own_tables_whatever_the_bytecode_says() {
    let _g = GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let gpu = WgpuBackend::new().expect("a wgpu adapter (install mesa-vulkan-drivers)");
    let cpu = CpuBackend::new();
    let own = [0xB0, 0xB1, 0xB2];
    let before = tab_words(&[0xA0, 0xA1, 0xA2, 0xA3]);
    let mut probe_payload = tab_words(&own);
    probe_payload.name = "probe".into();
    let after = {
        let mut p = tab_words(&[0xC0, 0xC1]);
        p.name = "after".into();
        p
    };
    let max = u32::MAX;
    // (c, length, index) → the word read.
    let cases: [(u32, u32, u32, u32); 10] = [
        (0, max, 0, 0xB0),
        (2, max, 0, 0xB2),
        (1, 2, 1, 0xB2),
        (1, 1, 1, 0),     // past the table's own length
        (0, max, 3, 0),   // the count word after the tables
        (2, max, 1, 0),   // the same, from the last table word
        (0, max, max, 0), // before the tables (wraps)
        (max, max, 1, 0), // c + index wraps to 0
        (max - 1, max, 3, 0),
        (3, max, 0, 0), // c past the tables (the check refuses it)
    ];
    let backends: [&dyn Backend; 2] = [&cpu, &gpu];
    for backend in backends {
        let mut mk = Megakernel::builder()
            .interpreter()
            .tenant("t", &[])
            .workgroup_size(LANES)
            .workgroups(2)
            .build(backend)
            .expect("build");
        for p in [&before, &probe_payload, &after] {
            mk.load_payload(p, &["t"]).expect("load");
        }
        let t = mk.tenant_id("t").unwrap();
        for (k, &(c, n, i, want)) in cases.iter().enumerate() {
            mk.reset();
            let args = [i, n];
            let w = Work {
                args: &args,
                result_words: Some(1),
                ..Work::new("probe", t, &[1, 2, 3, 4])
            };
            mk.publish(w).unwrap();
            let mut bufs = mk.host_buffers().to_vec();
            let code = &mut bufs[B_CODE];
            let entry = code[(CODE_ENTRY + 1) as usize] as usize;
            assert_eq!(
                code[entry - 1],
                own.len() as u32,
                "the count word precedes the program"
            );
            assert_eq!(&code[entry - 1 - own.len()..entry - 1], &own);
            // `after`'s 2 table words and count word end `probe`'s code.
            let end = code[(CODE_ENTRY + 2) as usize] as usize - 2 - 1;
            let program = probe(c);
            assert!(
                entry + program.len() <= end,
                "the probe fits in place of `probe`"
            );
            code[entry..entry + program.len()].copy_from_slice(&program);
            // A sentinel in the result word, so a read 0 shows as stored.
            let out = bufs[B_RING][SLOT_OUT_OFF as usize] as usize;
            bufs[B_RESULTS][out] = 0xDEAD;
            backend.run(mk.program(), &mut bufs, 2).expect("run");
            let ring = &bufs[B_RING];
            assert_eq!(ring[SLOT_STATUS as usize], DONE, "case {k}");
            assert_eq!(
                bufs[B_RESULTS][out],
                want,
                "case {k} {:?} on {}",
                cases[k],
                backend.name()
            );
        }
    }
}

#[test]
fn table_reads_are_checked_and_listed() {
    let p = tab_words(&[5, 6, 7]);
    let bc = interp::compile(&p).expect("a payload with a table compiles");
    assert_eq!(bc.tables, vec![5, 6, 7]);
    assert_eq!(bc.table_layout, vec![("T".to_string(), 0, 3)]);
    let text = bc.disassemble();
    assert!(
        text.contains("LDT") && text.contains("table `T`: 3 words at c=0"),
        "{text}"
    );
    // Identical tables are stored once.
    let q = tab_bytes(&[1, 2], &[3]);
    let bq = interp::compile(&q).expect("compile");
    assert_eq!(bq.tables, vec![1, 2, 3]);
    assert_eq!(
        bq.table_layout[..2],
        [("T".to_string(), 0, 2), ("T2".to_string(), 0, 2)]
    );
    // An LDT whose first word lies past the tables is refused.
    let ldt = bc
        .words
        .chunks(INSTR_WORDS as usize)
        .position(|i| decode([i[0], i[1]])[0] == op::LDT)
        .expect("a table read compiles to LDT");
    for c in [3, u32::MAX] {
        let mut bad = bc.clone();
        bad.words[ldt * 2 + 1] = c;
        let e = bad.check().expect_err("LDT past the tables").to_string();
        assert!(e.contains("Fix:"), "{e}");
    }
    let mut none = bc.clone();
    none.tables.clear();
    none.check().expect_err("LDT without tables");
}
