//! patchjit-wasm's tiers against other WebAssembly engines, on the same modules: the
//! workloads ([`workload`]), the engines behind one interface ([`engine`]), the large
//! generated module ([`generate`]) and the ratio tables from criterion's estimates
//! ([`report`]). The criterion bench (`benches/engines.rs`) and the `wasm-compare` command
//! (`src/main.rs`) are thin layers over these.

pub mod engine;
pub mod generate;
pub mod report;
pub mod workload;
