//! Megakernel invariants, on the CPU reference and on the GPU (wgpu):
//! exactly-once processing, tenant authorization and isolation, faults,
//! shutdown, the per-dispatch slot budget, the debug log, and input errors.
//!
//! Payloads are built by hand from IR constructors (no macro here) or are the
//! built-in handlers. Per-lane loop work stays tiny (llvmpipe cuts every
//! invocation's loops off after 65535 iterations, silently).

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};

use vyre_core::cpu::CpuBackend;
use vyre_core::gpu::WgpuBackend;
use vyre_core::ir::payload::{byte_load, param_len, word_atomic, word_store};
use vyre_core::megakernel::protocol::*;
use vyre_core::megakernel::{Megakernel, SlotId, SlotStatus, TenantId, Work};
use vyre_core::{AtomicOp, Backend, Error, Expr, Node, Param, ParamKind, Payload};

/// wgpu is driven from one test thread at a time (lavapipe misbehaves otherwise).
static GPU_LOCK: Mutex<()> = Mutex::new(());
static GPU: OnceLock<WgpuBackend> = OnceLock::new();

/// Runs `f` on the CPU reference, then on the GPU.
fn on_both(test: &str, f: impl Fn(&dyn Backend)) {
    let _guard = GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let cpu = CpuBackend::new();
    f(&cpu);
    let gpu = GPU.get_or_init(|| {
        WgpuBackend::new()
            .expect("a wgpu adapter (install mesa-vulkan-drivers for the software one)")
    });
    eprintln!("{test}: GPU adapter: {}", gpu.name());
    f(gpu);
}

/// SplitMix64: a small seeded generator.
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

fn param(name: &str, kind: ParamKind, len: Option<u32>) -> Param {
    Param {
        name: name.into(),
        kind,
        len,
        reduce: Default::default(),
    }
}

/// `acc[0] += 1` from every lane: a slot run twice shows as `2 * lanes`.
fn bump() -> Payload {
    Payload {
        tables: Vec::new(),
        name: "bump".into(),
        params: vec![
            param("acc", ParamKind::Accumulator, Some(1)),
            param("lanes", ParamKind::Lanes, None),
        ],
        look_behind: 0,
        body: vec![Node::eval(word_atomic(
            AtomicOp::Add,
            "acc",
            Expr::u32(0),
            Expr::u32(1),
            None,
        ))],
        combine: None,
        native: Default::default(),
    }
}

/// Single lane: `out[0] = sum of the slot's bytes`.
fn sum_bytes() -> Payload {
    Payload {
        tables: Vec::new(),
        name: "sum_bytes".into(),
        params: vec![
            param("data", ParamKind::Bytes, None),
            param("out", ParamKind::Output, Some(1)),
        ],
        look_behind: 0,
        body: vec![
            Node::let_bind("s", Expr::u32(0)),
            Node::for_range(
                "i",
                Expr::u32(0),
                param_len("data"),
                vec![Node::assign(
                    "s",
                    Expr::add(Expr::var("s"), byte_load("data", Expr::var("i"))),
                )],
            ),
            word_store("out", Expr::u32(0), Expr::var("s")),
        ],
        combine: None,
        native: Default::default(),
    }
}

/// Writes its own `out[0]`, then tries to reach outside its region: through
/// the bounds-checked helpers (indices past the declared length) and with
/// absolute indices it computes itself (`out__off + out__len`, `out__off - 1`,
/// 0, the arena word after its own bytes). Ends as `[7, 0]` when confined.
fn escape() -> Payload {
    let o = |i: u32, v: u32| word_store("out", Expr::u32(i), Expr::u32(v));
    let raw = |i: Expr, v: u32| Node::store("out", i, Expr::u32(v));
    let (off, len) = (|| Expr::var("out__off"), || Expr::var("out__len"));
    let next_word = Expr::add(
        Expr::shr(Expr::var("data__off"), Expr::u32(2)),
        Expr::u32(1),
    );
    Payload {
        tables: Vec::new(),
        name: "escape".into(),
        params: vec![
            param("data", ParamKind::Bytes, None),
            param("out", ParamKind::Output, Some(2)),
        ],
        look_behind: 0,
        body: vec![
            o(0, 7),
            o(2, 0xBAD1),
            o(u32::MAX, 0xBAD2),
            Node::eval(word_atomic(
                AtomicOp::Add,
                "out",
                Expr::u32(2),
                Expr::u32(0x100),
                None,
            )),
            raw(Expr::add(off(), len()), 0xBAD3),
            raw(Expr::sub(off(), Expr::u32(1)), 0xBAD4),
            raw(Expr::u32(0), 0xBAD5),
            // Reads past the slot's bytes give 0.
            word_store(
                "out",
                Expr::u32(1),
                Expr::add(
                    byte_load("data", Expr::u32(4)),
                    Expr::load("data", next_word),
                ),
            ),
        ],
        combine: None,
        native: Default::default(),
    }
}

/// An output of undeclared length: takes whatever region the slot is given;
/// writes `out[i] = 0xF111 + i` for i in 0..64.
fn fill() -> Payload {
    Payload {
        tables: Vec::new(),
        name: "fill".into(),
        params: vec![param("out", ParamKind::Output, None)],
        look_behind: 0,
        body: vec![Node::for_range(
            "i",
            Expr::u32(0),
            Expr::u32(64),
            vec![word_store(
                "out",
                Expr::var("i"),
                Expr::add(Expr::u32(0xF111), Expr::var("i")),
            )],
        )],
        combine: None,
        native: Default::default(),
    }
}

fn sentinel(slot: u32) -> u32 {
    0x5EED_0000 ^ slot
}

fn words_of(data: &[u8]) -> Vec<u32> {
    data.chunks(4)
        .map(|c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(w)
        })
        .collect()
}

const OPS: [&str; 8] = [
    "nop",
    "store_word",
    "atomic_add",
    "copy",
    "fence",
    "debug",
    "bump",
    "sum_bytes",
];

/// What one published slot should end as.
struct Expect {
    op: &'static str,
    status: SlotStatus,
    results: Vec<u32>,
}

/// Random batches of every op, tenant mix (authorized, unauthorized,
/// unregistered, id >= MAX_TENANTS), lanes, workgroups, slot counts and
/// budgets: each slot ends DONE exactly once (atomic bumps show a second run)
/// or FAULT untouched; the counters, epoch and debug log agree.
#[test]
fn every_slot_processed_exactly_once() {
    // (lanes, workgroups, slots, slot budget)
    let configs = [
        (64, 4, 600, u32::MAX), // more slots than lanes * workgroups
        (256, 3, 20, u32::MAX), // fewer slots than lanes
        (1, 1, 40, u32::MAX),   // one lane
        (32, 16, 300, 5),       // budget: several dispatches
        (128, 8, 1, u32::MAX),  // one slot
        (16, 2, 0, u32::MAX),   // empty batch
    ];
    on_both("exactly_once", |backend| {
        for (ci, &(lanes, groups, slots, budget)) in configs.iter().enumerate() {
            let mut rng = Rng(0xC0FFEE + ci as u64);
            let tenant_ops: Vec<Vec<&str>> = (0..3)
                .map(|_| {
                    let mut allowed: Vec<&str> =
                        OPS.iter().copied().filter(|_| rng.below(3) != 0).collect();
                    if allowed.is_empty() {
                        allowed.push("bump");
                    }
                    allowed
                })
                .collect();
            let mut b = Megakernel::builder()
                .payload(bump())
                .payload(sum_bytes())
                .workgroup_size(lanes)
                .workgroups(groups)
                .slot_budget(budget)
                .debug_records(slots.max(1));
            for (t, ops) in tenant_ops.iter().enumerate() {
                b = b.tenant(&format!("t{t}"), ops);
            }
            let mut mk = b.build(backend).unwrap();
            let mut expect: Vec<Expect> = Vec::new();
            let mut epoch = 0u32;
            let mut debug_want = BTreeSet::new();
            for s in 0..slots {
                let op = OPS[rng.below(OPS.len() as u32) as usize];
                let tenant = match rng.below(10) {
                    0 => 3,                             // registered by nobody
                    1 => MAX_TENANTS + rng.below(1000), // out of range
                    _ => rng.below(3),
                };
                let data: Vec<u8> = (0..rng.below(24)).map(|_| rng.next() as u8).collect();
                let args = [rng.below(6), rng.next() as u32];
                let words = match op {
                    "bump" | "sum_bytes" => None,
                    _ => Some(4),
                };
                let work = Work {
                    op,
                    tenant: TenantId(tenant),
                    data: &data,
                    start: 0,
                    args: &args,
                    result_words: words,
                    position: Default::default(),
                };
                let id = mk.publish(work).unwrap();
                assert_eq!(id, SlotId(s));
                let region = mk.results_mut(id).unwrap();
                region.fill(sentinel(s));
                let mut r = region.to_vec();
                let allowed = tenant < 3 && tenant_ops[tenant as usize].contains(&op);
                if !allowed {
                    expect.push(Expect {
                        op,
                        status: SlotStatus::Fault(FAULT_UNAUTHORIZED),
                        results: r,
                    });
                    continue;
                }
                let (a0, a1) = (args[0] as usize, args[1]);
                match op {
                    "store_word" if a0 < r.len() => r[a0] = a1,
                    "atomic_add" if a0 < r.len() => r[a0] = r[a0].wrapping_add(a1),
                    "copy" => {
                        for (dst, w) in r.iter_mut().zip(words_of(&data)) {
                            *dst = w;
                        }
                    }
                    "fence" => epoch = epoch.max(args[0]),
                    "debug" => {
                        debug_want.insert([s, OP_DEBUG, args[0], args[1]]);
                    }
                    "bump" => r[0] = r[0].wrapping_add(lanes),
                    "sum_bytes" => r[0] = data.iter().map(|&x| x as u32).sum(),
                    _ => {}
                }
                expect.push(Expect {
                    op,
                    status: SlotStatus::Done,
                    results: r,
                });
            }
            let what = format!(
                "{} config {ci} (lanes {lanes}, groups {groups}, slots {slots})",
                backend.name()
            );
            let report = mk.run().unwrap_or_else(|e| panic!("{what}: {e}"));
            let want_done = expect
                .iter()
                .filter(|e| e.status == SlotStatus::Done)
                .count() as u32;
            for (s, e) in expect.iter().enumerate() {
                let id = SlotId(s as u32);
                assert_eq!(
                    mk.status(id).unwrap(),
                    e.status,
                    "{what}: slot {s} ({}) status",
                    e.op
                );
                assert_eq!(
                    mk.results(id).unwrap(),
                    &e.results[..],
                    "{what}: slot {s} ({}) results",
                    e.op
                );
            }
            assert_eq!(report.done, want_done, "{what}");
            assert_eq!(report.faults, slots - want_done, "{what}");
            assert_eq!(report.left_by_shutdown, 0, "{what}");
            assert_eq!(
                mk.control(CTRL_DONE_COUNT),
                want_done,
                "{what}: CTRL_DONE_COUNT"
            );
            assert_eq!(
                mk.control(CTRL_FAULT_COUNT),
                slots - want_done,
                "{what}: CTRL_FAULT_COUNT"
            );
            assert_eq!(mk.control(CTRL_EPOCH), epoch, "{what}: epoch");
            assert_eq!(report.dispatches, mk.control(CTRL_DISPATCHES), "{what}");
            if budget == u32::MAX && slots > 0 {
                assert_eq!(
                    report.dispatches, 1,
                    "{what}: an unlimited budget drains in one dispatch"
                );
            }
            let (log, dropped) = mk.debug_log();
            assert_eq!(dropped, 0, "{what}");
            assert_eq!(
                log.len(),
                debug_want.len(),
                "{what}: one debug record per debug slot"
            );
            assert_eq!(
                log.into_iter().collect::<BTreeSet<_>>(),
                debug_want,
                "{what}"
            );

            // Running again finds nothing published: no slot runs twice.
            let again = mk.run().unwrap();
            assert_eq!(
                (again.dispatches, again.done),
                (0, want_done),
                "{what}: second run"
            );
            for (s, e) in expect.iter().enumerate() {
                assert_eq!(
                    mk.results(SlotId(s as u32)).unwrap(),
                    &e.results[..],
                    "{what}: slot {s} after rerun"
                );
            }
        }
    });
}

/// Runs the megakernel's program on a hand-made ring (opcodes the host API
/// refuses to publish). Tenant 0 may run every opcode. Returns (ring, results, control).
fn raw_run(
    backend: &dyn Backend,
    mk: &Megakernel<&dyn Backend>,
    slots: &[(u32, u32)],
) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let mut control = vec![0u32; CONTROL_WORDS as usize];
    control[CTRL_VERSION as usize] = PROTOCOL_VERSION;
    control[CTRL_BUDGET as usize] = u32::MAX;
    control[CTRL_SLOT_COUNT as usize] = slots.len() as u32;
    control[CTRL_TENANT_MASKS as usize] = u32::MAX;
    let mut ring = vec![0u32; slots.len() * SLOT_WORDS as usize];
    for (i, &(op, tenant)) in slots.iter().enumerate() {
        let s = &mut ring[i * SLOT_WORDS as usize..][..SLOT_WORDS as usize];
        s[SLOT_STATUS as usize] = PUBLISHED;
        s[SLOT_OPCODE as usize] = op;
        s[SLOT_TENANT as usize] = tenant;
        s[SLOT_OUT_OFF as usize] = i as u32;
        s[SLOT_OUT_LEN as usize] = 1;
        s[SLOT_ARGS as usize + 1] = 1; // atomic_add / store_word value
    }
    let results: Vec<u32> = (0..slots.len() as u32).map(sentinel).collect();
    let mut bufs = vec![
        control,
        ring,
        vec![0xAB; 4],
        results,
        vec![0; 16],
        vec![0; 8],
        vec![0; CODE_HEADER_WORDS as usize],
        vec![0; 1],
    ];
    backend.run(mk.program(), &mut bufs, 2).unwrap();
    let [control, ring, _, results, ..] = <[Vec<u32>; 8]>::try_from(bufs).unwrap();
    (ring, results, control)
}

/// Unauthorized opcodes, unknown opcodes, tenant ids >= MAX_TENANTS: FAULT
/// with the right reason, and the payload never ran (results untouched).
#[test]
fn faults_never_run() {
    on_both("faults", |backend| {
        let mut mk = Megakernel::builder()
            .payload(bump())
            .payload(escape())
            .tenant("alice", &["bump", "nop"])
            .tenant("bob", &["escape", "atomic_add"])
            .workgroup_size(8)
            .workgroups(2)
            .build(backend)
            .unwrap();
        let alice = mk.tenant_id("alice").unwrap();
        let bob = mk.tenant_id("bob").unwrap();
        let cases = [
            ("bump", alice, SlotStatus::Done),
            ("escape", alice, SlotStatus::Fault(FAULT_UNAUTHORIZED)),
            ("bump", bob, SlotStatus::Fault(FAULT_UNAUTHORIZED)),
            ("atomic_add", alice, SlotStatus::Fault(FAULT_UNAUTHORIZED)),
            ("atomic_add", bob, SlotStatus::Done),
            ("bump", TenantId(2), SlotStatus::Fault(FAULT_UNAUTHORIZED)),
            (
                "bump",
                TenantId(MAX_TENANTS),
                SlotStatus::Fault(FAULT_UNAUTHORIZED),
            ),
            (
                "nop",
                TenantId(u32::MAX),
                SlotStatus::Fault(FAULT_UNAUTHORIZED),
            ),
        ];
        for (i, (op, t, _)) in cases.iter().enumerate() {
            let work = Work {
                op,
                tenant: *t,
                data: b"abcdefgh",
                start: 0,
                args: &[0, 5],
                result_words: None,
                position: Default::default(),
            };
            let id = mk
                .publish(Work {
                    result_words: if *op == "atomic_add" { Some(1) } else { None },
                    ..work
                })
                .unwrap();
            mk.results_mut(id).unwrap().fill(sentinel(i as u32));
        }
        let report = mk.run().unwrap();
        assert_eq!((report.done, report.faults), (2, 6), "{}", backend.name());
        for (i, (op, _, want)) in cases.iter().enumerate() {
            let id = SlotId(i as u32);
            assert_eq!(
                mk.status(id).unwrap(),
                *want,
                "{}: slot {i} ({op})",
                backend.name()
            );
            let r = mk.results(id).unwrap();
            if *want != SlotStatus::Done {
                assert!(
                    r.iter().all(|&w| w == sentinel(i as u32)),
                    "{}: faulted slot {i} ran: {r:x?}",
                    backend.name()
                );
            }
        }
        assert_eq!(mk.results(SlotId(0)).unwrap(), &[sentinel(0) + 8]);
        assert_eq!(mk.results(SlotId(4)).unwrap(), &[sentinel(4) + 5]);

        // Opcodes the host API cannot publish: the kernel refuses them too.
        let first_unused = FIRST_PAYLOAD_OPCODE + 2;
        let slots = [
            (OP_NOP, 0),
            (7, 0),
            (first_unused, 0),
            (31, 0),
            (MAX_OPCODES, 0),
            (1000, 0),
            (u32::MAX, 0),
            (first_unused, MAX_TENANTS + 5), // bad opcode is reported before the tenant
            (OP_ATOMIC_ADD, 0),
            (FIRST_PAYLOAD_OPCODE, 0), // bump
        ];
        let (ring, results, control) = raw_run(backend, &mk, &slots);
        for (i, &(op, _)) in slots.iter().enumerate() {
            let s = i * SLOT_WORDS as usize;
            let good = [OP_NOP, OP_ATOMIC_ADD, FIRST_PAYLOAD_OPCODE].contains(&op);
            let (status, reason) = (
                ring[s + SLOT_STATUS as usize],
                ring[s + SLOT_FAULT_REASON as usize],
            );
            if good {
                assert_eq!(
                    (status, reason),
                    (DONE, 0),
                    "{}: raw slot {i} op {op}",
                    backend.name()
                );
            } else {
                assert_eq!(
                    (status, reason),
                    (FAULT, FAULT_BAD_OPCODE),
                    "{}: raw slot {i} op {op}",
                    backend.name()
                );
                assert_eq!(
                    results[i],
                    sentinel(i as u32),
                    "{}: raw slot {i} touched its results",
                    backend.name()
                );
            }
        }
        assert_eq!(results[8], sentinel(8) + 1);
        assert_eq!(results[9], sentinel(9) + 8);
        assert_eq!(
            (
                control[CTRL_DONE_COUNT as usize],
                control[CTRL_FAULT_COUNT as usize]
            ),
            (3, 7)
        );
    });
}

/// A payload reaching past its region (helper indices beyond the declared
/// length, absolute indices, an undeclared-length output given fewer words
/// than it writes) leaves other tenants' results alone and reads no other
/// slot's bytes.
#[test]
fn payloads_cannot_touch_neighbours() {
    on_both("isolation", |backend| {
        let mut mk = Megakernel::builder()
            .payload(escape())
            .payload(fill())
            .tenant("alice", &["nop", "store_word"])
            .tenant("bob", &["escape", "fill"])
            .workgroup_size(32)
            .workgroups(4)
            .build(backend)
            .unwrap();
        let alice = mk.tenant_id("alice").unwrap();
        let bob = mk.tenant_id("bob").unwrap();
        let mut layout = Vec::new(); // (slot, is_victim)
        for k in 0..6u32 {
            let victim = Work {
                op: "nop",
                tenant: alice,
                data: b"SECRET!!",
                start: 0,
                args: &[],
                result_words: Some(3),
                position: Default::default(),
            };
            layout.push((mk.publish(victim).unwrap(), true));
            let attacker = if k % 2 == 0 {
                Work::new("escape", bob, b"\x01\x02\x03\x04")
            } else {
                Work {
                    result_words: Some(k),
                    ..Work::new("fill", bob, b"")
                }
            };
            layout.push((mk.publish(attacker).unwrap(), false));
        }
        let victim = Work {
            op: "store_word",
            tenant: alice,
            data: b"",
            start: 0,
            args: &[9, 1],
            result_words: Some(3),
            position: Default::default(),
        };
        layout.push((mk.publish(victim).unwrap(), true)); // index 9 is outside its own 3 words too
        for &(id, _) in &layout {
            mk.results_mut(id).unwrap().fill(sentinel(id.0));
        }
        let report = mk.run().unwrap();
        assert_eq!(
            (report.done, report.faults),
            (layout.len() as u32, 0),
            "{}",
            backend.name()
        );
        for (k, &(id, victim)) in layout.iter().enumerate() {
            let r = mk.results(id).unwrap();
            if victim {
                assert_eq!(
                    r,
                    &[sentinel(id.0); 3],
                    "{}: victim slot {} was written",
                    backend.name(),
                    id.0
                );
            } else if k / 2 % 2 == 0 {
                assert_eq!(r, &[7, 0], "{}: escape slot {}", backend.name(), id.0);
            } else {
                let n = (k / 2) as u32;
                let want: Vec<u32> = (0..n).map(|i| 0xF111 + i).collect();
                assert_eq!(r, &want[..], "{}: fill slot {}", backend.name(), id.0);
            }
        }
    });
}

/// A shutdown slot stops further claims; `Megakernel::shutdown` before a run
/// runs nothing; `reset` clears it.
#[test]
fn shutdown_stops_claims() {
    on_both("shutdown", |backend| {
        let build = |groups| {
            Megakernel::builder()
                .payload(bump())
                .tenant("t", &["bump", "shutdown"])
                .workgroup_size(16)
                .workgroups(groups)
                .build(backend)
                .unwrap()
        };
        // One workgroup claims in ring order: 5 before the shutdown slot run, 10 after stay published.
        let mut mk = build(1);
        let t = mk.tenant_id("t").unwrap();
        for i in 0..16 {
            mk.publish(Work::new(if i == 5 { "shutdown" } else { "bump" }, t, b""))
                .unwrap();
        }
        let report = mk.run().unwrap();
        assert_eq!(
            (report.done, report.left_by_shutdown, report.dispatches),
            (6, 10, 1),
            "{}",
            backend.name()
        );
        for i in 0..16 {
            let want = if i <= 5 {
                SlotStatus::Done
            } else {
                SlotStatus::Published
            };
            assert_eq!(
                mk.status(SlotId(i)).unwrap(),
                want,
                "{}: slot {i}",
                backend.name()
            );
        }
        assert_eq!(mk.results(SlotId(6)).unwrap(), &[0]);
        assert_eq!(mk.control(CTRL_SHUTDOWN), 1);

        // Several workgroups: the run terminates and accounts for every slot.
        let mut mk = build(8);
        for i in 0..200 {
            mk.publish(Work::new(if i == 20 { "shutdown" } else { "bump" }, t, b""))
                .unwrap();
        }
        let report = mk.run().unwrap();
        assert!(
            report.left_by_shutdown > 0,
            "{}: {report:?}",
            backend.name()
        );
        assert_eq!(
            report.done + report.left_by_shutdown,
            200,
            "{}: {report:?}",
            backend.name()
        );
        assert_eq!(mk.status(SlotId(20)).unwrap(), SlotStatus::Done);
        for i in 0..200 {
            let r = mk.results(SlotId(i)).unwrap().to_vec();
            match mk.status(SlotId(i)).unwrap() {
                SlotStatus::Done if i != 20 => assert_eq!(r, [16]),
                SlotStatus::Published => assert_eq!(r, [0]),
                s => assert!(
                    i == 20 && s == SlotStatus::Done,
                    "{}: slot {i} {s:?}",
                    backend.name()
                ),
            }
        }

        // Shutdown requested before the run: nothing is dispatched.
        mk.reset();
        for _ in 0..4 {
            mk.publish(Work::new("bump", t, b"")).unwrap();
        }
        mk.shutdown();
        let report = mk.run().unwrap();
        assert_eq!(
            (report.dispatches, report.done, report.left_by_shutdown),
            (0, 0, 4),
            "{}",
            backend.name()
        );
        assert!((0..4).all(|i| mk.results(SlotId(i)).unwrap() == [0]));

        // reset clears the request.
        mk.reset();
        mk.publish(Work::new("bump", t, b"")).unwrap();
        let report = mk.run().unwrap();
        assert_eq!(
            (report.done, report.left_by_shutdown),
            (1, 0),
            "{}",
            backend.name()
        );
    });
}

/// The slot budget bounds what one workgroup runs per dispatch.
#[test]
fn slot_budget_bounds_a_dispatch() {
    on_both("budget", |backend| {
        for (groups, budget, n, want) in [
            (1, 1, 7, 7),
            (1, 3, 7, 3),
            (2, 1, 7, 4),
            (4, 2, 16, 2),
            (1, 1, 1, 1),
        ] {
            let mut mk = Megakernel::builder()
                .payload(bump())
                .tenant("t", &["bump"])
                .workgroup_size(8)
                .workgroups(groups)
                .slot_budget(budget)
                .build(backend)
                .unwrap();
            let t = mk.tenant_id("t").unwrap();
            for _ in 0..n {
                mk.publish(Work::new("bump", t, b"")).unwrap();
            }
            let report = mk.run().unwrap();
            let what = format!(
                "{}: groups {groups} budget {budget} slots {n}",
                backend.name()
            );
            assert_eq!((report.dispatches, report.done), (want, n), "{what}");
            assert_eq!(mk.control(CTRL_DISPATCHES), want, "{what}");
            assert_eq!(
                mk.control(CTRL_CLAIMS),
                n - (want - 1) * groups * budget,
                "{what}: claims of the last dispatch"
            );
            assert!(
                (0..n).all(|i| mk.results(SlotId(i)).unwrap() == [8]),
                "{what}"
            );
        }
    });
}

/// More debug records than capacity: `capacity` kept, the rest counted as dropped.
#[test]
fn debug_log_overflow_is_counted() {
    on_both("debug", |backend| {
        let mut mk = Megakernel::builder()
            .payload(bump())
            .tenant("t", &["debug", "bump"])
            .workgroup_size(4)
            .workgroups(3)
            .debug_records(8)
            .build(backend)
            .unwrap();
        let t = mk.tenant_id("t").unwrap();
        for i in 0..20u32 {
            mk.publish(Work {
                args: &[i, i * 3],
                ..Work::new("debug", t, b"")
            })
            .unwrap();
        }
        let neighbour = mk.publish(Work::new("bump", t, b"")).unwrap();
        let report = mk.run().unwrap();
        assert_eq!(report.done, 21);
        let (log, dropped) = mk.debug_log();
        assert_eq!((log.len(), dropped), (8, 12), "{}", backend.name());
        let slots: BTreeSet<u32> = log.iter().map(|r| r[0]).collect();
        assert_eq!(
            slots.len(),
            8,
            "{}: kept records are distinct slots",
            backend.name()
        );
        for r in &log {
            assert_eq!(*r, [r[0], OP_DEBUG, r[0], r[0] * 3], "{}", backend.name());
        }
        assert_eq!(mk.results(neighbour).unwrap(), &[4]);
    });
}

fn assert_fix<T>(r: Result<T, Error>, what: &str) {
    match r {
        Ok(_) => panic!("{what}: expected an error"),
        Err(e) => assert!(e.to_string().contains("Fix:"), "{what}: no Fix: in `{e}`"),
    }
}

/// Bad input is an `Err` whose message says how to fix it.
#[test]
fn bad_input_errors() {
    on_both("errors", |backend| {
        let b = || Megakernel::builder().payload(bump()).tenant("t", &["bump"]);
        let mut mk = b().build(backend).unwrap();
        let t = mk.tenant_id("t").unwrap();
        assert_fix(mk.publish(Work::new("nope", t, b"")), "unknown op");
        assert_fix(
            mk.publish(Work {
                args: &[0; SLOT_ARG_COUNT as usize + 1],
                ..Work::new("bump", t, b"")
            }),
            "args",
        );
        assert_fix(
            mk.publish(Work {
                start: 5,
                ..Work::new("bump", t, b"abc")
            }),
            "start > len",
        );
        assert_fix(mk.tenant_id("mallory"), "unknown tenant");
        assert_fix(mk.status(SlotId(0)), "no such slot");
        assert_fix(mk.results(SlotId(0)), "no such slot");
        assert_eq!(mk.slot_count(), 0, "failed publishes publish nothing");
        assert_fix(
            b().tenant("u", &["nope"]).build(backend),
            "tenant allowed an unknown op",
        );
        assert_fix(b().payload(bump()).build(backend), "duplicate payload");
        assert_fix(
            b().payload(Payload {
                name: "nop".into(),
                ..bump()
            })
            .build(backend),
            "named like a built-in",
        );
        assert_fix(b().workgroups(0).build(backend), "0 workgroups");
        assert_fix(b().slot_budget(0).build(backend), "0 budget");
        let many = (0..=MAX_TENANTS).fold(Megakernel::builder(), |b, i| {
            b.tenant(&format!("t{i}"), &["nop"])
        });
        assert_fix(many.build(backend), "too many tenants");

        // 24 payloads fit (opcodes 8..=31); the last one runs; 25 do not fit.
        let max = MAX_OPCODES - FIRST_PAYLOAD_OPCODE;
        let mut full = Megakernel::builder().workgroup_size(4);
        for i in 0..max {
            full = full.payload(Payload {
                name: format!("bump{i}"),
                ..bump()
            });
        }
        let last = format!("bump{}", max - 1);
        let mut mk = full
            .clone()
            .tenant("t", &[last.as_str()])
            .build(backend)
            .unwrap();
        assert_eq!(mk.opcode(&last), Some(MAX_OPCODES - 1));
        let t = mk.tenant_id("t").unwrap();
        let id = mk.publish(Work::new(&last, t, b"")).unwrap();
        assert_eq!(mk.run().unwrap().done, 1);
        assert_eq!(mk.results(id).unwrap(), &[4], "{}", backend.name());
        assert_fix(
            full.payload(Payload {
                name: "one_more".into(),
                ..bump()
            })
            .build(backend),
            "25 payloads",
        );
    });
}
