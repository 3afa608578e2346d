#include "wasm.h"
/* memory.size: pages of 64 KiB. */
PATCHJIT_STENCIL {
    *sp++ = memsize >> 16;
    NEXT();
}
