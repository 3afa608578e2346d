#include "wasm.h"
/* call of another instance's function (an import): a machine call of its entry, OPERAND0. */
PATCHJIT_STENCIL {
    *sp++ = tos;
    WASM_CALL(PATCHJIT_OPERAND0);
    NEXT();
}
