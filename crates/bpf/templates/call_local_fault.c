#include "bpf.h"
/* The error target of a local call on x86-64 (placed after the program, one per call): the
 * call-depth fault of a refused call. (A callee's own fault never comes back: STOP.) */
PATCHJIT_STENCIL {
    vm->fault = BPF_FAULT_DEPTH;
    vm->fault_pc = PC;
    STOP();
}
