/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* div32 dst, imm */
ALU32(IMM32, b ? a / b : 0)
