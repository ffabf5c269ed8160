//! Fuzzing the expansion with hostile token streams: random trees of idents,
//! literals, punctuation and groups (up to depth 4), and mutations of valid
//! payloads and helpers. `expand::run` must return tokens, never panic.
//!
//! A proc-macro crate cannot export functions to integration tests, so this
//! is a unit-test module. The RNG is a fixed-seed xorshift, so every run
//! tries the same cases; a panic fails with the offending input printed.
//! The inputs come from [`tokens`] (random token trees), [`shapes`] (random
//! functions of the subset) and [`mutations`] (edits of valid functions).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;

use proc_macro2::TokenStream;

use crate::ast::FnKind;
use crate::expand::run;

mod mutations;
mod shapes;
mod tokens;

use mutations::{mutate_text, mutate_tree};
use shapes::{stmts, PARAMS, TYPES};
use tokens::random_stream;

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
