#include "bpf.h"
/* call imm: the helper whose id is operand 0 */
PATCHJIT_STENCIL {
    vm->call_id = WIDE; /* the helper's slot, or its id | 1 << 63 */
    vm->call_pc = PC;
    uint64_t result = bpf_jit_call_helper(r1, r2, r3, r4, r5, vm);
    if (__builtin_expect(vm->fault != 0, 0)) {
        STOP();
    }
    r0 = result;
    CLOBBER_ARGUMENTS();
    NEXT();
}
