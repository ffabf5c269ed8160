//! The slot ABI's parameter bindings ([`crate::megakernel::abi`]),
//! lowered to bytecode: the prologue that binds each reserved parameter
//! variable from the slot's words, as the fused embedding does.

use super::Gen;
use crate::error::Result;
use crate::ir::DataType;
use crate::megakernel::abi::{Source, Value};
use crate::megakernel::interp::{builtin_code, op};
use crate::megakernel::protocol::*;

impl Gen<'_> {
    /// Binds the reserved parameter variables from the slot's words (as the
    /// fused embedding does).
    pub(super) fn bind_params(&mut self) -> Result<()> {
        let p = self.p;
        let u = DataType::U32;
        let out_off = self.declare("#out_off", u)?;
        self.emit(op::SLOTW, out_off, 0, 0, SLOT_OUT_OFF);
        let out_len = self.declare("#out_len", u)?;
        self.emit(op::SLOTW, out_len, 0, 0, SLOT_OUT_LEN);
        // The slot ABI's bindings (megakernel::abi), lowered to bytecode.
        for b in crate::megakernel::abi::bindings(p) {
            let r = self.declare(&b.var, u)?;
            match b.value {
                Value::Word(Source::Slot(w)) => {
                    self.emit(op::SLOTW, r, 0, 0, w);
                }
                Value::Word(Source::Control(w)) => {
                    self.emit(op::CTRLW, r, 0, 0, w);
                }
                Value::Word(Source::SlotIndex) => {
                    self.emit(op::SLOTIX, r, 0, 0, 0);
                }
                Value::Word(Source::Builtin(k)) => {
                    self.emit(op::BUILTIN, r, 0, 0, builtin_code(k));
                }
                Value::DataByteOffset => {
                    self.emit(op::SLOTW, r, 0, 0, SLOT_DATA_OFF);
                    let two = self.constant(2)?;
                    self.emit(op::SHL, r, r, two, 0);
                }
                Value::ResultOffset { before } => {
                    let c = self.constant(before)?;
                    self.emit(op::ADD, r, out_off, c, 0);
                }
                Value::ResultLen { before, declared } => {
                    let c = self.constant(before)?;
                    self.emit(op::UMIN, r, c, out_len, 0);
                    self.emit(op::SUB, r, out_len, r, 0);
                    if let Some(n) = declared {
                        let c_n = self.constant(n)?;
                        self.emit(op::UMIN, r, c_n, r, 0);
                    }
                }
            }
        }
        Ok(())
    }
}
