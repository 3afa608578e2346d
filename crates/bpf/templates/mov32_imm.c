/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* mov32 dst, imm */
ALU32_IMM("movl %1, %k0", b)
