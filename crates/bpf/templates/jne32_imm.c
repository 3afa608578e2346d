/* patchjit-variants: D=0..=10 */
#include "bpf.h"
/* jne32 dst, imm, target */
BRANCH32_IMM("cmpl", "ne", (uint32_t)DST != (uint32_t)IMM32)
