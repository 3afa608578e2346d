/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* mov dst, imm */
ALU64(WIDE, v)
