/* patchjit-variants: D=0..=9 S=0..=10 */
#include "bpf.h"
/* smod32 dst, reg */
ALU32(SRC, b ? bpf_smod32(a, b) : a)
