#include "wasm.h"
/* select: the first operand if the condition is non-zero, else the second. */
PATCHJIT_STENCIL {
    if ((uint32_t)sp[-1] == 0) {
        sp[-3] = sp[-2];
    }
    sp -= 2;
    NEXT();
}
