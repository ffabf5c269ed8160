//! syn signatures → [`crate::ast`]: the qualifiers a payload or helper may
//! not have, its parameters with their `#[vyre(..)]` attributes and kinds,
//! and the scalar types that parameters, locals, constants and casts name.

use syn::spanned::Spanned;
use syn::{FnArg, Ident, Pat, Type};

use super::{is_u8_slice, type_name, Parser};
use crate::ast::{FnKind, Param, ParamKind, Scalar};

/// Reports the qualifiers of `sig` outside the subset: `const`, `async`,
/// `unsafe`, `extern`, generics and variadics.
pub(super) fn check_signature(p: &mut Parser<'_>, kind: FnKind, sig: &syn::Signature) {
    let what = match kind {
        FnKind::Payload => "payload",
        FnKind::Helper => "helper",
        FnKind::Combine => "combine function",
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
    let attrs = p.param_attrs(&pt.attrs);
    let (position, len, reduce) = (attrs.position, attrs.len, attrs.reduce);
    let ty = &*pt.ty;
    let k = if kind == FnKind::Helper {
        ParamKind::Scalar(p.scalar_type(ty, "helper parameter")?)
    } else {
        p.payload_param_kind(kind, ty)?
    };
    let (kind, position) = match (k, position) {
        (ParamKind::Scalar(Scalar::U32), Some((_, ir))) => (ParamKind::ChunkStart, ir),
        (_, Some((attr, _))) => {
            p.errs.push(ty.span(), format!("`#[vyre({attr})]` marks a word the runtime supplies, which must be a `u32`\nFix: write `#[vyre({attr})] {name}: u32`"));
            (k, "ChunkStart")
        }
        _ => (k, "ChunkStart"),
    };
    if len.is_some() && !matches!(kind, ParamKind::Output | ParamKind::Accumulator) {
        p.errs.push(name.span(), "`#[vyre(len = N)]` applies only to `&mut [u32]` outputs and `&[AtomicU32]` accumulators\nFix: remove it");
    }
    if reduce.is_some() && !matches!(kind, ParamKind::Output | ParamKind::Accumulator) {
        p.errs.push(name.span(), "`#[vyre(reduce = ..)]` applies only to `&mut [u32]` outputs and `&[AtomicU32]` accumulators\nFix: remove it");
    } else if reduce.is_some() && len.is_none() {
        p.errs.push(name.span(), "a reduction needs the result's length\nFix: add `len = N`, e.g. `#[vyre(len = 1, reduce = max)]`");
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
        position,
        reduce,
    })
}

/// The `#[vyre(..)]` attributes of one parameter.
#[derive(Default)]
struct ParamAttrs {
    /// A position word (`start`, `chunk_offset`, ...): the attribute's
    /// spelling and the `vyre::ParamKind` variant.
    position: Option<(&'static str, &'static str)>,
    /// `len = N`.
    len: Option<u32>,
    /// `reduce = op`: the `vyre::Reduce` variant.
    reduce: Option<&'static str>,
}

/// Position attributes: spelling → `vyre::ParamKind` variant.
const POSITIONS: [(&str, &str); 6] = [
    ("start", "ChunkStart"),
    ("chunk_offset", "ChunkOffset"),
    ("chunk_offset_hi", "ChunkOffsetHi"),
    ("file_len", "FileLen"),
    ("file_len_hi", "FileLenHi"),
    ("chunk_index", "ChunkIndex"),
];

/// Reductions: spelling → `vyre::Reduce` variant.
const REDUCTIONS: [(&str, &str); 6] = [
    ("sum", "Sum"),
    ("min", "Min"),
    ("max", "Max"),
    ("and", "And"),
    ("or", "Or"),
    ("xor", "Xor"),
];

impl Parser<'_> {
    /// `#[vyre(start)]` (and the other position words), `#[vyre(len = N)]`,
    /// `#[vyre(reduce = op)]`.
    fn param_attrs(&mut self, attrs: &[syn::Attribute]) -> ParamAttrs {
        let mut out = ParamAttrs::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("vyre")) {
            let res = attr.parse_nested_meta(|meta| {
                if let Some(&(attr, ir)) = POSITIONS.iter().find(|(a, _)| meta.path.is_ident(a)) {
                    if out.position.is_some() {
                        return Err(meta.error("a parameter is one runtime word\nFix: keep one of `start`, `chunk_offset`, `chunk_offset_hi`, `file_len`, `file_len_hi`, `chunk_index`"));
                    }
                    out.position = Some((attr, ir));
                    Ok(())
                } else if meta.path.is_ident("len") {
                    let lit: syn::LitInt = meta.value()?.parse()?;
                    out.len = Some(lit.base10_parse::<u32>()?);
                    Ok(())
                } else if meta.path.is_ident("reduce") {
                    let op: Ident = meta.value()?.parse()?;
                    match REDUCTIONS.iter().find(|(a, _)| op == a) {
                        Some(&(_, ir)) => {
                            out.reduce = Some(ir);
                            Ok(())
                        }
                        None => Err(syn::Error::new(op.span(), format!("unknown reduction `{op}`\nFix: use one of sum, min, max, and, or, xor (or a `#[vyre::combine]` function: `#[vyre::payload(combine = f)]`)"))),
                    }
                } else {
                    Err(meta.error("unknown vyre parameter attribute\nFix: use `#[vyre(len = N)]`, `#[vyre(len = N, reduce = max)]`, or a runtime word: `#[vyre(start)]`, `chunk_offset`, `chunk_offset_hi`, `file_len`, `file_len_hi`, `chunk_index`"))
                }
            });
            if let Err(e) = res {
                self.errs.push(e.span(), e);
            }
        }
        out
    }

    /// The kind of a payload (or combine) parameter, from its type.
    fn payload_param_kind(&mut self, fn_kind: FnKind, ty: &Type) -> Option<ParamKind> {
        let fix = if fn_kind == FnKind::Combine {
            "combine parameters are `left: &[u32], right: &[u32], #[vyre(len = N)] out: &mut [u32]`"
        } else {
            "payload parameters are `&[u8]` (input bytes), `u32` (a scalar), `#[vyre(start)] u32` (and the other runtime words), `&mut [u32]` (outputs), `&[AtomicU32]` (accumulators) or `vyre::Lanes`"
        };
        match ty {
            Type::Reference(r) => {
                let elem = type_name(match &*r.elem {
                    Type::Slice(s) => &s.elem,
                    other => other,
                });
                let slice = matches!(&*r.elem, Type::Slice(_));
                match (r.mutability.is_some(), slice, elem.as_deref()) {
                    (false, true, Some("u8")) => return Some(ParamKind::Bytes),
                    (false, true, Some("u32")) if fn_kind == FnKind::Combine => {
                        return Some(ParamKind::Words)
                    }
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
