//! The GPU interpreter: random payloads (half of them reading a constant
//! table) loaded as bytecode give exactly what the same payloads fused into
//! the kernel give, on the CPU reference and on wgpu; loading a payload builds no new pipeline; budgets, step limits,
//! unsupported payloads and malformed bytecode are reported, never run.
//!
//! `VYRE_INTERP_CASES` sets the number of random payloads (default 96).

mod support;

use std::sync::Mutex;

use support::progen::{random_program, Rng};
use vyre_core::cpu::CpuBackend;
use vyre_core::gpu::WgpuBackend;
use vyre_core::interp::{self, Bytecode};
use vyre_core::ir::payload::{param_var, table_load, word_atomic, word_store, Table};
use vyre_core::megakernel::protocol::FAULT_BUDGET;
use vyre_core::megakernel::{Megakernel, SlotStatus, Work};
use vyre_core::{Access, Backend, Builtin, Expr, Node, Param, ParamKind, Payload, Program};

static GPU_LOCK: Mutex<()> = Mutex::new(());

const LANES: u32 = 64;

fn param(name: &str, kind: ParamKind, len: Option<u32>) -> Param {
    Param {
        name: name.into(),
        kind,
        len,
        reduce: Default::default(),
    }
}

/// Rewrites a random program's buffers and ids into a payload's parameters:
/// `iu`/`ii` → words of the slot's bytes, `out` → a per-slot output,
/// `acc` → a per-slot accumulator, invocation ids → lane ids. With `seed`
/// odd, `ii` becomes a constant table of the payload instead (`II_TABLE`:
/// 40 to 71 random words, so that many reads fall past its end and give 0).
fn to_payload(p: &Program, seed: u64) -> Option<Payload> {
    if p.buffers.iter().any(|b| b.access == Access::Workgroup) {
        return None; // barriers: the interpreter refuses them (tested below)
    }
    let table = seed % 2 == 1;
    let body = p.body.iter().map(|n| node(n, table)).collect();
    let mut rng = Rng::new(seed ^ 0x7AB1E);
    let words: Vec<u32> = (0..40 + rng.below(32)).map(|_| rng.next() as u32).collect();
    Some(Payload {
        tables: if table {
            vec![Table::new(II_TABLE, &words)]
        } else {
            Vec::new()
        },
        name: p.name.clone(),
        params: vec![
            param("data", ParamKind::Bytes, None),
            param("out", ParamKind::Output, Some(LANES * 8)),
            param("acc", ParamKind::Accumulator, Some(8)),
            param("lanes", ParamKind::Lanes, None),
        ],
        look_behind: 0,
        body,
        combine: None,
        native: Default::default(),
    })
}

/// The table random payloads with a table read instead of `ii`.
const II_TABLE: &str = "II";

fn word(index: Expr, skip: u32) -> Expr {
    let base = Expr::shr(Expr::var(&param_var("data", "off")), Expr::u32(2));
    Expr::load("data", Expr::add(Expr::add(base, Expr::u32(skip)), index))
}

fn node(n: &Node, table: bool) -> Node {
    let nodes = |ns: &[Node]| ns.iter().map(|n| node(n, table)).collect::<Vec<_>>();
    let expr = |e: &Expr| expr(e, table);
    match n {
        Node::Let { name, value } => Node::let_bind(name, expr(value)),
        Node::Assign { name, value } => Node::assign(name, expr(value)),
        Node::Store { index, value, .. } => word_store("out", expr(index), expr(value)),
        Node::Eval(e) => Node::Eval(expr(e)),
        Node::If {
            cond,
            then,
            otherwise,
        } => Node::if_else(expr(cond), nodes(then), nodes(otherwise)),
        Node::For {
            var,
            start,
            end,
            step,
            body,
        } => Node::for_step(var, expr(start), expr(end), expr(step), nodes(body)),
        Node::Loop { body } => Node::loop_(nodes(body)),
        Node::Block(b) => Node::block(nodes(b)),
        other => other.clone(),
    }
}

fn expr(e: &Expr, table: bool) -> Expr {
    let b = |x: &Expr| Box::new(expr(x, table));
    let expr = |x: &Expr| expr(x, table);
    match e {
        Expr::Load { buffer, index } if buffer == "iu" => word(expr(index), 0),
        Expr::Load { buffer, index } if buffer == "ii" && table => {
            Expr::bitcast(vyre_core::DataType::I32, table_load(II_TABLE, expr(index)))
        }
        Expr::Load { buffer, index } if buffer == "ii" => {
            Expr::bitcast(vyre_core::DataType::I32, word(expr(index), 64))
        }
        Expr::Load { index, .. } => Expr::load("out", expr(index)),
        Expr::Len(_) => Expr::shr(Expr::var(&param_var("data", "len")), Expr::u32(2)),
        Expr::Builtin(Builtin::GlobalId | Builtin::LocalId) => Expr::var(&param_var("lanes", "id")),
        Expr::Builtin(Builtin::WorkgroupSize) => Expr::var(&param_var("lanes", "count")),
        Expr::Builtin(Builtin::WorkgroupId) => Expr::u32(0),
        Expr::Builtin(Builtin::NumWorkgroups) => Expr::u32(1),
        Expr::Atomic {
            op,
            index,
            value,
            expected,
            ..
        } => word_atomic(
            *op,
            "acc",
            expr(index),
            expr(value),
            expected.as_deref().map(expr),
        ),
        Expr::Unary { op, arg } => Expr::Unary {
            op: *op,
            arg: b(arg),
        },
        Expr::Binary { op, lhs, rhs } => Expr::Binary {
            op: *op,
            lhs: b(lhs),
            rhs: b(rhs),
        },
        Expr::Select {
            cond,
            on_true,
            on_false,
        } => Expr::Select {
            cond: b(cond),
            on_true: b(on_true),
            on_false: b(on_false),
        },
        Expr::Cast { to, arg } => Expr::Cast {
            to: *to,
            arg: b(arg),
        },
        Expr::Bitcast { to, arg } => Expr::Bitcast {
            to: *to,
            arg: b(arg),
        },
        other => other.clone(),
    }
}

fn slot_data(rng: &mut Rng) -> Vec<u8> {
    // 128 words (iu then ii), sometimes short so some loads fall outside.
    let len = if rng.chance(20) { rng.below(512) } else { 512 };
    (0..len).map(|_| rng.next() as u8).collect()
}

/// Every slot's (status, result words) after running `payloads` over `datas`
/// (each payload on each data) in one batch.
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
        .map(|id| {
            (
                mk.status(*id).expect("status"),
                mk.results(*id).expect("results").to_vec(),
            )
        })
        .collect()
}

fn interpreter_mk<B: Backend>(backend: B, payloads: &[Payload]) -> Megakernel<B> {
    let mut mk = Megakernel::builder()
        .interpreter()
        .tenant("t", &[])
        .workgroup_size(LANES)
        .workgroups(4)
        .build(backend)
        .expect("build interpreter megakernel");
    for p in payloads {
        mk.load_payload(p, &["t"]).expect("load payload");
    }
    mk
}

#[test]
fn random_payloads_interpreted_equal_fused_on_cpu_and_gpu() {
    let _g = GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let gpu = WgpuBackend::new().expect("a wgpu adapter (install mesa-vulkan-drivers)");
    let cpu = CpuBackend::new();
    let cases: usize = std::env::var("VYRE_INTERP_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96);
    let payloads: Vec<Payload> = (0..)
        .filter_map(|seed| to_payload(&random_program(seed), seed))
        .take(cases)
        .collect();
    let reading = payloads
        .iter()
        .filter(|p| vyre_core::ir::nodes_to_text(&p.body, 0).contains(&format!("{II_TABLE}[")))
        .count();
    assert!(reading >= cases / 8, "only {reading} payloads read a table");
    let mut rng = Rng::new(7);
    let mut slots = 0;
    let mut pipelines = None;
    for group in payloads.chunks(16) {
        let datas: Vec<Vec<u8>> = (0..3).map(|_| slot_data(&mut rng)).collect();
        let names: Vec<&str> = group.iter().map(|p| p.name.as_str()).collect();
        let mut b = Megakernel::builder()
            .tenant("t", &names)
            .workgroup_size(LANES)
            .workgroups(4);
        for p in group {
            b = b.payload(p.clone());
        }
        let mut fused = b.build(&cpu).expect("fused megakernel");
        let want = run_batch(&mut fused, group, &datas);
        let got_cpu = run_batch(&mut interpreter_mk(&cpu, group), group, &datas);
        let got_gpu = run_batch(&mut interpreter_mk(&gpu, group), group, &datas);
        for (i, w) in want.iter().enumerate() {
            let p = &group[i / datas.len()];
            let text = vyre_core::ir::nodes_to_text(&p.body, 0);
            assert_eq!(w.0, SlotStatus::Done, "fused {}:\n{text}", p.name);
            assert_eq!(
                &got_cpu[i], w,
                "interpreter (CPU) != fused: {}\n{text}",
                p.name
            );
            assert_eq!(
                &got_gpu[i], w,
                "interpreter (GPU) != fused: {}\n{text}",
                p.name
            );
            slots += 1;
        }
        // Every group runs the same interpreter kernel: one pipeline in all.
        let n = gpu.cached_kernels();
        assert_eq!(*pipelines.get_or_insert(n), n, "a new pipeline was built");
    }
    eprintln!(
        "interp: {} random payloads ({reading} reading a table), {slots} slots identical (fused CPU, interpreted CPU, interpreted {})",
        payloads.len(),
        gpu.name()
    );
    assert!(slots >= cases * 3);
}

fn count_loop_payload(name: &str, iterations: u32) -> Payload {
    // acc[0] = number of iterations run (lane 0 only: no Lanes parameter).
    Payload {
        tables: Vec::new(),
        name: name.into(),
        params: vec![param("acc", ParamKind::Accumulator, Some(1))],
        look_behind: 0,
        body: vec![Node::for_range(
            "i",
            Expr::u32(0),
            Expr::u32(iterations),
            vec![Node::eval(word_atomic(
                vyre_core::AtomicOp::Add,
                "acc",
                Expr::u32(0),
                Expr::u32(1),
                None,
            ))],
        )],
        combine: None,
        native: Default::default(),
    }
}

#[test]
fn iteration_budget_faults_the_runaway_slot_only() {
    let cpu = CpuBackend::new();
    let runaway = Payload {
        tables: Vec::new(),
        name: "runaway".into(),
        params: vec![param("acc", ParamKind::Accumulator, Some(1))],
        look_behind: 0,
        body: vec![Node::loop_(vec![])],
        combine: None,
        native: Default::default(),
    };
    let small = count_loop_payload("small", 10);
    let mut mk = Megakernel::builder()
        .interpreted(runaway.clone())
        .interpreted(small.clone())
        .tenant("t", &["runaway", "small"])
        .iteration_budget(1000)
        .workgroups(2)
        .build(&cpu)
        .expect("build");
    let r = run_batch(&mut mk, &[runaway, small], &[vec![1, 2, 3]]);
    assert_eq!(r[0].0, SlotStatus::Fault(FAULT_BUDGET));
    assert_eq!(r[1], (SlotStatus::Done, vec![10]));
}

/// A backend that claims a loop limit, like llvmpipe's silent one.
struct Limited(CpuBackend, u64);

impl Backend for Limited {
    fn name(&self) -> String {
        "cpu with a loop limit".into()
    }
    fn run(&self, p: &Program, b: &mut [Vec<u32>], w: u32) -> vyre_core::Result<()> {
        self.0.run(p, b, w)
    }
    fn loop_iteration_limit(&self) -> Option<u64> {
        Some(self.1)
    }
}

#[test]
fn a_slot_past_the_step_limit_runs_on_the_cpu_reference_exactly() {
    let long = count_loop_payload("long", 5000);
    let short = count_loop_payload("short", 50);
    let mut mk = Megakernel::builder()
        .interpreted(long.clone())
        .interpreted(short.clone())
        .tenant("t", &["long", "short"])
        .workgroups(2)
        .build(Limited(CpuBackend::new(), 4000))
        .expect("build");
    let r = run_batch(&mut mk, &[long, short], &[vec![0]]);
    assert_eq!(r[0], (SlotStatus::Done, vec![5000]), "{r:?}");
    assert_eq!(r[1], (SlotStatus::Done, vec![50]));
}

/// Loops longer than llvmpipe runs (65535 iterations, counted per
/// workgroup): interpreted on the GPU, fused on the GPU and fused on the
/// CPU reference give the same exact counts (a cut slot runs again, then on
/// the CPU reference), never a cut one.
#[test]
fn long_loops_interpreted_equal_fused_on_every_backend() {
    let _g = GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let gpu = WgpuBackend::new().expect("a wgpu adapter (install mesa-vulkan-drivers)");
    let cpu = CpuBackend::new();
    let payloads: Vec<Payload> = [1_000u32, 20_000, 70_000, 150_000]
        .iter()
        .map(|n| count_loop_payload(&format!("loop_{n}"), *n))
        .collect();
    let datas = vec![vec![1u8; 16], vec![2u8; 40]];
    fn fused<B: Backend>(b: B, payloads: &[Payload]) -> Megakernel<B> {
        let names: Vec<&str> = payloads.iter().map(|p| p.name.as_str()).collect();
        let mut builder = Megakernel::builder().tenant("t", &names).workgroups(8);
        for p in payloads {
            builder = builder.payload(p.clone());
        }
        builder.build(b).expect("fused megakernel")
    }
    let want = run_batch(&mut fused(&cpu, &payloads), &payloads, &datas);
    for (i, w) in want.iter().enumerate() {
        let n = [1_000u32, 20_000, 70_000, 150_000][i / datas.len()];
        assert_eq!(w, &(SlotStatus::Done, vec![n]));
    }
    assert_eq!(
        run_batch(&mut fused(&gpu, &payloads), &payloads, &datas),
        want
    );
    assert_eq!(
        run_batch(&mut interpreter_mk(&gpu, &payloads), &payloads, &datas),
        want
    );
}

#[test]
fn unsupported_payloads_are_refused_with_a_fix() {
    let mut with_barrier = count_loop_payload("b", 1);
    with_barrier
        .params
        .push(param("lanes", ParamKind::Lanes, None));
    with_barrier.body.push(Node::Barrier);
    let mut with_len = count_loop_payload("l", 1);
    with_len
        .params
        .insert(0, param("data", ParamKind::Bytes, None));
    with_len.body.push(Node::let_bind("n", Expr::len("data")));
    for p in [with_barrier, with_len] {
        let e = interp::compile(&p)
            .expect_err("must be refused")
            .to_string();
        assert!(e.contains("interpreter") && e.contains("Fix:"), "{e}");
    }
    // Loading into a megakernel without the interpreter is an error too.
    let mut mk = Megakernel::builder()
        .tenant("t", &[])
        .build(CpuBackend::new())
        .expect("build");
    let e = mk
        .load_payload(&count_loop_payload("x", 1), &["t"])
        .expect_err("no interpreter");
    assert!(e.to_string().contains("Fix:"), "{e}");
}

#[test]
fn malformed_bytecode_is_rejected() {
    let good = interp::compile(&count_loop_payload("g", 3)).expect("compile");
    good.check().expect("compiled bytecode passes its checks");
    let mut bad_op = good.clone();
    bad_op.words[0] = (bad_op.words[0] & !255) | 200;
    let mut bad_reg = good.clone();
    // Instruction 0 loads a constant into register d.
    bad_reg.words[0] = (bad_reg.words[0] & !(255 << 8)) | ((bad_reg.regs + 5) << 8);
    let mut truncated = good.clone();
    truncated.words.pop();
    let mut bad_jump: Bytecode = good.clone();
    let jz = bad_jump
        .words
        .chunks(2)
        .position(|i| interp::decode([i[0], i[1]])[0] == interp::op::JZ)
        .expect("a for loop has a guard jump");
    bad_jump.words[jz * 2 + 1] = 3;
    for (what, b) in [
        ("op", bad_op),
        ("register", bad_reg),
        ("truncated", truncated),
        ("jump", bad_jump),
    ] {
        let e = b.check().expect_err(what).to_string();
        assert!(e.contains("Fix:"), "{what}: {e}");
    }
    assert!(good.disassemble().contains("ITER"));
}
