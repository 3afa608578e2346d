/* Nothing but the jump to the continuation: the stencil is empty once that jump is removed. */
#include "jit.h"

STENCIL(_JIT_ENTRY) {
    PATCH_JUMP(_JIT_CONTINUE);
}
