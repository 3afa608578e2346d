//! patchjit's fuzzing: what each input goes through ([`objects`] for object files and
//! `llvm-readobj` JSON, [`bpf`] for eBPF ELF files), shared by the cargo-fuzz targets in
//! `fuzz_targets/` and the mutation campaign (`examples/campaign.rs`), and the mutations the
//! campaign applies to real clang-19 output ([`mutate`]). See docs/fuzzing.md.

pub mod bpf;
pub mod mutate;
pub mod objects;
mod table;
