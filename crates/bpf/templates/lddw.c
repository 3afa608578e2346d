/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* lddw dst, imm64 (the whole constant is operand 0) */
UNARY(WIDE)
