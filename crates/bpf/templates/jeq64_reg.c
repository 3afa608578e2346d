/* patchjit-variants: D=0..=10 S=0..=10 */
#include "bpf.h"
/* jeq dst, reg, target */
BRANCH_EQ_REG("e", (uint64_t)DST == (uint64_t)SRC)
