/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* and32 dst, imm */
ALU32_IMM("andl %1, %k0", a & b)
