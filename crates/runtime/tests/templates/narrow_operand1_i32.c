/* An int32_t-range value, as a 64-bit value, compared signed with a 64-bit value. */
#define PATCHJIT_PARAMS int64_t *out
#define PATCHJIT_ARGS out
#include "patchjit.h"

PATCHJIT_STENCIL {
    *out = *out < PATCHJIT_OPERAND1_I32;
    PATCHJIT_CONTINUE();
}
