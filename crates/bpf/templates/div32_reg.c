/* patchjit-variants: D=0..=9 S=0..=10 */
#include "bpf.h"
/* div32 dst, reg */
ALU32(SRC, b ? a / b : 0)
