//! The benchmark programs, shared with `bench/bpf-compare` (which runs them on rbpf too). Each
//! bench uses some of them.

#![allow(dead_code)]

pub const ITERS: u64 = 10_000;

/// 6 instructions per iteration, 3 before the loop and the exit.
pub const ARITH: &str = "
    mov %r0, 0
    mov %r1, 0
    lddw %r2, 10000
loop:
    add %r0, %r1
    mul %r0, 3
    xor %r0, 0x55
    rsh %r0, 1
    add %r1, 1
    jlt %r1, %r2, loop
    exit
";

/// 7 instructions per iteration over a 64-byte input buffer, 4 before the loop and the exit.
pub const MEMORY: &str = "
    mov %r0, 0
    mov %r3, 0
    mov %r4, %r1
    lddw %r2, 10000
loop:
    ldxdw %r5, [%r4]
    add %r0, %r5
    stxdw [%r10-8], %r0
    ldxdw %r6, [%r10-8]
    stxdw [%r4+8], %r6
    add %r3, 1
    jlt %r3, %r2, loop
    exit
";

/// A straight-line program of `n` instructions (the last is `exit`): ALU, stack stores and
/// loads and a forward branch every 16, a mix dense enough for rbpf's one-page JIT (under
/// 4 bytes of x86-64 per instruction: 1,000 fit, 10,000 do not). The branch is a `jset`, one
/// of the 64-bit jumps rbpf's Cranelift JIT gets right: it compares only the low 32 bits in
/// every other (`is_32` is true for the JMP class too in its `cranelift.rs`).
pub fn straight_line(n: usize) -> String {
    let ops = [
        "add %r0, %r1",
        "xor %r0, %r2",
        "stxdw [%r10-8], %r0",
        "ldxdw %r2, [%r10-8]",
        "mov %r3, %r0",
        "rsh %r3, 3",
        "add %r1, %r3",
        "stxw [%r10-16], %r1",
        "ldxw %r4, [%r10-16]",
        "sub %r0, %r4",
        "or %r2, %r4",
        "and %r1, %r0",
        "lsh %r4, 2",
        "add %r0, %r4",
        "jset %r0, %r2, +1",
        "mov %r1, %r2",
    ];
    let src: Vec<&str> = ["mov %r0, 1", "mov %r1, 2", "mov %r2, 3"]
        .into_iter()
        .chain((0..n - 4).map(|k| ops[k % ops.len()]))
        .chain(["exit"])
        .collect();
    src.join("\n")
}
