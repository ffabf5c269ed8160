//! Assembling the output: the native function plus the module of the same
//! name holding `payload()` (or, for helpers, `inline()` and `Sig`).

mod ir;
mod ir_access;
mod ir_array;
mod ir_expr;
mod ir_match;
mod ir_stmt;
mod native;
mod native_ext;

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use crate::ast::{FnKind, Func, ParamKind, Scalar};
use crate::valid::Typed;

/// `item` with every `#[vyre(..)]` parameter attribute removed.
pub fn strip_param_attrs(item: &syn::ItemFn) -> syn::ItemFn {
    let mut item = item.clone();
    for arg in item.sig.inputs.iter_mut() {
        if let syn::FnArg::Typed(pt) = arg {
            pt.attrs.retain(|a| !a.path().is_ident("vyre"));
        }
    }
    item
}

/// A stand-in module emitted next to a function that failed to expand, so
/// that uses of `name::payload()` / helper calls cause no follow-on errors.
pub fn stub_module(kind: FnKind, item: &syn::ItemFn) -> TokenStream {
    if item.sig.receiver().is_some() {
        // A method lives in an `impl`, where modules cannot go.
        return TokenStream::new();
    }
    let name = &item.sig.ident;
    let vis = &item.vis;
    match kind {
        FnKind::Payload => quote! {
            #[doc(hidden)]
            #[allow(dead_code)]
            #vis mod #name {
                #[doc(hidden)]
                pub fn payload() -> ::vyre::Payload {
                    ::core::unreachable!()
                }
            }
        },
        FnKind::Combine => quote! {
            #[doc(hidden)]
            #[allow(dead_code)]
            #vis mod #name {
                #[doc(hidden)]
                pub fn combine() -> ::vyre::Combine {
                    ::core::unreachable!()
                }
            }
        },
        FnKind::Helper => quote! {
            #[doc(hidden)]
            #[allow(dead_code)]
            #vis mod #name {
                #[doc(hidden)]
                pub struct Sig;
                impl<F> ::vyre::__private::native::HelperSig<F> for Sig {}
                impl ::vyre::__private::native::IsHelper for Sig {}
                #[doc(hidden)]
                pub fn inline(_: &mut ::vyre::__private::native::Inliner, _: &mut ::std::vec::Vec<::vyre::ir::Node>, _: ::std::vec::Vec<::vyre::ir::Expr>) -> ::std::string::String {
                    ::core::unreachable!()
                }
            }
        },
    }
}

fn param_tokens(f: &Func) -> Vec<TokenStream> {
    f.params
        .iter()
        .map(|p| {
            let kind = match p.kind {
                ParamKind::Bytes => quote!(Bytes),
                ParamKind::Scalar(_) => quote!(Scalar),
                ParamKind::ChunkStart => {
                    let ir = format_ident!("{}", p.position);
                    quote!(#ir)
                }
                ParamKind::Output => quote!(Output),
                ParamKind::Accumulator => quote!(Accumulator),
                ParamKind::Lanes => quote!(Lanes),
                ParamKind::Words => quote!(Words),
            };
            let name = p.name.to_string();
            let len = match p.len {
                Some(n) => quote!(::core::option::Option::Some(#n)),
                None => quote!(::core::option::Option::None),
            };
            let reduce = format_ident!("{}", p.reduce.unwrap_or("Sum"));
            quote!(::vyre::Param { name: ::std::string::String::from(#name), kind: ::vyre::ParamKind::#kind, len: #len, reduce: ::vyre::Reduce::#reduce })
        })
        .collect()
}

/// For each table constant: the `let` in `payload()` that evaluates it (in
/// the scope of the function's module, where its expression was written) and
/// the [`vyre::Table`] built from it.
fn table_tokens(t: &Typed) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let mut lets = Vec::new();
    let mut tables = Vec::new();
    for c in &t.consts {
        if let crate::ast::ConstValue::Table { name, ty, expr, .. } = c {
            let words = ir_access::table_words(name);
            let name_str = name.to_string();
            lets.push(quote! {
                #[allow(non_snake_case)]
                let #words: ::std::vec::Vec<u32> = {
                    #[allow(unused_imports)]
                    use super::*;
                    const #name: #ty = #expr;
                    #name.to_vec()
                };
            });
            tables.push(quote!(::vyre::Table { name: ::std::string::String::from(#name_str), words: #words.clone() }));
        }
    }
    (lets, tables)
}

/// The full expansion of a checked function.
pub fn generate(f: &Func, t: &Typed, item: &syn::ItemFn) -> TokenStream {
    let item = strip_param_attrs(item);
    let syn::ItemFn {
        attrs, vis, sig, ..
    } = &item;
    let body = native::body(&f.body, t);
    // The body is re-spelled (literals suffixed, buffers passed as `&b[..]`)
    // and written in the payload subset, whose forms some lints would
    // rewrite into syntax the subset refuses (`(a..=b).contains(x)`,
    // `x ^= y` on a buffer element, iterator loops): those lints stay quiet.
    let native_fn = quote! {
        #(#attrs)*
        #[allow(
            unused_parens,
            unused_braces,
            clippy::precedence,
            clippy::double_parens,
            clippy::unnecessary_cast,
            clippy::redundant_slicing,
            clippy::manual_range_contains,
            clippy::assign_op_pattern,
            clippy::needless_range_loop,
            clippy::unusual_byte_groupings,
            clippy::manual_clamp,
            clippy::too_many_arguments
        )]
        #vis #sig #body
    };
    let mut g = ir::Gen::new(f, t);
    let module = match f.kind {
        FnKind::Payload => payload_module(f, t, &mut g, vis),
        FnKind::Combine => combine_module(f, t, &mut g, vis),
        FnKind::Helper => helper_module(f, &mut g, vis),
    };
    quote!(#native_fn #module)
}

/// The module of a payload: `payload()` building its [`vyre::Payload`].
fn payload_module(f: &Func, t: &Typed, g: &mut ir::Gen<'_>, vis: &syn::Visibility) -> TokenStream {
    let name = &f.name;
    let name_str = name.to_string();
    let body = g.payload_body();
    let checks = &g.sig_checks;
    let call_mods = &g.call_mods;
    let params = param_tokens(f);
    let (table_lets, tables) = table_tokens(t);
    let lb = f.look_behind;
    let combine = match &f.combine {
        Some(path) => {
            let path = helper_path(path);
            quote!(::core::option::Option::Some(::std::boxed::Box::new(#path::combine())))
        }
        None => quote!(::core::option::Option::None),
    };
    let doc = format!("The vyre IR of the payload [`{name_str}`](fn@{name_str}), generated by `#[vyre::payload]`.");
    let entry = native_entry(f, t);
    quote! {
        #[doc = #doc]
        #vis mod #name {
            #(#call_mods)*
            /// The payload: name, parameters and IR body. Run it standalone with
            /// [`Payload::to_program`](::vyre::Payload::to_program).
            #[allow(unused_mut, unused_variables, clippy::all)]
            pub fn payload() -> ::vyre::Payload {
                let __inl: &mut ::vyre::__private::native::Inliner = &mut ::vyre::__private::native::Inliner::new();
                #(#table_lets)*
                #(#checks)*
                let body: ::std::vec::Vec<::vyre::ir::Node> = #body;
                ::vyre::Payload {
                    name: ::std::string::String::from(#name_str),
                    params: ::std::vec![#(#params),*],
                    look_behind: #lb,
                    body,
                    tables: ::std::vec![#(#tables),*],
                    combine: #combine,
                    native: ::vyre::NativePayload::new(native_entry),
                }
            }

            #entry
        }
    }
}

/// `native_entry`, the payload's native entry point
/// ([`vyre::NativeSlot`]): binds each parameter as the slot ABI does —
/// the data, scalars from the slot's arguments in order, the runtime
/// words, result parameters from the result region in declaration order
/// (clipped to it; accumulators as atomics), one lane covering everything
/// — and calls the function.
fn native_entry(f: &Func, t: &Typed) -> TokenStream {
    let nat = quote!(::vyre::__private::native);
    // A copy of the function, compiled here: the module cannot name the
    // function itself when both are declared in a function body.
    let body = native::body_in_module(&f.body, t);
    let params = f.params.iter().map(|p| {
        let n = &p.name;
        let m = if p.mutable { quote!(mut) } else { quote!() };
        let ty = match p.kind {
            ParamKind::Bytes => quote!(&[u8]),
            ParamKind::Scalar(_) | ParamKind::ChunkStart => quote!(u32),
            ParamKind::Output => quote!(&mut [u32]),
            ParamKind::Accumulator => quote!(&[::core::sync::atomic::AtomicU32]),
            ParamKind::Lanes => quote!(::vyre::Lanes),
            ParamKind::Words => quote!(&[u32]),
        };
        quote!(#m #n: #ty)
    });
    let mut lets = Vec::new();
    let mut args = Vec::new();
    let mut scalar = 0usize;
    for (i, p) in f.params.iter().enumerate() {
        let v = format_ident!("__p{}", i);
        let value = match p.kind {
            ParamKind::Bytes => quote!(__s.data),
            ParamKind::Scalar(_) => {
                let k = scalar;
                scalar += 1;
                quote!(__s.args.get(#k).copied().unwrap_or(0))
            }
            ParamKind::ChunkStart => match p.position {
                "ChunkOffset" => quote!(__s.chunk_offset),
                "ChunkOffsetHi" => quote!(__s.chunk_offset_hi),
                "FileLen" => quote!(__s.file_len),
                "FileLenHi" => quote!(__s.file_len_hi),
                "ChunkIndex" => quote!(__s.chunk_index),
                _ => quote!(__s.start),
            },
            ParamKind::Output | ParamKind::Accumulator | ParamKind::Words => {
                let len = match p.len {
                    Some(n) => quote!(::core::option::Option::Some(#n)),
                    None => quote!(::core::option::Option::None),
                };
                lets.push(quote!(let (#v, __rest) = #nat::take_words(__rest, #len);));
                match p.kind {
                    ParamKind::Accumulator => {
                        // Copied into atomics, written back when dropped.
                        lets.push(quote!(let #v = #nat::AtomicWords::new(#v);));
                        quote!(#v.atomics())
                    }
                    ParamKind::Words => quote!(&*#v),
                    _ => quote!(#v),
                }
            }
            ParamKind::Lanes => quote!(::vyre::Lanes::all()),
        };
        args.push(value);
    }
    quote! {
        /// The payload's native entry point: runs the function on one slot
        /// (what `vyre scan --backend native` calls).
        #[allow(unused_variables, clippy::all)]
        pub fn native_entry(__s: &mut ::vyre::NativeSlot<'_>) {
            #[allow(unused_imports)]
            use super::*;
            #[allow(
                unused_parens,
                unused_braces,
                unused_mut,
                clippy::all
            )]
            fn __vyre_native(#(#params),*) #body
            let __rest: &mut [u32] = &mut *__s.results;
            #(#lets)*
            __vyre_native(#(#args),*);
        }
    }
}

/// The module of a combine: `combine()` building its [`vyre::Combine`]
/// (identity, IR function, and the native function itself).
fn combine_module(f: &Func, t: &Typed, g: &mut ir::Gen<'_>, vis: &syn::Visibility) -> TokenStream {
    let name = &f.name;
    let name_str = name.to_string();
    let body = g.payload_body();
    let checks = &g.sig_checks;
    let call_mods = &g.call_mods;
    let params = param_tokens(f);
    let (table_lets, tables) = table_tokens(t);
    let identity = match &f.identity {
        Some(e) => quote!(#e),
        None => quote!([]),
    };
    let doc = format!("The vyre IR of the combine function [`{name_str}`](fn@{name_str}), generated by `#[vyre::combine]`.");
    quote! {
        #[doc = #doc]
        #vis mod #name {
            #(#call_mods)*
            /// The combine: identity, IR function and native function.
            #[allow(unused_mut, unused_variables, clippy::all)]
            pub fn combine() -> ::vyre::Combine {
                let __inl: &mut ::vyre::__private::native::Inliner = &mut ::vyre::__private::native::Inliner::new();
                let identity: ::std::vec::Vec<u32> = {
                    #[allow(unused_imports)]
                    use super::*;
                    const IDENTITY: &[u32] = &#identity;
                    IDENTITY.to_vec()
                };
                #(#table_lets)*
                #(#checks)*
                let body: ::std::vec::Vec<::vyre::ir::Node> = #body;
                ::vyre::Combine {
                    identity,
                    func: ::vyre::Payload {
                        name: ::std::string::String::from(#name_str),
                        params: ::std::vec![#(#params),*],
                        look_behind: 0,
                        body,
                        tables: ::std::vec![#(#tables),*],
                        combine: ::core::option::Option::None,
                        native: ::vyre::NativePayload::none(),
                    },
                    native: ::core::option::Option::Some(::vyre::NativeCombine(super::#name)),
                }
            }
        }
    }
}

/// The module of a helper: its `Sig` marker and `inline()`, which appends its
/// IR to a caller's.
fn helper_module(f: &Func, g: &mut ir::Gen<'_>, vis: &syn::Visibility) -> TokenStream {
    let name = &f.name;
    let name_str = name.to_string();
    let ret = f.ret.map(|(s, _)| s).unwrap_or(Scalar::U32);
    let stmts = g.helper_body(ret);
    let checks = &g.sig_checks;
    let call_mods = &g.call_mods;
    let mut binds = Vec::new();
    let mut tys = Vec::new();
    for p in &f.params {
        let s = match p.kind {
            ParamKind::Scalar(s) => s,
            _ => Scalar::U32,
        };
        tys.push(format_ident!("{}", s.name()));
        let pname = ir::name_tokens(FnKind::Helper, &p.name.to_string());
        let signed = s == Scalar::I32;
        let mask = s.mask().unwrap_or(u32::MAX);
        binds.push(quote! {
            __b.push(::vyre::ir::Node::Let {
                name: #pname,
                value: ::vyre::__private::native::coerce_arg(__args.next().unwrap_or_else(|| ::vyre::ir::Expr::u32(0)), #signed, #mask),
            });
        });
    }
    let ret_ty = format_ident!("{}", ret.name());
    let doc = format!("The vyre IR of the helper [`{name_str}`](fn@{name_str}), inlined into payloads that call it.");
    quote! {
        #[doc = #doc]
        #vis mod #name {
            /// Marker carrying the helper's signature (checked where it is called).
            #[doc(hidden)]
            pub struct Sig;
            impl ::vyre::__private::native::HelperSig<fn(#(#tys),*) -> #ret_ty> for Sig {}
            impl ::vyre::__private::native::IsHelper for Sig {}
            #(#call_mods)*

            /// Appends the helper's IR, with fresh variable names, to `__out` and
            /// returns the name of the variable holding its result.
            #[doc(hidden)]
            #[allow(unused_mut, unused_variables, clippy::all)]
            pub fn inline(
                __inl: &mut ::vyre::__private::native::Inliner,
                __out: &mut ::std::vec::Vec<::vyre::ir::Node>,
                __args: ::std::vec::Vec<::vyre::ir::Expr>,
            ) -> ::std::string::String {
                let __pre: ::std::string::String = __inl.enter(#name_str);
                let mut __args = __args.into_iter();
                let mut __b: ::std::vec::Vec<::vyre::ir::Node> = ::std::vec::Vec::new();
                #(#checks)*
                #(#binds)*
                #(#stmts)*
                __out.extend(__b);
                __inl.leave();
                ::std::format!("{}ret__", __pre)
            }
        }
    }
}

/// Rewrites a helper path as seen from inside the generated module:
/// `f` → `super::f`, `self::a::f` → `super::a::f`, `super::f` → `super::super::f`;
/// `crate::..` and `::..` stay.
pub fn helper_path(path: &syn::Path) -> TokenStream {
    let span = syn::spanned::Spanned::span(path);
    let first = path
        .segments
        .first()
        .map(|s| s.ident.to_string())
        .unwrap_or_default();
    if path.leading_colon.is_some() || first == "crate" {
        return quote!(#path);
    }
    let segs: Vec<&syn::Ident> = path.segments.iter().map(|s| &s.ident).collect();
    if first == "self" {
        let rest = &segs[1..];
        return quote_spanned!(span=> super #(::#rest)*);
    }
    quote_spanned!(span=> super #(::#segs)*)
}
