/* An int32_t compared with a 64-bit value: sign-extended. */
#define PATCHJIT_PARAMS int64_t *out
#define PATCHJIT_ARGS out
#include "patchjit.h"

PATCHJIT_STENCIL {
    *out = *out < PATCHJIT_OPERAND1_S32;
    PATCHJIT_CONTINUE();
}
