/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* arsh32 dst, imm */
ALU32(IMM32, (uint32_t)((int32_t)a >> (b & 31)))
