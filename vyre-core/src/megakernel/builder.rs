//! Configuring and building a [`Megakernel`]: payloads, tenants, sizes and
//! budgets, checked, then the kernel built as IR and validated.

use std::collections::HashMap;

use super::protocol::*;
use super::{kernel, Megakernel};
use crate::backend::{Backend, HostBuffers};
use crate::error::{Error, Result};
use crate::ir::Payload;

/// Configures a [`Megakernel`].
#[derive(Clone, Debug)]
pub struct MegakernelBuilder {
    name: String,
    payloads: Vec<Payload>,
    tenants: Vec<(String, Vec<String>)>,
    workgroup_size: u32,
    workgroups: u32,
    slot_budget: Option<u32>,
    debug_records: u32,
    io_capacity: u32,
    iteration_budget: u32,
    interpreter: bool,
    loaded: Vec<Payload>,
}

impl Default for MegakernelBuilder {
    fn default() -> Self {
        MegakernelBuilder {
            name: "megakernel".into(),
            payloads: Vec::new(),
            tenants: Vec::new(),
            workgroup_size: 64,
            workgroups: 64,
            slot_budget: None,
            debug_records: 256,
            io_capacity: 64,
            iteration_budget: u32::MAX,
            interpreter: false,
            loaded: Vec::new(),
        }
    }
}

impl MegakernelBuilder {
    /// Adds a payload; it gets the next opcode.
    pub fn payload(mut self, p: Payload) -> Self {
        self.payloads.push(p);
        self
    }
    /// Includes the interpreter ([`crate::megakernel::interp`]): payloads can then be
    /// loaded at run time with [`Megakernel::load_payload`] and run without
    /// building a new pipeline.
    pub fn interpreter(mut self) -> Self {
        self.interpreter = true;
        self
    }
    /// Adds a payload run by the interpreter instead of fused into the
    /// kernel (enables the interpreter). Loaded payloads get opcodes after
    /// all fused ones.
    pub fn interpreted(mut self, p: Payload) -> Self {
        self.interpreter = true;
        self.loaded.push(p);
        self
    }
    /// Registers a tenant allowed to run the named payloads / built-ins.
    pub fn tenant(mut self, name: &str, allowed: &[&str]) -> Self {
        self.tenants.push((
            name.to_string(),
            allowed.iter().map(|s| s.to_string()).collect(),
        ));
        self
    }
    /// Lanes per workgroup (default 64).
    pub fn workgroup_size(mut self, n: u32) -> Self {
        self.workgroup_size = n;
        self
    }
    /// Most workgroups per dispatch (default 64).
    pub fn workgroups(mut self, n: u32) -> Self {
        self.workgroups = n;
        self
    }
    /// Most slots one workgroup runs per dispatch. Default: unlimited, and
    /// [`LIMITED_SLOT_BUDGET`] on a device that cuts long loops
    /// ([`Backend::loop_iteration_limit`], llvmpipe), where
    /// [`Megakernel::run`] also halves it after a cut: users need not size
    /// it for such devices.
    pub fn slot_budget(mut self, n: u32) -> Self {
        self.slot_budget = Some(n);
        self
    }
    /// Debug records kept per run (default 256); more are counted as dropped.
    pub fn debug_records(mut self, n: u32) -> Self {
        self.debug_records = n;
        self
    }
    /// Read requests the I/O queue holds per run (default 64); more are dropped and counted.
    pub fn io_queue(mut self, n: u32) -> Self {
        self.io_capacity = n;
        self
    }
    /// Most loop iterations one lane of a payload may run on one slot
    /// (default: unlimited). A runaway payload then ends its slot with
    /// FAULT(`FAULT_BUDGET`) and the rest of the batch completes.
    pub fn iteration_budget(mut self, n: u32) -> Self {
        self.iteration_budget = n;
        self
    }
    /// Kernel name (pipeline label).
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Builds the kernel, checks it, and binds it to `backend`.
    pub fn build<B: Backend>(self, backend: B) -> Result<Megakernel<B>> {
        let bad = |message: String, fix: String| Err(Error::bad_input(message, fix));
        let registered = self.payloads.len() + self.loaded.len();
        if registered as u32 > MAX_OPCODES - FIRST_PAYLOAD_OPCODE {
            return bad(
                format!(
                    "{registered} payloads registered; a megakernel holds at most {}",
                    MAX_OPCODES - FIRST_PAYLOAD_OPCODE
                ),
                "split them over several megakernels".to_string(),
            );
        }
        if self.tenants.len() as u32 > MAX_TENANTS {
            return bad(
                format!(
                    "{} tenants registered; at most {MAX_TENANTS}",
                    self.tenants.len()
                ),
                "merge tenants".to_string(),
            );
        }
        let slot_budget = self
            .slot_budget
            .unwrap_or(match backend.loop_iteration_limit() {
                Some(_) => LIMITED_SLOT_BUDGET,
                None => u32::MAX,
            });
        if self.workgroups == 0 || slot_budget == 0 {
            return bad(
                "workgroups and slot_budget must be at least 1".to_string(),
                "pass a positive value".to_string(),
            );
        }
        let mut opcodes = HashMap::new();
        for (op, name) in BUILTIN_NAMES {
            opcodes.insert(name.to_string(), op);
        }
        // Fused payloads, then the loaded ones (their opcodes are fixed now,
        // so tenants can name them; the interpreter gets their code at the end).
        let first_loaded = FIRST_PAYLOAD_OPCODE + self.payloads.len() as u32;
        let mut initial_results = HashMap::new();
        for (i, p) in self.payloads.iter().chain(&self.loaded).enumerate() {
            let op = FIRST_PAYLOAD_OPCODE + i as u32;
            if opcodes.insert(p.name.clone(), op).is_some() {
                return bad(
                    format!(
                        "payload name `{}` is registered twice or clashes with a built-in handler",
                        p.name
                    ),
                    "give each payload a unique name".to_string(),
                );
            }
            super::abi::check_fold(p)?;
            initial_results.insert(op, super::abi::initial_results(p));
        }
        let mut tenant_masks = Vec::new();
        for (tname, allowed) in &self.tenants {
            let mut mask = 0u32;
            for a in allowed {
                match opcodes.get(a) {
                    Some(op) => mask |= 1 << op,
                    None => {
                        return bad(format!("tenant `{tname}` is allowed `{a}`, which is neither a registered payload nor a built-in"), "register the payload first or correct the name".to_string())
                    }
                }
            }
            tenant_masks.push(mask);
        }
        let program = kernel::build_kernel(
            &self.name,
            &self.payloads,
            self.workgroup_size,
            self.interpreter,
        )?;
        crate::validate::validate_or_error(&program)?;

        let mut mk = Megakernel {
            backend,
            program: std::sync::Arc::new(program),
            opcodes,
            initial_results,
            tenant_names: self.tenants.into_iter().map(|t| t.0).collect(),
            tenant_masks,
            workgroups: self.workgroups,
            slot_budget,
            debug_records: self.debug_records.max(1),
            io_capacity: self.io_capacity.min(1 << 20),
            iteration_budget: self.iteration_budget,
            interpreter: self.interpreter,
            first_loaded,
            loaded: 0,
            frame: 0,
            step_limit: u32::MAX,
            bufs: HostBuffers::default(),
            slots: 0,
            arena_words: 0,
            arena_upload: None,
            upload: None,
            results_used: 0,
            regions: Vec::new(),
        };
        mk.reset();
        if mk.interpreter {
            mk.start_interpreter();
            for p in &self.loaded {
                mk.install(p)?;
            }
        }
        Ok(mk)
    }
}

/// Default slot budget on a device that cuts long loops: few slots share
/// one workgroup's iteration count per dispatch, so cuts (and their reruns)
/// stay rare. [`Megakernel::run`] halves it after a cut.
pub const LIMITED_SLOT_BUDGET: u32 = 16;

impl Megakernel<()> {
    /// Starts configuring a megakernel.
    pub fn builder() -> MegakernelBuilder {
        MegakernelBuilder::default()
    }
}
