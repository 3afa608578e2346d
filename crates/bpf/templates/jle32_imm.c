/* patchjit-variants: D=0..=10 */
#include "bpf.h"
/* jle32 dst, imm, target */
BRANCH32_IMM("cmpl", "be", (uint32_t)DST <= (uint32_t)IMM32)
