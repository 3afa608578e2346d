/* patchjit-variants: D=0..=10 */
#include "bpf.h"
/* jeq dst, imm, target */
BRANCH_EQ_IMM("e", (uint64_t)DST == (uint64_t)WIDE)
