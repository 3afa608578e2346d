#include "wasm.h"
/* unreachable: straight to the trap stencil. */
PATCHJIT_STENCIL {
    TRAP();
}
