//! Expressions: every operation with the exact semantics of `crate::ir`
//! (the CPU reference's `cpu/eval.rs` computes the same).

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, BlockArg, InstBuilder, MemFlags, Value};

use super::lower::{unsupported, Buf, L, R};
use crate::ir::{AtomicOp, BinOp, DataType, Expr, Literal, UnOp};

impl L<'_> {
    /// The value of `e` (an `i32` Cranelift value) and its IR type.
    pub fn expr(&mut self, e: &Expr) -> R<(Value, DataType)> {
        if let Some(v) = self.data_idiom(e)? {
            return Ok((v, DataType::U32));
        }
        Ok(match e {
            Expr::Lit(l) => match *l {
                Literal::U32(v) => (self.u32(v), DataType::U32),
                Literal::I32(v) => (self.u32(v as u32), DataType::I32),
                Literal::F32(bits) => (self.u32(bits), DataType::F32),
                Literal::Bool(v) => (self.u32(v as u32), DataType::Bool),
            },
            Expr::Var(name) => {
                let (var, ty) = self.var(name)?;
                (self.b.use_var(var), ty)
            }
            Expr::Load { buffer, index } => {
                let (i, _) = self.expr(index)?;
                let v = match self.buffers.get(buffer).copied() {
                    Some(Buf::Data) => self.data_word(i),
                    Some(Buf::Results) => self.result_load(i),
                    Some(Buf::Table(k)) => self.table_load(k, i),
                    None => return unsupported(format!("a load of unknown buffer `{buffer}`")),
                };
                (v, DataType::U32)
            }
            Expr::Len(buffer) => match self.buffers.get(buffer).copied() {
                Some(Buf::Table(k)) => (self.u32(self.tables[k].1), DataType::U32),
                _ => return unsupported(format!("`len({buffer})` of a parameter")),
            },
            Expr::Unary { op, arg } => {
                let (a, ty) = self.expr(arg)?;
                (self.unary(*op, a, ty), ty)
            }
            Expr::Binary { op, lhs, rhs } => {
                let (a, ty) = self.expr(lhs)?;
                let (b, _) = self.expr(rhs)?;
                if op.is_comparison() {
                    (self.compare(*op, a, b, ty), DataType::Bool)
                } else {
                    (self.binary(*op, a, b, ty)?, ty)
                }
            }
            Expr::Select {
                cond,
                on_true,
                on_false,
            } => {
                let (c, _) = self.expr(cond)?;
                let (a, ty) = self.expr(on_true)?;
                let (b, _) = self.expr(on_false)?;
                (self.b.ins().select(c, a, b), ty)
            }
            Expr::Cast { to, arg } => {
                let (a, from) = self.expr(arg)?;
                (self.cast(from, *to, a), *to)
            }
            Expr::Bitcast { to, arg } => (self.expr(arg)?.0, *to),
            Expr::Atomic {
                op,
                buffer,
                index,
                value,
                expected,
            } => {
                if !matches!(self.buffers.get(buffer), Some(Buf::Results)) {
                    return unsupported(format!("an atomic on `{buffer}`"));
                }
                let (i, _) = self.expr(index)?;
                let (v, _) = self.expr(value)?;
                let x = match expected {
                    Some(x) => Some(self.expr(x)?.0),
                    None => None,
                };
                (self.atomic(*op, i, v, x), DataType::U32)
            }
            Expr::Builtin(b) => {
                return unsupported(format!("the invocation builtin {b:?} (payloads use lanes)"))
            }
            Expr::UniformLoad { .. } => {
                return unsupported("`uniform_load` (run the payload fused)")
            }
        })
    }

    fn bool(&mut self, c: Value) -> Value {
        self.b.ins().uextend(types::I32, c)
    }

    fn f(&mut self, bits: Value) -> Value {
        self.b.ins().bitcast(types::F32, MemFlags::new(), bits)
    }

    fn bits(&mut self, f: Value) -> Value {
        self.b.ins().bitcast(types::I32, MemFlags::new(), f)
    }

    fn unary(&mut self, op: UnOp, a: Value, ty: DataType) -> Value {
        let ins = self.b.ins();
        match op {
            UnOp::Neg if ty == DataType::F32 => {
                let x = self.f(a);
                let n = self.b.ins().fneg(x);
                self.bits(n)
            }
            UnOp::Neg => ins.ineg(a),
            UnOp::BitNot => ins.bnot(a),
            UnOp::Not => ins.bxor_imm(a, 1),
            UnOp::Clz => ins.clz(a),
            UnOp::Ctz => ins.ctz(a),
            UnOp::Popcount => ins.popcnt(a),
        }
    }

    fn compare(&mut self, op: BinOp, a: Value, b: Value, ty: DataType) -> Value {
        let c = if ty == DataType::F32 {
            let cc = match op {
                BinOp::Eq => FloatCC::Equal,
                BinOp::Ne => FloatCC::NotEqual,
                BinOp::Lt => FloatCC::LessThan,
                BinOp::Le => FloatCC::LessThanOrEqual,
                BinOp::Gt => FloatCC::GreaterThan,
                _ => FloatCC::GreaterThanOrEqual,
            };
            let (x, y) = (self.f(a), self.f(b));
            self.b.ins().fcmp(cc, x, y)
        } else {
            let signed = ty == DataType::I32;
            let cc = match (op, signed) {
                (BinOp::Eq, _) => IntCC::Equal,
                (BinOp::Ne, _) => IntCC::NotEqual,
                (BinOp::Lt, false) => IntCC::UnsignedLessThan,
                (BinOp::Le, false) => IntCC::UnsignedLessThanOrEqual,
                (BinOp::Gt, false) => IntCC::UnsignedGreaterThan,
                (_, false) => IntCC::UnsignedGreaterThanOrEqual,
                (BinOp::Lt, true) => IntCC::SignedLessThan,
                (BinOp::Le, true) => IntCC::SignedLessThanOrEqual,
                (BinOp::Gt, true) => IntCC::SignedGreaterThan,
                (_, true) => IntCC::SignedGreaterThanOrEqual,
            };
            self.b.ins().icmp(cc, a, b)
        };
        self.bool(c)
    }

    fn binary(&mut self, op: BinOp, a: Value, b: Value, ty: DataType) -> R<Value> {
        if ty == DataType::F32 {
            return self.binary_f32(op, a, b);
        }
        let signed = ty == DataType::I32;
        let ins = self.b.ins();
        Ok(match op {
            BinOp::Add => ins.iadd(a, b),
            BinOp::Sub => ins.isub(a, b),
            BinOp::Mul => ins.imul(a, b),
            BinOp::Div | BinOp::Rem => self.div_rem(op == BinOp::Div, signed, a, b),
            BinOp::BitAnd | BinOp::And => ins.band(a, b),
            BinOp::BitOr | BinOp::Or => ins.bor(a, b),
            BinOp::BitXor => ins.bxor(a, b),
            // Cranelift's shifts and rotates of an i32 take the amount
            // modulo 32: the IR's `n & 31`, no mask needed.
            BinOp::Shl | BinOp::Shr | BinOp::RotateLeft | BinOp::RotateRight => match op {
                BinOp::Shl => ins.ishl(a, b),
                BinOp::Shr if signed => ins.sshr(a, b),
                BinOp::Shr => ins.ushr(a, b),
                BinOp::RotateLeft => ins.rotl(a, b),
                _ => ins.rotr(a, b),
            },
            BinOp::Min if signed => ins.smin(a, b),
            BinOp::Min => ins.umin(a, b),
            BinOp::Max if signed => ins.smax(a, b),
            BinOp::Max => ins.umax(a, b),
            _ => return unsupported(format!("operation {op:?} on {ty}")),
        })
    }

    /// Division or remainder without traps: `x / 0 == 0`, `x % 0 == x`,
    /// `i32::MIN / -1 == i32::MIN`, `i32::MIN % -1 == 0`.
    fn div_rem(&mut self, div: bool, signed: bool, a: Value, b: Value) -> Value {
        let one = self.u32(1);
        let zero = self.b.ins().icmp_imm(IntCC::Equal, b, 0);
        if !signed {
            let d = self.b.ins().select(zero, one, b);
            let (q, other) = if div {
                (self.b.ins().udiv(a, d), self.u32(0))
            } else {
                (self.b.ins().urem(a, d), a)
            };
            return self.b.ins().select(zero, other, q);
        }
        let minus1 = self.b.ins().icmp_imm(IntCC::Equal, b, -1i64 as u32 as i64);
        let bad = self.b.ins().bor(zero, minus1);
        let d = self.b.ins().select(bad, one, b);
        let (q, on_zero, on_minus1) = if div {
            let q = self.b.ins().sdiv(a, d);
            (q, self.u32(0), self.b.ins().ineg(a))
        } else {
            (self.b.ins().srem(a, d), a, self.u32(0))
        };
        let q = self.b.ins().select(minus1, on_minus1, q);
        self.b.ins().select(zero, on_zero, q)
    }

    fn binary_f32(&mut self, op: BinOp, a: Value, b: Value) -> R<Value> {
        let (x, y) = (self.f(a), self.f(b));
        let r = match op {
            BinOp::Add => self.b.ins().fadd(x, y),
            BinOp::Sub => self.b.ins().fsub(x, y),
            BinOp::Mul => self.b.ins().fmul(x, y),
            BinOp::Div => self.b.ins().fdiv(x, y),
            BinOp::Rem => {
                // x - y * trunc(x / y), each step rounded (no fusion).
                let q = self.b.ins().fdiv(x, y);
                let t = self.b.ins().trunc(q);
                let p = self.b.ins().fmul(y, t);
                self.b.ins().fsub(x, p)
            }
            BinOp::Min | BinOp::Max => return Ok(self.min_max_f32(op == BinOp::Min, a, b)),
            _ => return unsupported(format!("operation {op:?} on f32")),
        };
        Ok(self.bits(r))
    }

    /// f32 min/max as `native::fmin`/`fmax`: a NaN operand gives the
    /// other; equal operands (±0) combine their bits (min: or, max: and).
    fn min_max_f32(&mut self, min: bool, a: Value, b: Value) -> Value {
        let (x, y) = (self.f(a), self.f(b));
        let x_nan = self.b.ins().fcmp(FloatCC::Unordered, x, x);
        let y_nan = self.b.ins().fcmp(FloatCC::Unordered, y, y);
        let (first, second) = if min {
            (FloatCC::LessThan, FloatCC::GreaterThan)
        } else {
            (FloatCC::GreaterThan, FloatCC::LessThan)
        };
        let a_wins = self.b.ins().fcmp(first, x, y);
        let b_wins = self.b.ins().fcmp(second, x, y);
        let equal = if min {
            self.b.ins().bor(a, b)
        } else {
            self.b.ins().band(a, b)
        };
        let r = self.b.ins().select(b_wins, b, equal);
        let take_a = self.b.ins().bor(y_nan, a_wins);
        let r = self.b.ins().select(take_a, a, r);
        self.b.ins().select(x_nan, b, r)
    }

    fn cast(&mut self, from: DataType, to: DataType, a: Value) -> Value {
        use DataType::*;
        match (from, to) {
            (U32, F32) => {
                let f = self.b.ins().fcvt_from_uint(types::F32, a);
                self.bits(f)
            }
            (I32, F32) => {
                let f = self.b.ins().fcvt_from_sint(types::F32, a);
                self.bits(f)
            }
            (F32, U32) => {
                let x = self.f(a);
                self.b.ins().fcvt_to_uint_sat(types::I32, x)
            }
            (F32, I32) => {
                let x = self.f(a);
                self.b.ins().fcvt_to_sint_sat(types::I32, x)
            }
            (Bool, F32) => {
                let one = self.u32(1.0f32.to_bits());
                let zero = self.u32(0);
                self.b.ins().select(a, one, zero)
            }
            (U32 | I32, Bool) => {
                let c = self.b.ins().icmp_imm(IntCC::NotEqual, a, 0);
                self.bool(c)
            }
            (F32, Bool) => {
                let x = self.f(a);
                let z = self.b.ins().f32const(0.0);
                let c = self.b.ins().fcmp(FloatCC::NotEqual, x, z);
                self.bool(c)
            }
            // u32 <-> i32, bool -> integer, identity: the same bits.
            _ => a,
        }
    }

    /// `if cond { then() } -> value else otherwise`, as blocks.
    fn guarded(
        &mut self,
        cond: Value,
        otherwise: Value,
        then: impl FnOnce(&mut Self) -> Value,
    ) -> Value {
        let (yes, merge) = (self.b.create_block(), self.b.create_block());
        let out = self.b.append_block_param(merge, types::I32);
        self.b
            .ins()
            .brif(cond, yes, &[], merge, &[BlockArg::Value(otherwise)]);
        self.b.switch_to_block(yes);
        let v = then(self);
        self.b.ins().jump(merge, &[BlockArg::Value(v)]);
        self.b.switch_to_block(merge);
        out
    }

    /// Data word `i`: bytes `4i..4i+4` of the slot, those past its end 0:
    /// a load when the word is wholly inside, else the partial last word
    /// read at entry (`L::tail`) when `i` is its index, else 0. (A
    /// branch-free form, loading a zero word instead, measured slower.)
    pub(super) fn data_word(&mut self, i: Value) -> Value {
        let w = self.b.ins().uextend(types::I64, i);
        let inside = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThan, w, self.full_words);
        let (fast, slow, merge) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        let out = self.b.append_block_param(merge, types::I32);
        self.b.ins().brif(inside, fast, &[], slow, &[]);
        self.b.switch_to_block(fast);
        let off = self.b.ins().ishl_imm(w, 2);
        let addr = self.b.ins().iadd(self.data, off);
        let v = self.b.ins().load(types::I32, MemFlags::trusted(), addr, 0);
        self.b.ins().jump(merge, &[BlockArg::Value(v)]);
        self.b.switch_to_block(slow);
        let last = self.b.ins().icmp(IntCC::Equal, w, self.full_words);
        let zero = self.u32(0);
        let v = self.b.ins().select(last, self.tail, zero);
        self.b.ins().jump(merge, &[BlockArg::Value(v)]);
        self.b.switch_to_block(merge);
        out
    }

    /// The address of result word `i` and whether it is in the slot.
    fn result_addr(&mut self, i: Value) -> (Value, Value) {
        let w = self.b.ins().uextend(types::I64, i);
        let inside = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThan, w, self.results_len);
        let off = self.b.ins().ishl_imm(w, 2);
        (self.b.ins().iadd(self.results, off), inside)
    }

    /// Result word `i` (0 outside the slot's results).
    pub fn result_load(&mut self, i: Value) -> Value {
        let (addr, inside) = self.result_addr(i);
        let zero = self.u32(0);
        self.guarded(inside, zero, |l| {
            l.b.ins().load(types::I32, MemFlags::trusted(), addr, 0)
        })
    }

    /// `results[i] = v`, dropped outside the slot's results.
    pub fn result_store(&mut self, i: Value, v: Value) {
        let (addr, inside) = self.result_addr(i);
        let zero = self.u32(0);
        self.guarded(inside, zero, |l| {
            l.b.ins().store(MemFlags::trusted(), v, addr, 0);
            l.u32(0)
        });
    }

    /// Table `k`'s word `i` (0 past its end).
    fn table_load(&mut self, k: usize, i: Value) -> Value {
        let (base, len) = self.tables[k];
        let inside = self
            .b
            .ins()
            .icmp_imm(IntCC::UnsignedLessThan, i, i64::from(len));
        let zero = self.u32(0);
        self.guarded(inside, zero, |l| {
            let w = l.b.ins().uextend(types::I64, i);
            let off = l.b.ins().ishl_imm(w, 2);
            let base = l.b.ins().iconst(l.ptr, base);
            let addr = l.b.ins().iadd(base, off);
            l.b.ins().load(types::I32, MemFlags::trusted(), addr, 0)
        })
    }

    /// An atomic on result word `i` (the slot owns its words: plain loads
    /// and stores); the old value, or 0 and no effect outside the results.
    fn atomic(&mut self, op: AtomicOp, i: Value, v: Value, expected: Option<Value>) -> Value {
        let (addr, inside) = self.result_addr(i);
        let zero = self.u32(0);
        self.guarded(inside, zero, |l| {
            let old = l.b.ins().load(types::I32, MemFlags::trusted(), addr, 0);
            let ins = l.b.ins();
            let new = match op {
                AtomicOp::Load => None,
                AtomicOp::Store | AtomicOp::Exchange => Some(v),
                AtomicOp::Add => Some(ins.iadd(old, v)),
                AtomicOp::Sub => Some(ins.isub(old, v)),
                AtomicOp::Max => Some(ins.umax(old, v)),
                AtomicOp::Min => Some(ins.umin(old, v)),
                AtomicOp::And => Some(ins.band(old, v)),
                AtomicOp::Or => Some(ins.bor(old, v)),
                AtomicOp::Xor => Some(ins.bxor(old, v)),
                AtomicOp::CompareExchange => {
                    let e = expected.unwrap_or(old);
                    let hit = ins.icmp(IntCC::Equal, old, e);
                    Some(l.b.ins().select(hit, v, old))
                }
            };
            if let Some(new) = new {
                l.b.ins().store(MemFlags::trusted(), new, addr, 0);
            }
            old
        })
    }
}
