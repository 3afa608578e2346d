/* patchjit-variants: D=0..=10 */
#include "bpf.h"
/* jsge32 dst, imm, target */
BRANCH32_IMM("cmpl", "ge", (int32_t)DST >= (int32_t)IMM32)
