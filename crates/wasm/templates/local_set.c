/* patchjit-variants: LAST=0,1 */
#include "wasm.h"
/* local.set: OPERAND0 is the local's byte offset in the frame. */
PATCHJIT_STENCIL {
    SLOT(PATCHJIT_OPERAND0_I32) = tos;
    POP(LAST);
    NEXT();
}
