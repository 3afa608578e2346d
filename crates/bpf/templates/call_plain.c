/* patchjit-variants: SAVE=0..=3 */
#include "bpf.h"
/* call imm of a plain helper (`Helpers::register_plain`): operand 0 is the function itself,
 * called with r1-r5 like any C function; nothing can fault.
 *
 * x86-64: written out, so that only what the C call may clobber and the program still needs
 * is kept. The state, r10, r6 and r7 are in registers C preserves (r12-r15) and r1-r5 already
 * in its argument registers; r8 and r9 (in r9 and r11) are pushed when SAVE says the program
 * names them (bit 0 r8, bit 1 r9: the JIT works it out), and a static pad enters the helper
 * with the stack aligned (every stencil is entered at 8 mod 16, and the asm is the stencil's
 * first instruction: `jit.rs` tests it). Elsewhere all of r6-r10 and the state are in
 * callee-saved registers already. */
typedef uint64_t (*bpf_plain_helper)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
PATCHJIT_STENCIL {
#if defined(__x86_64__)
    BPF_PINNED(REG, vm);
    /* Through a register: called as a symbol, the value would become a rel32 call, which
     * cannot reach an arbitrary address. */
    __asm__ volatile(
        "movabs $_JIT_OPERAND0, %[r0]\n\t"
        ".if %c[save] & 1\n\tpush %[r8]\n\t.endif\n\t"
        ".if %c[save] & 2\n\tpush %[r9]\n\t.endif\n\t"
        ".if %c[pad]\n\tsub $8, %%rsp\n\t.endif\n\t"
        "call *%[r0]\n\t"
        ".if %c[pad]\n\tadd $8, %%rsp\n\t.endif\n\t"
        ".if %c[save] & 2\n\tpop %[r9]\n\t.endif\n\t"
        ".if %c[save] & 1\n\tpop %[r8]\n\t.endif"
        : [r0] "=r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5), [r8] "+r"(x8),
          [r9] "+r"(x9)
        : [save] "i"(SAVE),
          /* An odd number of pushes (the pad included) aligns the call. */
          [pad] "i"((1 + (SAVE & 1) + ((SAVE >> 1) & 1)) & 1)
        : "rbx", "r10", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
          "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
    BPF_CALL_RESULTS();
    /* Kept when the program names them; otherwise nothing reads them again. */
    r8 = x8;
    r9 = x9;
#else
    uint64_t f = WIDE;
    __asm__("" : "+r"(f));
    r0 = ((bpf_plain_helper)(uintptr_t)f)(r1, r2, r3, r4, r5);
#endif
    CLOBBER_ARGUMENTS();
    NEXT();
}
