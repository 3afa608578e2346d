//! Compile time of one module on each tier, side by side: decode, validate and instantiate it
//! (the JIT compiles it then) `ROUNDS` times per tier and print the fastest round, a figure a
//! busy machine inflates least, and its throughput over the whole file.
//!
//! ```text
//! cargo run --release -p patchjit-wasm --example instantiate -- FILE.wasm [ROUNDS]
//! ```
//!
//! The large generated module of the benchmarks is written by `wasm-compare write DIR`
//! (`bench/wasm-compare`). The module must import nothing.

use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use patchjit_wasm::module::Module;
use patchjit_wasm::store::Store;
use patchjit_wasm::tier::Tier;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, rounds) = match &args[..] {
        [path] => (path, 20),
        [path, rounds] => match rounds.parse::<u32>() {
            Ok(n) if n > 0 => (path, n),
            _ => {
                return fail(&format!(
                    "ROUNDS must be a positive integer, not {rounds:?}"
                ))
            }
        },
        _ => return fail("usage: instantiate FILE.wasm [ROUNDS]"),
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => return fail(&format!("{path}: {e}")),
    };
    println!(
        "tier\tbest_ms\tmb_per_s\t({} bytes, {rounds} rounds)",
        bytes.len()
    );
    for &tier in Tier::ALL {
        let mut best = Duration::MAX;
        for _ in 0..rounds {
            let start = Instant::now();
            let module = match Module::decode(&bytes) {
                Ok(module) => Rc::new(module),
                Err(e) => return fail(&format!("{path}: {e}")),
            };
            let mut store = Store::new(tier);
            if let Err(e) = store.instantiate(module, &|_, _| None) {
                return fail(&format!("{path}: {e}"));
            }
            best = best.min(start.elapsed());
            drop(store);
        }
        let seconds = best.as_secs_f64();
        println!(
            "{}\t{:.2}\t{:.1}",
            tier.name(),
            seconds * 1e3,
            bytes.len() as f64 / seconds / 1e6
        );
    }
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
