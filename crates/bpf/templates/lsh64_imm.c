/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* lsh dst, imm */
ALU64(WIDE, d << (v & 63))
