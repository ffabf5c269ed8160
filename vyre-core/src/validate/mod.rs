//! The validator (in progress).
use std::fmt;

/// One problem found by the validator: where it is, and what is wrong (with a `Fix:` hint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where: e.g. `body[2].then[0]: let x`.
    pub location: String,
    /// What is wrong, ending with `Fix: ...`.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}
