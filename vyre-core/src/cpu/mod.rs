//! CPU reference (in progress).
