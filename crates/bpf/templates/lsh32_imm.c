/* patchjit-variants: D=0..=9 K=0..=31 */
#include "bpf.h"
/* lsh32 dst, imm: the count K, a variant, so the shift is by an immediate */
ALU32(K, a << (b & 31))
