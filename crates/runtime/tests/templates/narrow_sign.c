/* Bit k of the result is a narrow value's top bit. Clang assumes a small-code-model symbol lies
 * in [0, 2^31): were it to use that to fold a narrow value's sign, these tests would vanish. */
#define PATCHJIT_PARAMS int64_t *out
#define PATCHJIT_ARGS out
#include "patchjit.h"

PATCHJIT_STENCIL {
    *out = (PATCHJIT_OPERAND0_S32 < 0) | (PATCHJIT_OPERAND1_S16 < 0) << 1 |
           (PATCHJIT_OPARG_U32 >> 31) << 2;
    PATCHJIT_CONTINUE();
}
