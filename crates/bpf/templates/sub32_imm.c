/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* sub32 dst, imm */
ALU32_IMM("subl %1, %k0", a - b)
