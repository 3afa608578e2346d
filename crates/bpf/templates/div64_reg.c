/* patchjit-variants: D=0..=9 S=0..=10 */
#include "bpf.h"
/* div dst, reg */
ALU64(SRC, v ? d / v : 0)
