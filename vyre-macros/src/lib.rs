//! `#[vyre::payload]` and `#[vyre::helper]`: plain Rust functions compiled,
//! at compile time, to vyre IR.
//!
//! Use them through the `vyre` crate (`#[vyre::payload]`), which documents
//! the supported Rust subset. This crate is the implementation:
//!
//! * `parse`: syn → the macro's own small AST (`ast`), reporting every
//!   construct outside the subset with its span and a `Fix:`;
//! * `valid`: name resolution and type inference, again collecting all errors;
//! * `generate`: the native function (rewritten so that it computes exactly
//!   what the IR computes) and the module with `payload()` / `inline()`.
//!
//! On any error the macro emits every error as a `compile_error!` *and* the
//! function (unchanged after a parse error; after a type error with its
//! body replaced, since rustc would report the same mistakes again), plus a
//! stub module, so there is no cascade of follow-on errors.

mod ast;
mod errors;
mod expand;
mod generate;
mod parse;
mod valid;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Compiles a Rust function to a vyre payload: keeps the native function and
/// adds `mod <name> { pub fn payload() -> vyre::Payload }`.
///
/// Arguments: `#[vyre::payload]` or `#[vyre::payload(look_behind = N)]`.
/// See the `vyre` crate documentation for the supported subset.
#[proc_macro_attribute]
pub fn payload(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::run(ast::FnKind::Payload, args.into(), item.into()).into()
}

/// Compiles a function that joins two per-chunk summaries of a payload
/// (`fn f(left: &[u32], right: &[u32], #[vyre(len = N)] out: &mut [u32])`)
/// to vyre IR, for `#[vyre::payload(combine = f)]`: keeps the native
/// function and adds `mod <name> { pub fn combine() -> vyre::Combine }`.
///
/// Argument: `identity = EXPR`, the summary of no bytes (a constant
/// expression of `N` words, e.g. `[0, 0, 0]`).
#[proc_macro_attribute]
pub fn combine(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::run(ast::FnKind::Combine, args.into(), item.into()).into()
}

/// Marks a scalar function (`fn f(a: u32, b: u8) -> u32`) callable from
/// payloads, where it is inlined. Keeps the native function and adds
/// `mod <name> { pub fn inline(..) }` for the generated code.
#[proc_macro_attribute]
pub fn helper(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::run(ast::FnKind::Helper, args.into(), item.into()).into()
}
