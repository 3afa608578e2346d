#include "bpf.h"
/* The error target of a local call on x86-64 (placed after the program, one per call): the
 * call-depth fault when the call was refused, or, once the callee has faulted, on up. */
PATCHJIT_STENCIL {
    if (vm->fault == 0) {
        vm->fault = BPF_FAULT_DEPTH;
        vm->fault_pc = PC;
    }
    return 0;
}
