/* patchjit-variants: D=0..=9 S=0..=10 */
#include "bpf.h"
/* lsh dst, reg */
ALU64(SRC, d << (v & 63))
