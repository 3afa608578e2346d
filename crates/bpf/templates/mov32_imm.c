/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* mov32 dst, imm */
ALU32(IMM32, b)
