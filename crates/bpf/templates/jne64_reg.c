/* patchjit-variants: D=0..=10 S=0..=10 */
#include "bpf.h"
/* jne dst, reg, target */
BRANCH_EQ_REG("ne", (uint64_t)DST != (uint64_t)SRC)
