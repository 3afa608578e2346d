#include "wasm.h"
/* local.tee OPARG */
PATCHJIT_STENCIL {
    fp[PATCHJIT_OPARG] = sp[-1];
    NEXT();
}
