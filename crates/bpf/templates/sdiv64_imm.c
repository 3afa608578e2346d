/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* sdiv dst, imm */
ALU64(WIDE, v ? bpf_sdiv64(d, v) : 0)
