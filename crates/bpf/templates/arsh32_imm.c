/* patchjit-variants: D=0..=9 K=0..=31 */
#include "bpf.h"
/* arsh32 dst, imm: the count K, a variant, so the shift is by an immediate */
ALU32(K, (uint32_t)((int32_t)a >> (b & 31)))
