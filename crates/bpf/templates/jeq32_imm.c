/* patchjit-variants: D=0..=10 */
#include "bpf.h"
/* jeq32 dst, imm, target */
BRANCH32_IMM("cmpl", "e", (uint32_t)DST == (uint32_t)IMM32)
