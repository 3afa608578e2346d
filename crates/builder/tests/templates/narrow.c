/* Narrow values: an int32_t immediate and an int16_t offset. */
#include "common.h"
PATCHJIT_STENCIL {
    sp[PATCHJIT_OPERAND1_S16] = acc + PATCHJIT_OPERAND0_S32;
    PATCHJIT_CONTINUE();
}
