/* A uint32_t compared with a 64-bit value: zero-extended. */
#define PATCHJIT_PARAMS int64_t *out
#define PATCHJIT_ARGS out
#include "patchjit.h"

PATCHJIT_STENCIL {
    *out = *out > PATCHJIT_OPERAND0_U32;
    PATCHJIT_CONTINUE();
}
