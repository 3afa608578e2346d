/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* xor32 dst, imm */
ALU32_IMM("xorl %1, %k0", a ^ b)
