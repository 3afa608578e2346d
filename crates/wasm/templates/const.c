/* patchjit-variants: WIDE=0,1 EMPTY=0,1 */
#include "wasm.h"
/* Any *.const: OPERAND0 is the value's slot bits, WIDE=0 for those that fit 32 bits (every
 * i32 and f32). */
PATCHJIT_STENCIL {
    PUSH(EMPTY, WIDE ? PATCHJIT_OPERAND0 : PATCHJIT_OPERAND0_U32);
    NEXT();
}
