//! VIR0 and the text form as exact inverses of the IR: random programs and
//! payloads round-trip IR → VIR0 → IR and IR → text → IR, encodings are
//! canonical, and the standard payload IR survives both (and still runs).

use proptest::collection::vec;
use proptest::prelude::*;
use vyre_core::backend::Backend;
use vyre_core::cpu::CpuBackend;
use vyre_core::ir::payload::{byte_load, lane_count, lane_id, param_len, word_atomic};
use vyre_core::ir::{parse_payload, parse_program};
use vyre_core::vir0::{
    decode, decode_payload, decode_program, decode_unvalidated, digest, encode_payload,
    encode_program, load_payload_file, payload_digest, Module, Vir0Error,
};
use vyre_core::{
    Access, AtomicOp, BinOp, BufferDecl, Builtin, DataType, Expr, Literal, Node, Param, ParamKind,
    Payload, Program, Table, UnOp,
};

const NAMES: &[&str] = &[
    "x",
    "y",
    "i",
    "data",
    "acc",
    "out",
    "let",
    "loop",
    "step",
    "in",
    "add",
    "len",
    "cast",
    "bitcast",
    "f32bits",
    "eval",
    "buffer",
    "select",
    "param",
    "payload",
    "program",
    "else",
    "if",
    "for",
    "return",
    "break",
    "workgroup_size",
    "global_id",
    "atomic_add",
    "uniform_load",
    "_t0",
    "lanes__id",
    "data__len",
    "Z9",
];
const WORDS: &[&str] = &[
    "p",
    "copy",
    "crc32-blocks",
    "a::b",
    "x.y",
    "λ",
    "program",
    "payload",
    "7up",
    "{x}",
];
/// f32 bit patterns worth hitting on purpose: -0, ±inf, NaNs, subnormals, extremes.
const F32_EDGES: &[u32] = &[
    0,
    0x8000_0000,
    0x7f80_0000,
    0xff80_0000,
    0x7fc0_0000,
    0xffc0_0001,
    1,
    0x807f_ffff,
    0x0080_0000,
    0x7f7f_ffff,
];

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES).prop_map(str::to_string)
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<u32>().prop_map(Literal::U32),
        any::<i32>().prop_map(Literal::I32),
        prop::sample::select(&[0i32, -1, i32::MIN, i32::MAX][..]).prop_map(Literal::I32),
        any::<u32>().prop_map(Literal::F32),
        prop::sample::select(F32_EDGES).prop_map(Literal::F32),
        any::<f32>().prop_map(|f| Literal::F32(f.to_bits())),
        any::<bool>().prop_map(Literal::Bool),
    ]
}

/// Random, syntactically valid expressions (they need not type-check).
fn expr() -> BoxedStrategy<Expr> {
    let leaf = prop_oneof![
        literal().prop_map(Expr::Lit),
        name().prop_map(Expr::Var),
        name().prop_map(Expr::Len),
        prop::sample::select(Builtin::ALL).prop_map(Expr::Builtin),
    ];
    leaf.prop_recursive(6, 24, 3, |inner| {
        prop_oneof![
            (name(), inner.clone()).prop_map(|(b, i)| Expr::load(&b, i)),
            (name(), inner.clone()).prop_map(|(b, i)| Expr::uniform_load(&b, i)),
            (prop::sample::select(UnOp::ALL), inner.clone()).prop_map(|(op, a)| Expr::unary(op, a)),
            (
                prop::sample::select(BinOp::ALL),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, l, r)| Expr::binary(op, l, r)),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, a, b)| Expr::select(c, a, b)),
            (prop::sample::select(DataType::ALL), inner.clone())
                .prop_map(|(t, a)| Expr::cast(t, a)),
            (prop::sample::select(DataType::ALL), inner.clone())
                .prop_map(|(t, a)| Expr::bitcast(t, a)),
            (
                prop::sample::select(AtomicOp::ALL),
                name(),
                inner.clone(),
                inner.clone(),
                prop::option::of(inner)
            )
                .prop_map(|(op, buffer, i, value, expected)| match op {
                    // The text form writes only the element of an atomic_load.
                    AtomicOp::Load => Expr::atomic_load(&buffer, i),
                    op => Expr::Atomic {
                        op,
                        buffer,
                        index: Box::new(i),
                        value: Box::new(value),
                        expected: expected.map(Box::new),
                    },
                }),
        ]
    })
    .boxed()
}

/// Random statements, nested a few levels.
fn node() -> BoxedStrategy<Node> {
    let leaf = prop_oneof![
        (name(), expr()).prop_map(|(n, v)| Node::let_bind(&n, v)),
        (name(), expr()).prop_map(|(n, v)| Node::assign(&n, v)),
        (name(), expr(), expr()).prop_map(|(b, i, v)| Node::store(&b, i, v)),
        expr().prop_map(Node::eval),
        Just(Node::Break),
        Just(Node::Continue),
        Just(Node::Barrier),
        Just(Node::Return),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        let body = vec(inner, 0..4);
        prop_oneof![
            (expr(), body.clone(), body.clone()).prop_map(|(c, t, o)| Node::if_else(c, t, o)),
            (name(), expr(), expr(), expr(), body.clone())
                .prop_map(|(v, s, e, st, b)| Node::for_step(&v, s, e, st, b)),
            (name(), expr(), expr(), body.clone())
                .prop_map(|(v, s, e, b)| Node::for_range(&v, s, e, b)),
            body.clone().prop_map(Node::loop_),
            body.prop_map(Node::block),
        ]
    })
    .boxed()
}

fn buffer() -> impl Strategy<Value = BufferDecl> {
    (
        name(),
        any::<u32>(),
        prop::sample::select(DataType::ALL),
        prop::sample::select(Access::ALL),
        prop::option::of(any::<u32>()),
        vec(any::<u32>(), 1..5),
    )
        .prop_map(|(name, binding, elem, access, len, words)| BufferDecl {
            name,
            // The text form has no binding for workgroup buffers.
            binding: if access == Access::Workgroup {
                u32::MAX
            } else {
                binding
            },
            elem,
            access,
            // A constant buffer's length is its word count.
            len: if access == Access::Constant {
                Some(words.len() as u32)
            } else {
                len
            },
            data: if access == Access::Constant {
                words
            } else {
                Vec::new()
            },
        })
}

fn program() -> impl Strategy<Value = Program> {
    (
        prop::sample::select(WORDS),
        vec(buffer(), 0..4),
        any::<u32>(),
        vec(node(), 0..6),
    )
        .prop_map(|(n, buffers, wg, body)| Program::new(n, buffers, wg, body))
}

fn payload() -> impl Strategy<Value = Payload> {
    let param = (
        name(),
        prop::sample::select(ParamKind::ALL),
        prop::option::of(any::<u32>()),
    )
        .prop_map(|(name, kind, len)| Param {
            name,
            kind,
            len,
            reduce: Default::default(),
        });
    let table = (name(), vec(any::<u32>(), 1..5)).prop_map(|(name, words)| Table { name, words });
    (
        prop::sample::select(WORDS),
        vec(param, 0..5),
        any::<u32>(),
        vec(node(), 0..6),
        vec(table, 0..3),
    )
        .prop_map(|(n, params, look_behind, body, tables)| Payload {
            name: n.to_string(),
            params,
            look_behind,
            body,
            tables,
            combine: None,
            native: Default::default(),
        })
}

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

/// Every property of one module: canonical bytes, digest, VIR0 and text round trips.
fn check(m: &Module) -> Result<(), TestCaseError> {
    let bytes = m.encode();
    prop_assert_eq!(&bytes, &m.clone().encode(), "encoding is not deterministic");
    prop_assert_eq!(&bytes[bytes.len() - 32..], &m.digest()[..]);
    let back = decode_unvalidated(&bytes).map_err(fail)?;
    prop_assert_eq!(&back, m);
    prop_assert_eq!(back.encode(), bytes);
    let text = m.to_string();
    let parsed = Module::parse(&text).map_err(|e| fail(format!("{e}\n{text}")))?;
    prop_assert_eq!(&parsed, m, "text round trip of\n{}", text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn random_programs_round_trip(p in program()) {
        prop_assert_eq!(&encode_program(&p), &Module::Program(p.clone()).encode());
        prop_assert_eq!(digest(&p), Module::Program(p.clone()).digest());
        prop_assert_eq!(parse_program(&p.to_string()).map_err(fail)?, p.clone());
        check(&Module::Program(p))?;
    }

    #[test]
    fn random_payloads_round_trip(p in payload()) {
        prop_assert_eq!(&encode_payload(&p), &Module::Payload(p.clone()).encode());
        prop_assert_eq!(payload_digest(&p), Module::Payload(p.clone()).digest());
        prop_assert_eq!(parse_payload(&p.to_string()).map_err(fail)?, p.clone());
        check(&Module::Payload(p))?;
    }

    /// Different programs have different encodings (and so different digests).
    #[test]
    fn different_programs_encode_differently(a in program(), b in program()) {
        prop_assert_eq!(a == b, encode_program(&a) == encode_program(&b));
    }
}

#[test]
fn vir0_keeps_what_the_text_form_drops() {
    // A workgroup buffer's binding, atomic_load's ignored operands and names
    // that are not identifiers have no text form, but VIR0 keeps them.
    let mut wg = BufferDecl::workgroup("tile", DataType::U32, 4);
    wg.binding = 7;
    let odd_load = Expr::Atomic {
        op: AtomicOp::Load,
        buffer: "".into(),
        index: Box::new(Expr::u32(1)),
        value: Box::new(Expr::i32(-5)),
        expected: Some(Box::new(Expr::bool(true))),
    };
    let p = Program::new(
        "two words",
        vec![wg],
        0,
        vec![Node::let_bind("ü ber\n", odd_load), Node::Block(vec![])],
    );
    let bytes = encode_program(&p);
    assert_eq!(
        decode_unvalidated(&bytes).unwrap(),
        Module::Program(p.clone())
    );
    let text = parse_program(&p.to_string());
    assert_ne!(text.ok(), Some(p), "text form unexpectedly kept everything");
}

#[test]
fn equal_programs_built_differently_encode_equal() {
    let built = Program::new(
        "copy",
        vec![
            BufferDecl::read("input", 0, DataType::U32),
            BufferDecl::read_write("output", 1, DataType::U32),
        ],
        64,
        vec![
            Node::let_bind("i", Expr::global_id()),
            Node::if_then(
                Expr::lt(Expr::var("i"), Expr::len("input")),
                vec![Node::store(
                    "output",
                    Expr::var("i"),
                    Expr::load("input", Expr::var("i")),
                )],
            ),
            Node::for_range("k", Expr::u32(0), Expr::u32(4), vec![]),
        ],
    );
    let literal = Program {
        name: String::from("co") + "py",
        buffers: vec![
            BufferDecl {
                name: "input".into(),
                binding: 0,
                elem: DataType::U32,
                access: Access::ReadOnly,
                len: None,
                data: Vec::new(),
            },
            BufferDecl {
                name: "output".into(),
                binding: 1,
                elem: DataType::U32,
                access: Access::ReadWrite,
                len: None,
                data: Vec::new(),
            },
        ],
        workgroup_size: 64,
        body: vec![
            Node::Let {
                name: "i".into(),
                value: Expr::Builtin(Builtin::GlobalId),
            },
            Node::If {
                cond: Expr::Binary {
                    op: BinOp::Lt,
                    lhs: Box::new(Expr::var("i")),
                    rhs: Box::new(Expr::Len("input".into())),
                },
                then: vec![Node::Store {
                    buffer: "output".into(),
                    index: Expr::var("i"),
                    value: Expr::load("input", Expr::var("i")),
                }],
                otherwise: Vec::new(),
            },
            Node::For {
                var: "k".into(),
                start: Expr::u32(0),
                end: Expr::u32(4),
                step: Expr::Lit(Literal::U32(1)),
                body: vec![],
            },
        ],
    };
    let text = "// the same program, written by hand\nprogram copy workgroup_size 64\nbuffer input: read u32[] @0\n\
                buffer output: read_write u32[] @1\n{ let i = @global_id if lt(i, len(input)) { output[i] = input[i] } \
                else { } for k in 0u..4u step 1u { } }";
    let parsed = parse_program(text).unwrap();
    let bytes = encode_program(&built);
    assert_eq!(bytes, encode_program(&literal));
    assert_eq!(bytes, encode_program(&parsed));
    assert_eq!(bytes, encode_program(&decode_program(&bytes).unwrap()));
    assert_eq!(digest(&built), digest(&parsed));
    let mut other = built.clone();
    other.workgroup_size = 32;
    assert_ne!(digest(&built), digest(&other));
}

/// line_count as `#[vyre::payload]` builds it, with the bounds-checked helpers.
fn line_count_ir() -> Payload {
    Payload {
        tables: Vec::new(),
        name: "line_count".into(),
        params: vec![
            Param {
                name: "data".into(),
                kind: ParamKind::Bytes,
                len: None,
                reduce: Default::default(),
            },
            Param {
                name: "counts".into(),
                kind: ParamKind::Accumulator,
                len: Some(1),
                reduce: Default::default(),
            },
            Param {
                name: "lanes".into(),
                kind: ParamKind::Lanes,
                len: None,
                reduce: Default::default(),
            },
        ],
        look_behind: 0,
        body: vec![
            Node::let_bind("n", Expr::u32(0)),
            Node::for_step(
                "i",
                lane_id("lanes"),
                param_len("data"),
                lane_count("lanes"),
                vec![Node::if_then(
                    Expr::eq(byte_load("data", Expr::var("i")), Expr::u32(10)),
                    vec![Node::assign("n", Expr::add(Expr::var("n"), Expr::u32(1)))],
                )],
            ),
            Node::if_then(
                Expr::ne(Expr::var("n"), Expr::u32(0)),
                vec![Node::eval(word_atomic(
                    AtomicOp::Add,
                    "counts",
                    Expr::u32(0),
                    Expr::var("n"),
                    None,
                ))],
            ),
        ],
        combine: None,
        native: Default::default(),
    }
}

fn sample_path() -> String {
    format!(
        "{}/../examples/payloads/count_zero_bytes.vyre",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Runs a payload with `bytes` of input and a one-word accumulator; returns the accumulator.
fn run_counter(p: &Payload, bytes: &[u8], lanes: u32) -> u32 {
    let program = p.to_program(lanes);
    let mut words: Vec<u32> = bytes
        .chunks(4)
        .map(|c| c.iter().rev().fold(0, |w, &b| (w << 8) | u32::from(b)))
        .collect();
    if words.is_empty() {
        words.push(0);
    }
    let mut bufs = vec![vec![bytes.len() as u32], words, vec![0]];
    CpuBackend::new().run(&program, &mut bufs, 1).expect("run");
    bufs[2][0]
}

#[test]
fn standard_payload_ir_round_trips_and_still_runs() {
    let sample = load_payload_file(sample_path()).expect("the sample payload loads");
    for p in [line_count_ir(), sample] {
        let m = Module::Payload(p.clone());
        check(&m).unwrap();
        let bytes = encode_payload(&p);
        let back = decode_payload(&bytes).expect("valid payload decodes");
        assert_eq!(back, p);
        assert_eq!(parse_payload(&p.to_string()).unwrap(), p);
        decode(&encode_program(&p.to_program(64)))
            .expect("its standalone program is valid VIR0 too");
    }
    let data: Vec<u8> = (0..1000u32)
        .map(|i| {
            if i % 7 == 0 {
                0
            } else if i % 5 == 0 {
                b'\n'
            } else {
                1 + (i % 200) as u8
            }
        })
        .collect();
    let zeros = data.iter().filter(|&&b| b == 0).count() as u32;
    let newlines = data.iter().filter(|&&b| b == b'\n').count() as u32;
    for lanes in [1, 3, 64] {
        let sample =
            decode_payload(&encode_payload(&load_payload_file(sample_path()).unwrap())).unwrap();
        assert_eq!(
            run_counter(&sample, &data, lanes),
            zeros,
            "count_zero_bytes with {lanes} lanes"
        );
        let lc = decode_payload(&encode_payload(&line_count_ir())).unwrap();
        assert_eq!(
            run_counter(&lc, &data, lanes),
            newlines,
            "line_count with {lanes} lanes"
        );
    }
}

#[test]
fn decoding_validates_and_checks_the_kind() {
    // Well-formed but invalid: `x` is never declared.
    let bad = Program::new("bad", vec![], 64, vec![Node::assign("x", Expr::u32(1))]);
    let bytes = encode_program(&bad);
    assert!(decode_unvalidated(&bytes).is_ok());
    match decode(&bytes) {
        Err(e @ Vir0Error::Invalid { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("`bad`") && msg.contains("Fix:"), "{msg}");
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    let payload_bytes = encode_payload(&line_count_ir());
    let e = decode_program(&payload_bytes).unwrap_err();
    assert!(matches!(e, Vir0Error::Malformed { offset: 6, .. }), "{e}");
    assert!(
        e.to_string().contains("not a program") && e.to_string().contains("Fix:"),
        "{e}"
    );
    let ok = Program::new("ok", vec![], 64, vec![]);
    assert!(decode_payload(&encode_program(&ok))
        .unwrap_err()
        .to_string()
        .contains("not a payload"));
}

#[test]
fn load_file_reads_text_and_bytecode() {
    let dir = std::env::temp_dir().join(format!("vyre-vir0-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sample = load_payload_file(sample_path()).unwrap();
    let bin = dir.join("s.vir0");
    std::fs::write(&bin, encode_payload(&sample)).unwrap();
    assert_eq!(load_payload_file(&bin).unwrap(), sample);
    let mut corrupt = encode_payload(&sample);
    corrupt[20] ^= 4;
    std::fs::write(&bin, &corrupt).unwrap();
    let e = load_payload_file(&bin).unwrap_err().to_string();
    assert!(
        e.contains("s.vir0") && e.contains("digest") && e.contains("Fix:"),
        "{e}"
    );
    let txt = dir.join("bad.vyre");
    std::fs::write(&txt, "payload p\nparam d: bytez\n{ }\n").unwrap();
    let e = load_payload_file(&txt).unwrap_err().to_string();
    assert!(
        e.contains("bad.vyre:2:10") && e.contains("bytez") && e.contains("Fix:"),
        "{e}"
    );
    std::fs::write(&txt, "program p workgroup_size 1\n{ }\n").unwrap();
    let e = load_payload_file(&txt).unwrap_err().to_string();
    assert!(e.contains("not a payload"), "{e}");
    std::fs::write(&txt, "payload p\n{ x = 1u }\n").unwrap();
    assert!(matches!(
        load_payload_file(&txt),
        Err(vyre_core::Error::Invalid { .. })
    ));
    std::fs::write(&txt, [0xff, 0xfe, 0]).unwrap();
    assert!(load_payload_file(&txt)
        .unwrap_err()
        .to_string()
        .contains("neither a VIR0 file nor UTF-8"));
    // A file that cannot be read is bad input with a Fix, naming the path.
    let e = load_payload_file(dir.join("missing.vyre")).unwrap_err();
    assert!(matches!(e, vyre_core::Error::BadInput { .. }), "{e}");
    let shown = e.to_string();
    assert!(
        shown.contains("missing.vyre") && shown.contains("Fix:"),
        "{shown}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
