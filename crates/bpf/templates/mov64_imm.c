/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* mov dst, imm */
ALU64_IMM("movq %1, %0", v)
