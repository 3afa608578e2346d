#include "wasm.h"
/* drop */
PATCHJIT_STENCIL {
    sp--;
    NEXT();
}
