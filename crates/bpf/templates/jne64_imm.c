/* patchjit-variants: D=0..=10 */
#include "bpf.h"
/* jne dst, imm, target */
BRANCH_EQ_IMM("ne", (uint64_t)DST != (uint64_t)WIDE)
