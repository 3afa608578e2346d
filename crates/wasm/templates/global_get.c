/* patchjit-variants: EMPTY=0,1 */
#include "wasm.h"
/* global.get: OPERAND0 is the address of the global's slot (the store keeps it in place). */
PATCHJIT_STENCIL {
    PUSH(EMPTY, *(const uint64_t *)PATCHJIT_OPERAND0);
    NEXT();
}
