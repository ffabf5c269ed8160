//! Running a batch: dispatch until every published slot is DONE or FAULT,
//! and on devices that cut long loops (llvmpipe) run the slots whose loops
//! were cut again, alone, so a silent cut never becomes a result.

use std::ops::Range;

use super::protocol::*;
use super::{Megakernel, RunReport, B_ARENA, B_CODE, B_CONTROL, B_REGS, B_RESULTS, B_RING};
use crate::backend::Backend;
use crate::cpu::CpuBackend;
use crate::error::{Error, Result};

/// What the next dispatch uploads besides the control words.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Upload {
    /// The whole batch (the first dispatch of a run).
    All,
    /// Only the control words (the device kept the rest).
    Control,
    /// Control, ring and results: the host put slots back (cut slots).
    Slots,
}

impl<B: Backend> Megakernel<B> {
    /// Dispatches until every published slot is DONE or FAULT (or shutdown).
    ///
    /// On a device with a loop limit ([`Backend::loop_iteration_limit`],
    /// llvmpipe) the device may end a slot's loops early; the canary after
    /// every slot sees it and the slot ends FAULT([`FAULT_LOOP_CUT`]) (or,
    /// interpreted, FAULT([`FAULT_STEPS`])) instead of DONE. Such slots run
    /// again from their initial result words, one slot per workgroup (the
    /// device's count starts afresh for each workgroup); a slot cut even
    /// then runs on the CPU reference ([`CpuBackend`], the same kernel, the
    /// same semantics, bit for bit), unless its bytes sit in a GPU upload
    /// arena ([`Megakernel::adopt_upload`]), where it keeps the fault.
    /// [`RunReport::cpu_slots`] counts those. After a cut, the slot budget
    /// is halved for later runs, so a workload settles where it is not cut.
    /// A silent cut never becomes a result. A rerun slot starts again from
    /// its result words as published; what it did outside them before the
    /// cut (read requests, debug records, fence and shutdown handlers) is
    /// not undone, so such effects may happen twice on these devices.
    pub fn run(&mut self) -> Result<RunReport> {
        let mut report = RunReport::default();
        let limited = self.backend.loop_iteration_limit().is_some();
        // The result words as published, to run a cut slot again from them.
        let initial = limited.then(|| self.bufs[B_RESULTS].clone());
        self.drain(&mut report, Upload::All)?;
        if let Some(initial) = initial {
            let cut = self.slots_cut();
            if !cut.is_empty() {
                let budget = self.slot_budget;
                self.set_slot_budget(1);
                self.republish(&cut, &initial);
                self.drain(&mut report, Upload::Slots)?;
                self.set_slot_budget((budget / 2).max(1));
                let cut = self.slots_cut();
                if !cut.is_empty() && self.upload.is_none() {
                    self.republish(&cut, &initial);
                    report.cpu_slots += cut.len() as u32;
                    self.drain_on_cpu()?;
                }
            }
        }
        report.done = self.count_status(DONE);
        report.faults = self.count_status(FAULT);
        Ok(report)
    }

    /// Slots the device cut: FAULT with [`FAULT_LOOP_CUT`] or [`FAULT_STEPS`].
    fn slots_cut(&self) -> Vec<u32> {
        let mut v = self.slots_faulted_with(FAULT_LOOP_CUT);
        v.extend(self.slots_faulted_with(FAULT_STEPS));
        v.sort_unstable();
        v
    }

    /// Runs the published slots on the CPU reference: the same kernel over
    /// the same host buffers, without a step limit for the interpreter.
    fn drain_on_cpu(&mut self) -> Result<()> {
        let cpu = CpuBackend::with_step_budget(u64::MAX);
        let control = &mut self.bufs[B_CONTROL];
        let step_limit = std::mem::replace(&mut control[CTRL_STEP_LIMIT as usize], u32::MAX);
        let mut result = Ok(());
        for _ in 0..self.slots.max(1) {
            if self.count_status(PUBLISHED) == 0 {
                break;
            }
            let groups = self.aim_claims();
            result = cpu.run(&self.program, &mut self.bufs, groups);
            if result.is_err() {
                break;
            }
        }
        self.bufs[B_CONTROL][CTRL_STEP_LIMIT as usize] = step_limit;
        // The CPU changed the buffers outside the backend's runs.
        self.bufs.restamp();
        result
    }

    /// Slots that ended FAULT with `reason`.
    fn slots_faulted_with(&self, reason: u32) -> Vec<u32> {
        let ring = &self.bufs[B_RING];
        (0..self.slots)
            .filter(|s| {
                let at = (s * SLOT_WORDS) as usize;
                ring[at + SLOT_STATUS as usize] == FAULT
                    && ring[at + SLOT_FAULT_REASON as usize] == reason
            })
            .collect()
    }

    /// Puts `slots` back to PUBLISHED with their result words as published.
    fn republish(&mut self, slots: &[u32], initial: &[u32]) {
        for &s in slots {
            let (off, len) = self.regions[s as usize];
            let r = off as usize..(off + len) as usize;
            self.bufs[B_RESULTS][r.clone()].copy_from_slice(&initial[r]);
            let at = (s * SLOT_WORDS) as usize;
            self.bufs[B_RING][at + SLOT_STATUS as usize] = PUBLISHED;
            self.bufs[B_RING][at + SLOT_FAULT_REASON as usize] = 0;
            let faults = &mut self.bufs[B_CONTROL][CTRL_FAULT_COUNT as usize];
            *faults = faults.saturating_sub(1);
        }
    }

    /// Dispatches until no slot is PUBLISHED (or shutdown).
    fn drain(&mut self, report: &mut RunReport, mut upload: Upload) -> Result<()> {
        loop {
            let pending = self.count_status(PUBLISHED);
            if pending == 0 {
                return Ok(());
            }
            if self.bufs[B_CONTROL][CTRL_SHUTDOWN as usize] != 0 {
                report.left_by_shutdown = pending;
                return Ok(());
            }
            let groups = self.aim_claims();
            self.bufs[B_CONTROL][CTRL_CLAIMS as usize] = 0;
            self.bufs[B_CONTROL][CTRL_DISPATCHES as usize] += 1;
            let whole = |i: usize| (i, 0..self.bufs[i].len());
            // Registers are the interpreter's scratch: never uploaded or read back.
            let mut writes: Vec<(usize, Range<usize>)> = match upload {
                Upload::All => (0..self.bufs.len())
                    .filter(|i| *i != B_REGS)
                    .map(whole)
                    .collect(),
                Upload::Control => vec![whole(B_CONTROL)],
                Upload::Slots => vec![whole(B_CONTROL), whole(B_RING), whole(B_RESULTS)],
            };
            if let Some(n) = self.arena_upload {
                for w in writes.iter_mut().filter(|w| w.0 == B_ARENA) {
                    w.1 = 0..n.min(self.bufs[B_ARENA].len());
                }
            }
            let reads: Vec<_> = (0..self.bufs.len())
                .filter(|i| ![B_ARENA, B_CODE, B_REGS].contains(i))
                .map(whole)
                .collect();
            let t = std::time::Instant::now();
            match &self.upload {
                Some((arena, bytes)) => self.backend.run_ranges_from(
                    &self.program,
                    &mut self.bufs,
                    groups,
                    &writes,
                    &reads,
                    (B_ARENA, arena.as_ref(), *bytes),
                )?,
                None => self.backend.run_ranges_shared(
                    &self.program,
                    &mut self.bufs,
                    groups,
                    &writes,
                    &reads,
                )?,
            }
            upload = Upload::Control;
            tracing::debug!(
                target: "vyre::timing",
                "dispatch of {groups} workgroups over {} slots: {:.3} ms",
                self.slots,
                t.elapsed().as_secs_f64() * 1e3
            );
            report.dispatches += 1;
            if self.count_status(PUBLISHED) == pending
                && self.bufs[B_CONTROL][CTRL_SHUTDOWN as usize] == 0
            {
                return Err(Error::internal(format!(
                    "a megakernel dispatch made no progress on {pending} published slot(s) on {}",
                    self.backend.name()
                )));
            }
        }
    }

    /// Points the claims of the next dispatch at the published slots: the
    /// cursor starts at the first and claims stop after the last, shared by
    /// all workgroups, so no workgroup's claim loop walks far (llvmpipe cuts
    /// loops too). Returns the workgroups to dispatch.
    fn aim_claims(&mut self) -> u32 {
        let (first, end) = self.published_span();
        self.bufs[B_CONTROL][CTRL_CURSOR as usize] = first;
        self.bufs[B_CONTROL][CTRL_SLOT_COUNT as usize] = end;
        self.workgroups.min(end - first).max(1)
    }

    /// The first published slot and one past the last (`(0, 0)` if none).
    fn published_span(&self) -> (u32, u32) {
        let published =
            |s: &u32| self.bufs[B_RING][(s * SLOT_WORDS + SLOT_STATUS) as usize] == PUBLISHED;
        match (0..self.slots).find(published) {
            Some(first) => {
                let last = (first..self.slots).rev().find(published).unwrap_or(first);
                (first, last + 1)
            }
            None => (0, 0),
        }
    }

    pub(super) fn count_status(&self, status: u32) -> u32 {
        (0..self.slots)
            .filter(|s| self.bufs[B_RING][(s * SLOT_WORDS + SLOT_STATUS) as usize] == status)
            .count() as u32
    }
}
