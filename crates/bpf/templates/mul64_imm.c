/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* mul dst, imm */
ALU64_IMM("imulq %1, %0, %0", d * v)
