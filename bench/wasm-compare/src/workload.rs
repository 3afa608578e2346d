//! The workloads: modules kept in `workloads/` (text format, or C that `build.rs` compiles
//! with clang-19) and the generated one, each exporting `run: [i32] -> [i64]` with a result
//! that depends only on its argument.

use wasmparser::{Parser, Payload};

/// A module to compile and run, and the argument its `run` is called with.
pub struct Workload {
    /// The name in benchmark ids and tables.
    pub name: &'static str,
    /// The binary module.
    pub wasm: Vec<u8>,
    /// `run`'s argument (the problem size).
    pub arg: i32,
    /// Whether its run time is benchmarked; the generated module is there for compile
    /// throughput, its run is only checked.
    pub timed_run: bool,
}

/// Every workload's name, in the order tables list them (known without building any).
pub const NAMES: [&str; 7] = [
    "fib_rec",
    "matmul",
    "sort",
    "crc",
    "sieve",
    "interp",
    "generated",
];

/// The C workloads as `build.rs` left them: bytes, or why clang could not make them.
const C_WORKLOADS: &[(&str, Result<&[u8], &str>)] =
    include!(concat!(env!("OUT_DIR"), "/c_workloads.rs"));

/// The argument each workload's `run` gets: sized so one run on the interpreter takes tens
/// of milliseconds.
fn arg(name: &str) -> i32 {
    match name {
        "fib_rec" => 25,
        "matmul" => 64,
        "sort" => 10_000,
        "crc" => 65_536,
        "sieve" => 200_000,
        "interp" => 20_000,
        "generated" => 7,
        _ => unreachable!("{name} is not in NAMES"),
    }
}

/// All workloads in [`NAMES`] order, or why some cannot be had (clang missing).
pub fn all() -> Result<Vec<Workload>, String> {
    NAMES
        .iter()
        .map(|&name| {
            let wasm = match name {
                "fib_rec" => wat::parse_str(include_str!("../workloads/fib.wat"))
                    .map_err(|e| format!("workloads/fib.wat: {e}"))?,
                "generated" => crate::generate::module(),
                _ => {
                    let (_, built) = C_WORKLOADS
                        .iter()
                        .find(|(n, _)| *n == name)
                        .expect("build.rs builds every C workload in NAMES");
                    built
                        .map_err(|why| format!("workload {name}: {why}"))?
                        .to_vec()
                }
            };
            Ok(Workload {
                name,
                wasm,
                arg: arg(name),
                timed_run: name != "generated",
            })
        })
        .collect()
}

/// The size in bytes of `wasm`'s code section (0 without one): what compile throughput is
/// measured in.
pub fn code_section_len(wasm: &[u8]) -> Result<u64, String> {
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionStart { size, .. } = payload.map_err(|e| e.to_string())? {
            return Ok(size.into());
        }
    }
    Ok(0)
}
