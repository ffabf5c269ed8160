//! The fused megakernel (all standard payloads in one kernel, one mixed
//! batch) computes exactly what one megakernel per payload computes (the
//! baseline), what the native Rust calls compute, and what the CPU reference
//! megakernel computes, and what the interpreter megakernel (the same payloads
//! loaded as bytecode) computes: on the GPU and on the CPU backend, over
//! seeded random batches (data lengths 0..2000, non-multiples of 4 included).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use vyre::cpu::CpuBackend;
use vyre::gpu::WgpuBackend;
use vyre::megakernel::{Megakernel, SlotId, SlotStatus};
use vyre::payloads::{byte_histogram, count_needle, line_count, non_ascii_count};
use vyre::scan::crc::{crc32_blocks, join_parts};
use vyre::{Backend, Lanes, Payload};

/// wgpu is driven from one test thread at a time (lavapipe misbehaves otherwise).
static GPU_LOCK: Mutex<()> = Mutex::new(());

const LANES: u32 = 64;
const KINDS: [&str; 5] = [
    "line_count",
    "byte_histogram",
    "count_needle",
    "non_ascii_count",
    "crc32_blocks",
];

fn payload(kind: &str) -> Payload {
    match kind {
        "line_count" => line_count::payload(),
        "byte_histogram" => byte_histogram::payload(),
        "count_needle" => count_needle::payload(),
        "non_ascii_count" => non_ascii_count::payload(),
        "crc32_blocks" => crc32_blocks::payload(),
        _ => unreachable!(),
    }
}

/// The native Rust call: the answer every path must give.
fn native(kind: &str, data: &[u8]) -> Vec<u32> {
    let acc = |n: usize| (0..n).map(|_| AtomicU32::new(0)).collect::<Vec<_>>();
    let load = |a: Vec<AtomicU32>| a.iter().map(|x| x.load(Ordering::Relaxed)).collect();
    match kind {
        "line_count" => {
            let a = acc(1);
            line_count(data, &a, Lanes::all());
            load(a)
        }
        "byte_histogram" => {
            let a = acc(256);
            byte_histogram(data, &a, Lanes::all());
            load(a)
        }
        "count_needle" => {
            let a = acc(1);
            count_needle(data, 0, &a, Lanes::all());
            load(a)
        }
        "non_ascii_count" => {
            let a = acc(1);
            non_ascii_count(data, &a, Lanes::all());
            load(a)
        }
        "crc32_blocks" => {
            let mut parts = [0u32; 256];
            crc32_blocks(data, &mut parts, Lanes::all());
            assert_eq!(
                parts[0],
                crc32fast::hash(data),
                "native crc32_blocks is CRC-32/IEEE"
            );
            vec![parts[0]]
        }
        _ => unreachable!(),
    }
}

/// A slot's raw result words as the answer (CRC parts joined).
fn decode(kind: &str, data: &[u8], raw: &[u32]) -> Vec<u32> {
    match kind {
        "crc32_blocks" => vec![join_parts(raw, data.len() as u32, LANES).finalize()],
        _ => raw.to_vec(),
    }
}

/// SplitMix64.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u32) -> u32 {
        (self.next() % n.max(1) as u64) as u32
    }
}

fn random_data(rng: &mut Rng) -> Vec<u8> {
    let len = match rng.below(6) {
        0 => rng.below(9),    // 0..=8: empty and tiny, most not a multiple of 4
        _ => rng.below(2000), // up to 1999
    };
    let alphabet: &[u8] = match rng.below(3) {
        0 => b"ab\n",
        1 => b"abab \n\xff\x80x",
        _ => &[],
    };
    (0..len)
        .map(|_| {
            if alphabet.is_empty() {
                rng.next() as u8
            } else {
                alphabet[rng.below(alphabet.len() as u32) as usize]
            }
        })
        .collect()
}

/// Most slots one workgroup runs per dispatch, so that no lane loops past the
/// device's silent cut-off (llvmpipe: 65535 iterations per invocation).
fn slot_budget(backend: &dyn Backend) -> u32 {
    let limit = backend.loop_iteration_limit();
    // A slot of < 2000 bytes costs a lane at most ~2000 / LANES * 4 + 64 iterations.
    limit.map_or(u32::MAX, |l| {
        ((l / 2) / (2000 / LANES as u64 * 4 + 64)) as u32
    })
}

fn build<'a>(backend: &'a dyn Backend, kinds: &[&str]) -> Megakernel<&'a dyn Backend> {
    build_as(backend, kinds, false)
}

/// A megakernel holding `kinds`, fused into the kernel or (with
/// `interpreted`) loaded into its interpreter as bytecode (`crc32_blocks`
/// with its constant table too).
fn build_as<'a>(
    backend: &'a dyn Backend,
    kinds: &[&str],
    interpreted: bool,
) -> Megakernel<&'a dyn Backend> {
    let mut b = Megakernel::builder()
        .workgroup_size(LANES)
        .workgroups(4)
        .slot_budget(slot_budget(backend));
    for k in kinds {
        b = if interpreted {
            b.interpreted(payload(k))
        } else {
            b.payload(payload(k))
        };
    }
    b.tenant("t", kinds)
        .build(backend)
        .expect("build megakernel")
}

/// One batch item: a kind over some data.
struct Item {
    kind: &'static str,
    data: usize,
}

/// Runs the batch fused (one kernel; items over the same data share it in the
/// arena) and returns each item's raw result words.
fn run_fused(
    mk: &mut Megakernel<&dyn Backend>,
    datas: &[Vec<u8>],
    items: &[Item],
) -> Vec<Vec<u32>> {
    mk.reset();
    let t = mk.tenant_id("t").unwrap();
    let refs: Vec<_> = datas.iter().map(|d| mk.add_data(d).unwrap()).collect();
    let ids: Vec<SlotId> = items
        .iter()
        .map(|it| {
            mk.publish_ref(it.kind, t, refs[it.data], 0, &[], None)
                .unwrap()
        })
        .collect();
    let report = mk.run().expect("fused run");
    assert_eq!(
        (report.done, report.faults),
        (items.len() as u32, 0),
        "{report:?}"
    );
    ids.iter().map(|&id| collect(mk, id)).collect()
}

/// Runs each kind's items in that kind's own megakernel (one dispatch series
/// per payload: the baseline).
fn run_separate(
    mks: &mut [Megakernel<&dyn Backend>],
    datas: &[Vec<u8>],
    items: &[Item],
) -> Vec<Vec<u32>> {
    let mut out = vec![Vec::new(); items.len()];
    for (mk, kind) in mks.iter_mut().zip(KINDS) {
        mk.reset();
        let t = mk.tenant_id("t").unwrap();
        let mut ids = Vec::new();
        for (i, it) in items.iter().enumerate().filter(|(_, it)| it.kind == kind) {
            ids.push((
                i,
                mk.publish(vyre::megakernel::Work::new(kind, t, &datas[it.data]))
                    .unwrap(),
            ));
        }
        let report = mk.run().expect("separate run");
        assert_eq!(report.done, ids.len() as u32, "{kind}: {report:?}");
        for (i, id) in ids {
            out[i] = collect(mk, id);
        }
    }
    out
}

fn collect(mk: &Megakernel<&dyn Backend>, id: SlotId) -> Vec<u32> {
    assert_eq!(mk.status(id).unwrap(), SlotStatus::Done);
    mk.results(id).unwrap().to_vec()
}

/// `crc32_blocks` reads its slice-by-4 table on the interpreter: the
/// table's 1024 words travel with its bytecode and every lookup is one
/// table read (`LDT`).
#[test]
fn the_interpreter_runs_payloads_with_tables() {
    let p = payload("crc32_blocks");
    assert_eq!(p.tables.len(), 1, "crc32_blocks reads its slice-by-4 table");
    let bc = vyre::interp::compile(&p).expect("compiles for the interpreter");
    assert_eq!(bc.tables, p.tables[0].words);
    let reads = bc
        .words
        .chunks(2)
        .filter(|i| vyre::interp::decode([i[0], i[1]])[0] == vyre::interp::op::LDT)
        .count();
    assert_eq!(reads, 5, "4 slice-by-4 lookups and 1 byte-table lookup");
    let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
    let cpu = CpuBackend::new();
    let mut mk = build_as(&cpu, &["crc32_blocks"], true);
    let t = mk.tenant_id("t").unwrap();
    let id = mk
        .publish(vyre::megakernel::Work::new("crc32_blocks", t, &data))
        .unwrap();
    mk.run().expect("run");
    assert_eq!(
        decode("crc32_blocks", &data, &collect(&mk, id)),
        vec![crc32fast::hash(&data)]
    );
}

#[test]
fn fused_equals_separate_equals_native_on_gpu_and_cpu() {
    let _guard = GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let gpu = WgpuBackend::new()
        .expect("a wgpu adapter (install mesa-vulkan-drivers for the software one)");
    eprintln!("GPU adapter: {}", gpu.name());
    let cpu = CpuBackend::new();
    let backends: [&dyn Backend; 2] = [&cpu, &gpu];
    let mut fused: Vec<_> = backends.iter().map(|b| build(*b, &KINDS)).collect();
    let mut interpreted: Vec<_> = backends
        .iter()
        .map(|b| build_as(*b, &KINDS, true))
        .collect();
    let mut separate: Vec<Vec<_>> = backends
        .iter()
        .map(|b| KINDS.iter().map(|k| build(*b, &[k])).collect())
        .collect();

    let mut rng = Rng(0x5EED_F05E);
    let mut checked = 0;
    for batch in 0..20 {
        let datas: Vec<Vec<u8>> = (0..1 + rng.below(6))
            .map(|_| random_data(&mut rng))
            .collect();
        let mut items = Vec::new();
        for d in 0..datas.len() {
            for kind in KINDS {
                if rng.below(3) != 0 {
                    items.push(Item { kind, data: d });
                }
            }
        }
        // Shuffle, so kinds interleave in the ring.
        for i in (1..items.len()).rev() {
            items.swap(i, rng.below(i as u32 + 1) as usize);
        }
        let want: Vec<Vec<u32>> = items
            .iter()
            .map(|it| native(it.kind, &datas[it.data]))
            .collect();
        let mut fused_raw = Vec::new();
        for (b, backend) in backends.iter().enumerate() {
            let f = run_fused(&mut fused[b], &datas, &items);
            let s = run_separate(&mut separate[b], &datas, &items);
            let n = run_fused(&mut interpreted[b], &datas, &items);
            for (i, it) in items.iter().enumerate() {
                let data = &datas[it.data];
                let what = format!(
                    "batch {batch} item {i} {} over {} bytes on {}",
                    it.kind,
                    data.len(),
                    backend.name()
                );
                assert_eq!(f[i], s[i], "{what}: fused != one megakernel per payload");
                assert_eq!(n[i], f[i], "{what}: interpreted != fused");
                assert_eq!(
                    decode(it.kind, data, &f[i]),
                    want[i],
                    "{what}: megakernel != native"
                );
            }
            fused_raw.push(f);
        }
        assert_eq!(
            fused_raw[0], fused_raw[1],
            "batch {batch}: GPU fused != CPU reference fused"
        );
        checked += items.len();
    }
    eprintln!("{checked} items checked in 20 batches");
    assert!(checked > 100, "only {checked} items were checked");
}
