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
