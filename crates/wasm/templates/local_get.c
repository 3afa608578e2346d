#include "wasm.h"
/* local.get: OPERAND0 is the local's byte offset in the frame. */
PATCHJIT_STENCIL {
    PUSH(SLOT(PATCHJIT_OPERAND0_I32));
    NEXT();
}
