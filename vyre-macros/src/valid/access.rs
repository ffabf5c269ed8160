//! Typing of buffer accesses and writes: indexing, `.len()`, `.word(w)`,
//! lane ids, atomics on accumulator elements, stores to outputs and
//! assignments to variables.

use syn::Ident;

use super::{Checker, Res, Ty};
use crate::ast::{AtomicMethod, BinOp, ConstValue, CxUse, Expr, ParamKind, Scalar};

/// What a buffer-like name is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Base {
    Bytes,
    Output,
    Accumulator,
    ConstBytes,
    Table,
    Lanes,
    Scalar,
    /// A combine's `&[u32]` input.
    Words,
    /// A local array: its variable and whether it is `mut`.
    Array(usize, bool),
    Unknown,
}

impl Checker<'_> {
    /// Resolves the buffer-like `name` of `e` (recording the resolution) and
    /// says what it is; an unknown name is reported.
    fn base(&mut self, e: &Expr, name: &Ident) -> Base {
        let Some((res, mutable)) = self.lookup(name) else {
            self.unknown(name);
            return Base::Unknown;
        };
        self.res.insert(e.id, res);
        match res {
            Res::Local(v) if self.var_len[v].is_some() => Base::Array(v, mutable),
            Res::Param(i) => match self.f.params[i].kind {
                ParamKind::Bytes => Base::Bytes,
                ParamKind::Output => Base::Output,
                ParamKind::Accumulator => Base::Accumulator,
                ParamKind::Lanes => Base::Lanes,
                ParamKind::Words => Base::Words,
                ParamKind::Scalar(_) | ParamKind::ChunkStart => Base::Scalar,
            },
            Res::Const(i) => match self.consts[i] {
                ConstValue::Bytes(..) => Base::ConstBytes,
                ConstValue::Table { .. } => Base::Table,
                ConstValue::Scalar { .. } => Base::Scalar,
            },
            Res::Local(_) => Base::Scalar,
        }
    }

    /// Checks that the buffer index `idx` is a `usize`.
    fn buffer_index(&mut self, idx: &Expr) {
        self.typed_index(
            idx,
            ("buffer indices", "`usize`", "`data[i as usize]`"),
            Scalar::Usize,
            "this index",
        );
    }

    /// Checks that index `idx` has type `want`; `(what, want_name, example)`
    /// word the error and its fix.
    fn typed_index(
        &mut self,
        idx: &Expr,
        (what, want_name, example): (&str, &str, &str),
        want: Scalar,
        label: &str,
    ) {
        let t = self.expr(idx);
        let t2 = self.shallow(t);
        if matches!(t2, Ty::S(s) if s != want) {
            self.errs.push(
                idx.span,
                format!(
                    "{what} are {want_name}, found {}\nFix: convert the index, e.g. {example}",
                    self.describe(t2)
                ),
            );
        } else {
            self.unify(t, Ty::S(want), idx.span, label);
        }
    }

    /// `name[idx]`: a byte of an input or byte-string constant (`u8`), or a
    /// word of an output or table (`u32`).
    pub(super) fn index_ty(&mut self, e: &Expr, name: &Ident, idx: &Expr) -> Ty {
        let b = self.base(e, name);
        match b {
            Base::Bytes | Base::ConstBytes | Base::Table | Base::Array(..) => {}
            Base::Output | Base::Words => {}
            Base::Accumulator => self.errs.push(
                e.span,
                format!("accumulator elements are atomic and cannot be read directly\nFix: read with `{name}[i].load(Ordering::Relaxed)`"),
            ),
            Base::Scalar | Base::Lanes => self.errs.push(
                name.span(),
                format!("cannot index `{name}`: it is not a buffer\nFix: index a `&[u8]` input, a `&mut [u32]` output or a byte-string constant"),
            ),
            Base::Unknown => {}
        }
        self.buffer_index(idx);
        match b {
            Base::Array(v, _) => self.var_ty[v],
            Base::Bytes | Base::ConstBytes => Ty::S(Scalar::U8),
            _ => Ty::S(Scalar::U32),
        }
    }

    /// `name.len()` of a buffer or byte-string constant: a `usize`.
    pub(super) fn len_ty(&mut self, e: &Expr, name: &Ident) -> Ty {
        match self.base(e, name) {
            Base::Scalar | Base::Lanes => self.errs.push(name.span(), format!("`{name}` has no length: it is not a buffer\nFix: call `.len()` on a buffer parameter or a byte-string constant")),
            _ => {}
        }
        Ty::S(Scalar::Usize)
    }

    /// `name.word(w)`: the `u32` word `w` of a `&[u8]` input.
    pub(super) fn word_ty(&mut self, e: &Expr, name: &Ident, w: &Expr) -> Ty {
        if !matches!(self.base(e, name), Base::Bytes | Base::Unknown) {
            self.errs.push(name.span(), format!("`.word(w)` reads a `&[u8]` input parameter, and `{name}` is not one\nFix: call `.word(w)` on the payload's `&[u8]` parameter, or index `{name}[i]`"));
        }
        self.typed_index(
            w,
            ("word indices", "`u32`", "`data.word(i as u32)`"),
            Scalar::U32,
            "this word index",
        );
        Ty::S(Scalar::U32)
    }

    /// `lanes.id()` / `lanes.count()` on a `vyre::Lanes` parameter: a `u32`.
    pub(super) fn lane_ty(&mut self, e: &Expr, name: &Ident) -> Ty {
        if !matches!(self.base(e, name), Base::Lanes | Base::Unknown) {
            self.errs.push(name.span(), format!("`{name}` is not a `vyre::Lanes` parameter\nFix: call `.id()`/`.count()` on the `Lanes` parameter"));
        }
        Ty::S(Scalar::U32)
    }

    /// An atomic method on the accumulator element `acc[index]`: `u32`
    /// operands; the old value (`u32`), a `bool` for a tested
    /// `compare_exchange`, or `()` for a store or discarded exchange.
    pub(super) fn atomic_ty(
        &mut self,
        e: &Expr,
        acc: &Ident,
        index: &Expr,
        op: AtomicMethod,
        values: &[Expr],
        cx: CxUse,
    ) -> Ty {
        match self.base(e, acc) {
            Base::Accumulator | Base::Unknown => {}
            Base::Array(..) => self.errs.unsupported(acc.span(), format!("atomics on the local array `{acc}`"), format!("a local array belongs to one lane: read and write `{acc}[i]` directly")),
            Base::Bytes | Base::ConstBytes | Base::Table | Base::Words => {
                self.errs.unsupported(acc.span(), format!("atomics on the input or constant `{acc}`"), "declare an accumulator parameter `acc: &[AtomicU32]` for atomic results")
            }
            Base::Output => self.errs.push(acc.span(), format!("`{acc}` is an output (`&mut [u32]`), not an accumulator\nFix: write plain `{acc}[i] = v`, or declare it `&[AtomicU32]`")),
            Base::Scalar | Base::Lanes => self.errs.push(acc.span(), format!("cannot index `{acc}`: it is not a buffer\nFix: use an accumulator parameter `&[AtomicU32]`")),
        }
        self.buffer_index(index);
        for v in values {
            let t = self.expr(v);
            self.unify(t, Ty::S(Scalar::U32), v.span, "this atomic operand");
        }
        match (op, cx) {
            (AtomicMethod::Store, _) | (AtomicMethod::CompareExchange, CxUse::Discard) => Ty::Unit,
            (AtomicMethod::CompareExchange, _) => Ty::S(Scalar::Bool),
            _ => Ty::S(Scalar::U32),
        }
    }

    /// `name = v`: `v` must have the variable's type.
    pub(super) fn assign_ty(&mut self, e: &Expr, name: &Ident, v: &Expr) -> Ty {
        let target = self.assign_target(e, name);
        let t = self.expr(v);
        self.unify(t, target, v.span, "this assignment");
        Ty::Unit
    }

    /// `name op= v`, typed as `name op v`.
    pub(super) fn compound_assign_ty(&mut self, e: &Expr, op: BinOp, name: &Ident, v: &Expr) -> Ty {
        let target = self.assign_target(e, name);
        if op.is_cmp() || matches!(op, BinOp::And | BinOp::Or) {
            return Ty::Unit;
        }
        self.binop(op, target, v, e.span);
        Ty::Unit
    }

    /// `name[idx] = v` on an output (`v` must be a `u32`) or a local array
    /// (`v` has its element type).
    pub(super) fn store_out_ty(&mut self, e: &Expr, name: &Ident, idx: &Expr, v: &Expr) -> Ty {
        let elem = self.store_target(e, name, idx);
        let t = self.expr(v);
        let what = match elem {
            Some(_) => "a store to an array element",
            None => "a store to an output (outputs hold `u32`)",
        };
        self.unify(t, elem.unwrap_or(Ty::S(Scalar::U32)), v.span, what);
        Ty::Unit
    }

    /// `name[idx] op= v` on an output, typed as `u32 op v`.
    pub(super) fn compound_store_out_ty(
        &mut self,
        e: &Expr,
        op: BinOp,
        name: &Ident,
        idx: &Expr,
        v: &Expr,
    ) -> Ty {
        let elem = self.store_target(e, name, idx);
        self.binop(op, elem.unwrap_or(Ty::S(Scalar::U32)), v, e.span);
        Ty::Unit
    }

    /// The type of the assigned variable `name`, reporting an unknown,
    /// immutable or non-variable target.
    fn assign_target(&mut self, e: &Expr, name: &Ident) -> Ty {
        let Some((res, mutable)) = self.lookup(name) else {
            self.unknown(name);
            return Ty::S(Scalar::U32);
        };
        self.res.insert(e.id, res);
        match res {
            Res::Local(v) if self.var_len[v].is_some() => {
                self.errs.unsupported(
                    name.span(),
                    format!("assigning to the whole array `{name}`"),
                    format!("assign its elements, `{name}[i] = v`"),
                );
                self.var_ty[v]
            }
            Res::Local(v) if mutable => self.var_ty[v],
            Res::Param(i) if mutable => match self.f.params[i].kind {
                ParamKind::Scalar(s) => Ty::S(s),
                _ => Ty::S(Scalar::U32),
            },
            Res::Param(i)
                if !matches!(
                    self.f.params[i].kind,
                    ParamKind::Scalar(_) | ParamKind::ChunkStart
                ) =>
            {
                self.errs.unsupported(
                    name.span(),
                    format!("assigning to the buffer parameter `{name}`"),
                    "assign to an element of an output, `out[i] = v`",
                );
                Ty::S(Scalar::U32)
            }
            Res::Const(_) => {
                self.errs.push(
                    name.span(),
                    format!(
                        "cannot assign to the constant `{name}`\nFix: use a `let mut` variable"
                    ),
                );
                Ty::S(Scalar::U32)
            }
            Res::Local(v) => {
                self.errs.push(name.span(), format!("cannot assign to `{name}`, which is not `mut`\nFix: declare it `let mut {name}`"));
                self.var_ty[v]
            }
            Res::Param(i) => {
                let s = match self.f.params[i].kind {
                    ParamKind::Scalar(s) => s,
                    _ => Scalar::U32,
                };
                self.errs.push(name.span(), format!("cannot assign to the parameter `{name}`, which is not `mut`\nFix: declare it `mut {name}: {}`", s.name()));
                Ty::S(s)
            }
        }
    }

    /// Checks that `name[idx]` is a writable output or array element; the
    /// element type of an array.
    fn store_target(&mut self, e: &Expr, name: &Ident, idx: &Expr) -> Option<Ty> {
        let mut elem = None;
        match self.base(e, name) {
            Base::Output => {}
            Base::Array(v, mutable) => {
                if !mutable {
                    self.errs.push(name.span(), format!("cannot assign to an element of `{name}`, which is not `mut`\nFix: declare it `let mut {name}`"));
                }
                elem = Some(self.var_ty[v]);
            }
            Base::Bytes | Base::ConstBytes => {
                self.errs.unsupported(name.span(), format!("mutating the input `{name}`"), "inputs are read-only; write results to a `&mut [u32]` output parameter");
            }
            Base::Table => {
                self.errs.unsupported(name.span(), format!("writing to the constant table `{name}`"), "tables are read-only; write results to a `&mut [u32]` output parameter");
            }
            Base::Words => {
                self.errs.unsupported(name.span(), format!("mutating the input `{name}`"), "a combine's summaries are read-only; write the joined summary to its `&mut [u32]` output");
            }
            Base::Accumulator => {
                self.errs.push(name.span(), format!("accumulator elements are atomic: `{name}[i] = v` is not allowed\nFix: write `{name}[i].store(v, Ordering::Relaxed)` or use `fetch_add`"));
            }
            Base::Scalar | Base::Lanes => self.errs.push(name.span(), format!("cannot index `{name}`: it is not a buffer\nFix: index a `&[u8]` input, a `&mut [u32]` output or a byte-string constant")),
            Base::Unknown => {}
        }
        self.buffer_index(idx);
        elem
    }
}
