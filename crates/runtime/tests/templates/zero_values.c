/* Branches on every kind of hole value being 0 (patchjit.h's vocabulary): bit k of the result is
 * set when value k is 0. With strong `_JIT_*` declarations clang assumed each symbol's address,
 * i.e. the value, non-null and folded every test to "not zero" (no hole left at all). */
#define PATCHJIT_PARAMS int64_t *out
#define PATCHJIT_ARGS out
#include "patchjit.h"

PATCHJIT_STENCIL {
    uint64_t operand0 = PATCHJIT_OPERAND0, operand1 = PATCHJIT_OPERAND1;
    *out = (int64_t)((PATCHJIT_OPARG == 0) | (operand0 == 0) << 1 | (operand1 == 0) << 2 |
                     (PATCHJIT_VALUE(SCALE) == 0) << 3 | ((void *)operand0 == 0) << 4);
    PATCHJIT_CONTINUE();
}
