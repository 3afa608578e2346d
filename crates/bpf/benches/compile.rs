//! Compile latency of the JIT tier, verification included, on the straight-line programs of
//! `bench/bpf-compare` (100 and 1,000 instructions), per placement of the code: a fresh mapping
//! per program (the default), an arena chunk, and a dual-mapped code heap; beside the verifier
//! alone. The compiled program is dropped outside the timing. Run:
//! `cargo bench -p patchjit-bpf --bench compile`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use patchjit::{Arena, CodeHeap, Options, Placement};
use patchjit_bpf::asm::assemble;
use patchjit_bpf::interp::Interpreter;
use patchjit_bpf::jit::Jit;
use patchjit_bpf::verifier::verify;
use patchjit_bpf::vm::Helpers;

#[path = "programs.rs"]
mod programs;

fn benches(c: &mut Criterion) {
    let arena = Options {
        placement: Placement::Arena(Arena::new(64 << 20).expect("arena")),
        ..Options::default()
    };
    let heap = Options {
        placement: Placement::Heap(CodeHeap::new(64 << 20).expect("heap")),
        ..Options::default()
    };
    for n in [100, 1_000] {
        let prog = assemble(&programs::straight_line(n)).expect("bench program assembles");
        // What is timed must be right: every placement's code gives the interpreter's result.
        let expected = Interpreter::new(prog.clone(), Helpers::new())
            .expect("verifies")
            .run(&mut [])
            .expect("runs");
        for options in [&Options::default(), &arena, &heap] {
            let jit = Jit::with_options(prog.clone(), Helpers::new(), options).expect("compiles");
            assert_eq!(jit.run(&mut []), Ok(expected));
        }
        let mut g = c.benchmark_group(format!("compile_{n}"));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function("verify", |b| b.iter(|| verify(&prog)));
        for (name, options) in [
            ("jit", &Options::default()),
            ("jit_arena", &arena),
            ("jit_heap", &heap),
        ] {
            g.bench_function(name, |b| {
                b.iter_batched(
                    || prog.clone(),
                    |p| Jit::with_options(p, Helpers::new(), options).expect("compiles"),
                    BatchSize::SmallInput,
                )
            });
        }
        g.finish();
    }
}

criterion_group!(compile, benches);
criterion_main!(compile);
