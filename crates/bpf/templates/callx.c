/* patchjit-variants: D=0..=10 */
#include "bpf.h"
/* callx dst: the helper whose id is in dst */
PATCHJIT_STENCIL {
    vm->call_id = ~0ull;
    vm->callx_id = DST;
    vm->call_pc = PC;
    uint64_t result = bpf_jit_call_helper(r1, r2, r3, r4, r5, vm);
    if (__builtin_expect(vm->fault != 0, 0)) {
        STOP();
    }
    r0 = result;
    CLOBBER_ARGUMENTS();
    NEXT();
}
