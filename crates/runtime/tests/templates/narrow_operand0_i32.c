/* An int32_t-range immediate, as a 64-bit value, added to a 64-bit value (folded on x86-64). */
#define PATCHJIT_PARAMS int64_t *out
#define PATCHJIT_ARGS out
#include "patchjit.h"

PATCHJIT_STENCIL {
    *out += PATCHJIT_OPERAND0_I32;
    PATCHJIT_CONTINUE();
}
