/* patchjit-variants: LAST=0,1 */
#include "wasm.h"
/* global.set: OPERAND0 is the address of the global's slot. */
PATCHJIT_STENCIL {
    *(uint64_t *)PATCHJIT_OPERAND0 = tos;
    POP(LAST);
    NEXT();
}
