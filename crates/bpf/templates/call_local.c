/* patchjit-variants: SAVE=0..=15 */
#include "bpf.h"
/* call local: a machine call of the callee (its `exit` returns here), with a fresh stack frame:
 * r10 a frame lower for the call. The depth limit is a bound on r10 (the frame's top; the
 * stack is the 8 frames): at most 8 frames, so a callee's frame must lie above the lowest
 * (`call_floor`: r10 below it makes no call).
 * A fault in the callee returns here too and goes on up (x86-64: it goes straight back to
 * the shim, STOP, and never comes here).
 *
 * x86-64: the call is written out, so that r0-r5 come back in their registers (`exit` is a
 * bare `ret`) and only what the callee may change is saved: of r6-r9 those SAVE names (bit
 * n - 6: the callee's own instructions write rn; the JIT works it out, a callee's callees
 * restore what they change themselves); no stencil changes the state pointer, and r10 comes
 * back a frame lower. The red zone is kept clear (the
 * compiler cannot know the asm calls), and the callee is entered with the stack aligned as at
 * every stencil's entry (8 mod 16, the shim having called the first instruction like a C
 * function) by a static pad: the asm is the stencil's first instruction, nothing moved the
 * stack before it (`jit.rs` tests that every variant starts with it). The
 * refused call leaves for the error target (`call_local_fault`, after the program), with the
 * asm naming every pinned register in its own register, so nothing cold is in the stencil and
 * the call falls through to the next instruction. */
PATCHJIT_STENCIL {
#if defined(__x86_64__)
    BPF_PINNED(REG, vm);
    __asm__ volatile(
        "cmp %c[floor](%[vm]), %[r10]\n\t"
        "jb _JIT_ERROR_TARGET\n\t"
        "lea -128(%%rsp), %%rsp\n\t"
        ".if %c[save] & 1\n\tpush %[r6]\n\t.endif\n\t"
        ".if %c[save] & 2\n\tpush %[r7]\n\t.endif\n\t"
        ".if %c[save] & 4\n\tpush %[r8]\n\t.endif\n\t"
        ".if %c[save] & 8\n\tpush %[r9]\n\t.endif\n\t"
        ".if %c[pad]\n\tsub $8, %%rsp\n\t.endif\n\t"
        "sub %[frame], %[r10]\n\t"
        "call %P[callee]\n\t"
        "add %[frame], %[r10]\n\t"
        ".if %c[pad]\n\tadd $8, %%rsp\n\t.endif\n\t"
        ".if %c[save] & 8\n\tpop %[r9]\n\t.endif\n\t"
        ".if %c[save] & 4\n\tpop %[r8]\n\t.endif\n\t"
        ".if %c[save] & 2\n\tpop %[r7]\n\t.endif\n\t"
        ".if %c[save] & 1\n\tpop %[r6]\n\t.endif\n\t"
        "lea 128(%%rsp), %%rsp"
        : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5)
        : [vm] "r"(xvm), [r10] "r"(x10), [r6] "r"(x6), [r7] "r"(x7), [r8] "r"(x8),
          [r9] "r"(x9), [callee] "i"(_JIT_JUMP_TARGET), [save] "i"(SAVE),
          /* Entered at 8 mod 16: an odd number of pushes enters the callee the same way. */
          [pad] "i"((1 + (SAVE & 1) + ((SAVE >> 1) & 1) + ((SAVE >> 2) & 1) + ((SAVE >> 3) & 1)) & 1),
          [frame] "i"(BPF_STACK_SIZE), [floor] "i"(__builtin_offsetof(BpfVm, call_floor))
        : "rbx", "r10", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
          "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
    BPF_CALL_RESULTS();
#else
    if (__builtin_expect(r10 < vm->call_floor, 0)) {
        vm->fault = BPF_FAULT_DEPTH;
        vm->fault_pc = PC;
        STOP();
    }
    r0 = ((patchjit_stencil)_JIT_JUMP_TARGET)(r6, r7, r8, r9, r1, r2, r3, r4, r5, vm,
                                              r10 - BPF_STACK_SIZE, r0);
    if (__builtin_expect(vm->fault != 0, 0)) {
        STOP();
    }
    r1 = vm->r[1];
    r2 = vm->r[2];
    r3 = vm->r[3];
    r4 = vm->r[4];
    r5 = vm->r[5];
#endif
    NEXT();
}
