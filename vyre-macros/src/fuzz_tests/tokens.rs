//! Random token trees for the fuzz tests: identifiers and punctuation that
//! the macro cares about, literals of every kind, nested groups.

// `*rng.pick(..)` names the element type the literal constructors take;
// without the explicit deref the array literals do not infer.
#![allow(clippy::explicit_auto_deref)]

use std::str::FromStr;

use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

use super::Rng;

/// Identifiers: keywords, types, parameter names and methods of the subset, and some beyond it.
pub(super) const IDENTS: &[&str] = &[
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

/// Punctuation, single and joint.
pub(super) const PUNCTS: &[&str] = &[
    "+", "-", "*", "/", "%", "^", "!", "&", "|", "&&", "||", "<<", ">>", "+=", "-=", "*=", "/=",
    "%=", "^=", "&=", "|=", "<<=", ">>=", "=", "==", "!=", ">", "<", ">=", "<=", "@", ".", "..",
    "..=", ",", ";", ":", "::", "->", "=>", "#", "$", "?", "~", "'",
];

/// A random literal: suffixed, unsuffixed, out of range, or not a number at all.
pub(super) fn literal(rng: &mut Rng) -> Literal {
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

/// A random punctuation sequence, joint where it has several characters.
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

/// A random identifier (raw for `r#...`).
fn ident(rng: &mut Rng) -> Ident {
    let name = *rng.pick(IDENTS);
    match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(name, Span::call_site()),
    }
}

/// A random token stream of up to `len` trees, groups nested up to `depth`.
pub(super) fn random_stream(rng: &mut Rng, len: usize, depth: u32) -> TokenStream {
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
