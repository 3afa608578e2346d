/* patchjit-variants: D=0..=10 */
#include "bpf.h"
/* jlt32 dst, imm, target */
BRANCH32_IMM("cmpl", "b", (uint32_t)DST < (uint32_t)IMM32)
