/* patchjit-variants: D=0..=9 S=0..=10 */
#include "bpf.h"
/* arsh32 dst, reg */
ALU32(SRC, (uint32_t)((int32_t)a >> (b & 31)))
