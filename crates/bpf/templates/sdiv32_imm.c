/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* sdiv32 dst, imm */
ALU32(IMM32, b ? bpf_sdiv32(a, b) : 0)
