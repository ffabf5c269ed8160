//! Hostile inputs, fuzzed as part of the normal `cargo test`: random bytes
//! and mutated program texts go through the text parser, the validator and
//! the CPU reference. Each must answer `Ok` or `Err`, never panic.
//!
//! Mutation seeds: the hand-written corpus in `tests/corpus/ir/` (program
//! text, or payload text turned into a program with `Payload::to_program`),
//! plus the text of a few programs built here with the IR constructors.
//! Seeds are fixed (deterministic RNG, no failure persistence), so a failure
//! reproduces on every run; the offending text is printed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use vyre_core::cpu::CpuBackend;
use vyre_core::ir::{parse_payload, parse_program};
use vyre_core::validate::validate;
use vyre_core::{Backend, BufferDecl, DataType, Expr, Node, Program};

/// Random byte strings fed to the parser (bare and behind a valid header).
const RANDOM_CASES: u32 = 600;
/// Mutated seed texts, parsed, validated and run when valid.
const MUTATION_CASES: u32 = 1400;
/// Steps the CPU reference may take per run.
const STEP_BUDGET: u64 = 200_000;

/// Fragments spliced into texts by the mutator: keywords, operators,
/// literals at type edges, brackets.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    "..",
    "=",
    "@",
    "<",
    ">",
    " ",
    "\n",
    "let x = 0u\n",
    "0u",
    "1u",
    "4294967295u",
    "-2147483648i",
    "-1i",
    "0i",
    "0.0f",
    "-0.0f",
    "f32bits(0x7fc00000)",
    "f32bits(0x00000001)",
    "true",
    "false",
    "break\n",
    "continue\n",
    "return\n",
    "barrier\n",
    "loop {",
    "if true {",
    "} else {",
    "for q in 0u..4294967295u {",
    " step 0u",
    " step 4294967295u",
    "@global_id",
    "@local_id",
    "@workgroup_id",
    "@num_workgroups",
    "@workgroup_size",
    "add(",
    "sub(",
    "mul(",
    "div(",
    "rem(",
    "shl(",
    "shr(",
    "rotl(",
    "rotr(",
    "min(",
    "max(",
    "neg(",
    "clz(",
    "ctz(",
    "popcount(",
    "bitnot(",
    "not(",
    "select(",
    "cast<i32>(",
    "cast<f32>(",
    "cast<u32>(",
    "bitcast<f32>(",
    "len(",
    "atomic_add(",
    "atomic_load(",
    "atomic_compare_exchange(",
    "uniform_load(",
    "u32",
    "i32",
    "f32",
    "bool",
    "[]",
    "[0]",
    "[1]",
    "[4]",
    "[4294967295]",
    "workgroup_size 0",
    "workgroup_size 1024",
    "workgroup_size 4294967295",
    "@0",
    "@1",
    "@4294967295",
    "read",
    "read_write",
    "uniform",
    "workgroup",
    "buffer z: read_write u32[] @9\n",
    "eval ",
];

/// Host buffers for `program`: each declared fixed `len` (Uniform ones
/// included), or 16 words where the length is set at run time; filled with
/// words derived from `fill`.
fn host_buffers(program: &Program, fill: u32) -> Vec<Vec<u32>> {
    program
        .host_buffers()
        .iter()
        .enumerate()
        .map(|(b, decl)| {
            let n = decl.len.unwrap_or(16) as usize;
            (0..n)
                .map(|i| {
                    fill.wrapping_mul(0x9e37_79b9)
                        .wrapping_add((b * 31 + i) as u32)
                        .rotate_left(i as u32)
                })
                .collect()
        })
        .collect()
}

/// What happened to one text; a panic anywhere is the one failure.
#[derive(Debug, Default, Clone, Copy)]
struct Outcome {
    parsed: bool,
    valid: bool,
    ran: bool,
}

/// Parses `text`; if it parses and validates, runs it with 1–2 workgroups.
/// Panics propagate to the caller.
fn exercise(text: &str, workgroups: u32, fill: u32) -> Outcome {
    let mut out = Outcome::default();
    let Ok(program) = parse_program(text) else {
        return out;
    };
    out.parsed = true;
    if validate(&program).is_err() {
        return out;
    }
    out.valid = true;
    // Keep the run bounded: the budget stops long loops, but a huge fixed
    // buffer would only test the allocator.
    if program
        .host_buffers()
        .iter()
        .any(|b| b.len.unwrap_or(0) > 1 << 16)
        || program.buffers.iter().any(|b| b.len.unwrap_or(0) > 1 << 16)
    {
        return out;
    }
    let mut buffers = host_buffers(&program, fill);
    let _ = CpuBackend::with_step_budget(STEP_BUDGET).run(&program, &mut buffers, workgroups);
    out.ran = true;
    out
}

/// [`exercise`], turning a panic into a test failure that shows the input.
fn no_panic(what: &str, text: &str, workgroups: u32, fill: u32) -> Result<Outcome, TestCaseError> {
    match catch_unwind(AssertUnwindSafe(|| exercise(text, workgroups, fill))) {
        Ok(o) => Ok(o),
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(TestCaseError::fail(format!(
                "{what}: panic `{msg}` with {workgroups} workgroup(s) on input:\n-----\n{text}\n-----\n{text:?}"
            )))
        }
    }
}

/// A runner with a fixed seed and no regression files.
fn runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
}

/// Programs built with the IR constructors, as text.
fn built_programs() -> Vec<Program> {
    let gid = Expr::global_id;
    vec![
        Program::new(
            "built_copy",
            vec![
                BufferDecl::read("a", 0, DataType::U32),
                BufferDecl::read_write("b", 1, DataType::U32),
            ],
            8,
            vec![
                Node::let_bind("i", gid()),
                Node::if_then(
                    Expr::lt(Expr::var("i"), Expr::len("a")),
                    vec![Node::store(
                        "b",
                        Expr::var("i"),
                        Expr::load("a", Expr::var("i")),
                    )],
                ),
            ],
        ),
        Program::new(
            "built_loop",
            vec![
                BufferDecl::read_write("o", 0, DataType::I32).with_len(4),
                BufferDecl::workgroup("w", DataType::U32, 2),
            ],
            2,
            vec![
                Node::let_bind("t", Expr::i32(-5)),
                Node::for_step(
                    "k",
                    Expr::local_id(),
                    Expr::u32(100),
                    Expr::workgroup_size(),
                    vec![
                        Node::assign(
                            "t",
                            Expr::add(Expr::var("t"), Expr::cast(DataType::I32, Expr::var("k"))),
                        ),
                        Node::if_else(
                            Expr::gt(Expr::var("t"), Expr::i32(50)),
                            vec![Node::Break],
                            vec![Node::store(
                                "w",
                                Expr::local_id(),
                                Expr::bitcast(DataType::U32, Expr::var("t")),
                            )],
                        ),
                    ],
                ),
                Node::Barrier,
                Node::eval(Expr::atomic_max("o", Expr::u32(0), Expr::var("t"))),
                Node::loop_(vec![
                    Node::store("o", Expr::u32(1), Expr::div(Expr::var("t"), Expr::i32(0))),
                    Node::Break,
                ]),
            ],
        ),
        Program::new(
            "built_float",
            vec![BufferDecl::read_write("f", 0, DataType::F32).with_len(2)],
            1,
            vec![Node::store(
                "f",
                Expr::u32(0),
                Expr::select(
                    Expr::lt(Expr::f32(1.5), Expr::load("f", Expr::u32(1))),
                    Expr::f32(f32::NAN),
                    Expr::f32(-0.0),
                ),
            )],
        ),
    ]
}

/// Every mutation seed as program text: the corpus plus built programs.
fn seeds() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/ir");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/corpus/ir")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "vyre"))
    {
        let text = std::fs::read_to_string(f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if text.lines().any(|l| l.starts_with("payload ")) {
            let payload = parse_payload(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            for lanes in [1, 4] {
                out.push((
                    format!("{name} to_program({lanes})"),
                    payload.to_program(lanes).to_string(),
                ));
            }
        } else {
            out.push((name, text));
        }
    }
    for p in built_programs() {
        out.push((format!("built {}", p.name), p.to_string()));
    }
    out
}

#[test]
fn corpus_seeds_parse_validate_and_run() {
    let seeds = seeds();
    assert!(seeds.len() >= 8, "corpus missing: {}", seeds.len());
    for (name, text) in &seeds {
        let program = parse_program(text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        validate(&program).unwrap_or_else(|d| panic!("{name}: {d:?}\n{text}"));
        for wg in 1..=2 {
            let o = no_panic(name, text, wg, 7).unwrap_or_else(|e| panic!("{e}"));
            assert!(o.ran, "{name} did not run");
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let header = "program r workgroup_size 2\nbuffer out: read_write u32[] @0\n{\n";
    let strategy = (
        prop::collection::vec(any::<u8>(), 0..400),
        any::<bool>(),
        1u32..=2,
    );
    runner(RANDOM_CASES)
        .run(&strategy, |(bytes, wrap, wg)| {
            let body = String::from_utf8_lossy(&bytes);
            let text = if wrap {
                format!("{header}{body}\n}}\n")
            } else {
                body.into_owned()
            };
            no_panic("random bytes", &text, wg, 1)?;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

/// One edit of a text, as bytes or lines.
#[derive(Clone, Debug)]
enum Edit {
    SetByte(usize, u8),
    InsertByte(usize, u8),
    DeleteBytes(usize, usize),
    Splice(usize, usize, &'static str),
    DeleteLine(usize),
    DuplicateLine(usize, usize),
    SwapLines(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::SetByte(i, b)),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::InsertByte(i, b)),
        1 => (any::<usize>(), 1usize..8).prop_map(|(i, n)| Edit::DeleteBytes(i, n)),
        3 => (any::<usize>(), 0usize..6, prop::sample::select(TOKENS)).prop_map(|(i, n, t)| Edit::Splice(i, n, t)),
        2 => any::<usize>().prop_map(Edit::DeleteLine),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Edit::DuplicateLine(i, j)),
        1 => any::<(usize, usize)>().prop_map(|(i, j)| Edit::SwapLines(i, j)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for e in edits {
        let at = |i: usize, n: usize| i % (n + 1);
        match *e {
            Edit::SetByte(i, b) if !bytes.is_empty() => {
                let n = bytes.len();
                bytes[i % n] = b;
            }
            Edit::SetByte(..) => {}
            Edit::InsertByte(i, b) => bytes.insert(at(i, bytes.len()), b),
            Edit::DeleteBytes(i, n) => {
                let s = at(i, bytes.len());
                bytes.drain(s..(s + n).min(bytes.len()));
            }
            Edit::Splice(i, n, t) => {
                let s = at(i, bytes.len());
                bytes.splice(s..(s + n).min(bytes.len()), t.bytes());
            }
            Edit::DeleteLine(..) | Edit::DuplicateLine(..) | Edit::SwapLines(..) => {
                let mut lines: Vec<Vec<u8>> =
                    bytes.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
                let n = lines.len();
                match *e {
                    Edit::DeleteLine(i) if n > 1 => {
                        lines.remove(i % n);
                    }
                    Edit::DuplicateLine(i, j) => {
                        let l = lines[i % n].clone();
                        lines.insert(at(j, n), l);
                    }
                    Edit::SwapLines(i, j) => lines.swap(i % n, j % n),
                    _ => {}
                }
                bytes = lines.join(&b'\n');
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn mutated_programs_never_panic() {
    let seeds = seeds();
    let strategy = (
        0..seeds.len(),
        prop::collection::vec(edit(), 1..4),
        1u32..=2,
        any::<u32>(),
    );
    let stats = std::cell::Cell::new([0u32; 3]);
    runner(MUTATION_CASES)
        .run(&strategy, |(seed, edits, wg, fill)| {
            let (name, text) = &seeds[seed];
            let mutated = apply(text, &edits);
            let o = no_panic(
                &format!("mutation of {name} by {edits:?}"),
                &mutated,
                wg,
                fill,
            )?;
            let mut s = stats.get();
            s[0] += o.parsed as u32;
            s[1] += o.valid as u32;
            s[2] += o.ran as u32;
            stats.set(s);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let stats = stats.get();
    // The mutator must keep reaching the CPU reference, not just the parser.
    eprintln!(
        "mutations: {MUTATION_CASES} cases, parsed {}, valid {}, ran {}",
        stats[0], stats[1], stats[2]
    );
    assert!(
        stats[2] >= MUTATION_CASES / 50,
        "too few mutants ran: {stats:?}"
    );
}
