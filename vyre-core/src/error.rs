//! The error type of vyre-core. Every error says what went wrong and, after
//! `Fix:`, what to do about it: the message and the fix are separate fields
//! ([`Error::message`], [`Error::fix`]), and `Display` prints
//! `MESSAGE. Fix: FIX`. Callers decide by the variant, never by the text.

use std::borrow::Cow;

/// The fix of every [`Error::DeviceLost`].
pub const DEVICE_LOST_FIX: &str = "a kernel may have run too long (bound its loops) or the driver reset; call WgpuBackend::recover (or create a new WgpuBackend) and run the work again";

/// The fix of every [`Error::Internal`].
pub const INTERNAL_FIX: &str = "this is a vyre bug; please report it";

/// Errors from building, validating and running programs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The program failed validation; every problem found is listed (each
    /// with its own fix).
    #[error("program `{program}` is invalid ({} problem(s)):\n{}", .problems.len(), render(.problems))]
    Invalid {
        /// Program name.
        program: String,
        /// All problems found.
        problems: Vec<Diagnostic>,
    },
    /// What the caller handed over (buffers, payloads, options, files) does
    /// not fit.
    #[error("{message}. Fix: {fix}")]
    BadInput {
        /// What is wrong.
        message: String,
        /// What to do about it.
        fix: String,
    },
    /// No GPU adapter (or not the one asked for) could be found.
    #[error("{message}. Fix: {fix}")]
    NoAdapter {
        /// What was asked and what exists.
        message: String,
        /// What to do about it.
        fix: String,
    },
    /// The GPU backend failed (device request, shader compile, readback...).
    #[error("{message}. Fix: {fix}")]
    Gpu {
        /// What failed.
        message: String,
        /// What to do about it.
        fix: String,
    },
    /// The GPU device was lost (driver reset, GPU removed, a kernel that ran
    /// too long). [`crate::Backend::recover`] opens a fresh device; then the
    /// work must run again from scratch.
    #[error(
        "{what}: the GPU device ({device}) was lost: {reason}. Fix: {}",
        DEVICE_LOST_FIX
    )]
    DeviceLost {
        /// What was being done when the loss was noticed.
        what: String,
        /// The device's label (`wgpu: <adapter> (<backend>)`).
        device: String,
        /// Why it was lost, as the driver (or `simulate_device_loss`) said.
        reason: String,
    },
    /// vyre broke one of its own invariants: a bug in vyre, not in what the
    /// caller did.
    #[error("{message}. Fix: {}", INTERNAL_FIX)]
    Internal {
        /// Which invariant broke, and how.
        message: String,
    },
    /// The CPU reference stopped a program that exceeded its step budget.
    #[error(
        "program `{program}` ran more than {budget} steps on the CPU reference. Fix: {}",
        STEP_BUDGET_FIX
    )]
    StepBudget {
        /// Program name.
        program: String,
        /// The budget that was exceeded.
        budget: u64,
    },
    /// The caller cancelled the work (e.g. a scan's cancel token); nothing
    /// went wrong.
    #[error("cancelled")]
    Cancelled,
    /// An I/O error with the path it concerns.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

const STEP_BUDGET_FIX: &str =
    "bound the program's loops, or raise the budget with CpuBackend::with_step_budget";

impl Error {
    /// An [`Error::BadInput`].
    pub fn bad_input(message: impl Into<String>, fix: impl Into<String>) -> Error {
        Error::BadInput {
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// An [`Error::Gpu`].
    pub fn gpu(message: impl Into<String>, fix: impl Into<String>) -> Error {
        Error::Gpu {
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// An [`Error::NoAdapter`].
    pub fn no_adapter(message: impl Into<String>, fix: impl Into<String>) -> Error {
        Error::NoAdapter {
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// An [`Error::Internal`]: a broken invariant of vyre itself.
    pub fn internal(message: impl Into<String>) -> Error {
        Error::Internal {
            message: message.into(),
        }
    }

    /// What went wrong, without the fix (for [`Error::Invalid`] and
    /// [`Error::Io`], which have none of their own, the whole text).
    pub fn message(&self) -> Cow<'_, str> {
        match self {
            Error::BadInput { message, .. }
            | Error::NoAdapter { message, .. }
            | Error::Gpu { message, .. }
            | Error::Internal { message } => Cow::Borrowed(message),
            Error::DeviceLost {
                what,
                device,
                reason,
            } => Cow::Owned(format!(
                "{what}: the GPU device ({device}) was lost: {reason}"
            )),
            Error::StepBudget { program, budget } => Cow::Owned(format!(
                "program `{program}` ran more than {budget} steps on the CPU reference"
            )),
            Error::Invalid { .. } | Error::Io { .. } | Error::Cancelled => {
                Cow::Owned(self.to_string())
            }
        }
    }

    /// What to do about it; `None` for [`Error::Invalid`] (each problem has
    /// its own fix) and [`Error::Io`].
    pub fn fix(&self) -> Option<&str> {
        match self {
            Error::BadInput { fix, .. } | Error::NoAdapter { fix, .. } | Error::Gpu { fix, .. } => {
                Some(fix)
            }
            Error::DeviceLost { .. } => Some(DEVICE_LOST_FIX),
            Error::Internal { .. } => Some(INTERNAL_FIX),
            Error::StepBudget { .. } => Some(STEP_BUDGET_FIX),
            Error::Invalid { .. } | Error::Io { .. } | Error::Cancelled => None,
        }
    }

    /// True for [`Error::DeviceLost`].
    pub fn is_device_lost(&self) -> bool {
        matches!(self, Error::DeviceLost { .. })
    }

    /// The same error with `note` added to what went wrong (after the
    /// message, before the fix; after the reason of a lost device).
    /// [`Error::Invalid`], [`Error::StepBudget`] and [`Error::Io`], whose
    /// messages are made of their fields, come back unchanged.
    pub fn with_note(mut self, note: &str) -> Error {
        match &mut self {
            Error::BadInput { message, .. }
            | Error::NoAdapter { message, .. }
            | Error::Gpu { message, .. }
            | Error::Internal { message }
            | Error::DeviceLost {
                reason: message, ..
            } => message.push_str(note),
            Error::Invalid { .. }
            | Error::StepBudget { .. }
            | Error::Io { .. }
            | Error::Cancelled => {}
        }
        self
    }

    /// The same error with `prefix` put before its message (before the
    /// `what` of a lost device). [`Error::Invalid`], [`Error::StepBudget`]
    /// and [`Error::Io`] come back unchanged.
    pub(crate) fn with_prefix(mut self, prefix: &str) -> Error {
        match &mut self {
            Error::BadInput { message, .. }
            | Error::NoAdapter { message, .. }
            | Error::Gpu { message, .. }
            | Error::Internal { message }
            | Error::DeviceLost { what: message, .. } => message.insert_str(0, prefix),
            Error::Invalid { .. }
            | Error::StepBudget { .. }
            | Error::Io { .. }
            | Error::Cancelled => {}
        }
        self
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_message_dot_fix() {
        let e = Error::bad_input("a thing is wrong", "do this");
        assert_eq!(e.to_string(), "a thing is wrong. Fix: do this");
        assert_eq!(e.message(), "a thing is wrong");
        assert_eq!(e.fix(), Some("do this"));
        let e = Error::internal("x broke");
        assert_eq!(
            e.to_string(),
            "x broke. Fix: this is a vyre bug; please report it"
        );
        let e = Error::DeviceLost {
            what: "running".into(),
            device: "wgpu: gpu (Vulkan)".into(),
            reason: "reset".into(),
        };
        assert!(e.is_device_lost());
        assert_eq!(
            e.to_string(),
            format!("{}. Fix: {}", e.message(), e.fix().unwrap())
        );
        let e = e.with_note(" (again)");
        assert!(e.message().ends_with("was lost: reset (again)"));
        let e = Error::StepBudget {
            program: "p".into(),
            budget: 3,
        };
        assert_eq!(
            e.to_string(),
            format!("{}. Fix: {}", e.message(), e.fix().unwrap())
        );
    }
}

/// One problem found by the validator: where it is, and what is wrong (with a
/// `Fix:` hint). Re-exported as `validate::Diagnostic`; defined here, with the
/// error that carries a list of them, so the error type depends on nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where: the program and a path, e.g. ``program `sum`, body[2].then[0] (let x)``.
    pub location: String,
    /// What is wrong, ending with `Fix: ...`.
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}
