//! WGSL lowering (in progress).
