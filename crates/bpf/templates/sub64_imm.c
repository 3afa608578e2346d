/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* sub dst, imm */
ALU64_IMM("subq %1, %0", d - v)
