//! The benchmark loops, shared with `bench/bpf-compare` (which runs them on rbpf too).

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
