/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* arsh dst, imm */
ALU64(WIDE, (uint64_t)((int64_t)d >> (v & 63)))
