/* patchjit-variants: D=0..=10 */
#include "bpf.h"
/* jsgt32 dst, imm, target */
BRANCH32_IMM("cmpl", "g", (int32_t)DST > (int32_t)IMM32)
