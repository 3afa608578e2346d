/* patchjit-variants: EMPTY=0,1 */
#include "wasm.h"
/* memory.size: pages of 64 KiB. */
PATCHJIT_STENCIL {
    PUSH(EMPTY, memsize >> 16);
    NEXT();
}
