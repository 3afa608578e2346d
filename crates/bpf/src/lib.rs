//! eBPF engine built on patchjit.
