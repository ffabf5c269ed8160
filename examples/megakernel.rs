//! Two tenants share one fused megakernel: a mixed batch of the example
//! payloads runs in one kernel on the GPU (or the CPU reference when no
//! adapter is found); each slot's result is printed next to the native Rust
//! call's result and checked against it. One slot asks for a payload its
//! tenant may not run and ends FAULT without running.
//!
//! `cargo run --example megakernel`

use std::sync::atomic::{AtomicU32, Ordering};

use vyre::cpu::CpuBackend;
use vyre::gpu::WgpuBackend;
use vyre::megakernel::protocol::FAULT_UNAUTHORIZED;
use vyre::megakernel::{Megakernel, SlotStatus, Work};
use vyre::payloads::{byte_histogram, count_needle, crc32, crc32_finish, line_count, CRC32_INIT};
use vyre::{Backend, Lanes};

const LANES: u32 = 64;

/// The native call's result, in the slot's result words.
fn native(op: &str, data: &[u8]) -> Vec<u32> {
    let acc = |n: usize| (0..n).map(|_| AtomicU32::new(0)).collect::<Vec<_>>();
    let load = |a: Vec<AtomicU32>| a.iter().map(|x| x.load(Ordering::Relaxed)).collect();
    match op {
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
        "crc32" => {
            let mut state = [CRC32_INIT];
            crc32(data, &mut state, Lanes::all());
            assert_eq!(crc32_finish(state[0]), crc32fast::hash(data));
            state.to_vec()
        }
        _ => unreachable!(),
    }
}

/// Result words, shown.
fn shown(op: &str, words: &[u32]) -> String {
    match op {
        "byte_histogram" => histogram(words),
        "crc32" => format!("{:08x}", crc32_finish(words[0])),
        _ => words[0].to_string(),
    }
}

/// The three most frequent bytes and the number of distinct ones.
fn histogram(bins: &[u32]) -> String {
    let mut top: Vec<(u32, usize)> = bins
        .iter()
        .enumerate()
        .filter(|b| *b.1 > 0)
        .map(|(b, &n)| (n, b))
        .collect();
    top.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let head: Vec<String> = top
        .iter()
        .take(3)
        .map(|(n, b)| format!("{:?}x{n}", *b as u8 as char))
        .collect();
    format!("{} distinct, top {}", top.len(), head.join(" "))
}

fn main() -> vyre::Result<()> {
    let backend: Box<dyn Backend> = match WgpuBackend::new() {
        Ok(g) => Box::new(g),
        Err(e) => {
            println!("no GPU adapter ({e});\nfalling back to the CPU reference backend");
            Box::new(CpuBackend::new())
        }
    };
    println!("backend: {}\n", backend.name());
    // crc32 runs on lane 0 alone (one loop iteration per byte and bit); keep
    // each dispatch's work under a device loop limit such as llvmpipe's.
    let limit = backend.loop_iteration_limit();
    let budget = limit.map_or(u32::MAX, |l| (l / 2 / (9 * 512 + 64)).max(1) as u32);

    let mut mk = Megakernel::builder()
        .name("example_megakernel")
        .payload(line_count::payload())
        .payload(byte_histogram::payload())
        .payload(count_needle::payload())
        .payload(crc32::payload())
        .tenant("alice", &["line_count", "byte_histogram"])
        .tenant("bob", &["count_needle", "crc32"])
        .workgroup_size(LANES)
        .workgroups(4)
        .slot_budget(budget)
        .build(backend)?;
    let alice = mk.tenant_id("alice")?;
    let bob = mk.tenant_id("bob")?;

    let texts: [&[u8]; 3] = [
        b"the quick brown fox\njumps over\nthe lazy dog\n",
        "ababab abab: non-ASCII h\u{e9}llo w\u{f6}rld\nend\n".as_bytes(),
        b"abab\nabab\nab",
    ];
    let mut batch = Vec::new(); // (tenant name, op, text)
    for text in texts {
        batch.push(("alice", "line_count", text));
        batch.push(("bob", "count_needle", text));
        batch.push(("bob", "crc32", text));
        batch.push(("alice", "byte_histogram", text));
    }
    batch.push(("alice", "crc32", texts[0])); // alice may not run crc32: FAULT

    let mut slots = Vec::new();
    for &(who, op, text) in &batch {
        let tenant = if who == "alice" { alice } else { bob };
        let slot = mk.publish(Work::new(op, tenant, text))?;
        if op == "crc32" {
            mk.results_mut(slot)?[0] = CRC32_INIT; // the CRC state starts here
        }
        slots.push(slot);
    }
    let report = mk.run()?;
    println!("{report:?}\n");

    println!(
        "{:<4} {:<6} {:<15} {:<17} {:<36} native",
        "slot", "tenant", "payload", "status", "megakernel"
    );
    for (&(who, op, text), &slot) in batch.iter().zip(&slots) {
        let status = mk.status(slot)?;
        let want = native(op, text);
        if status == SlotStatus::Done {
            let got = mk.results(slot)?;
            println!(
                "{:<4} {who:<6} {op:<15} {:<17} {:<36} {}",
                slot.0,
                "Done",
                shown(op, got),
                shown(op, &want)
            );
            assert_eq!(
                got,
                &want[..],
                "slot {} ({op}) differs from the native call",
                slot.0
            );
        } else {
            println!(
                "{:<4} {who:<6} {op:<15} {:<17} {:<36} {}",
                slot.0,
                format!("{status:?}"),
                "(did not run)",
                shown(op, &want)
            );
            assert_eq!(
                status,
                SlotStatus::Fault(FAULT_UNAUTHORIZED),
                "only alice's crc32 slot faults"
            );
            assert_eq!(
                mk.results(slot)?,
                &[CRC32_INIT],
                "a faulted slot's results are untouched"
            );
        }
    }
    assert_eq!((report.done, report.faults), (batch.len() as u32 - 1, 1));
    println!(
        "\nevery DONE slot equals the native call; the unauthorized slot faulted without running"
    );
    Ok(())
}
