/* patchjit-variants: D=0..=10 */
#include "bpf.h"
/* jset32 dst, imm, target */
BRANCH32_IMM("testl", "ne", ((uint32_t)DST & (uint32_t)IMM32) != 0)
