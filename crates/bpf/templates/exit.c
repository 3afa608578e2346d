#include "bpf.h"
/* exit: leaves the program, or returns from a local call */
PATCHJIT_STENCIL {
    uint64_t d = vm->depth;
    if (d == 0) {
        return vm->r[0];
    }
    d--;
    for (int i = 0; i < 4; i++) {
        vm->r[6 + i] = vm->saved[d][i];
    }
    vm->depth = d;
    vm->r[10] += BPF_STACK_SIZE;
    PATCHJIT_GOTO(vm->ret[d]);
}
