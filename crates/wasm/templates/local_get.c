#include "wasm.h"
/* local.get OPARG */
PATCHJIT_STENCIL {
    *sp++ = fp[PATCHJIT_OPARG];
    NEXT();
}
