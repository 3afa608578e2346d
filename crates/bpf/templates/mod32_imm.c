/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* mod32 dst, imm */
ALU32(IMM32, b ? a % b : a)
