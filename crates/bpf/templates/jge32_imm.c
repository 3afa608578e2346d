/* patchjit-variants: D=0..=10 */
#include "bpf.h"
/* jge32 dst, imm, target */
BRANCH32_IMM("cmpl", "ae", (uint32_t)DST >= (uint32_t)IMM32)
