/* patchjit-variants: ARITY=0,1 */
#include "wasm.h"
/* br: carries ARITY values to frame slot OPARG and goes to the jump target. */
PATCHJIT_STENCIL {
    RESHAPE(ARITY, PATCHJIT_OPARG);
    PATCHJIT_JUMP();
}
