//! Copy-and-patch JIT runtime.
