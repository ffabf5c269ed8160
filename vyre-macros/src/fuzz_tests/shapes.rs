//! Random function shapes for the fuzz tests: parameter lists, expressions
//! and statements of the Rust subset (and a little beyond it), as text.

use super::tokens::{literal, random_stream};
use super::Rng;

/// Parameters, valid and not.
pub(super) const PARAMS: &[&str] = &[
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
/// Binary operators.
const BINOPS: &[&str] = &[
    "+", "-", "*", "/", "%", "^", "&", "|", "<<", ">>", "==", "!=", "<", "<=", ">", ">=", "&&",
    "||",
];
/// Names, declared or not.
const VARS: &[&str] = &[
    "data", "k", "m", "start", "acc", "o", "out", "lanes", "x", "y", "f", "b", "n", "i", "N",
    "u8::MAX", "i32::MIN",
];
/// Types, supported or not.
pub(super) const TYPES: &[&str] = &[
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
pub(super) fn stmts(rng: &mut Rng, depth: u32) -> String {
    let mut out = String::new();
    for _ in 0..rng.below(5) {
        let d = depth.saturating_sub(1);
        let s = match rng.below(15) {
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
            12 if depth > 0 => format!(
                "match {} {{ {} => {{ {} }} {} => {}, {} }}",
                expr(rng, 2),
                rng.pick(&["0", "1 | 2", "b'a'..=b'z'", "-3", "x", "0..", "300", "_"]),
                stmts(rng, d),
                rng.pick(&["5..=9", "u8::MAX", "7 if n > 1", "(3)", "_"]),
                expr(rng, 2),
                rng.pick(&["_ => {}", "", "_ => 1,", "10..=4 => {}"])
            ),
            13 => format!(
                "let {}a{} = {}; a[{}] {} {};",
                rng.pick(&["", "mut "]),
                rng.pick(&["", ": [u32; 3]", ": [u8; 2]", ": u32", ": [f32; 65]"]),
                rng.pick(&[
                    "[0u32; 3]",
                    "[1, 2, 3]",
                    "[n; 0]",
                    "[x, 1.0]",
                    "[true; 4]",
                    "[[0; 2]; 2]"
                ]),
                expr(rng, 2),
                rng.pick(&["=", "+=", "<<="]),
                expr(rng, 2)
            ),
            14 => format!(
                "let {} = {};",
                rng.pick(&[
                    "(a, b)",
                    "(mut a, _)",
                    "(a, (b, c))",
                    "(a, b): (u32, u8)",
                    "(a,)"
                ]),
                rng.pick(&[
                    "(1, n)",
                    "(b, a)",
                    "if n > 1 { (1, 2) } else { (2, 1) }",
                    "if n > 1 { (1, 2) }",
                    "(1, 2, 3)",
                    "t"
                ])
            ),
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
