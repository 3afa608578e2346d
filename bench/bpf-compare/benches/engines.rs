//! patchjit-bpf's interpreter and JIT (plain and with a budget) against rbpf 0.4.1's
//! interpreter, x86-64 JIT and Cranelift JIT, in one criterion run:
//!
//! - run time on the two loops of `crates/bpf/benches/programs.rs` and on the clang-compiled
//!   programs of `crates/bpf/tests/programs/` (`suite.rs` there), each run on a fresh copy of
//!   its input; before timing, every engine must give patchjit's interpreter's r0 and memory;
//! - compile time (verification included) of straight-line programs of 100, 1,000 and 10,000
//!   instructions, for each JIT and for the interpreters' setup (verification alone).
//!
//! Run from this directory: `cargo bench --bench engines`.
//!
//! What each engine checks: patchjit's tiers bound-check every load and store (a fault stops
//! the program with an error), the budgeted JIT also counts backward jumps and local calls;
//! rbpf's interpreter checks memory; its Cranelift JIT checks memory and traps (the process
//! dies: nothing handles the trap), takes no local calls and compares only the low 32 bits in
//! 64-bit conditional jumps (the check below keeps it to programs where that gives the right
//! result); its x86-64 JIT checks nothing and fits code into one 4 KiB page.

mod shared;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use patchjit_bpf::asm::assemble;
use patchjit_bpf::interp::Interpreter;
use patchjit_bpf::isa::{slots_to_bytes, RawInsn};
use patchjit_bpf::jit::Jit;
use patchjit_bpf::vm::Helpers;
use shared::{programs, timed_programs, Engine, Engines};

/// Times `prog` on every engine that takes it, each run on a fresh copy of `input`;
/// `executed`: instructions per run when known (criterion then shows instructions per second).
fn bench(c: &mut Criterion, name: &str, prog: &[RawInsn], input: &[u8], executed: Option<u64>) {
    let bytes = slots_to_bytes(prog);
    let engines = Engines::new(prog, &bytes);
    engines.check(name, input);
    let mut g = c.benchmark_group(name);
    if let Some(n) = executed {
        g.throughput(Throughput::Elements(n));
    }
    let mut mem = input.to_vec();
    for engine in Engine::ALL.into_iter().filter(|&e| engines.takes(e)) {
        g.bench_function(engine.name(), |b| {
            b.iter(|| {
                mem.copy_from_slice(input);
                engines.run(engine, &mut mem).unwrap()
            })
        });
    }
    g.finish();
}

/// [`programs::straight_line`], assembled.
fn straight_line(n: usize) -> Vec<RawInsn> {
    assemble(&programs::straight_line(n)).expect("assembles")
}

/// Compile time, verification included on every side (rbpf's `new` runs its verifier and its
/// stack-usage pass); the compiled program is dropped outside the timing.
fn compile(c: &mut Criterion, n: usize) {
    let prog = straight_line(n);
    assert_eq!(prog.len(), n);
    let bytes = slots_to_bytes(&prog);
    // The compiled code is run once on each engine: what is timed must be right.
    let engines = Engines::new(&prog, &bytes);
    engines.check(&format!("compile_{n}"), &[0; 8]);
    let rbpf_jit = engines.rbpf_jit;
    if !rbpf_jit {
        eprintln!("compile_{n}: rbpf's x86-64 JIT cannot compile it (over its 4 KiB page)");
    }
    let arena = patchjit::Options {
        placement: patchjit::Placement::Arena(patchjit::Arena::new(64 << 20).unwrap()),
        ..patchjit::Options::default()
    };
    let heap = patchjit::Options {
        placement: patchjit::Placement::Heap(patchjit::CodeHeap::new(64 << 20).unwrap()),
        ..patchjit::Options::default()
    };
    let mut g = c.benchmark_group(format!("compile_{n}"));
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    let batch = BatchSize::SmallInput;
    g.bench_function("patchjit_jit", |b| {
        b.iter_batched(
            || prog.clone(),
            |p| Jit::new(p, Helpers::new()).unwrap(),
            batch,
        )
    });
    g.bench_function("patchjit_jit_arena", |b| {
        b.iter_batched(
            || prog.clone(),
            |p| Jit::with_options(p, Helpers::new(), &arena).unwrap(),
            batch,
        )
    });
    g.bench_function("patchjit_jit_heap", |b| {
        b.iter_batched(
            || prog.clone(),
            |p| Jit::with_options(p, Helpers::new(), &heap).unwrap(),
            batch,
        )
    });
    g.bench_function("patchjit_interp", |b| {
        b.iter_batched(
            || prog.clone(),
            |p| Interpreter::new(p, Helpers::new()).unwrap(),
            batch,
        )
    });
    if rbpf_jit {
        g.bench_function("rbpf_jit", |b| {
            b.iter_with_large_drop(|| {
                let mut vm = rbpf::EbpfVmRaw::new(Some(&bytes)).unwrap();
                vm.jit_compile().unwrap();
                vm
            })
        });
    }
    g.bench_function("rbpf_cranelift", |b| {
        b.iter_with_large_drop(|| {
            let mut vm = rbpf::EbpfVmRaw::new(Some(&bytes)).unwrap();
            vm.cranelift_compile().unwrap();
            vm
        })
    });
    g.bench_function("rbpf_interp", |b| {
        b.iter_with_large_drop(|| rbpf::EbpfVmRaw::new(Some(&bytes)).unwrap())
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    for (name, prog, input, executed) in timed_programs() {
        bench(c, &name, &prog, &input, executed);
    }
    for n in [100, 1_000, 10_000] {
        compile(c, n);
    }
}

criterion_group!(engines, benches);
criterion_main!(engines);
