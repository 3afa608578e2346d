#include "wasm.h"
/* Any *.const: OPERAND0 is the value's slot bits. */
PATCHJIT_STENCIL {
    *sp++ = PATCHJIT_OPERAND0;
    NEXT();
}
