/* patchjit-variants: D=0..=10 */
#include "bpf.h"
/* jsle32 dst, imm, target */
BRANCH32_IMM("cmpl", "le", (int32_t)DST <= (int32_t)IMM32)
