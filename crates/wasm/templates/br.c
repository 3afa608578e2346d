/* patchjit-variants: ARITY=0,1 DROPS=0,1 */
#include "wasm.h"
/* br: carries ARITY values to the frame slot OPERAND1 bytes above fp and goes to the jump target. */
PATCHJIT_STENCIL {
    RESHAPE(ARITY, DROPS, PATCHJIT_OPERAND1_I32);
    PATCHJIT_JUMP();
}
