/* patchjit-variants: ARITY=0,1 LAST=0,1 DROPS=0,1 */
#include "wasm.h"
/* br_if: pops the condition; when it is non-zero, branches as br does. */
PATCHJIT_STENCIL {
    uint32_t c = (uint32_t)tos;
    POP(LAST);
    if (c != 0) {
        RESHAPE(ARITY, DROPS, PATCHJIT_OPERAND1_I32);
        PATCHJIT_JUMP();
    }
    NEXT();
}
