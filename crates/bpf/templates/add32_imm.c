/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* add32 dst, imm */
ALU32_IMM("addl %1, %k0", a + b)
