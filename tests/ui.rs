//! Compile-fail and compile-pass tests of `#[vyre::payload]` / `#[vyre::helper]`.
//!
//! Every `tests/ui/fail/*.rs` holds one unsupported construct (except
//! `several_errors.rs`); its `.stderr` is the reviewed diagnostic: the span on
//! the offending syntax, the message saying what is not supported and `Fix:`.
//! Regenerate with `TRYBUILD=overwrite cargo test --test ui` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
