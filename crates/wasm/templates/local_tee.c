#include "wasm.h"
/* local.tee: OPERAND0 is the local's byte offset in the frame. */
PATCHJIT_STENCIL {
    SLOT(PATCHJIT_OPERAND0_I32) = tos;
    NEXT();
}
