//! patchjit-bpf's interpreter and JIT against rbpf's interpreter and JIT, in one criterion run,
//! on the loops of `crates/bpf/benches/programs.rs` (every engine's result is checked against
//! patchjit's interpreter first), and the two JIT compilers on a 200-instruction program (rbpf 0.3 compiles into one 4 KiB page and
//! panics beyond it).
//! Run from this directory: `cargo bench --bench engines`.
//!
//! Not like for like in one respect: patchjit's JIT checks every load and store against the
//! input and the stack, as its interpreter does; rbpf's JIT checks none (its interpreter does).

#[path = "../../../crates/bpf/benches/programs.rs"]
mod programs;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use patchjit_bpf::asm::assemble;
use patchjit_bpf::interp::Interpreter;
use patchjit_bpf::vm::Helpers;
use patchjit_bpf::isa::slots_to_bytes;
use patchjit_bpf::jit::Jit;
use programs::{ARITH, ITERS, MEMORY};

fn bench(c: &mut Criterion, name: &str, src: &str, per_iter: u64, fixed: u64) {
    let prog = assemble(src).expect("bench program assembles");
    let bytes = slots_to_bytes(&prog);
    let interp = Interpreter::new(prog.clone(), Helpers::new()).expect("verifies");
    let jit = Jit::new(prog, Helpers::new()).expect("compiles");
    let rbpf_interp = rbpf::EbpfVmRaw::new(Some(&bytes)).expect("rbpf accepts it");
    let mut rbpf_jit = rbpf::EbpfVmRaw::new(Some(&bytes)).expect("rbpf accepts it");
    rbpf_jit.jit_compile().expect("rbpf compiles it");

    let mut mem = [1u8; 64];
    let want = interp.run(&mut mem.clone()).expect("runs");
    assert_eq!(jit.run(&mut mem.clone()), Ok(want), "patchjit JIT");
    assert_eq!(
        rbpf_interp.execute_program(&mut mem.clone()).ok(),
        Some(want),
        "rbpf"
    );
    // SAFETY: the program only touches its 64-byte input and the stack (checked above by
    // patchjit's bounds-checking interpreter on the same input).
    let got = unsafe { rbpf_jit.execute_program_jit(&mut mem.clone()) };
    assert_eq!(got.ok(), Some(want), "rbpf JIT");

    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(ITERS * per_iter + fixed));
    g.bench_function("patchjit_jit", |b| b.iter(|| jit.run(&mut mem).unwrap()));
    g.bench_function("rbpf_jit", |b| {
        // SAFETY: as above.
        b.iter(|| unsafe { rbpf_jit.execute_program_jit(&mut mem) }.unwrap())
    });
    g.bench_function("patchjit_interp", |b| {
        b.iter(|| interp.run(&mut mem).unwrap())
    });
    g.bench_function("rbpf_interp", |b| {
        b.iter(|| rbpf_interp.execute_program(&mut mem).unwrap())
    });
    g.finish();
}

/// Compile time: verification included on both sides (rbpf's `new` runs its verifier).
fn compile(c: &mut Criterion) {
    let ops = [
        "add %r0, %r1",
        "mul %r1, 3",
        "stxdw [%r10-8], %r0",
        "ldxdw %r2, [%r10-8]",
        "xor %r0, %r2",
        "jgt %r0, 1000, +1",
        "mov %r1, 7",
        "rsh %r0, 1",
    ];
    let src: String = (0..199)
        .map(|k| ops[k % ops.len()])
        .chain(["exit"])
        .collect::<Vec<_>>()
        .join("\n");
    let prog = assemble(&src).expect("assembles");
    let bytes = slots_to_bytes(&prog);
    let mut g = c.benchmark_group("compile_200");
    g.throughput(Throughput::Elements(prog.len() as u64));
    g.bench_function("patchjit_jit", |b| {
        b.iter(|| Jit::new(prog.clone(), Helpers::new()).unwrap())
    });
    let arena = patchjit::Options {
        placement: patchjit::Placement::Arena(patchjit::Arena::new(16 << 20).unwrap()),
        ..patchjit::Options::default()
    };
    g.bench_function("patchjit_jit_arena", |b| {
        b.iter(|| Jit::with_options(prog.clone(), Helpers::new(), &arena).unwrap())
    });
    g.bench_function("rbpf_jit", |b| {
        b.iter(|| {
            let mut vm = rbpf::EbpfVmRaw::new(Some(&bytes)).unwrap();
            vm.jit_compile().unwrap();
            vm
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench(c, "arith_loop", ARITH, 6, 4);
    bench(c, "memory_loop", MEMORY, 7, 5);
    compile(c);
}

criterion_group!(engines, benches);
criterion_main!(engines);
