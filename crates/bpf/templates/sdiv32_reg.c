/* patchjit-variants: D=0..=9 S=0..=10 */
#include "bpf.h"
/* sdiv32 dst, reg */
ALU32(SRC, b ? bpf_sdiv32(a, b) : 0)
