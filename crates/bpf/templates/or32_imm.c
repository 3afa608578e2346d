/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* or32 dst, imm */
ALU32_IMM("orl %1, %k0", a | b)
