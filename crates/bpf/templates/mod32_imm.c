/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* mod32 dst, imm */
ALU32(IMM32, a % DIVISOR(b))
