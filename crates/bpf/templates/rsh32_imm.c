/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* rsh32 dst, imm */
ALU32(IMM32, a >> (b & 31))
