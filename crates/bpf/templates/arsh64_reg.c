/* patchjit-variants: D=0..=9 S=0..=10 */
#include "bpf.h"
/* arsh dst, reg */
ALU64(SRC, (uint64_t)((int64_t)d >> (v & 63)))
