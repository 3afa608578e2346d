/* patchjit-variants: D=0..=10 */
#include "bpf.h"
/* jslt dst, imm, target */
BRANCH((int64_t)DST < (int64_t)IMM)
