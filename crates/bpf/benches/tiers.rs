//! Both tiers side by side: ns per executed eBPF instruction on an arithmetic loop and a memory
//! (load/store) loop, interpreter and JIT in one run (the JIT's result is checked against the
//! interpreter's first). Run: `cargo bench -p patchjit-bpf --bench tiers`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use patchjit_bpf::asm::assemble;
use patchjit_bpf::interp::Interpreter;
use patchjit_bpf::vm::Helpers;

#[path = "programs.rs"]
mod programs;

use programs::{ARITH, ITERS, MEMORY};

fn bench(c: &mut Criterion, name: &str, src: &str, per_iter: u64, fixed: u64) {
    let prog = assemble(src).expect("bench program assembles");
    let vm = Interpreter::new(prog.clone(), Helpers::new()).expect("bench program verifies");
    let mut mem = [1u8; 64];
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(ITERS * per_iter + fixed));
    #[cfg(bpf_jit)]
    {
        let jit =
            patchjit_bpf::jit::Jit::new(prog, Helpers::new()).expect("bench program compiles");
        let mut copy = mem;
        assert_eq!(
            jit.run(&mut copy),
            vm.run(&mut mem.clone()),
            "the tiers disagree"
        );
        g.bench_function("jit", |b| {
            b.iter(|| jit.run(&mut mem).expect("bench program runs"))
        });
    }
    g.bench_function("interp", |b| {
        b.iter(|| vm.run(&mut mem).expect("bench program runs"))
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench(c, "arith_loop", ARITH, 6, 4);
    bench(c, "memory_loop", MEMORY, 7, 5);
}

criterion_group!(tiers, benches);
criterion_main!(tiers);
