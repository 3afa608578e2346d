#include "bpf.h"
/* call local: a machine call of the callee (its `exit` returns here; the depth limit bounds the
 * machine stack), with a fresh stack frame; the caller's r6-r10 live on in this frame, r0-r5
 * come back from the callee. A fault in the callee returns here too and goes on up. */
PATCHJIT_STENCIL {
    uint64_t d = vm->depth;
    if (d + 1 >= BPF_MAX_CALL_DEPTH) {
        vm->fault = BPF_FAULT_DEPTH;
        vm->fault_pc = PC;
        return 0;
    }
    vm->depth = d + 1;
    r0 = ((patchjit_stencil)_JIT_JUMP_TARGET)(r6, r7, r8, r9, vm, r1, r2, r3, r4, r5,
                                              r10 - BPF_STACK_SIZE, r0);
    if (__builtin_expect(vm->fault != 0, 0)) {
        return 0;
    }
    vm->depth = d;
    r1 = vm->r[1];
    r2 = vm->r[2];
    r3 = vm->r[3];
    r4 = vm->r[4];
    r5 = vm->r[5];
    NEXT();
}
