/* patchjit-variants: RESULTS=0,1 */
#include "wasm.h"
/* return: the result (if any) to the frame's first slot, back to the caller. */
PATCHJIT_STENCIL {
    if (RESULTS) {
        fp[0] = tos;
    }
    return 0;
}
