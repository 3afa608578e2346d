#include "wasm.h"
/* local.set OPARG */
PATCHJIT_STENCIL {
    fp[PATCHJIT_OPARG] = *--sp;
    NEXT();
}
