/* patchjit-variants: D=0..=10 */
#include "bpf.h"
/* jgt dst, imm, target */
BRANCH((uint64_t)DST > (uint64_t)IMM)
