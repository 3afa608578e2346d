#include "wasm.h"
/* memory.size: pages of 64 KiB. */
PATCHJIT_STENCIL {
    PUSH(memsize >> 16);
    NEXT();
}
