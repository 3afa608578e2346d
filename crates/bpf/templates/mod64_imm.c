/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* mod dst, imm */
ALU64(WIDE, d % DIVISOR(v))
