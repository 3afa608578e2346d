/* patchjit-variants: EMPTY=0,1 */
#include "wasm.h"
/* local.get: OPERAND0 is the local's byte offset in the frame. */
PATCHJIT_STENCIL {
    PUSH(EMPTY, SLOT(PATCHJIT_OPERAND0_I32));
    NEXT();
}
