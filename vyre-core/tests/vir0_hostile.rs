//! VIR0 decoding on hostile input: crafted files (with valid digests) that
//! lie about counts, nest too deep, or are not canonical; every bit flip and
//! every truncation of real files; and thousands of random and mutated files.
//! Decoding must reject them quickly, with an offset and a `Fix:`, and never
//! panic.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use vyre_core::vir0::{
    decode, decode_unvalidated, encode_payload, encode_program, load_payload_file, Module,
    Vir0Error,
};
use vyre_core::{AtomicOp, BufferDecl, DataType, Expr, Node, Program};

fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn v(x: u64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, x);
    out
}

fn sign(mut bytes: Vec<u8>) -> Vec<u8> {
    let d = blake3::hash(&bytes);
    bytes.extend_from_slice(d.as_bytes());
    bytes
}

fn header(kind: u8) -> Vec<u8> {
    let mut out = b"VIR0".to_vec();
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&[kind, 0]);
    out
}

fn section(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    varint(out, content.len() as u64);
    out.extend_from_slice(content);
}

fn strings(list: &[&str]) -> Vec<u8> {
    let mut s = v(list.len() as u64);
    for x in list {
        varint(&mut s, x.len() as u64);
        s.extend_from_slice(x.as_bytes());
    }
    s
}

/// A signed program file from raw section contents.
fn file(strs: &[u8], decls: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = header(1);
    section(&mut out, 1, strs);
    section(&mut out, 2, decls);
    section(&mut out, 3, body);
    sign(out)
}

/// Program `p`, workgroup size 1, no buffers.
const DECLS: &[u8] = &[0, 1, 0];

fn body(nodes: u64, exprs: u64, block: &[u8]) -> Vec<u8> {
    let mut b = v(nodes);
    varint(&mut b, exprs);
    b.extend_from_slice(block);
    b
}

fn expect_err(bytes: &[u8], needle: &str, offset: Option<usize>) {
    let t = Instant::now();
    let e = decode_unvalidated(bytes).expect_err(needle);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "slow rejection ({:?}) for {needle}",
        t.elapsed()
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with("VIR0 byte ") && msg.contains(needle) && msg.contains("Fix:"),
        "want `{needle}`, got: {msg}"
    );
    if let Some(want) = offset {
        assert!(
            matches!(e, Vir0Error::Malformed { offset, .. } if offset == want),
            "want offset {want}: {msg}"
        );
    }
}

fn sample_payload() -> Vec<u8> {
    let path = format!(
        "{}/../examples/payloads/count_zero_bytes.vyre",
        env!("CARGO_MANIFEST_DIR")
    );
    encode_payload(&load_payload_file(path).expect("sample loads"))
}

/// A program using workgroup memory, a barrier, atomics and every literal kind.
fn sample_program() -> Vec<u8> {
    let p = Program::new(
        "reduce",
        vec![
            BufferDecl::read("input", 0, DataType::F32),
            BufferDecl::read_write("sum", 1, DataType::U32).with_len(1),
            BufferDecl::workgroup("tile", DataType::U32, 64),
        ],
        64,
        vec![
            Node::let_bind("i", Expr::global_id()),
            Node::let_bind("f", Expr::load("input", Expr::var("i"))),
            Node::let_bind(
                "neg",
                Expr::select(
                    Expr::lt(Expr::var("f"), Expr::f32(-0.5)),
                    Expr::i32(-3),
                    Expr::i32(7),
                ),
            ),
            Node::store(
                "tile",
                Expr::local_id(),
                Expr::cast(DataType::U32, Expr::var("f")),
            ),
            Node::Barrier,
            Node::if_then(
                Expr::eq(Expr::local_id(), Expr::u32(0)),
                vec![Node::for_range(
                    "k",
                    Expr::u32(0),
                    Expr::workgroup_size(),
                    vec![Node::eval(Expr::atomic_add(
                        "sum",
                        Expr::u32(0),
                        Expr::load("tile", Expr::var("k")),
                    ))],
                )],
            ),
            Node::eval(Expr::atomic_compare_exchange(
                "sum",
                Expr::u32(0),
                Expr::u32(1),
                Expr::u32(2),
            )),
            Node::eval(Expr::Atomic {
                op: AtomicOp::Max,
                buffer: "sum".into(),
                index: Box::new(Expr::u32(u32::MAX)),
                value: Box::new(Expr::u32(300)),
                expected: None,
            }),
        ],
    );
    let bytes = encode_program(&p);
    decode(&bytes).expect("the sample program is valid");
    bytes
}

#[test]
fn crafted_files_match_the_encoder() {
    let f = file(&strings(&["p"]), DECLS, &body(1, 1, &[1, 0x04, 0x60]));
    let p = Program::new("p", vec![], 1, vec![Node::eval(Expr::global_id())]);
    assert_eq!(f, encode_program(&p));
    assert_eq!(decode_unvalidated(&f).unwrap(), Module::Program(p));
}

#[test]
fn hostile_counts_fail_fast_without_allocating() {
    let s = strings(&["p"]);
    // 8 header bytes + "01 03 01 01 70" strings + "02 03 00 01 00" decls: the body content starts at 20.
    expect_err(
        &file(&s, DECLS, &body(1 << 60, 0, &[0])),
        "claims 1152921504606846976 statements",
        Some(20),
    );
    expect_err(
        &file(&s, DECLS, &body(0, 1 << 60, &[0])),
        "the limits are",
        Some(20),
    );
    expect_err(
        &file(&s, DECLS, &body(1_000_000, 4_000_000, &[0])),
        "only 1 bytes follow",
        Some(20),
    );
    let mut block = v(1 << 60);
    block.push(0x09);
    expect_err(
        &file(&s, DECLS, &body(1, 0, &block)),
        "statement count of a block is 1152921504606846976",
        None,
    );
    let mut huge_strings = v(1 << 60);
    huge_strings.extend_from_slice(&[1, b'p']);
    expect_err(
        &file(&huge_strings, DECLS, &body(0, 0, &[0])),
        "string count is 1152921504606846976",
        Some(10),
    );
    let mut long = v(1);
    varint(&mut long, 1 << 60);
    long.push(b'p');
    expect_err(
        &file(&long, DECLS, &body(0, 0, &[0])),
        "string length is",
        Some(11),
    );
    let mut buffers = vec![0, 1];
    varint(&mut buffers, 1 << 40);
    expect_err(
        &file(&s, &buffers, &body(0, 0, &[0])),
        "buffer count is 1099511627776",
        None,
    );
    // A section whose length runs past the digest.
    let mut out = header(1);
    out.push(1);
    varint(&mut out, 1 << 60);
    out.extend_from_slice(&s);
    expect_err(&sign(out), "claims 1152921504606846976 bytes", Some(8));
    // A varint longer than 64 bits.
    let mut out = header(1);
    out.push(1);
    out.extend_from_slice(&[0xff; 11]);
    expect_err(&sign(out), "does not fit in 64 bits", Some(9));
}

#[test]
fn deep_nesting_is_rejected_without_overflowing_the_stack() {
    let s = strings(&["p"]);
    let depth = 100_000;
    // eval neg(neg(...(0u)...)), 100 000 deep.
    let mut block = vec![1, 0x04];
    block.extend(std::iter::repeat_n(0x10, depth));
    block.extend_from_slice(&[0x01, 0]);
    expect_err(
        &file(&s, DECLS, &body(1, depth as u64 + 1, &block)),
        "nests more than 64 levels",
        None,
    );
    // { { { ... } } }, 100 000 deep.
    let mut block = vec![1];
    for _ in 0..depth {
        block.extend_from_slice(&[0x08, 1]);
    }
    block.extend_from_slice(&[0x08, 0]);
    expect_err(
        &file(&s, DECLS, &body(depth as u64 + 1, 0, &block)),
        "nest more than 64 levels",
        None,
    );

    // Exactly the limits decode; one more level does not.
    let nested_expr = |d: usize| (1..d).fold(Expr::u32(0), |e, _| Expr::neg(e));
    let nested_block = |d: usize| (1..d).fold(Node::Return, |n, _| Node::block(vec![n]));
    let prog = |n: Node| Program::new("p", vec![], 1, vec![n]);
    assert!(decode_unvalidated(&encode_program(&prog(Node::eval(nested_expr(64))))).is_ok());
    assert!(decode_unvalidated(&encode_program(&prog(Node::eval(nested_expr(65))))).is_err());
    assert!(decode_unvalidated(&encode_program(&prog(nested_block(64)))).is_ok());
    assert!(decode_unvalidated(&encode_program(&prog(nested_block(65)))).is_err());
}

#[test]
fn non_canonical_encodings_are_rejected() {
    let s = strings(&["p"]);
    let empty = body(0, 0, &[0]);
    expect_err(
        &file(&s, &[0, 0x81, 0x00, 0], &empty),
        "workgroup size: varint is not in its shortest form",
        Some(16),
    );
    expect_err(
        &file(&strings(&["p", "p"]), DECLS, &empty),
        "repeats an earlier string",
        Some(13),
    );
    expect_err(
        &file(&strings(&["a", "p"]), &[1, 1, 0], &empty),
        "string 1 is used before string 0",
        None,
    );
    expect_err(
        &file(&strings(&["p", "q"]), DECLS, &empty),
        "string 1 of the table is never used",
        None,
    );
    expect_err(
        &file(&s, &[0, 1, 0, 0], &empty),
        "1 unused byte(s) at the end of the declarations section",
        None,
    );
    expect_err(
        &file(&s, DECLS, &body(0, 0, &[0, 9])),
        "unused byte(s) at the end of the body section",
        None,
    );
    let mut out = header(1);
    section(&mut out, 1, &s);
    section(&mut out, 2, DECLS);
    section(&mut out, 3, &empty);
    out.extend_from_slice(&[3, 0]);
    expect_err(&sign(out), "2 unknown byte(s) after the last section", None);
}

#[test]
fn malformed_fields_are_rejected() {
    let s = strings(&["p"]);
    let one = |block: &[u8], nodes: u64, exprs: u64| file(&s, DECLS, &body(nodes, exprs, block));
    expect_err(
        &one(&[1, 0x7f], 1, 0),
        "unknown statement opcode 0x7f",
        None,
    );
    expect_err(
        &one(&[1, 0x04, 0xff], 1, 1),
        "unknown expression opcode 0xff",
        None,
    );
    expect_err(
        &one(&[1, 0x04, 0x4b, 0, 0x60, 0x60], 1, 3),
        "unknown expression opcode 0x4b",
        None,
    );
    expect_err(
        &one(&[1, 0x04, 0x0a, 9, 0x60], 1, 2),
        "unknown type code 9",
        None,
    );
    expect_err(
        &one(&[1, 0x04, 0x06, 5], 1, 1),
        "string 5 is not in the string table",
        None,
    );
    expect_err(
        &one(&[1, 0x04, 0x01, 0x80, 0x80, 0x80, 0x80, 0x10], 1, 1),
        "u32 literal is 4294967296",
        None,
    );
    expect_err(
        &one(&[1, 0x09], 2, 0),
        "declares 2 statements and 0 expressions but holds 1 and 0",
        None,
    );
    expect_err(
        &one(&[2, 0x09, 0x09], 1, 0),
        "more statements than the 1",
        None,
    );
    expect_err(
        &one(&[1, 0x04], 1, 1),
        "the body section ends before an expression",
        None,
    );
    expect_err(
        &file(&s, &[0, 1, 1, 0, 9, 0, 0, 0], &body(0, 0, &[0])),
        "unknown buffer access code 9",
        None,
    );
    expect_err(
        &file(
            &s,
            &[0, 1, 1, 0, 0, 0, 0, 0x81, 0x80, 0x80, 0x80, 0x10],
            &body(0, 0, &[0]),
        ),
        "buffer length is 4294967296",
        None,
    );
    expect_err(
        &file(&[1, 2, 0xc3, 0x28], DECLS, &body(0, 0, &[0])),
        "string 0 is not UTF-8",
        Some(11),
    );
    let mut out = header(1);
    section(&mut out, 2, DECLS);
    section(&mut out, 3, &body(0, 0, &[0]));
    expect_err(
        &sign(out),
        "expected section 1 (strings), found section tag 2",
        Some(8),
    );

    let good = sample_program();
    let mut bad = good.clone();
    bad[4] = 2;
    expect_err(&bad, "format version 2 is not supported", Some(4));
    bad = good.clone();
    bad[6] = 3;
    expect_err(&bad, "unknown kind 3", Some(6));
    bad = good.clone();
    bad[7] = 1;
    expect_err(&bad, "reserved flags byte is 1", Some(7));
    expect_err(b"VIR", "too short", Some(3));
    expect_err(
        b"\x7fELF\x02\x01",
        "not a VIR0 file: it starts with bytes [7f 45 4c 46]",
        Some(0),
    );
    expect_err(b"", "too short", Some(0));
    expect_err(&good[..45], "smallest VIR0 file", None);
    let mut tail = good.clone();
    let n = tail.len();
    tail[n - 1] ^= 1;
    expect_err(&tail, "digest does not match", Some(n - 32));
}

#[test]
fn every_bit_flip_and_truncation_is_rejected() {
    let (mut flips, mut bits) = (0, 0);
    for good in [sample_payload(), sample_program()] {
        bits += 8 * good.len();
        assert!(decode(&good).is_ok());
        for i in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[i] ^= 1 << bit;
                assert!(
                    decode_unvalidated(&bad).is_err(),
                    "flip of bit {bit} of byte {i} was accepted"
                );
                flips += 1;
            }
        }
        for len in 0..good.len() {
            let e = decode_unvalidated(&good[..len]).expect_err("truncated file accepted");
            assert!(e.to_string().contains("Fix:"));
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(decode_unvalidated(&longer).is_err());
    }
    println!("{flips} single-bit flips rejected");
    assert_eq!(flips, bits);
}

fn check_canonical(bytes: &[u8]) -> Result<(), TestCaseError> {
    match decode_unvalidated(bytes) {
        Ok(m) => {
            prop_assert_eq!(
                m.encode(),
                bytes.to_vec(),
                "accepted bytes are not the canonical encoding"
            );
            let _ = decode(bytes); // the validator must not panic either
        }
        Err(e) => prop_assert!(e.to_string().contains("Fix:"), "{}", e),
    }
    Ok(())
}

#[derive(Clone, Debug)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

    /// Random bytes: rejected, never a panic.
    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        prop_assert!(decode_unvalidated(&bytes).is_err());
        prop_assert!(decode(&bytes).is_err());
    }

    /// A valid header and digest around random bytes reach the structural decoder.
    #[test]
    fn signed_garbage_never_panics(kind in 1u8..=2, bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut f = header(kind);
        f.extend_from_slice(&bytes);
        check_canonical(&sign(f))?;
    }

    /// Small edits of real files, re-signed: rejected, or accepted only in canonical form.
    #[test]
    fn mutated_files_never_panic(which in any::<bool>(), edits in prop::collection::vec(edit(), 1..4)) {
        let mut f = if which { sample_payload() } else { sample_program() };
        f.truncate(f.len() - 32);
        for e in edits {
            let n = f.len();
            match e {
                Edit::Set(i, b) => f[8 + i % (n - 8)] = b,
                Edit::Insert(i, b) => f.insert(8 + i % (n - 7), b),
                Edit::Delete(i) => { f.remove(8 + i % (n - 8)); }
            }
        }
        // Re-signed, so the structural decoder, not the digest, has to catch it.
        check_canonical(&sign(f))?;
    }

    /// Byte overwrites in the second half (mostly the body), re-signed: these
    /// keep every length intact and so reach the statement and expression decoder.
    #[test]
    fn body_byte_edits_never_panic(which in any::<bool>(), edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
        let mut f = if which { sample_payload() } else { sample_program() };
        f.truncate(f.len() - 32);
        let half = f.len() / 2;
        for (i, b) in edits {
            let at = half + i % (f.len() - half);
            f[at] = b;
        }
        check_canonical(&sign(f))?;
    }
}

/// A payload with a reduction and a combine (the combine's function nested
/// as a complete file).
fn payload_with_combine() -> vyre_core::Payload {
    use vyre_core::ir::payload::{word_load, word_store};
    use vyre_core::{Combine, Param, ParamKind, Payload, Reduce};
    let func = Payload {
        name: "join".into(),
        params: vec![
            Param::new("left", ParamKind::Words, None),
            Param::new("right", ParamKind::Words, None),
            Param::new("out", ParamKind::Output, Some(2)),
        ],
        look_behind: 0,
        body: vec![word_store(
            "out",
            Expr::u32(0),
            Expr::max(
                word_load("left", Expr::u32(0)),
                word_load("right", Expr::u32(1)),
            ),
        )],
        tables: Vec::new(),
        combine: None,
        native: Default::default(),
    };
    Payload {
        name: "summary".into(),
        params: vec![
            Param::new("data", ParamKind::Bytes, None),
            Param::new("o", ParamKind::FileLen, None),
            Param::new("s", ParamKind::Output, Some(2)),
            Param::new("m", ParamKind::Accumulator, Some(1)).reduce(Reduce::Max),
        ],
        look_behind: 0,
        body: vec![word_store("s", Expr::u32(1), Expr::var("o"))],
        tables: Vec::new(),
        combine: Some(Box::new(Combine {
            identity: vec![0, 7],
            func,
            native: None,
        })),
        native: Default::default(),
    }
}

/// Every single-byte change, insertion and truncation of a file with a
/// combine section and reductions, re-signed so only the parser judges it:
/// refused with a `Fix:` or the canonical encoding of what it holds, never
/// a panic; a combine nested inside a combine is refused.
#[test]
fn combine_sections_and_reductions_survive_hostile_edits() {
    let p = payload_with_combine();
    let good = encode_payload(&p);
    assert_eq!(vyre_core::vir0::decode_payload(&good).unwrap(), p);
    let unsigned = &good[..good.len() - 32];
    let mut tried = 0;
    for i in 0..unsigned.len() {
        for b in [0u8, 1, 0x7f, 0x80, 0xff, unsigned[i] ^ 0x81] {
            let mut bad = unsigned.to_vec();
            bad[i] = b;
            check_canonical(&sign(bad.clone())).unwrap();
            bad.insert(i, b);
            check_canonical(&sign(bad)).unwrap();
            tried += 2;
        }
        check_canonical(&sign(unsigned[..i].to_vec())).unwrap();
    }
    assert!(tried > 1000);
    // A combine whose function has a combine of its own.
    let mut inner = payload_with_combine();
    let nested = inner.clone();
    inner.combine.as_mut().unwrap().func = nested;
    let e = decode_unvalidated(&encode_payload(&inner)).expect_err("nested combine accepted");
    assert!(e.to_string().contains("combine of its own"), "{e}");
}
