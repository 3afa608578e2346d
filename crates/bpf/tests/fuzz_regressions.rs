//! Inputs the fuzz targets and the mutation campaign (fuzz/, docs/fuzzing.md) found crashing.

#![cfg(bpf_jit)]

use std::path::Path;

use patchjit_bpf::asm::assemble;
use patchjit_bpf::elf;
use patchjit_bpf::interp::Interpreter;
use patchjit_bpf::isa::RawInsn;
use patchjit_bpf::jit::Jit;
use patchjit_bpf::vm::Helpers;

/// r0 from both tiers, which must agree.
fn both(prog: Vec<RawInsn>) -> u64 {
    let mut mem: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37)).collect();
    let want = Interpreter::new(prog.clone(), Helpers::conformance())
        .unwrap()
        .run(&mut mem.clone())
        .unwrap();
    let got = Jit::new(prog, Helpers::conformance())
        .unwrap()
        .run(&mut mem)
        .unwrap();
    assert_eq!(got, want);
    got
}

/// A mutant of `fuzz/bpf/straight.c` (-mcpu=v4) from the mutation campaign whose `mod %r2, 4`
/// became `mod %r2, 0`: the JIT's machine code divided by zero and died of SIGFPE. The
/// templates' `v ? d % v : d` could not test an immediate: clang took `&_JIT_OPERAND0` for
/// non-null and folded the test away (fixed in `patchjit.h`, whose values are weak symbols).
#[test]
fn campaign_mutant_with_modulo_by_immediate_zero_runs() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_inputs/jit_sigfpe.bin");
    both(elf::load(&std::fs::read(path).unwrap(), None).unwrap());
}

/// Every division and remainder by an immediate 0, in both widths, signed and not: quotient 0,
/// remainder the dividend (cut to 32 bits in 32-bit operations), as RFC 9669 says.
#[test]
fn division_by_immediate_zero_gives_the_rfc_results() {
    let dividend = 0x8000_0000_1234_5678u64;
    for (op, expected) in [
        ("div", 0),
        ("sdiv", 0),
        ("mod", dividend),
        ("smod", dividend),
        ("div32", 0),
        ("sdiv32", 0),
        ("mod32", dividend as u32 as u64),
        ("smod32", dividend as u32 as u64),
    ] {
        let src = format!("lddw %r0, {dividend:#x}\n{op} %r0, 0\nexit");
        assert_eq!(both(assemble(&src).unwrap()), expected, "{op}");
    }
}
