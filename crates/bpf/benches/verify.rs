//! The verifier's cost per instruction on a program of about 1,000 instructions of the usual mix
//! (ALU, stack loads and stores, forward branches, local calls), beside copying the program,
//! the least any compile must do. Run: `cargo bench -p patchjit-bpf --bench verify`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use patchjit_bpf::asm::assemble;
use patchjit_bpf::isa::RawInsn;
use patchjit_bpf::verifier::verify;

/// An entry function calling `leaves` leaf functions of 19 instructions each.
fn program(leaves: usize) -> Vec<RawInsn> {
    let mut src = String::new();
    for f in 0..leaves {
        src += &format!("call local f{f}\n");
    }
    src += "exit\n";
    for f in 0..leaves {
        src += &format!("f{f}:\nmov %r0, {f}\nadd %r0, %r1\nstxdw [%r10-8], %r0\n");
        src += "ldxdw %r2, [%r10-8]\njeq %r2, 7, +2\nmul %r2, 3\nxor %r2, %r0\n";
        src += "lsh %r2, 1\nstxw [%r10-16], %r2\nldxw %r3, [%r10-16]\njgt %r3, %r2, +3\n";
        src += "add %r3, 1\nsub %r3, %r0\nor %r3, 8\nmov32 %r4, %r3\nand %r4, 255\n";
        src += "add %r0, %r4\nmov %r0, %r0\nexit\n";
    }
    assemble(&src).expect("bench program assembles")
}

fn benches(c: &mut Criterion) {
    let prog = program(50);
    verify(&prog).expect("bench program verifies");
    let mut g = c.benchmark_group("verify_1000");
    g.throughput(Throughput::Elements(prog.len() as u64));
    g.bench_function("verify", |b| b.iter(|| verify(&prog)));
    g.bench_function("copy", |b| b.iter(|| prog.clone()));
    g.finish();
}

criterion_group!(verify_bench, benches);
criterion_main!(verify_bench);
