//! Unit tests of the expansion: it never panics, reports errors as
//! `compile_error!` plus the original function, and expands the subset.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::FnKind;
use crate::expand::run;

fn expand(kind: FnKind, args: TokenStream, item: TokenStream) -> String {
    run(kind, args, item).to_string()
}

#[test]
fn expands_a_payload() {
    let out = expand(
        FnKind::Payload,
        quote!(),
        quote! {
            fn lc(data: &[u8], #[vyre(len = 1)] c: &[AtomicU32], lanes: Lanes) {
                let mut n = 0;
                for i in lanes.range(0..data.len() as u32) {
                    if data[i as usize] == b'\n' { n += 1; }
                }
                c[0].fetch_add(n, Ordering::Relaxed);
            }
        },
    );
    assert!(!out.contains("compile_error"), "{out}");
    assert!(out.contains("pub fn payload"));
    assert!(
        out.contains("0u32"),
        "unsuffixed literals get their inferred type natively: {out}"
    );
    assert!(
        !out.contains("# [vyre"),
        "parameter attributes are stripped: {out}"
    );
}

#[test]
fn errors_keep_the_original_function() {
    let out = expand(
        FnKind::Payload,
        quote!(),
        quote!(
            fn p(data: &[u8]) {
                let f = |x: u32| x;
            }
        ),
    );
    assert!(out.contains("compile_error"));
    assert!(out.contains("fn p"));
    assert!(
        out.contains("unreachable"),
        "a stub module avoids follow-on errors: {out}"
    );
}

#[test]
fn reports_several_errors() {
    let out = expand(
        FnKind::Payload,
        quote!(),
        quote!(
            fn p(a: u64, b: Vec<u8>) {
                let t = (1, 2);
                match 1 {
                    x if x > 1 => {}
                }
            }
        ),
    );
    assert_eq!(out.matches("compile_error").count(), 5, "{out}");
}

#[test]
fn never_panics_on_odd_input() {
    let cases = [
        quote!(
            struct S;
        ),
        quote!(fn),
        quote!(
            fn p() {
                loop {
                    break;
                }
                continue;
            }
        ),
        quote!(
            fn p(x: u32) -> u32 {
                x
            }
        ),
        quote!(
            fn p(#[vyre(len = "x")] o: &mut [u32]) {}
        ),
        quote!(
            fn p(#[vyre(bogus)] o: &mut [u32]) {}
        ),
        quote!(
            fn p(o: &mut [u32]) {
                o[0] = 99999999999999;
                o[1] = -1;
                o[2] = 1.0;
            }
        ),
        quote!(
            fn p(o: &mut [u32]) {
                let x = if true { 1 } else { 2.0 };
            }
        ),
        quote!(
            fn p(o: &mut [u32]) {
                let x: u8 = 300;
                let y = x >> 1.5;
            }
        ),
        quote!(
            fn p(o: &mut [u32]) {
                return 5;
            }
        ),
        quote!(
            fn p(o: &mut [u32]) {
                o[0] = undefined_fn(1, 2) + zz;
            }
        ),
        quote!(
            fn p(o: &mut [u32]) {
                const A: u32 = 1 << 40;
                const B: &[u8] = b"x";
                o[0] = B;
            }
        ),
    ];
    for item in cases {
        for kind in [FnKind::Payload, FnKind::Helper] {
            let _ = expand(kind, quote!(), item.clone());
            let _ = expand(kind, quote!(look_behind = 2), item.clone());
            let _ = expand(kind, quote!(nonsense), item.clone());
        }
    }
}

#[test]
fn helper_expands_with_sig() {
    let out = expand(
        FnKind::Helper,
        quote!(),
        quote!(
            fn h(a: u8, b: i32) -> bool {
                if a > 3 {
                    return true;
                }
                b < 0
            }
        ),
    );
    assert!(!out.contains("compile_error"), "{out}");
    assert!(out.contains("HelperSig < fn (u8 , i32) -> bool >"), "{out}");
}

#[test]
fn type_errors_drop_the_body() {
    // rustc would report `u32 += u8` again, from the original body.
    let out = expand(
        FnKind::Payload,
        quote!(),
        quote!(
            fn p(data: &[u8], #[vyre(len = 1)] out: &mut [u32]) {
                let mut n = 0u32;
                n += data[0];
                out[0] = n;
            }
        ),
    );
    assert_eq!(out.matches("compile_error").count(), 1, "{out}");
    assert!(!out.contains("n += data"), "{out}");
    assert!(out.contains("fn p"), "{out}");
}

#[test]
fn expands_match_arrays_and_floats() {
    let out = expand(
        FnKind::Payload,
        quote!(),
        quote!(
            fn p(data: &[u8], a: u32, #[vyre(len = 2)] out: &mut [u32]) {
                let mut h = [0u32; 4];
                for i in 0..data.len() {
                    h[(data[i] & 3) as usize] += 1;
                }
                out[0] = match a {
                    0 | 1 => h[0],
                    2..=9 => h[1],
                    _ => h.len() as u32,
                };
                out[1] = f32::from_bits(a).abs().max(0.5).to_bits();
            }
        ),
    );
    assert!(!out.contains("compile_error"), "{out}");
    assert!(out.contains("match a"), "a real `match` natively: {out}");
    assert!(
        out.contains("get_mut"),
        "array writes are bounds-checked: {out}"
    );
    assert!(out.contains("fmax"), "f32 max follows the IR: {out}");
}
