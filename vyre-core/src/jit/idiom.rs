//! Idioms: the expressions the payload helpers emit for reading a slot's
//! bytes ([`byte_word_load`], [`byte_load`]), lowered to the one machine
//! access they mean when the JIT binds the data (`off == 0`, `len` = the
//! slot's length).
//!
//! `byte_word_load(p, w)` is, in the IR, a bounds `select` on `w` against
//! `ceil(len / 4)`, a load of word `off / 4 + w` and a mask of the bytes
//! before `len`: about twenty operations with `w` computed three times.
//! Natively, with `off == 0`, it is exactly data word `w` with the bytes
//! past the slot's end 0 (`L::data_word`), so that is what is emitted: a
//! bounds check and one load. `byte_load(p, i)` is byte `i` of the slot,
//! 0 at or past its end: a bounds check and one byte load. The match is
//! exact: the expression must equal the helper's expansion for its own
//! `w` (or `i`), which must be pure (it is evaluated once instead of
//! several times), and the body must never assign the parameter's `off`
//! or `len` variables (so they hold their bindings everywhere).

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, BlockArg, InstBuilder, MemFlags, Value};

use super::lower::{Buf, L, R};
use crate::ir::payload::{byte_load, byte_word_load};
use crate::ir::{BinOp, Expr};

/// Whether `e` has no side effect (no atomic, no uniform load), so that
/// evaluating it once gives what evaluating it several times would.
fn pure(e: &Expr) -> bool {
    let mut ok = true;
    e.walk(&mut |x| {
        if matches!(x, Expr::Atomic { .. } | Expr::UniformLoad { .. }) {
            ok = false;
        }
    });
    ok
}

/// `Select { cond: Lt(x, _), .. }`: `x`.
fn select_lt_lhs(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::Select { cond, .. } => match &**cond {
            Expr::Binary {
                op: BinOp::Lt, lhs, ..
            } => Some(lhs),
            _ => None,
        },
        _ => None,
    }
}

impl L<'_> {
    /// `e` lowered as one data access when it is a data helper's
    /// expansion (module docs); `None` when it is not (lower it as it is).
    pub fn data_idiom(&mut self, e: &Expr) -> R<Option<Value>> {
        let Expr::Binary {
            op: BinOp::BitAnd,
            lhs,
            ..
        } = e
        else {
            return Ok(None);
        };
        // byte_word_load: (load(p, select(w < words, off/4 + w, OOR))) & mask
        if let Expr::Load { buffer, index } = &**lhs {
            if let Some(w) = select_lt_lhs(index) {
                if self.is_fixed_data(buffer) && pure(w) && *e == byte_word_load(buffer, w.clone())
                {
                    let (w, _) = self.expr(w)?;
                    return Ok(Some(self.data_word(w)));
                }
            }
        }
        // byte_load: (load(p, select(i < len, (off + i) >> 2, OOR)) >> sh) & 0xff
        if let Expr::Binary {
            op: BinOp::Shr,
            lhs: load,
            ..
        } = &**lhs
        {
            if let Expr::Load { buffer, index } = &**load {
                if let Some(i) = select_lt_lhs(index) {
                    if self.is_fixed_data(buffer) && pure(i) && *e == byte_load(buffer, i.clone()) {
                        let (i, _) = self.expr(i)?;
                        return Ok(Some(self.data_byte(i)));
                    }
                }
            }
        }
        Ok(None)
    }

    fn is_fixed_data(&self, buffer: &str) -> bool {
        matches!(self.buffers.get(buffer), Some(Buf::Data)) && self.fixed_data.contains(buffer)
    }

    /// Byte `i` of the slot (0 at or past its end).
    fn data_byte(&mut self, i: Value) -> Value {
        let at = self.b.ins().uextend(types::I64, i);
        let inside = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThan, at, self.data_len);
        let (yes, merge) = (self.b.create_block(), self.b.create_block());
        let out = self.b.append_block_param(merge, types::I32);
        let zero = self.u32(0);
        self.b
            .ins()
            .brif(inside, yes, &[], merge, &[BlockArg::Value(zero)]);
        self.b.switch_to_block(yes);
        let addr = self.b.ins().iadd(self.data, at);
        let v = self
            .b
            .ins()
            .uload8(types::I32, MemFlags::trusted(), addr, 0);
        self.b.ins().jump(merge, &[BlockArg::Value(v)]);
        self.b.switch_to_block(merge);
        out
    }
}
