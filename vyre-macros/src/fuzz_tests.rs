//! Fuzzing the expansion with hostile token streams: random trees of idents,
//! literals, punctuation and groups (up to depth 4), and mutations of valid
//! payloads and helpers. `expand::run` must return tokens, never panic.
//!
//! A proc-macro crate cannot export functions to integration tests, so this
//! is a unit-test module. The RNG is a fixed-seed xorshift, so every run
//! tries the same cases; a panic fails with the offending input printed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;

use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

use crate::ast::FnKind;
use crate::expand::run;

/// Random token streams (attribute arguments and item).
const RANDOM_CASES: u32 = 1200;
/// Random bodies and parameter lists inside `fn p(..) { .. }`.
const SHAPED_CASES: u32 = 800;
/// Mutations of valid functions, by text and by token tree.
const MUTATION_CASES: u32 = 1000;

/// xorshift64*: tiny, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

const IDENTS: &[&str] = &[
    "fn",
    "let",
    "mut",
    "for",
    "in",
    "if",
    "else",
    "loop",
    "while",
    "return",
    "break",
    "continue",
    "const",
    "as",
    "match",
    "true",
    "false",
    "self",
    "Self",
    "_",
    "u8",
    "u16",
    "u32",
    "u64",
    "usize",
    "i32",
    "i64",
    "f32",
    "f64",
    "bool",
    "data",
    "o",
    "out",
    "acc",
    "lanes",
    "Lanes",
    "vyre",
    "AtomicU32",
    "Ordering",
    "Relaxed",
    "fetch_add",
    "fetch_max",
    "compare_exchange",
    "load",
    "store",
    "len",
    "range",
    "step_by",
    "id",
    "count",
    "max",
    "min",
    "wrapping_add",
    "MAX",
    "MIN",
    "p",
    "x",
    "y",
    "i",
    "n",
    "NEEDLE",
    "start",
    "look_behind",
    "helper",
    "payload",
    "struct",
    "impl",
    "unsafe",
    "async",
    "await",
    "dyn",
    "where",
    "pub",
    "crate",
    "super",
    "r#type",
    "move",
    "ref",
];

const PUNCTS: &[&str] = &[
    "+", "-", "*", "/", "%", "^", "!", "&", "|", "&&", "||", "<<", ">>", "+=", "-=", "*=", "/=",
    "%=", "^=", "&=", "|=", "<<=", ">>=", "=", "==", "!=", ">", "<", ">=", "<=", "@", ".", "..",
    "..=", ",", ";", ":", "::", "->", "=>", "#", "$", "?", "~", "'",
];

fn literal(rng: &mut Rng) -> Literal {
    match rng.below(12) {
        0 => Literal::u32_unsuffixed(rng.next() as u32),
        1 => Literal::u64_unsuffixed(rng.next()),
        2 => Literal::u8_suffixed(rng.next() as u8),
        3 => Literal::i32_suffixed(rng.next() as i32),
        4 => Literal::u32_suffixed(*rng.pick(&[0, 1, 31, 32, 255, 256, u32::MAX])),
        5 => Literal::f32_suffixed(*rng.pick(&[0.0, -0.0, 1.5, 1e38, f32::MIN_POSITIVE])),
        6 => Literal::f64_unsuffixed(*rng.pick(&[0.5, 3.0, 1e300])),
        7 => Literal::byte_string(*rng.pick(&[&b""[..], b"abab", b"\0\xff"])),
        8 => Literal::string(*rng.pick(&["", "x", "len", "\u{0}\""])),
        9 => Literal::character(*rng.pick(&['a', '\n', '\u{10ffff}'])),
        10 => Literal::from_str(*rng.pick(&[
            "b'\\n'",
            "0xEDB8_8320",
            "99999999999999999999999",
            "1u128",
            "0b102",
            "1e999",
            "7usize",
            "1_f32",
        ]))
        .unwrap_or_else(|_| Literal::u8_unsuffixed(0)),
        _ => Literal::usize_unsuffixed(rng.below(300)),
    }
}

fn punct(rng: &mut Rng, out: &mut Vec<TokenTree>) {
    let p = *rng.pick(PUNCTS);
    let chars: Vec<char> = p.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let spacing = if i + 1 < chars.len() {
            Spacing::Joint
        } else {
            Spacing::Alone
        };
        out.push(TokenTree::Punct(Punct::new(c, spacing)));
    }
}

fn ident(rng: &mut Rng) -> Ident {
    let name = *rng.pick(IDENTS);
    match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(name, Span::call_site()),
    }
}

/// A random token stream of up to `len` trees, groups nested up to `depth`.
fn random_stream(rng: &mut Rng, len: usize, depth: u32) -> TokenStream {
    let n = rng.below(len + 1);
    let mut out = Vec::new();
    for _ in 0..n {
        match rng.below(10) {
            0..=3 => out.push(TokenTree::Ident(ident(rng))),
            4 | 5 => out.push(TokenTree::Literal(literal(rng))),
            6 | 7 => punct(rng, &mut out),
            _ if depth > 0 => {
                let delim = *rng.pick(&[
                    Delimiter::Parenthesis,
                    Delimiter::Brace,
                    Delimiter::Bracket,
                    Delimiter::None,
                ]);
                out.push(TokenTree::Group(Group::new(
                    delim,
                    random_stream(rng, len / 2 + 1, depth - 1),
                )));
            }
            _ => out.push(TokenTree::Ident(ident(rng))),
        }
    }
    out.into_iter().collect()
}

/// Valid inputs: (kind, attribute arguments, function).
const SEEDS: &[(FnKind, &str, &str)] = &[
    (
        FnKind::Payload,
        "",
        "fn line_count(data: &[u8], #[vyre(len = 1)] counts: &[AtomicU32], lanes: Lanes) {
            let mut n = 0;
            for i in lanes.range(0..data.len() as u32) { if data[i as usize] == b'\\n' { n += 1; } }
            if n != 0 { counts[0].fetch_add(n, Ordering::Relaxed); }
        }",
    ),
    (
        FnKind::Payload,
        "look_behind = 3",
        "fn count_needle(data: &[u8], #[vyre(start)] start: u32, #[vyre(len = 1)] count: &[AtomicU32], lanes: Lanes) {
            const NEEDLE: &[u8] = b\"abab\";
            let n = NEEDLE.len() as u32;
            let len = data.len() as u32;
            let mut found = 0;
            for end in lanes.range(start.max(n - 1)..len) {
                let first = end + 1 - n;
                let mut k = 0;
                while k < n && data[(first + k) as usize] == NEEDLE[k as usize] { k += 1; }
                if k == n { found += 1; }
            }
            if found != 0 { count[0].fetch_add(found, Ordering::Relaxed); }
        }",
    ),
    (
        FnKind::Payload,
        "",
        "fn crc32(data: &[u8], #[vyre(len = 1)] state: &mut [u32], lanes: Lanes) {
            const POLY: u32 = 0xEDB8_8320;
            if lanes.id() != 0 { return; }
            let mut crc = state[0];
            for i in 0..data.len() {
                crc ^= data[i] as u32;
                for _ in 0..8 { if crc & 1 != 0 { crc = (crc >> 1) ^ POLY; } else { crc >>= 1; } }
            }
            state[0] = crc;
        }",
    ),
    (
        FnKind::Payload,
        "",
        "fn mix(data: &[u8], k: u32, #[vyre(len = 4)] out: &mut [u32], lanes: Lanes) {
            let mut s: i32 = -1;
            let mut f = 1.5f32;
            for i in (lanes.id()..data.len() as u32).step_by(2) {
                s = (s + data[i as usize] as i32) << 3;
                f = f * 0.5 + (k as f32);
                if s < 0 || !(f > 2.0) { continue; } else { break; }
            }
            out[lanes.id() as usize % 4] = (s as u32) ^ (f as u32) ^ u8::MAX as u32;
        }",
    ),
    (FnKind::Helper, "", "fn h(a: u8, b: i32) -> bool { if a > 3 { return true; } b < 0 }"),
    (FnKind::Helper, "", "fn rot(x: u32, n: u32) -> u32 { let m = n & 31; (x << m) | (x >> (32 - m)) }"),
];

/// Runs the expansion; a panic is a failure that shows the input.
fn no_panic(what: &str, kind: FnKind, args: &TokenStream, item: &TokenStream) -> String {
    let result = catch_unwind(AssertUnwindSafe(|| {
        run(kind, args.clone(), item.clone()).to_string()
    }));
    match result {
        Ok(out) => out,
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let kind = if kind == FnKind::Payload {
                "#[vyre::payload]"
            } else {
                "#[vyre::helper]"
            };
            panic!("{what}: expansion panicked (`{msg}`) for {kind}\nargs: {args}\nitem: {item}");
        }
    }
}

fn kind(rng: &mut Rng) -> FnKind {
    if rng.chance(3) {
        FnKind::Helper
    } else {
        FnKind::Payload
    }
}

#[test]
fn random_token_streams_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for case in 0..RANDOM_CASES {
        let args = if rng.chance(2) {
            TokenStream::new()
        } else {
            random_stream(&mut rng, 6, 2)
        };
        let item = random_stream(&mut rng, 24, 4);
        no_panic(&format!("random case {case}"), kind(&mut rng), &args, &item);
    }
}

const PARAMS: &[&str] = &[
    "data: &[u8]",
    "d2: &[u8]",
    "k: u32",
    "mut m: u32",
    "#[vyre(start)] start: u32",
    "#[vyre(len = 1)] acc: &[AtomicU32]",
    "#[vyre(len = 4)] o: &mut [u32]",
    "out: &mut [u32]",
    "lanes: Lanes",
    "lanes: vyre::Lanes",
    "x: u8",
    "y: i32",
    "f: f32",
    "b: bool",
    "#[vyre(len = 0)] z: &mut [u32]",
    "#[vyre(bogus)] w: &[u8]",
    "q: u64",
    "s: &str",
];
const BINOPS: &[&str] = &[
    "+", "-", "*", "/", "%", "^", "&", "|", "<<", ">>", "==", "!=", "<", "<=", ">", ">=", "&&",
    "||",
];
const VARS: &[&str] = &[
    "data", "k", "m", "start", "acc", "o", "out", "lanes", "x", "y", "f", "b", "n", "i", "N",
    "u8::MAX", "i32::MIN",
];
const TYPES: &[&str] = &[
    "u8", "u16", "u32", "usize", "i32", "f32", "bool", "u64", "char",
];

/// A random expression of the Rust subset (and a little beyond it).
fn expr(rng: &mut Rng, depth: u32) -> String {
    if depth == 0 || rng.chance(4) {
        return match rng.below(3) {
            0 => literal(rng).to_string(),
            _ => rng.pick(VARS).to_string(),
        };
    }
    let d = depth - 1;
    match rng.below(11) {
        0 | 1 => format!("({} {} {})", expr(rng, d), rng.pick(BINOPS), expr(rng, d)),
        2 => format!("{}[{} as usize]", rng.pick(VARS), expr(rng, d)),
        3 => format!("({} as {})", expr(rng, d), rng.pick(TYPES)),
        4 => format!("{}{}", rng.pick(&["-", "!"]), expr(rng, d)),
        5 => format!(
            "{}.{}()",
            rng.pick(VARS),
            rng.pick(&["len", "id", "count", "max", "min"])
        ),
        6 => format!(
            "{}.{}({})",
            expr(rng, d),
            rng.pick(&["max", "min", "fetch_add", "wrapping_add", "rotate_left"]),
            expr(rng, d)
        ),
        7 => format!(
            "acc[{}].fetch_add({}, Ordering::Relaxed)",
            expr(rng, d),
            expr(rng, d)
        ),
        8 => format!(
            "if {} {{ {} }} else {{ {} }}",
            expr(rng, d),
            expr(rng, d),
            expr(rng, d)
        ),
        9 => format!(
            "{}({}, {})",
            rng.pick(&["h", "rot", "undefined"]),
            expr(rng, d),
            expr(rng, d)
        ),
        _ => random_stream(rng, 4, 1).to_string(),
    }
}

/// A random statement list, nesting blocks up to `depth`.
fn stmts(rng: &mut Rng, depth: u32) -> String {
    let mut out = String::new();
    for _ in 0..rng.below(5) {
        let d = depth.saturating_sub(1);
        let s = match rng.below(12) {
            0 | 1 => format!(
                "let {}{}{} = {};",
                rng.pick(&["", "mut "]),
                rng.pick(&["n", "i", "x", "t"]),
                if rng.chance(3) {
                    format!(": {}", rng.pick(TYPES))
                } else {
                    String::new()
                },
                expr(rng, 3)
            ),
            2 => format!(
                "{} {} {};",
                rng.pick(&["n", "m", "x", "o[0]", "out[i as usize]", "data[0]"]),
                rng.pick(&["=", "+=", "<<=", "^=", "/="]),
                expr(rng, 3)
            ),
            3 if depth > 0 => format!(
                "if {} {{ {} }} else {{ {} }}",
                expr(rng, 2),
                stmts(rng, d),
                stmts(rng, d)
            ),
            4 if depth > 0 => format!(
                "for {} in {} {{ {} }}",
                rng.pick(&["i", "_", "k"]),
                rng.pick(&[
                    "0..4",
                    "lanes.range(0..data.len() as u32)",
                    "(0..n).step_by(3)",
                    "0..=k",
                    "data"
                ]),
                stmts(rng, d)
            ),
            5 if depth > 0 => format!("while {} {{ {} }}", expr(rng, 2), stmts(rng, d)),
            6 if depth > 0 => format!("loop {{ {} break; }}", stmts(rng, d)),
            7 => rng
                .pick(&["break;", "continue;", "return;", "return 1;"])
                .to_string(),
            8 => format!(
                "const {}: {} = {};",
                rng.pick(&["N", "P"]),
                rng.pick(&["u32", "&[u8]", "i32"]),
                expr(rng, 1)
            ),
            9 => format!("{};", expr(rng, 3)),
            10 | 11 if depth > 0 => format!("{{ {} }}", stmts(rng, d)),
            _ => format!("{};", rng.pick(VARS)),
        };
        out.push_str(&s);
        out.push(' ');
    }
    if rng.chance(6) {
        out.push_str(&expr(rng, 2));
    }
    out
}

#[test]
fn random_fn_shapes_never_panic() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut fns = 0;
    for case in 0..SHAPED_CASES {
        let mut params: Vec<String> = (0..rng.below(5))
            .map(|_| rng.pick(PARAMS).to_string())
            .collect();
        if rng.chance(8) {
            params.push(random_stream(&mut rng, 4, 2).to_string());
        }
        let ret = if rng.chance(4) {
            format!("-> {}", rng.pick(TYPES))
        } else {
            String::new()
        };
        let body = if rng.chance(8) {
            random_stream(&mut rng, 30, 4).to_string()
        } else {
            stmts(&mut rng, 4)
        };
        let text = format!("fn p({}) {ret} {{ {body} }}", params.join(", "));
        let args = if rng.chance(4) {
            random_stream(&mut rng, 5, 1)
        } else {
            TokenStream::from_str("look_behind = 2").unwrap()
        };
        let Ok(item) = TokenStream::from_str(&text) else {
            continue;
        };
        let out = no_panic(&format!("shaped case {case}"), kind(&mut rng), &args, &item);
        // Count the cases that got past `syn::ItemFn` into the macro's own checks.
        fns += !out.contains("applies to functions only") as u32;
    }
    eprintln!("shaped: {SHAPED_CASES} cases, {fns} parsed as functions");
    assert!(
        fns > SHAPED_CASES / 4,
        "too few shaped cases parse as functions: {fns}"
    );
}

/// Deletes, duplicates, replaces or inserts token trees, recursively.
fn mutate_tree(rng: &mut Rng, ts: TokenStream, depth: u32) -> TokenStream {
    let mut out = Vec::new();
    for tt in ts {
        match rng.below(40) {
            0 => {}
            1 => {
                out.push(tt.clone());
                out.push(tt);
            }
            2 => out.extend(random_stream(rng, 2, 1)),
            3 => {
                out.push(tt);
                out.extend(random_stream(rng, 2, 1));
            }
            _ => match tt {
                TokenTree::Group(g) if depth < 8 => {
                    let delim = if rng.chance(30) {
                        *rng.pick(&[
                            Delimiter::Parenthesis,
                            Delimiter::Brace,
                            Delimiter::Bracket,
                            Delimiter::None,
                        ])
                    } else {
                        g.delimiter()
                    };
                    out.push(TokenTree::Group(Group::new(
                        delim,
                        mutate_tree(rng, g.stream(), depth + 1),
                    )));
                }
                other => out.push(other),
            },
        }
    }
    out.into_iter().collect()
}

/// Byte-ish edits of the text: cut, splice a fragment, duplicate a span.
fn mutate_text(rng: &mut Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(3) {
        let i = rng.below(chars.len() + 1);
        let j = (i + rng.below(8)).min(chars.len());
        match rng.below(3) {
            0 => {
                chars.drain(i..j);
            }
            1 => {
                let frag = if rng.chance(2) {
                    rng.pick(IDENTS).to_string()
                } else {
                    rng.pick(PUNCTS).to_string()
                };
                chars.splice(i..j, format!(" {frag} ").chars());
            }
            _ => {
                let span: Vec<char> = chars[i..j].to_vec();
                let k = rng.below(chars.len() + 1);
                chars.splice(k..k, span);
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn mutated_functions_never_panic() {
    // The seeds themselves expand without errors.
    for (k, args, item) in SEEDS {
        let out = run(
            *k,
            TokenStream::from_str(args).unwrap(),
            TokenStream::from_str(item).unwrap(),
        )
        .to_string();
        assert!(
            !out.contains("compile_error"),
            "seed does not expand cleanly: {out}"
        );
        assert!(syn::parse_str::<syn::ItemFn>(item).is_ok());
    }
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let mut relexed = 0;
    let mut clean = 0u32;
    for case in 0..MUTATION_CASES {
        let (k, args, item) = rng.pick(SEEDS);
        let mut args = TokenStream::from_str(args).unwrap();
        if rng.chance(8) {
            let seed = random_stream(&mut rng, 4, 1);
            args = mutate_tree(&mut rng, seed, 0);
        }
        let item = if rng.chance(2) {
            let tokens = TokenStream::from_str(item).unwrap();
            mutate_tree(&mut rng, tokens, 0)
        } else {
            match TokenStream::from_str(&mutate_text(&mut rng, item)) {
                Ok(ts) => {
                    relexed += 1;
                    ts
                }
                Err(_) => continue, // not lexable: rustc would never call the macro
            }
        };
        let kind = if rng.chance(10) { kind(&mut rng) } else { *k };
        let out = no_panic(&format!("mutation case {case}"), kind, &args, &item);
        clean += !out.contains("compile_error") as u32;
    }
    eprintln!("mutations: {MUTATION_CASES} cases, {relexed} text mutations lexed, {clean} expanded without errors");
    assert!(
        relexed > MUTATION_CASES / 8,
        "too few text mutations lexed: {relexed}"
    );
}
