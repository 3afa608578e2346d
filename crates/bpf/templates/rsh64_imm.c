/* patchjit-variants: D=0..=9 K=0..=63 */
#include "bpf.h"
/* rsh dst, imm: the count K, a variant, so the shift is by an immediate */
ALU64(K, d >> (v & 63))
