//! The text form parser on bad input: errors point at `line:column`, say
//! what was expected and how to fix it; hostile nesting is refused without
//! overflowing the stack; random and mutated text never panics, and whatever
//! parses prints back to text that parses to the same IR.

use proptest::prelude::*;
use vyre_core::ir::{parse_payload, parse_program, ParseError};
use vyre_core::{Access, BufferDecl, DataType, Expr, Literal, Node, ParamKind, Program};

fn prog(body: &str) -> String {
    format!("program p workgroup_size 64\nbuffer out: read_write u32[] @0\n{{\n{body}\n}}\n")
}

#[track_caller]
fn expect(result: Result<impl std::fmt::Debug, ParseError>, line: u32, column: u32, needle: &str) {
    let e = result.expect_err(needle);
    let shown = e.to_string();
    assert!(
        e.message.contains(needle),
        "want `{needle}` at {line}:{column}, got: {shown}"
    );
    assert_eq!((e.line, e.column), (line, column), "{shown}");
    assert!(
        shown.starts_with(&format!("{line}:{column}: "))
            && shown.contains(". Fix: ")
            && !e.fix.is_empty(),
        "{shown}"
    );
}

#[test]
fn malformed_programs_report_line_column_and_fix() {
    expect(
        parse_program(""),
        1,
        1,
        "expected `program`, found the end of the input",
    );
    expect(
        parse_program("program p workgroup_size 64u\n{ }"),
        1,
        26,
        "the workgroup size `64u` is not a plain number",
    );
    expect(
        parse_program(&prog("  let x = 1")),
        4,
        11,
        "`1` is not a literal",
    );
    expect(
        parse_program(&prog("  let x = 4294967296u")),
        4,
        11,
        "does not fit in u32",
    );
    expect(
        parse_program(&prog("  let x = 1e39f")),
        4,
        11,
        "is not a finite f32",
    );
    expect(
        parse_program(&prog("  let x = frob(1u)")),
        4,
        11,
        "unknown operation `frob`",
    );
    expect(
        parse_program(&prog("  let x = add(1u 2u)")),
        4,
        18,
        "expected `,`, found `2u`",
    );
    expect(
        parse_program(&prog("  let x = @thread_id")),
        4,
        12,
        "unknown builtin `@thread_id`",
    );
    expect(
        parse_program(&prog("  let x = 1u;")),
        4,
        13,
        "unexpected character `;`",
    );
    expect(
        parse_program(&prog("  for i in 0u, 4u { }")),
        4,
        14,
        "expected `..`, found `,`",
    );
    expect(
        parse_program(&prog("  out[0u] 1u")),
        4,
        11,
        "expected `=`, found `1u`",
    );
    expect(
        parse_program(&prog("  eval atomic_add(out, 1u)")),
        4,
        22,
        "expected `[`, found `,`",
    );
    expect(
        parse_program(&prog("  let x = cast<u64>(1u)")),
        4,
        16,
        "unknown type `u64`",
    );
    expect(
        parse_program(&prog("  let x = f32bits(12u)")),
        4,
        19,
        "expected 8 hex digits",
    );
    expect(
        parse_program(&prog("  let = = 1u")),
        4,
        9,
        "expected an expression, found `=`",
    );
    expect(
        parse_program(&prog("  frob x")),
        4,
        3,
        "expected a statement, found `frob`",
    );
    expect(
        parse_program(&prog("  }")),
        5,
        1,
        "expected the end of the input, found `}`",
    );
    expect(
        parse_program("program p workgroup_size 64\n{\n  if true {\n    return\n}\n"),
        6,
        1,
        "the `{` at 2:1 is never closed",
    );
    expect(
        parse_program("program p workgroup_size 1\nbuffer b: write u32[] @0\n{ }"),
        2,
        11,
        "unknown buffer access `write`",
    );
    expect(
        parse_program("program p workgroup_size 1\nbuffer b: read u32[]\n{ }"),
        3,
        1,
        "expected `@`, found `{`",
    );
    expect(
        parse_program("program p workgroup_size 1\nbuffer t: workgroup u32[4] @1\n{ }"),
        2,
        28,
        "a workgroup buffer has no binding",
    );
    expect(
        parse_program("program p workgroup_size 1\nbuffer 9b: read u32[] @0\n{ }"),
        2,
        8,
        "expected the buffer name, found `9b`",
    );
}

#[test]
fn malformed_payloads_report_line_column_and_fix() {
    expect(
        parse_payload("program p workgroup_size 1\n{ }"),
        1,
        1,
        "expected `payload`, found `program`",
    );
    expect(
        parse_payload("payload p\nparam d: bytez\n{ }"),
        2,
        10,
        "unknown parameter kind `bytez`",
    );
    expect(
        parse_payload("payload p look_behind -1\n{ }"),
        1,
        23,
        "the look-behind in bytes `-1` is not a plain number",
    );
    expect(
        parse_payload("payload p\nparam acc accumulator[1]\n{ }"),
        2,
        11,
        "expected `:`, found `accumulator`",
    );
    expect(
        parse_payload("payload p\nparam acc: accumulator[1\n{ }"),
        3,
        1,
        "expected `]`, found `{`",
    );
    expect(parse_payload("payload"), 1, 8, "expected the payload name");
}

#[test]
fn hostile_nesting_is_refused_without_overflowing_the_stack() {
    let deep = 200_000;
    let calls = prog(&format!(
        "  let x = {}0u{}",
        "neg(".repeat(deep),
        ")".repeat(deep)
    ));
    expect(
        parse_program(&calls),
        4,
        11 + 4 * 64,
        "expression nested more than 64 levels deep",
    );
    let blocks = prog(&format!("{}{}", "{".repeat(deep), "}".repeat(deep)));
    expect(
        parse_program(&blocks),
        4,
        65,
        "statements nest more than 64 levels deep",
    );
    let ifs = prog(&"if true {".repeat(deep));
    assert!(parse_program(&ifs)
        .unwrap_err()
        .message
        .contains("nest more than 64"));

    // The validator's limits exactly: 64 levels parse, 65 do not.
    let expr = |d: usize| format!("  let x = {}0u{}", "neg(".repeat(d - 1), ")".repeat(d - 1));
    assert!(parse_program(&prog(&expr(64))).is_ok());
    assert!(parse_program(&prog(&expr(65))).is_err());
    let nest = |d: usize| format!("{}return{}", "{ ".repeat(d - 1), " }".repeat(d - 1));
    assert!(parse_program(&prog(&nest(64))).is_ok());
    assert!(parse_program(&prog(&nest(65))).is_err());
}

#[test]
fn accepts_comments_free_layout_and_sugar() {
    let text = "// header comment\nprogram  p   workgroup_size 8 // trailing\nbuffer out: read_write f32[4] @3\n\
                buffer t: workgroup i32[16]\n{ let a = f32bits(0x3f800000) if lt(a, 2.0f) { out[0u] = a } else if true \
                { return } // done\n let b = atomic_compare_exchange(t[1u], 0i, -2147483648i) }";
    let p = parse_program(text).expect("parses");
    let want = Program::new(
        "p",
        vec![
            BufferDecl::read_write("out", 3, DataType::F32).with_len(4),
            BufferDecl::workgroup("t", DataType::I32, 16),
        ],
        8,
        vec![
            Node::let_bind("a", Expr::Lit(Literal::F32(1.0f32.to_bits()))),
            Node::if_else(
                Expr::lt(Expr::var("a"), Expr::f32(2.0)),
                vec![Node::store("out", Expr::u32(0), Expr::var("a"))],
                vec![Node::if_then(Expr::bool(true), vec![Node::Return])],
            ),
            Node::let_bind(
                "b",
                Expr::atomic_compare_exchange("t", Expr::u32(1), Expr::i32(0), Expr::i32(i32::MIN)),
            ),
        ],
    );
    assert_eq!(p, want);
    assert_eq!(parse_program(&p.to_string()).unwrap(), p);
    // Keywords are ordinary names where a name is expected: `else = 1u` after
    // an `if` is an assignment, not an `else` branch.
    let kw = parse_program("program p workgroup_size 1\n{ if true { } else = 1u\n if true { } else[0u] = 2u\n let let = loop\n for in in step..len step step { } }").unwrap();
    assert_eq!(
        kw.body,
        vec![
            Node::if_then(Expr::bool(true), vec![]),
            Node::assign("else", Expr::u32(1)),
            Node::if_then(Expr::bool(true), vec![]),
            Node::store("else", Expr::u32(0), Expr::u32(2)),
            Node::let_bind("let", Expr::var("loop")),
            Node::for_step(
                "in",
                Expr::var("step"),
                Expr::var("len"),
                Expr::var("step"),
                vec![]
            ),
        ]
    );
    let pl = parse_payload("payload q\nparam out: output[]\nparam s: chunk_start\n{\n}").unwrap();
    assert_eq!(
        (pl.look_behind, pl.params[0].len, pl.params[1].kind),
        (0, None, ParamKind::ChunkStart)
    );
}

const SAMPLE: &str = include_str!("../../examples/payloads/count_zero_bytes.vyre");
const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "<",
    ">",
    ",",
    ":",
    "=",
    "@",
    "..",
    " ",
    "\n",
    "//",
    "-",
    "0x",
    "1u",
    "-3i",
    "1.5f",
    "1e",
    "let ",
    "if ",
    "else ",
    "for ",
    "in ",
    "step ",
    "loop ",
    "eval ",
    "break",
    "buffer ",
    "param ",
    "neg(",
    "atomic_load(",
    "f32bits(",
    "cast<",
    "@global_id",
    "true",
    "\u{00e9}",
    "\t",
    "x",
];

/// Whatever parses must print back to text that parses to the same IR.
fn reprint(text: &str) -> Result<(), TestCaseError> {
    if let Ok(p) = parse_program(text) {
        prop_assert_eq!(parse_program(&p.to_string()), Ok(p));
    }
    match parse_payload(text) {
        Ok(p) => prop_assert_eq!(parse_payload(&p.to_string()), Ok(p)),
        Err(e) => prop_assert!(e.line >= 1 && e.column >= 1 && !e.fix.is_empty()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "[a-z_0-9{}()\\[\\]<>,:=@. \n-]{0,300}") {
        reprint(&text)?;
        reprint(&format!("payload p\n{{\n{text}\n}}"))?;
        reprint(&prog(&text))?;
    }

    #[test]
    fn mutated_text_never_panics(edits in prop::collection::vec((any::<usize>(), 0usize..6, prop::sample::select(TOKENS)), 1..5)) {
        let mut text: Vec<char> = SAMPLE.chars().collect();
        for (at, cut, tok) in edits {
            let i = at % (text.len() + 1);
            let j = (i + cut).min(text.len());
            text.splice(i..j, tok.chars());
        }
        reprint(&text.into_iter().collect::<String>())?;
    }
}

/// Every name in the IR's tables prints and parses back (the text form and
/// the tables agree).
#[test]
fn every_table_name_round_trips() {
    use vyre_core::{AtomicOp, BinOp, Builtin, UnOp};
    let mut body = Vec::new();
    for (i, &op) in UnOp::ALL.iter().enumerate() {
        body.push(Node::let_bind(
            &format!("u{i}"),
            Expr::unary(op, Expr::u32(1)),
        ));
    }
    for (i, &op) in BinOp::ALL.iter().enumerate() {
        let e = Expr::binary(op, Expr::u32(1), Expr::u32(2));
        body.push(Node::let_bind(&format!("b{i}"), e));
    }
    for (i, &b) in Builtin::ALL.iter().enumerate() {
        body.push(Node::let_bind(&format!("g{i}"), Expr::Builtin(b)));
    }
    for (i, &ty) in DataType::ALL.iter().enumerate() {
        body.push(Node::let_bind(
            &format!("c{i}"),
            Expr::cast(ty, Expr::u32(1)),
        ));
    }
    for &op in AtomicOp::ALL {
        let e = match op {
            AtomicOp::Load => Expr::atomic_load("w", Expr::u32(0)),
            AtomicOp::CompareExchange => {
                Expr::atomic_compare_exchange("w", Expr::u32(0), Expr::u32(1), Expr::u32(2))
            }
            op => Expr::Atomic {
                op,
                buffer: "w".into(),
                index: Box::new(Expr::u32(0)),
                value: Box::new(Expr::u32(1)),
                expected: None,
            },
        };
        body.push(Node::eval(e));
    }
    let buffers = Access::ALL
        .iter()
        .enumerate()
        .map(|(i, &access)| BufferDecl {
            name: format!("x{i}"),
            binding: if access == Access::Workgroup {
                u32::MAX
            } else {
                i as u32
            },
            elem: DataType::U32,
            access,
            len: Some(4),
            data: if access == Access::Constant {
                vec![1, 2, 3, 4]
            } else {
                Vec::new()
            },
        })
        .collect();
    let p = Program::new("tables", buffers, 1, body);
    assert_eq!(parse_program(&p.to_string()), Ok(p));
    let params = ParamKind::ALL
        .iter()
        .enumerate()
        .map(|(i, &kind)| vyre_core::Param {
            name: format!("p{i}"),
            kind,
            len: None,
            reduce: Default::default(),
        })
        .collect();
    let pl = vyre_core::Payload {
        name: "kinds".into(),
        params,
        look_behind: 0,
        body: vec![],
        tables: vec![],
        combine: None,
        native: Default::default(),
    };
    assert_eq!(parse_payload(&pl.to_string()), Ok(pl));
}
