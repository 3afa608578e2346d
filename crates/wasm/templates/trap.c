#include "wasm.h"
/* Where a trapping stencil branches: records the kind (OPARG; 0 when the stencil or a helper
 * already did) and the site (OPERAND0), and unwinds. Placed after the function. */
PATCHJIT_STENCIL {
    if (OPARG32 != 0) {
        ctx->trap_kind = OPARG32;
    }
    ctx->trap_site = PATCHJIT_OPERAND0;
    return 1;
}
