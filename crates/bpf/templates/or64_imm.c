/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* or dst, imm */
ALU64_IMM("orq %1, %0", d | v)
