/* patchjit-variants: D=0..=10 S=0..=10 */
#include "bpf.h"
/* jge32 dst, reg, target */
BRANCH((uint32_t)DST >= (uint32_t)SRC)
