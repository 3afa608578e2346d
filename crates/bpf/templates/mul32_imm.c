/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* mul32 dst, imm */
ALU32_IMM("imull %1, %k0, %k0", a * b)
