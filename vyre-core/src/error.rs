//! The error type of vyre-core. Every message says what went wrong and, after
//! `Fix:`, what to do about it.

use crate::validate::Diagnostic;

/// Errors from building, validating and running programs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The program failed validation; every problem found is listed.
    #[error("program `{program}` is invalid ({} problem(s)):\n{}", .problems.len(), render(.problems))]
    Invalid {
        /// Program name.
        program: String,
        /// All problems found.
        problems: Vec<Diagnostic>,
    },
    /// The buffers handed to a backend do not match the program.
    #[error("{0}")]
    BadInput(String),
    /// No GPU adapter (or not the one asked for) could be found.
    #[error("{0}")]
    NoAdapter(String),
    /// The GPU backend failed (device request, shader compile, readback...).
    #[error("{0}")]
    Gpu(String),
    /// The CPU reference stopped a program that exceeded its step budget.
    #[error("program `{program}` ran more than {budget} steps on the CPU reference. Fix: bound the program's loops, or raise the budget with CpuBackend::with_step_budget")]
    StepBudget {
        /// Program name.
        program: String,
        /// The budget that was exceeded.
        budget: u64,
    },
    /// An I/O error with the path it concerns.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn render(problems: &[Diagnostic]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Shorthand result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
