/* patchjit-variants: LAST=0,1 */
#include "wasm.h"
/* drop */
PATCHJIT_STENCIL {
    POP(LAST);
    NEXT();
}
