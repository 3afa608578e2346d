/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* smod dst, imm */
ALU64(WIDE, (uint64_t)((int64_t)d % (int64_t)DIVISOR(v)))
