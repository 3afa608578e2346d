#include "bpf.h"
/* budget: spends one unit on the way to the jump target. With a budget, every backward jump and
 * local call of the program reaches its destination through one of these (placed after the
 * program), so code compiled without one pays nothing. */
PATCHJIT_STENCIL {
    if (__builtin_expect(vm->budget == 0, 0)) {
        vm->fault = BPF_FAULT_BUDGET;
        vm->fault_pc = PC;
        STOP();
    }
    vm->budget--;
    PATCHJIT_JUMP();
}
