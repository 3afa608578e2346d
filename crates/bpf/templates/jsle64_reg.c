/* patchjit-variants: D=0..=10 S=0..=10 */
#include "bpf.h"
/* jsle dst, reg, target */
BRANCH((int64_t)DST <= (int64_t)SRC)
