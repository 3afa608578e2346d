/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* and dst, imm */
ALU64_IMM("andq %1, %0", d & v)
