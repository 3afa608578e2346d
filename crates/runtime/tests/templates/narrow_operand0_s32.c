/* An int32_t immediate added to a 64-bit value: sign-extended. */
#define PATCHJIT_PARAMS int64_t *out
#define PATCHJIT_ARGS out
#include "patchjit.h"

PATCHJIT_STENCIL {
    *out += PATCHJIT_OPERAND0_S32;
    PATCHJIT_CONTINUE();
}
