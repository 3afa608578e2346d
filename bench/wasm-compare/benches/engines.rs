//! patchjit-wasm's tiers ([`patchjit_wasm::tier::Tier::ALL`]) against wasmi, Wasmtime's
//! Winch and Cranelift and Wasmer's singlepass, in one criterion run:
//!
//! - `compile/<workload>/<engine>`: decode + validate + compile to ready-to-run (patchjit's
//!   figure includes instantiation, see `Compilers::compile`); throughput in bytes of code
//!   section;
//! - `run/<workload>/<engine>`: one call of `run`, on an instance made outside the timing.
//!
//! Before anything is timed, every engine runs every workload and must give the same result
//! (a wrong engine fails the bench), and each instance timed in `run` gives it once more. The
//! one exception, an engine already known to be wrong on a workload (`KNOWN_WRONG`), is
//! reported and not timed there.
//!
//! Run from this directory: `cargo bench`, then `cargo run --release -- ratios` for the tables.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use patchjit_wasm_compare::engine::{Compilers, Engine};
use patchjit_wasm_compare::workload::{self, code_section_len, Workload};

/// `run(arg)` on a fresh instance on `engine`.
fn run_once(compilers: &Compilers, engine: Engine, w: &Workload) -> Result<i64, String> {
    compilers
        .compile(engine, &w.wasm)?
        .instantiate()?
        .run(w.arg)
}

/// Engines known to give a wrong result on a workload. They are not timed there, and the
/// check below insists that they are still wrong, so an entry goes once its engine is fixed.
const KNOWN_WRONG: &[(&str, Engine)] = &[
    // wasmi 2.0.0: the generated module's function 188, called as (7, 188) on a fresh
    // instance, returns 0; patchjit's interpreter, Winch, Cranelift and Wasmer's singlepass
    // return 1 (and all four agree on `run`).
    ("generated", Engine::Wasmi),
];

/// Whether `engine` is timed on `w` (it is not in [`KNOWN_WRONG`] for it).
fn trusted(w: &Workload, engine: Engine) -> bool {
    !KNOWN_WRONG.contains(&(w.name, engine))
}

/// The result every trusted engine agrees on, or a panic listing what each gave; an engine of
/// [`KNOWN_WRONG`] that gives it too is a panic as well.
fn agreed_result(compilers: &Compilers, engines: &[Engine], w: &Workload) -> i64 {
    let results: Vec<(Engine, Result<i64, String>)> = engines
        .iter()
        .map(|&e| (e, run_once(compilers, e, w)))
        .collect();
    let first = &results[0].1;
    let agree = |&(e, ref r): &(Engine, Result<i64, String>)| (r == first) == trusted(w, e);
    if first.is_err() || !results.iter().all(agree) {
        let lines: Vec<String> = results
            .iter()
            .map(|(e, r)| {
                let known = if trusted(w, *e) { "" } else { " (known wrong)" };
                format!("  {}{known}: {r:?}", e.name())
            })
            .collect();
        panic!(
            "{}: run({}) differs between engines:\n{}",
            w.name,
            w.arg,
            lines.join("\n")
        );
    }
    for (e, r) in &results {
        if !trusted(w, *e) {
            eprintln!(
                "{}: {} gives {r:?}, the others {first:?}: not timed (KNOWN_WRONG)",
                w.name,
                e.name()
            );
        }
    }
    first.clone().unwrap()
}

fn benches(c: &mut Criterion) {
    let workloads = workload::all().unwrap_or_else(|e| panic!("{e}"));
    let compilers = Compilers::new().unwrap_or_else(|e| panic!("{e}"));
    let engines = Engine::all();
    let expected: Vec<i64> = workloads
        .iter()
        .map(|w| agreed_result(&compilers, &engines, w))
        .collect();

    let mut g = c.benchmark_group("compile");
    g.sample_size(10);
    for w in &workloads {
        g.throughput(Throughput::Bytes(
            code_section_len(&w.wasm).unwrap_or_else(|e| panic!("{}: {e}", w.name)),
        ));
        for &e in engines.iter().filter(|&&e| trusted(w, e)) {
            g.bench_function(BenchmarkId::new(w.name, e.name()), |b| {
                // One module at a time, dropped outside the timing, each compiled on
                // renewed compilers (see `Compilers::renewed`), made outside it too.
                b.iter_batched(
                    || compilers.renewed(),
                    |fresh| (fresh.compile(e, &w.wasm).unwrap(), fresh),
                    BatchSize::PerIteration,
                )
            });
        }
    }
    g.finish();

    let mut g = c.benchmark_group("run");
    g.sample_size(10);
    for (w, &want) in workloads.iter().zip(&expected).filter(|(w, _)| w.timed_run) {
        for &e in engines.iter().filter(|&&e| trusted(w, e)) {
            let mut instance = compilers
                .compile(e, &w.wasm)
                .and_then(|c| c.instantiate())
                .unwrap_or_else(|err| panic!("{}: {err}", w.name));
            assert_eq!(instance.run(w.arg), Ok(want), "{} on {}", w.name, e.name());
            g.bench_function(BenchmarkId::new(w.name, e.name()), |b| {
                b.iter(|| instance.run(w.arg).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(engines, benches);
criterion_main!(engines);
