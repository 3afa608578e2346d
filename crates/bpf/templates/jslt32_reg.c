/* patchjit-variants: D=0..=10 S=0..=10 */
#include "bpf.h"
/* jslt32 dst, reg, target */
BRANCH((int32_t)DST < (int32_t)SRC)
