/* Bit k of the result is set when narrow value k is 0: every test survives (weak symbols). */
#define PATCHJIT_PARAMS int64_t *out
#define PATCHJIT_ARGS out
#include "patchjit.h"

PATCHJIT_STENCIL {
    *out = (PATCHJIT_OPARG_U16 == 0) | (PATCHJIT_OPARG_U32 == 0) << 1 |
           (PATCHJIT_OPERAND0_S32 == 0) << 2 | (PATCHJIT_OPERAND0_U32 == 0) << 3 |
           (PATCHJIT_OPERAND1_S16 == 0) << 4 | (PATCHJIT_OPERAND1_S32 == 0) << 5;
    PATCHJIT_CONTINUE();
}
