/* An int16_t offset into an array of int64_t (*out points into it): a signed displacement. */
#define PATCHJIT_PARAMS int64_t *out
#define PATCHJIT_ARGS out
#include "patchjit.h"

PATCHJIT_STENCIL {
    *out = ((const int64_t *)(intptr_t)*out)[PATCHJIT_OPERAND1_S16];
    PATCHJIT_CONTINUE();
}
