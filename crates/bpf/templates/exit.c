#include "bpf.h"
/* exit: returns r0 to the shim, or to the `call_local` stencil that called this function
 * (which takes r1-r5 from the state, as the interpreter's callers see the callee's). */
PATCHJIT_STENCIL {
    vm->r[1] = r1;
    vm->r[2] = r2;
    vm->r[3] = r3;
    vm->r[4] = r4;
    vm->r[5] = r5;
    return r0;
}
