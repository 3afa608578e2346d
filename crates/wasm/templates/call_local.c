#include "wasm.h"
/* call of a function of the same instance: a machine call of its entry (the jump target). */
PATCHJIT_STENCIL {
    *sp++ = tos;
    WASM_CALL(_JIT_JUMP_TARGET);
    NEXT();
}
