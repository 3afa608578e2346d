#include "wasm.h"
/* drop */
PATCHJIT_STENCIL {
    POP();
    NEXT();
}
