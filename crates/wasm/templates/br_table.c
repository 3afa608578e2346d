/* patchjit-variants: ARITY=0,1 CASE=0,1 DROPS=0,1 */
#include "wasm.h"
/* One entry of a br_table, whose index stays in `tos` until an entry takes it:
 * CASE=1 branches (as br, OPERAND1 the height in bytes) when the index is OPERAND0 and falls through to
 * the next entry otherwise; CASE=0 is the default, always taken. */
PATCHJIT_STENCIL {
    if (!CASE || (uint32_t)tos == PATCHJIT_OPERAND0_U32) {
        POP(0);
        RESHAPE(ARITY, DROPS, PATCHJIT_OPERAND1_I32);
        PATCHJIT_JUMP();
    }
    NEXT();
}
