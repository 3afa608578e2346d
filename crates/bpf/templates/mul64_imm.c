/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* mul dst, imm */
ALU64(WIDE, d * v)
