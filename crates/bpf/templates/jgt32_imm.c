/* patchjit-variants: D=0..=10 */
#include "bpf.h"
/* jgt32 dst, imm, target */
BRANCH32_IMM("cmpl", "a", (uint32_t)DST > (uint32_t)IMM32)
