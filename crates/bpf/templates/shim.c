#include "bpf.h"
/* The entry: a C-ABI function the Rust side calls; it enters the first instruction with the
 * registers the Rust side set in the state.
 *
 * x86-64: the call is written out, so that the stack pointer it leaves (where its return
 * address is) goes into the state for STOP, which returns here from any depth. The stack is
 * aligned as a C call would (the first stencil is entered at 8 mod 16, like every stencil)
 * whatever the compiler's prologue pushed, with the old stack pointer kept on the stack, and
 * rbp is saved here: a stencil that stops may have been using it. The red zone is kept clear
 * (the compiler cannot know the asm pushes). */
uint64_t _JIT_ENTRY(BpfVm *vm) {
#if defined(__x86_64__)
#define SHIM_REG(n) vm->r[n]
    BPF_PINNED(SHIM_REG, vm);
    __asm__ volatile(
        "lea -128(%%rsp), %%rsp\n\t"
        "push %%rbp\n\t"
        "mov %%rsp, %%r10\n\t"
        "and $-16, %%rsp\n\t"
        "push %%r10\n\t"
        "sub $8, %%rsp\n\t"
        "lea -8(%%rsp), %%r10\n\t"
        "mov %%r10, %c[exit_sp](%[vm])\n\t"
        "call %P[first]\n\t"
        "add $8, %%rsp\n\t"
        "pop %%rsp\n\t"
        "pop %%rbp\n\t"
        "lea 128(%%rsp), %%rsp"
        : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5), "+r"(x6), "+r"(x7),
          "+r"(x8), "+r"(x9), "+r"(x10), [vm] "+r"(xvm)
        : [first] "i"(_JIT_CONTINUE), [exit_sp] "i"(__builtin_offsetof(BpfVm, exit_sp))
        : "rbx", "r10", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
          "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
    return x0;
#else
    uint64_t *r = vm->r;
    return PATCHJIT_ENTER(r[6], r[7], r[8], r[9], r[1], r[2], r[3], r[4], r[5], vm, r[10], r[0]);
#endif
}
