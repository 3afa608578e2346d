/* A uint16_t oparg as a divisor (32-bit: i686 has no 64-bit division without a helper): it is
 * zero-extended, and its test against 0 survives (narrow values are weak). */
#define PATCHJIT_PARAMS int64_t *out
#define PATCHJIT_ARGS out
#include "patchjit.h"

PATCHJIT_STENCIL {
    *out = PATCHJIT_OPARG_U16 == 0 ? -1 : (int32_t)*out / PATCHJIT_OPARG_U16;
    PATCHJIT_CONTINUE();
}
