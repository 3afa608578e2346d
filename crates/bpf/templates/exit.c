#include "bpf.h"
/* exit: returns r0 to the shim, or to the `call_local` stencil that called this function. On
 * x86-64 that one takes r1-r5 from their registers (a bare `ret`, which leaves r6-r10 as they
 * are for it too); elsewhere from the state, as the interpreter's callers see the callee's. */
PATCHJIT_STENCIL {
#if !defined(__x86_64__)
    vm->r[1] = r1;
    vm->r[2] = r2;
    vm->r[3] = r3;
    vm->r[4] = r4;
    vm->r[5] = r5;
#endif
    return r0;
}
