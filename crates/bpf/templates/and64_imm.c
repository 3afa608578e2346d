/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* and dst, imm */
ALU64(WIDE, d & v)
