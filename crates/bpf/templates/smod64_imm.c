/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* smod dst, imm */
ALU64(WIDE, v ? bpf_smod64(d, v) : d)
