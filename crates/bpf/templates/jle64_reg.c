/* patchjit-variants: D=0..=10 S=0..=10 */
#include "bpf.h"
/* jle dst, reg, target */
BRANCH((uint64_t)DST <= (uint64_t)SRC)
