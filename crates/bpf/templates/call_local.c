#include "bpf.h"
/* call local: saves r6-r9 and the continuation, gives the callee a fresh stack frame */
PATCHJIT_STENCIL {
    uint64_t d = vm->depth;
    if (d + 1 >= BPF_MAX_CALL_DEPTH) {
        vm->fault = BPF_FAULT_DEPTH;
        vm->fault_pc = PC;
        return 0;
    }
    vm->ret[d] = (uint64_t)(uintptr_t)_JIT_CONTINUE;
    for (int i = 0; i < 4; i++) {
        vm->saved[d][i] = vm->r[6 + i];
    }
    vm->depth = d + 1;
    vm->r[10] -= BPF_STACK_SIZE;
    PATCHJIT_JUMP();
}
