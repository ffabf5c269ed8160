//! syn signatures → [`crate::ast`]: the qualifiers a payload or helper may
//! not have, its parameters with their `#[vyre(..)]` attributes and kinds,
//! and the scalar types that parameters, locals, constants and casts name.

use syn::spanned::Spanned;
use syn::{FnArg, Pat, Type};

use super::{is_u8_slice, type_name, Parser};
use crate::ast::{FnKind, Param, ParamKind, Scalar};

/// Reports the qualifiers of `sig` outside the subset: `const`, `async`,
/// `unsafe`, `extern`, generics and variadics.
pub(super) fn check_signature(p: &mut Parser<'_>, kind: FnKind, sig: &syn::Signature) {
    let what = if kind == FnKind::Payload {
        "payload"
    } else {
        "helper"
    };
    if let Some(t) = &sig.constness {
        p.errs
            .unsupported(t.span, format!("`const fn` as a {what}"), "remove `const`");
    }
    if let Some(t) = &sig.asyncness {
        p.errs.unsupported(
            t.span,
            "`async` functions",
            "remove `async`: a payload runs to completion on the GPU",
        );
    }
    if let Some(t) = &sig.unsafety {
        p.errs.unsupported(
            t.span,
            "`unsafe` functions",
            "remove `unsafe`: every buffer access in a payload is bounds-checked",
        );
    }
    if let Some(abi) = &sig.abi {
        p.errs
            .unsupported(abi.span(), "`extern` functions", "remove the ABI");
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        p.errs.unsupported_node(
            &sig.generics,
            "generic functions",
            "write the function for concrete types (u8, u16, u32, i32, f32, bool)",
        );
    }
    if let Some(v) = &sig.variadic {
        p.errs
            .unsupported(v.span(), "variadic functions", "remove the `...`");
    }
}

/// One parameter: its name, kind (from the type and `#[vyre(start)]`) and
/// `#[vyre(len = N)]`; `None` after reporting an error.
pub(super) fn parse_param(p: &mut Parser<'_>, kind: FnKind, arg: &FnArg) -> Option<Param> {
    let pt = match arg {
        FnArg::Receiver(r) => {
            p.errs.unsupported_node(
                r,
                "methods (`self`)",
                "make it a free function and pass the data as parameters",
            );
            return None;
        }
        FnArg::Typed(pt) => pt,
    };
    let (name, mutable) = match &*pt.pat {
        Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
            (pi.ident.clone(), pi.mutability.is_some())
        }
        other => {
            p.errs.unsupported(
                other.span(),
                "patterns in parameters",
                "bind each parameter to a plain name, e.g. `data: &[u8]`",
            );
            return None;
        }
    };
    p.check_name(&name);
    let (start, len) = p.param_attrs(&pt.attrs);
    let ty = &*pt.ty;
    let k = if kind == FnKind::Helper {
        ParamKind::Scalar(p.scalar_type(ty, "helper parameter")?)
    } else {
        p.payload_param_kind(ty)?
    };
    let kind = match (k, start) {
        (ParamKind::Scalar(Scalar::U32), true) => ParamKind::ChunkStart,
        (_, true) => {
            p.errs.push(ty.span(), "`#[vyre(start)]` marks the chunk-start index, which must be a `u32`\nFix: write `#[vyre(start)] start: u32`");
            k
        }
        _ => k,
    };
    if len.is_some() && !matches!(kind, ParamKind::Output | ParamKind::Accumulator) {
        p.errs.push(name.span(), "`#[vyre(len = N)]` applies only to `&mut [u32]` outputs and `&[AtomicU32]` accumulators\nFix: remove it");
    }
    if mutable && !matches!(kind, ParamKind::Scalar(_) | ParamKind::ChunkStart) {
        p.errs.push(
            name.span(),
            "only scalar parameters may be `mut`\nFix: remove `mut`",
        );
    }
    Some(Param {
        name,
        kind,
        len,
        mutable,
    })
}

impl Parser<'_> {
    /// `#[vyre(start)]` and `#[vyre(len = N)]`.
    fn param_attrs(&mut self, attrs: &[syn::Attribute]) -> (bool, Option<u32>) {
        let mut start = false;
        let mut len = None;
        for attr in attrs.iter().filter(|a| a.path().is_ident("vyre")) {
            let res = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("start") {
                    start = true;
                    Ok(())
                } else if meta.path.is_ident("len") {
                    let lit: syn::LitInt = meta.value()?.parse()?;
                    len = Some(lit.base10_parse::<u32>()?);
                    Ok(())
                } else {
                    Err(meta.error("unknown vyre parameter attribute\nFix: use `#[vyre(start)]` or `#[vyre(len = N)]`"))
                }
            });
            if let Err(e) = res {
                self.errs.push(e.span(), e);
            }
        }
        (start, len)
    }

    /// The kind of a payload parameter, from its type.
    fn payload_param_kind(&mut self, ty: &Type) -> Option<ParamKind> {
        let fix = "payload parameters are `&[u8]` (input bytes), `u32` (a scalar), `#[vyre(start)] u32`, `&mut [u32]` (outputs), `&[AtomicU32]` (accumulators) or `vyre::Lanes`";
        match ty {
            Type::Reference(r) => {
                let elem = type_name(match &*r.elem {
                    Type::Slice(s) => &s.elem,
                    other => other,
                });
                let slice = matches!(&*r.elem, Type::Slice(_));
                match (r.mutability.is_some(), slice, elem.as_deref()) {
                    (false, true, Some("u8")) => return Some(ParamKind::Bytes),
                    (true, true, Some("u32")) => return Some(ParamKind::Output),
                    (false, true, Some("AtomicU32")) => return Some(ParamKind::Accumulator),
                    (false, true, Some(_)) if !is_u8_slice(&r.elem) => {
                        self.errs.push_node(ty, format!("input buffers must be `&[u8]`\nFix: take the input as `&[u8]`; {fix}"));
                    }
                    (true, true, Some("u8")) => {
                        self.errs.push_node(ty, format!("payload outputs are words: `&mut [u32]`\nFix: take `&mut [u32]` and store `u32` values; {fix}"));
                    }
                    _ => self
                        .errs
                        .push_node(ty, format!("unsupported parameter type\nFix: {fix}")),
                }
                None
            }
            _ => {
                let name = type_name(ty);
                match name.as_deref() {
                    Some("u32") => Some(ParamKind::Scalar(Scalar::U32)),
                    Some("Lanes") => Some(ParamKind::Lanes),
                    Some(n @ ("u64" | "i64" | "u128" | "i128" | "isize")) => {
                        self.errs.unsupported_node(
                            ty,
                            format!("64/128-bit integers (`{n}`)"),
                            "use `u32` (every vyre value is 32 bits)",
                        );
                        None
                    }
                    Some(n @ ("u8" | "u16" | "i32" | "f32" | "bool" | "usize")) => {
                        self.errs.push_node(ty, format!("payload scalar parameters are `u32`, not `{n}`\nFix: take `u32` and convert inside with `as`"));
                        None
                    }
                    _ => {
                        self.heap_or_generic(ty, fix);
                        None
                    }
                }
            }
        }
    }

    /// Reports an unsupported parameter type, naming heap types.
    fn heap_or_generic(&mut self, ty: &Type, fix: &str) {
        let head = match ty {
            Type::Path(tp) => tp.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        };
        match head.as_deref() {
            Some(
                h @ ("Vec" | "String" | "Box" | "Rc" | "Arc" | "HashMap" | "BTreeMap" | "VecDeque"),
            ) => self.errs.unsupported_node(
                ty,
                format!("heap types (`{h}`)"),
                format!("GPU code cannot allocate; {fix}"),
            ),
            _ => self
                .errs
                .push_node(ty, format!("unsupported parameter type\nFix: {fix}")),
        }
    }

    /// A scalar type (`u8`, `u16`, `u32`, `usize`, `i32`, `f32`, `bool`), with an error otherwise.
    pub fn scalar_type(&mut self, ty: &Type, what: &str) -> Option<Scalar> {
        if let Some(s) = type_name(ty).as_deref().and_then(Scalar::from_name) {
            if matches!(ty, Type::Path(tp) if tp.path.segments.len() == 1) {
                return Some(s);
            }
        }
        match type_name(ty).as_deref() {
            Some(n @ ("u64" | "i64" | "u128" | "i128" | "isize" | "f64")) => {
                self.errs.unsupported_node(
                    ty,
                    format!("64/128-bit types (`{n}`)"),
                    "use a 32-bit type (`u32`, `i32` or `f32`)",
                )
            }
            Some(n @ ("i8" | "i16" | "char")) => self.errs.unsupported_node(
                ty,
                format!("`{n}`"),
                "use `u8`, `u16`, `u32`, `i32`, `f32` or `bool`",
            ),
            _ => match ty {
                Type::Reference(_) | Type::Ptr(_) => self.errs.unsupported_node(
                    ty,
                    format!("references as a {what}"),
                    "pass the value (`u32`, `i32`, ...) instead",
                ),
                _ => self.heap_or_generic(
                    ty,
                    &format!("a {what} must be one of u8, u16, u32, usize, i32, f32, bool"),
                ),
            },
        }
        None
    }
}
