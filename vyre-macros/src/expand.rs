//! The driver: parse, check, generate; on errors, all errors plus the
//! original function.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::FnKind;
use crate::errors::Errors;
use crate::generate::{generate, strip_param_attrs, stub_module};

/// Expands the attribute; never panics.
pub fn run(kind: FnKind, args: TokenStream, item: TokenStream) -> TokenStream {
    let item_fn: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let what = kind.attr();
            let msg = format!("{what} applies to functions only\nFix: put it on a `fn` item");
            let err = syn::Error::new(proc_macro2::Span::call_site(), msg).to_compile_error();
            return quote!(#err #item);
        }
    };
    match expand(kind, args, &item_fn) {
        Ok(ts) => ts,
        Err((e, phase)) => {
            let errs = e.to_compile_error();
            let mut original = strip_param_attrs(&item_fn);
            if phase == Phase::Check {
                // The body is valid syntax of the subset but mistyped: rustc
                // would report the same mistakes again (with less helpful
                // messages), so only the signature is kept.
                *original.block = syn::parse_quote!({ ::core::unreachable!() });
                original.attrs.push(
                    syn::parse_quote!(#[allow(unused_variables, unused_mut, unreachable_code)]),
                );
            }
            let stub = stub_module(kind, &item_fn);
            quote!(#errs #original #stub)
        }
    }
}

/// Where expansion failed.
#[derive(PartialEq, Eq)]
pub enum Phase {
    /// Parsing: constructs outside the subset (the original body stays:
    /// rustc accepts it or reports its own, different, problems).
    Parse,
    /// Checking: names and types.
    Check,
}

/// Parses the attribute arguments, the function, checks it and generates the output.
pub fn expand(
    kind: FnKind,
    args: TokenStream,
    item: &syn::ItemFn,
) -> Result<TokenStream, (syn::Error, Phase)> {
    let mut errs = Errors::default();
    let args = attr_args(kind, args, &mut errs);
    if kind == FnKind::Combine && args.identity.is_none() {
        errs.push(
            item.sig.ident.span(),
            "a #[vyre::combine] needs the summary of no bytes\nFix: write `#[vyre::combine(identity = [0, 0, 0])]` (one word per summary word)",
        );
    }
    let func = crate::parse::parse_fn(kind, item, args, &mut errs);
    errs.finish().map_err(|e| (e, Phase::Parse))?;
    let mut errs = Errors::default();
    let typed = crate::valid::check(&func, &mut errs);
    errs.finish().map_err(|e| (e, Phase::Check))?;
    Ok(generate(&func, &typed, item))
}

/// The attribute's arguments.
#[derive(Default)]
pub struct AttrArgs {
    /// `look_behind = N` (payloads).
    pub look_behind: u32,
    /// `combine = path` (payloads).
    pub combine: Option<syn::Path>,
    /// `identity = EXPR` (combines).
    pub identity: Option<syn::Expr>,
}

fn attr_args(kind: FnKind, args: TokenStream, errs: &mut Errors) -> AttrArgs {
    let mut out = AttrArgs::default();
    if args.is_empty() {
        return out;
    }
    let parser = syn::meta::parser(|meta| {
        match kind {
        FnKind::Payload if meta.path.is_ident("look_behind") => {
            let lit: syn::LitInt = meta.value()?.parse()?;
            out.look_behind = lit.base10_parse::<u32>()?;
            Ok(())
        }
        FnKind::Payload if meta.path.is_ident("combine") => {
            out.combine = Some(meta.value()?.parse()?);
            Ok(())
        }
        FnKind::Payload => Err(meta.error(
            "unknown #[vyre::payload] argument\nFix: the arguments are `look_behind = N` and `combine = f` (a `#[vyre::combine]` function)",
        )),
        FnKind::Combine if meta.path.is_ident("identity") => {
            out.identity = Some(meta.value()?.parse()?);
            Ok(())
        }
        FnKind::Combine => Err(meta.error(
            "unknown #[vyre::combine] argument\nFix: the only argument is `identity = [..]` (the summary of no bytes)",
        )),
        FnKind::Helper => {
            Err(meta.error("#[vyre::helper] takes no arguments\nFix: write `#[vyre::helper]`"))
        }
    }
    });
    if let Err(e) = syn::parse::Parser::parse2(parser, args) {
        errs.push(e.span(), e);
    }
    out
}
