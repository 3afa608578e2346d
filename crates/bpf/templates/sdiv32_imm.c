/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* sdiv32 dst, imm */
ALU32(IMM32, (uint32_t)((int32_t)a / (int32_t)DIVISOR(b)))
