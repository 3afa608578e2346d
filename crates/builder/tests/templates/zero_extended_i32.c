#include "common.h"
/* A multiplication: clang materialises the value with `movl $imm32` (zero-extending), which
 * would read a negative PATCHJIT_OPERAND0_I32 wrong. */
PATCHJIT_STENCIL { acc *= PATCHJIT_OPERAND0_I32; PATCHJIT_CONTINUE(); }
