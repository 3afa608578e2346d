#include "bpf.h"
/* call imm: the helper whose id is operand 0 */
PATCHJIT_STENCIL {
    if (bpf_jit_call_helper(vm, IMM, PC)) {
        return 0;
    }
    NEXT();
}
