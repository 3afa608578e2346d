/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* smod32 dst, imm */
ALU32(IMM32, b ? bpf_smod32(a, b) : a)
