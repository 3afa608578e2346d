/* patchjit-variants: D=0..=10 */
#include "bpf.h"
/* jslt32 dst, imm, target */
BRANCH32_IMM("cmpl", "l", (int32_t)DST < (int32_t)IMM32)
