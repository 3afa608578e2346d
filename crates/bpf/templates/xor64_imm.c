/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* xor dst, imm */
ALU64_IMM("xorq %1, %0", d ^ v)
