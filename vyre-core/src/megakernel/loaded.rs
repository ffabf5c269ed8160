//! Payloads loaded into a running megakernel's interpreter: compiled to
//! bytecode on the host and appended to the `code` buffer (the payload's
//! constant tables, their word count, then the program); no new pipeline.

use super::protocol::*;
use super::{Megakernel, B_CODE, B_CONTROL, B_REGS};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::ir::Payload;
use crate::megakernel::interp;

impl<B: Backend> Megakernel<B> {
    /// Sets the interpreter's step limit from the device's loop limit. On a
    /// device that cuts long loops (llvmpipe) each workgroup runs one slot
    /// per dispatch, so a slot gets the whole step allowance.
    pub(super) fn start_interpreter(&mut self) {
        if let Some(limit) = self.backend.loop_iteration_limit() {
            self.step_limit = (limit / 2).min(u32::MAX as u64) as u32;
            self.set_slot_budget(1);
        }
        self.bufs[B_CONTROL][CTRL_STEP_LIMIT as usize] = self.step_limit;
    }

    /// Loads payload `p` into the interpreter under its name and lets
    /// `tenants` run it; returns its opcode. Takes microseconds (a host-side
    /// compile to bytecode): the kernel's pipeline is not rebuilt. The
    /// program is uploaded with the next [`Megakernel::run`].
    pub fn load_payload(&mut self, p: &Payload, tenants: &[&str]) -> Result<u32> {
        if !self.interpreter {
            return Err(Error::bad_input(
                format!(
                    "cannot load payload `{}`: this megakernel was built without the interpreter",
                    p.name
                ),
                "build it with MegakernelBuilder::interpreter()",
            ));
        }
        if self.opcodes.contains_key(&p.name) {
            return Err(Error::bad_input(
                format!("payload name `{}` is already registered", p.name),
                "give each payload a unique name",
            ));
        }
        let mut ids = Vec::new();
        for t in tenants {
            ids.push(self.tenant_id(t)?.0 as usize);
        }
        let op = self.first_loaded + self.loaded;
        self.opcodes.insert(p.name.clone(), op);
        if let Err(e) = self.install(p) {
            self.opcodes.remove(&p.name);
            return Err(e);
        }
        for t in ids {
            self.tenant_masks[t] |= 1 << op;
            self.bufs[B_CONTROL][(CTRL_TENANT_MASKS as usize) + t] = self.tenant_masks[t];
        }
        Ok(op)
    }

    /// Number of payloads loaded into the interpreter.
    pub fn loaded_count(&self) -> u32 {
        self.loaded
    }

    /// Compiles `p` (whose name already has the next loaded opcode) and
    /// appends its tables, their count and its program to the code buffer.
    pub(super) fn install(&mut self, p: &Payload) -> Result<()> {
        let index = self.loaded;
        let op = self.first_loaded + index;
        if index >= MAX_LOADED || op >= MAX_OPCODES {
            return Err(Error::bad_input(format!("cannot load payload `{}`: the megakernel already has {} opcodes in use (most {MAX_OPCODES})", p.name, op), "build another megakernel for more payloads"));
        }
        let bc = interp::compile(p)?;
        let lanes = self.workgroups as u64 * self.program.workgroup_size as u64;
        let frame = self.frame.max(bc.regs);
        let reg_words = lanes * frame as u64;
        // The program's tables, their count, then the program (the
        // interpreter finds the tables from the word before the entry).
        let code_words = self.bufs[B_CODE].len() + bc.tables.len() + 1 + bc.words.len();
        if reg_words > (u32::MAX / 4) as u64 || code_words > (u32::MAX / 4) as usize {
            return Err(Error::bad_input(format!("loading payload `{}` needs {reg_words} register words and {code_words} code words, more than a GPU buffer holds", p.name), "use fewer workgroups or smaller tables"));
        }
        let code = &mut self.bufs[B_CODE];
        code.extend_from_slice(&bc.tables);
        code.push(bc.tables.len() as u32);
        let entry = code.len() as u32;
        code.extend_from_slice(&bc.words);
        code[(CODE_ENTRY + index) as usize] = entry;
        code[(CODE_FLAGS + index) as usize] = if bc.all_lanes { CODE_FLAG_ALL_LANES } else { 0 };
        code[CODE_COUNT as usize] = index + 1;
        self.initial_results
            .insert(op, super::abi::initial_results(p));
        self.loaded += 1;
        self.frame = frame;
        self.bufs[B_CONTROL][CTRL_REG_FRAME as usize] = frame;
        self.bufs[B_REGS].resize((reg_words as usize).max(1), 0);
        Ok(())
    }
}
