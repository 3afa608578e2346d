/* patchjit-variants: LAST=0,1 */
#include "wasm.h"
/* if: pops the condition; to the jump target (the else arm or the end) when it is zero. */
PATCHJIT_STENCIL {
    uint32_t c = (uint32_t)tos;
    POP(LAST);
    if (c == 0) {
        PATCHJIT_JUMP();
    }
    NEXT();
}
