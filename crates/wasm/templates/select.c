#include "wasm.h"
/* select: the first operand if the condition is non-zero, else the second. */
PATCHJIT_STENCIL {
    tos = (uint32_t)tos != 0 ? sp[-2] : sp[-1];
    sp -= 2;
    NEXT();
}
