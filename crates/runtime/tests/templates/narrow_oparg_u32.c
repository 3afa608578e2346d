/* A uint32_t oparg added to a 64-bit value: zero-extended. */
#define PATCHJIT_PARAMS int64_t *out
#define PATCHJIT_ARGS out
#include "patchjit.h"

PATCHJIT_STENCIL {
    *out += PATCHJIT_OPARG_U32;
    PATCHJIT_CONTINUE();
}
